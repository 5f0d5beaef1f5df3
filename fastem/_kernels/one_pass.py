"""The one-sweep EM pass (``MixtureCompleter(passes=1)``): R's own CSR arrays, read once per
iteration, and nothing laid out beforehand.

Per block of users (``fastem.ratings.CsrBlocks``, at most half an L2 of ratings),
``masked.block_responsibilities`` computes the users' squared errors, responsibilities r_u and
log-likelihoods; then each user's ratings, still in cache, add r_u and x r_u to the rows of
their items in the buffer of the block's part (blocks of 8192 users, whose ratings had to come
from memory again, took 1.02-1.19x the time).
Memory beyond the data: the (n * Kp,) responsibilities (each block's a table of its rows,
``masked.vector_at``) and 2 to 8 buffers of d rows of 2 Kp float64 (Kp = ``masked.row_width(K)``),
as many as the ratings' own bytes hold (``sizes``).

A buffer row keeps, for the vector of lanes c..c+w-1 (w = 8, or 4 for a row's last 4 lanes),
s0 at 2c.. and s1 at 2c + w..: every access is a whole aligned vector (rows are a multiple of
64 bytes). The row a rating adds to is a random one of d, so the loops ask for the row of the
rating AHEAD places on before they reach it (``simd.prefetch_for_write``): without it the stores
wait on cache misses, and the pass took 1.8x as long (10M ratings, K = 12, 2 threads).

Determinism: the blocks are split into n_parts runs of consecutive blocks (by the shape and nnz
alone), each added in user order into its own buffer by one thread; the buffers are added
in part order. No result depends on the thread count.
"""
import numpy as np
from numba import njit, prange

from .masked import block_responsibilities, component_terms, rating, row_width, to_table, vector_at
from .simd import (NARROW, WIDTH, aligned_zeros, fetch, prefetch_for_write, vadd, vbroadcast_as, vfma, vload_as,
                   vstore, vzero, vzero4)

#: Buffers of item sums: at most this many, whatever the thread count (8: two per core on a 4-core machine),
#: and no more than fit in the data's own size, but at least MIN_PARTS (``sizes``).
PARTS = 8
MIN_PARTS = 2
#: Ratings ahead whose buffer row is fetched (4 to 32 measured alike within 10%; none: 1.8x the time).
AHEAD = 8


@njit(cache=True, error_model="numpy", inline="always")
def add_to_item(buf, at, w, r, x):
    """buf[at : at + w] += r and buf[at + w : at + 2w] += x r (r a Vec8 or Vec4 of w lanes, x broadcast like it)."""
    vstore(buf, at, vadd(vload_as(r, buf, at), r))
    vstore(buf, at + w, vfma(x, r, vload_as(r, buf, at + w)))


@njit(cache=True, error_model="numpy", inline="always")
def fetch_row_ahead(buf, indices, p, last, Kp, at, span):
    """Prefetch the span lanes at ``at`` of the buffer row of rating min(p + AHEAD, last)."""
    ahead = np.intp(fetch(indices, min(p + AHEAD, last))) * (2 * Kp) + at
    for line in range(0, span, WIDTH):
        prefetch_for_write(buf, ahead + line)


@njit(cache=True, error_model="numpy", inline="always")
def scatter_vectors(zero, w, C, lo, hi, rows, Kp, lane, buf):
    """Users lo..hi-1 (their responsibilities in the block's table rows): lanes lane.. (w of them,
    zero's width) of each rating's item row of buf += (r_u, x r_u)."""
    indptr, indices, values = C.indptr, C.indices, C.values
    last = indptr[hi] - 1
    for u in range(lo, hi):
        r = vload_as(zero, rows, vector_at(zero, hi - lo, Kp, u - lo, lane))
        for p in range(indptr[u], indptr[u + 1]):
            fetch_row_ahead(buf, indices, p, last, Kp, 2 * lane, 2 * w)
            x = vbroadcast_as(zero, rating(values, p))
            add_to_item(buf, np.intp(fetch(indices, p)) * (2 * Kp) + 2 * lane, w, r, x)


@njit(cache=True, error_model="numpy", inline="always")
def scatter_pairs(zero_a, zero_b, w_b, C, lo, hi, rows, Kp, lanes, buf):
    """``scatter_vectors`` for the lane groups lanes[0], lanes[0] + 16, .. < lanes[1] of two
    vectors each (an 8-lane one, then one of w_b lanes), one walk over a user's ratings per group."""
    indptr, indices, values = C.indptr, C.indices, C.values
    last = indptr[hi] - 1
    for u in range(lo, hi):
        for lane in range(lanes[0], lanes[1], 2 * WIDTH):
            ra = vload_as(zero_a, rows, vector_at(zero_a, hi - lo, Kp, u - lo, lane))
            rb = vload_as(zero_b, rows, vector_at(zero_b, hi - lo, Kp, u - lo, lane + WIDTH))
            for p in range(indptr[u], indptr[u + 1]):
                fetch_row_ahead(buf, indices, p, last, Kp, 2 * lane, 2 * (WIDTH + w_b))
                x = rating(values, p)
                row = np.intp(fetch(indices, p)) * (2 * Kp) + 2 * lane
                add_to_item(buf, row, WIDTH, ra, vbroadcast_as(zero_a, x))
                add_to_item(buf, row + 2 * WIDTH, w_b, rb, vbroadcast_as(zero_b, x))


@njit(cache=True, error_model="numpy")
def scatter_block(C, lo, hi, rows, Kp, buf):
    """Users lo..hi-1's (r_u, x r_u) added to their items' rows of buf (d * 2 Kp,), lanes as
    ``masked.user_errors`` walks them: 16 at a time, then the last 12, 8 or 4."""
    lane = Kp // (2 * WIDTH) * (2 * WIDTH)   # after the 16-lane groups
    if lane > 0:
        scatter_pairs(vzero(), vzero(), WIDTH, C, lo, hi, rows, Kp, (0, lane), buf)
    if Kp - lane == WIDTH + NARROW:
        scatter_pairs(vzero(), vzero4(), NARROW, C, lo, hi, rows, Kp, (lane, Kp), buf)
    elif Kp - lane == WIDTH:
        scatter_vectors(vzero(), WIDTH, C, lo, hi, rows, Kp, lane, buf)
    elif Kp - lane == NARROW:
        scatter_vectors(vzero4(), NARROW, C, lo, hi, rows, Kp, lane, buf)


@njit(parallel=True, cache=True, error_model="numpy")
def add_parts(buffers, n_parts, d, K, Kp):
    """(s0, s1) (d, K): the parts' buffers added in part order, item by item."""
    s0, s1 = np.zeros((d, K)), np.zeros((d, K))
    for i in prange(d):
        for t in range(n_parts):
            row = (t * d + i) * 2 * Kp
            for j in range(K):
                c = j // WIDTH * WIDTH
                w = min(WIDTH, Kp - c)
                s0[i, j] += buffers[row + 2 * c + j - c]
                s1[i, j] += buffers[row + 2 * c + w + j - c]
    return s0, s1


@njit(cache=True)
def sizes(C, K):
    """(n_parts, the workspace's float64 before the buffers: n Kp rounded up to whole vectors).

    n_parts: as many buffers of d * 2 Kp float64 as the ratings' bytes hold, between MIN_PARTS
    and PARTS and at most one per block; a function of the shape and nnz only, so that no result
    depends on the thread count, and a wide catalogue (large d K) does not take PARTS buffers."""
    n = C.indptr.shape[0] - 1
    data_bytes = C.indices.shape[0] * (C.indices.itemsize + C.values.itemsize)
    fitting = data_bytes // (C.n_items * 2 * row_width(K) * 8)
    n_parts = min(max(fitting, MIN_PARTS), PARTS, -(-n // C.block))
    return n_parts, -(-n * row_width(K) // WIDTH) * WIDTH


@njit(cache=True)
def workspace_size(C, K):
    """Float64 entries of ``workspace(C, K)``."""
    n_parts, rows = sizes(C, K)
    return rows + n_parts * C.n_items * 2 * row_width(K)


@njit(cache=True)
def workspace(C, K):
    """The flat float64 workspace of ``em_statistics``, 64-byte aligned: the (n * Kp,) responsibility
    rows (rounded up to whole vectors), then n_parts buffers of d * 2 Kp."""
    return aligned_zeros(workspace_size(C, K))


@njit(parallel=True, cache=True, error_model="numpy")
def one_sweep(C, means_t, log_weights, variances, work):
    """(user_ll (n,), small (3, K), s0 (d, K), s1 (d, K)) of ``em_statistics``, one part per thread at a time."""
    K = log_weights.shape[0]
    n, d = C.indptr.shape[0] - 1, C.n_items
    n_blocks = -(-n // C.block)
    n_parts, rows = sizes(C, K)
    Kp = row_width(K)
    means_p = to_table(means_t, Kp)
    terms = component_terms(log_weights, variances, Kp)
    user_ll = np.empty(n)
    block_small = np.empty((n_blocks, 3, K))
    resp_p, buffers = work[:n * Kp], work[rows:]
    for t in prange(n_parts):
        buf = buffers[t * d * 2 * Kp:(t + 1) * d * 2 * Kp]
        buf[:] = 0.0
        for b in range(t * n_blocks // n_parts, (t + 1) * n_blocks // n_parts):
            block_responsibilities(C, b, means_p, terms, resp_p, user_ll, block_small[b])
            lo, hi = b * C.block, min(n, (b + 1) * C.block)
            scatter_block(C, lo, hi, resp_p[lo * Kp:hi * Kp], Kp, buf)
    small = np.zeros((3, K))
    for b in range(n_blocks):
        small += block_small[b]
    s0, s1 = add_parts(buffers, n_parts, d, K, Kp)
    return user_ll, small, s0, s1


def em_statistics(C, means_t, log_weights, variances, work):
    """``masked.em_statistics`` in one sweep over C (``fastem.ratings.CsrBlocks``): the same
    statistics, summed in another order (equal to rounding).

    work: ``workspace(C, K)`` (allocated once per fit: buffers mapped afresh every iteration took
    more time than the sweep at 1M ratings), overwritten; its first n Kp entries are the padded
    responsibilities.
    """
    if work.shape[0] != workspace_size(C, log_weights.shape[0]):
        raise ValueError(f"the one-pass workspace has {work.shape[0]} entries, K = {log_weights.shape[0]} "
                         f"needs {workspace_size(C, log_weights.shape[0])}: allocate it by one_pass.workspace")
    user_ll, small, s0, s1 = one_sweep(C, means_t, log_weights, variances, work)
    return float(np.sum(user_ll)), small[0], small[1], small[2], s0, s1
