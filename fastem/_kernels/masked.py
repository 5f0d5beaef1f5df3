"""Kernels over the observed entries of a rating matrix (spherical Gaussian components).

Notation: n users, d items, K components, Kp = row_width(K). ``means_t`` is (d, K), the transposed
means. A user's log joint with component j is

    log w_j - n_u/2 log(2 pi var_j) - sq_uj / (2 var_j),   sq_uj = sum_{i in C_u} (x_ui - mu_ji)^2

and is written once, in ``log_joint``. The kernels read the ratings as
``fastem.ratings.ItemBlocks`` (``L``), block of users by block: the E-step user by user in R's
CSR order (random reads of means' d rows; where the items fit a uint16, the items as uint16 rows
of a table holding the means by decreasing popularity, ``ratings.table_items``), the M-step's sums
item by item within the block, in runs of equal value (random reads of the block's
responsibility rows, which stay in cache).
Rows of K components are padded to Kp lanes, a multiple of 4, so the K-loops run as whole
vectors (``simd``): 8-lane vectors and at most one 4-lane one per row (K = 4: one 32-byte row;
K = 12: 96 bytes, 8 + 4 lanes, where rows of 16 lanes took 7-12% more time per iteration).
The tables read at random (the means' d rows, a block's rows of squared errors and then
responsibilities) keep a row's last 4 lanes apart when Kp is an odd multiple of 4 (``vector_at``):
first every row's whole 8-lane vectors, as rows of Kp8 = Kp // 8 * 8 lanes, then every row's
last 4 lanes. Every vector then starts on a multiple of its own size: a 96-byte row (K = 12)
would put every other 8-lane vector across two cache lines, and a load that splits a line
costs two (split so, the E-step took 0.91x the time and the M-step 0.87x, 100M ratings,
K = 12, 2 threads). Rows of whole 8-lane vectors stay whole: a row of 16 lanes or more is two
lines that the L2's prefetcher fetches as a pair (vectors in planes of their own took 1.2x the
time at K = 32).

Determinism: a user's squared errors are summed in item order, one block per thread; an item's
sums are added block by block and run by run in that order, whichever thread owns the item;
per-block totals are added in block order. No result depends on the thread count.
"""
import numpy as np
from numba import get_num_threads, njit, prange, types
from numba.extending import overload

from .common import SMALLEST_NORMAL, balanced_parts, normalize_log
from .simd import (NARROW, WIDTH, aligned_zeros, fetch, padded, unpad_columns, vadd, vbroadcast, vbroadcast_as,
                   vdiv, vec4, vexp_normal, vflush, vfma, vhigh, vload, vload_as, vload_partial, vlow, vmax,
                   vmul, vstore, vstore_partial, vsub, vtranspose8, vtranspose_quads, vuntranspose_quads,
                   vzero, vzero4)

LOG_2PI = np.log(2.0 * np.pi)


@njit(cache=True)
def row_width(K):
    """Kp, the lanes of every per-item and per-user row: K rounded up to a multiple of NARROW (4),
    walked as 8-lane vectors and at most one 4-lane one (at K = 12 a row is 96 bytes, not 128:
    a quarter fewer loads and additions per rating than 16 lanes)."""
    return -(-K // NARROW) * NARROW


@njit(cache=True)
def workspace(n_users, K):
    """The (n_users * Kp,) float64 workspace of ``em_statistics``, starting on a 64-byte boundary:
    each block's responsibilities as a table of its rows (``block_rows``)."""
    return aligned_zeros(n_users * row_width(K))


# ---------------------------------------------------------------- tables of rows, tails apart

@njit(cache=True, inline="always")
def wide_offset(Kp, i, lane):
    """Where row i's lanes lane.. (lane < Kp8 = Kp // 8 * 8) are: rows of Kp8 lanes first."""
    return i * (Kp // WIDTH * WIDTH) + lane


@njit(cache=True, inline="always")
def tail_offset(m, Kp, i):
    """Where row i's last 4 lanes are when Kp % 8 == 4: after the m rows of Kp8 = Kp - 4 lanes, rows of 4."""
    return (Kp - NARROW) * m + i * NARROW


def vector_at(like, m, Kp, i, lane):
    """Where row i's vector of lanes lane.. starts in a table of m rows of Kp lanes: a Vec8's
    by ``wide_offset``, a Vec4's (a row's last 4 lanes) by ``tail_offset``; chosen by the type
    of ``like`` when the kernel is compiled, so a Vec4's offset is a shift."""


@overload(vector_at, inline="always")
def _vector_at(like, m, Kp, i, lane):
    if like == vec4:
        return lambda like, m, Kp, i, lane: tail_offset(m, Kp, i)
    return lambda like, m, Kp, i, lane: wide_offset(Kp, i, lane)


@njit(cache=True, inline="always")
def lane_at(m, Kp, i, j):
    """Where lane j of row i is in a table of m rows of Kp lanes (see ``vector_at``)."""
    if j < Kp // WIDTH * WIDTH:
        return wide_offset(Kp, i, j)
    return tail_offset(m, Kp, i) + j % NARROW


@njit(cache=True)
def to_table(a, Kp, order=None):
    """(m * Kp,) the (m, K) float64 array a as a table of rows of Kp lanes (``vector_at``),
    lanes K..Kp-1 0, 64-byte aligned; row i holds a's row order[i] (a's row i without order)."""
    m, K = a.shape
    out = aligned_zeros(m * Kp)
    for i in range(m):
        source = i if order is None else order[i]
        for j in range(K):
            out[lane_at(m, Kp, i, j)] = a[source, j]
    return out


@njit(cache=True)
def from_table(flat, m, K, Kp, out):
    """out (m, K) <- the first K lanes of the m rows of the table flat (m * Kp,)."""
    for i in range(m):
        for j in range(K):
            out[i, j] = flat[lane_at(m, Kp, i, j)]


@njit(cache=True)
def block_rows(flat, n, K, Kp, block):
    """(n, K) from flat (n * Kp,), whose blocks of ``block`` users (the last one shorter) are
    each a table of their rows, as the E-step writes responsibilities and squared errors."""
    out = np.empty((n, K))
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        from_table(flat[lo * Kp:hi * Kp], hi - lo, K, Kp, out[lo:hi])
    return out


# ---------------------------------------------------------------- E-step: squared errors per user

#: uint8 rating v -> float64 v, so a rating is broadcast by one load from this table (vbroadcastsd
#: from memory) instead of an integer-to-float conversion and a shuffle, which compete for one port.
UINT8_AS_FLOAT64 = np.arange(256, dtype=np.float64)


def rating(values, p):
    """values[p] as a float64."""
    return np.float64(values[p])


@overload(rating, inline="always")
def _rating(values, p):
    if values.dtype == types.uint8:
        return lambda values, p: fetch(UINT8_AS_FLOAT64, fetch(values, p))
    return lambda values, p: np.float64(fetch(values, p))


@njit(cache=True, error_model="numpy", inline="always")
def difference(acc, x, means_p, at):
    """x - means_p[at : at + lanes], lanes those of acc (Vec8 or Vec4)."""
    return vsub(vbroadcast_as(acc, x), vload_as(acc, means_p, at))


@njit(cache=True, error_model="numpy", inline="always")
def add_squared_difference(acc, x, means_p, at):
    """acc + (x - means_p[at : at + lanes])^2, the square and the sum rounded once (fused)."""
    diff = difference(acc, x, means_p, at)
    return vfma(diff, diff, acc)


@njit(cache=True, error_model="numpy", inline="always")
def add_rating_error(acc, values, indices, p, means_p, d, Kp, lane):
    """acc + rating p's squared difference to lanes lane.. (as many as acc's) of its item's row
    of the means' table means_p (d * Kp,)."""
    at = vector_at(acc, d, Kp, np.intp(fetch(indices, p)), lane)
    return add_squared_difference(acc, rating(values, p), means_p, at)


@njit(cache=True, error_model="numpy", inline="always")
def add_rating_error_if(acc, values, indices, p, means_p, d, Kp, lane, keep):
    """``add_rating_error`` when keep is 1.0, acc itself when keep is 0.0, without a branch: the
    difference is scaled by keep before it is squared, and acc + 0 is acc."""
    at = vector_at(acc, d, Kp, np.intp(fetch(indices, p)), lane)
    diff = vmul(difference(acc, rating(values, p), means_p, at), vbroadcast_as(acc, keep))
    return vfma(diff, diff, acc)


@njit(cache=True, error_model="numpy", inline="always")
def error_vectors(zero, L, lo, hi, means_p, Kp, lane, rows):
    """Lanes lane.. of users lo..hi-1's squared errors (as many as zero's: a Vec8 or a Vec4) into
    their rows of the block's table rows, each as four partial sums (ratings p = 0, 1, 2, 3 mod 4, added as
    (0 + 1) + (2 + 3)) in flight: a fused sum waits on the multiply-add's latency (4 cycles),
    longer than the loads of a rating take."""
    indptr, indices, values = L.indptr, L.indices, L.values
    d = L.n_items
    for u in range(lo, hi):
        e0, e1, e2, e3 = zero, zero, zero, zero
        p, end = indptr[u], indptr[u + 1]
        while p + 3 < end:
            e0 = add_rating_error(e0, values, indices, p, means_p, d, Kp, lane)
            e1 = add_rating_error(e1, values, indices, p + 1, means_p, d, Kp, lane)
            e2 = add_rating_error(e2, values, indices, p + 2, means_p, d, Kp, lane)
            e3 = add_rating_error(e3, values, indices, p + 3, means_p, d, Kp, lane)
            p += 4
        if end > indptr[u]:   # the 0-3 ratings left, without a branch
            for k in range(3):
                e0 = add_rating_error_if(e0, values, indices, min(p + k, end - 1), means_p, d, Kp, lane, np.float64(p + k < end))
        vstore(rows, vector_at(zero, hi - lo, Kp, u - lo, lane), vadd(vadd(e0, e1), vadd(e2, e3)))


@njit(cache=True, error_model="numpy", inline="always")
def add_rating_errors(ea, eb, values, indices, p, means_p, d, Kp, lane):
    """(ea, eb) + rating p's squared differences to lanes lane.. and lane + 8.. of its item's row
    of the means' table (one index and one value read for both)."""
    i, x = np.intp(fetch(indices, p)), rating(values, p)
    return (add_squared_difference(ea, x, means_p, vector_at(ea, d, Kp, i, lane)),
            add_squared_difference(eb, x, means_p, vector_at(eb, d, Kp, i, lane + WIDTH)))


@njit(cache=True, error_model="numpy", inline="always")
def error_pairs(zero_a, zero_b, L, lo, hi, means_p, Kp, lanes, rows):
    """``error_vectors`` for the lane groups lanes[0], lanes[0] + 16, .. < lanes[1] of two vectors
    each (widths those of zero_a, zero_b: an 8-lane one, then an 8- or a 4-lane one), one walk
    over a user's ratings per group, each vector as two partial sums (even and odd ratings)."""
    indptr, indices, values = L.indptr, L.indices, L.values
    d, m = L.n_items, hi - lo
    for u in range(lo, hi):
        for lane in range(lanes[0], lanes[1], 2 * WIDTH):
            ea, eb, oa, ob = zero_a, zero_b, zero_a, zero_b
            p, end = indptr[u], indptr[u + 1]
            while p + 1 < end:
                ea, eb = add_rating_errors(ea, eb, values, indices, p, means_p, d, Kp, lane)
                oa, ob = add_rating_errors(oa, ob, values, indices, p + 1, means_p, d, Kp, lane)
                p += 2
            if end > indptr[u]:   # the odd rating left, if any, without a branch
                keep, last = np.float64(p < end), min(p, end - 1)
                ea = add_rating_error_if(ea, values, indices, last, means_p, d, Kp, lane, keep)
                eb = add_rating_error_if(eb, values, indices, last, means_p, d, Kp, lane + WIDTH, keep)
            vstore(rows, vector_at(zero_a, m, Kp, u - lo, lane), vadd(ea, oa))
            vstore(rows, vector_at(zero_b, m, Kp, u - lo, lane + WIDTH), vadd(eb, ob))


@njit(cache=True, error_model="numpy")
def user_errors(L, lo, hi, means_p, Kp, rows):
    """rows (the table (m * Kp,) of m = hi - lo rows) <- users lo..hi-1's squared errors to the
    means (the table means_p (d * Kp,)), summed over each user's ratings in item order by fused multiply-adds:
    16 lanes at a time as two 8-lane sums, then the last 12 lanes as an 8- and a 4-lane sum
    (``error_pairs``), or the last 8 or 4 as one vector (``error_vectors``).

    Users are read in R's CSR order, so the random reads are of means' rows (d of them, kept
    in cache) and nothing is written per rating. Each helper walks all the users for its lanes:
    an inlined helper that takes arrays and loops costs each array a reference count up and down
    (two atomic operations) per call, which, called per user, took 4-7% of the E-step at K = 4.
    """
    lane = Kp // (2 * WIDTH) * (2 * WIDTH)   # after the 16-lane groups
    if lane > 0:
        error_pairs(vzero(), vzero(), L, lo, hi, means_p, Kp, (0, lane), rows)
    if Kp - lane == WIDTH + NARROW:
        error_pairs(vzero(), vzero4(), L, lo, hi, means_p, Kp, (lane, Kp), rows)
    elif Kp - lane == WIDTH:
        error_vectors(vzero(), L, lo, hi, means_p, Kp, lane, rows)
    elif Kp - lane == NARROW:
        error_vectors(vzero4(), L, lo, hi, means_p, Kp, lane, rows)


@njit(cache=True, error_model="numpy")
def component_terms(log_weights, variances, Kp):
    """(3 * padded(Kp),) the per-component factors of the log joint as three rows of whole vectors:
    log w_j, log(2 pi var_j) and 1 / (2 var_j), padding lanes -inf, 0 and 0 (their log joints are -inf)."""
    K = log_weights.shape[0]
    W = padded(Kp)
    terms = np.zeros(3 * W)
    terms[K:W] = -np.inf
    for j in range(K):
        terms[j] = log_weights[j]
        terms[W + j] = LOG_2PI + np.log(variances[j])
        terms[2 * W + j] = 0.5 / variances[j]
    return terms


@njit(cache=True, error_model="numpy", inline="always")
def add_to(flat, at, v):
    """flat[at : at + WIDTH] += v."""
    vstore(flat, at, vadd(vload(flat, at), v))


@njit(cache=True, error_model="numpy", inline="always")
def joint(log_w, log_2pi_var, half_inv_var, e, half_n):
    """log w - n/2 log(2 pi var) - sq / (2 var), lane-wise (Vec8): the log joint, written once."""
    return vsub(vsub(log_w, vmul(half_n, log_2pi_var)), vmul(e, half_inv_var))


@njit(cache=True, error_model="numpy", inline="always")
def log_joint(terms, c, e, half_n):
    """Lanes c..c+7 of a user's log joint (a Vec8) from its squared errors e there and n_u / 2
    (broadcast): log w_j - n_u/2 log(2 pi var_j) - sq_j / (2 var_j), terms from ``component_terms``."""
    W = terms.shape[0] // 3
    return joint(vload(terms, c), vload(terms, W + c), vload(terms, 2 * W + c), e, half_n)


@njit(cache=True, error_model="numpy", inline="always")
def component_joint(terms, k, e, half_n):
    """Component k's log joint for eight users at once, one per lane (their squared errors e to it,
    their n_u / 2 in half_n)."""
    W = terms.shape[0] // 3
    return joint(vbroadcast(terms[k]), vbroadcast(terms[W + k]), vbroadcast(terms[2 * W + k]), e, half_n)


@njit(cache=True, error_model="numpy", inline="always")
def eight_vectors(array, at, step):
    """The Vec8 at array[at], array[at + step], .., array[at + 7 step], as a UniTuple for ``vtranspose8``."""
    return (vload(array, at), vload(array, at + step), vload(array, at + 2 * step), vload(array, at + 3 * step),
            vload(array, at + 4 * step), vload(array, at + 5 * step), vload(array, at + 6 * step),
            vload(array, at + 7 * step))


@njit(cache=True, error_model="numpy", inline="always")
def four_vectors(array, at):
    """The four Vec8 at array[at : at + 32], as a UniTuple for ``vtranspose_quads`` and its inverse."""
    return vload(array, at), vload(array, at + WIDTH), vload(array, at + 2 * WIDTH), vload(array, at + 3 * WIDTH)


@njit(cache=True, error_model="numpy", inline="always")
def load_group(rows, m, Kp, first, comp):
    """comp[8 k : 8 k + 8] <- lane k of the rows first..first+7 of a block's table of m rows of
    Kp lanes (``vector_at``), each k < Kp: eight users' squared errors, one per lane."""
    wide = Kp // WIDTH * WIDTH
    for lane in range(0, wide, WIDTH):
        columns = vtranspose8(eight_vectors(rows, wide_offset(Kp, first, lane), wide))
        for j in range(WIDTH):
            vstore(comp, (lane + j) * WIDTH, columns[j])
    if Kp > wide:   # the 8 rows' last 4 lanes: 32 float64 one after another
        lanes = vtranspose_quads(four_vectors(rows, tail_offset(m, Kp, first)))
        for k in range(NARROW):
            vstore(comp, (wide + k) * WIDTH, lanes[k])


@njit(cache=True, error_model="numpy", inline="always")
def unload_group(comp, Kp, out):
    """out[P j : P j + Kp] <- lane j of comp's Kp vectors (P = padded(Kp)): ``load_group``
    undone, into rows of P lanes."""
    wide, P = Kp // WIDTH * WIDTH, padded(Kp)
    for lane in range(0, wide, WIDTH):
        users = vtranspose8(eight_vectors(comp, lane * WIDTH, WIDTH))
        for j in range(WIDTH):
            vstore(out, j * P + lane, users[j])
    if Kp > wide:
        pairs = vuntranspose_quads(four_vectors(comp, wide * WIDTH))
        for i in range(NARROW):
            vstore(out, 2 * i * P + wide, vlow(pairs[i]))
            vstore(out, (2 * i + 1) * P + wide, vhigh(pairs[i]))


@njit(cache=True, error_model="numpy", inline="always")
def group_posteriors(comp, Kp, terms, half_n):
    """comp's Kp vectors of eight users' squared errors (one user per lane) -> their
    responsibilities; returns (each user's largest log joint, its sum of exponentials) as two
    Vec8. ``normalize_log``'s operations lane by lane: exponentials shifted by the largest log
    joint, their sum taken as normalize_log takes it (vector by vector, then lane after lane),
    a scaling by 1 / sum, results below the smallest normal 0."""
    top = vbroadcast(-np.inf)
    for k in range(Kp):
        x = component_joint(terms, k, vload(comp, k * WIDTH), half_n)
        vstore(comp, k * WIDTH, x)
        top = vmax(top, x)
    for k in range(Kp):
        vstore(comp, k * WIDTH, vexp_normal(vsub(vload(comp, k * WIDTH), top)))
    norm = vzero()
    for j in range(min(Kp, WIDTH)):   # lane j of normalize_log's vector sum: exponentials j, j + 8, ..
        lane_sum = vload(comp, j * WIDTH)
        for k in range(j + WIDTH, Kp, WIDTH):
            lane_sum = vadd(lane_sum, vload(comp, k * WIDTH))
        norm = lane_sum if j == 0 else vadd(norm, lane_sum)
    scale = vdiv(vbroadcast(1.0), norm)
    for k in range(Kp):
        vstore(comp, k * WIDTH, vflush(vmul(vload(comp, k * WIDTH), scale), SMALLEST_NORMAL))
    return top, norm


@njit(cache=True, error_model="numpy")
def posteriors_in_groups(indptr, lo, hi, terms, rows, Kp, user_ll, sums):
    """``block_responsibilities``' posteriors eight users at a time, one per lane, for users
    lo..first-1 (first, returned, is lo + a multiple of 8 <= hi): their rows of squared errors
    become vectors of components (``load_group``: register transposes), the posteriors are taken
    a component at a time (``group_posteriors``) and turned back (``unload_group``), then each
    user's row is stored and its terms added to sums (3 rows of W lanes) in user order; user_ll
    gets each user's shift + log(sum) after the loop (within it, a call to libm's log made the
    compiler save and restore every vector register). Bit-identical to ``posteriors_by_rows``,
    without its chain of dependent steps per user (horizontal maximum, exponentials, horizontal
    sum, division), which kept the core waiting."""
    m = hi - lo
    W, P = terms.shape[0] // 3, padded(Kp)
    comp, out, counts = aligned_zeros(Kp * WIDTH), aligned_zeros(WIDTH * P), aligned_zeros(WIDTH)
    first = lo + m // WIDTH * WIDTH
    norms = np.empty(first - lo)
    for g in range(lo, first, WIDTH):
        for j in range(WIDTH):
            counts[j] = np.float64(indptr[g + j + 1] - indptr[g + j])
        load_group(rows, m, Kp, g - lo, comp)
        top, norm = group_posteriors(comp, Kp, terms, vmul(vload(counts, 0), vbroadcast(0.5)))
        vstore(user_ll, g, top)
        vstore(norms, g - lo, norm)
        unload_group(comp, Kp, out)
        for c in range(0, Kp, WIDTH):   # the sums of lanes c.. in registers over the group's users, in user order
            s_r, s_n, s_sq = vload(sums, c), vload(sums, W + c), vload(sums, 2 * W + c)
            for j in range(WIDTH):
                at = lane_at(m, Kp, g - lo + j, c)
                r, e = vload_partial(out, j * P + c, Kp - c, 0.0), vload_partial(rows, at, Kp - c, 0.0)
                vstore_partial(rows, at, Kp - c, r)
                s_r, s_n, s_sq = vadd(s_r, r), vadd(s_n, vmul(r, vbroadcast(counts[j]))), vadd(s_sq, vmul(r, e))
            vstore(sums, c, s_r)
            vstore(sums, W + c, s_n)
            vstore(sums, 2 * W + c, s_sq)
    for u in range(lo, first):
        user_ll[u] = user_ll[u] + np.log(norms[u - lo])
    return first


@njit(cache=True, error_model="numpy", inline="always")
def posteriors_by_rows(indptr, lo, first, hi, terms, rows, Kp, user_ll, sums):
    """``block_responsibilities``' posteriors of users first..hi-1 (of the block of users lo..hi-1)
    one at a time, eight lanes at a time: a user's squared errors are gathered from the block's
    table into the scratch row sq, its log joint into the scratch row joint_row, normalised there
    (``normalize_log``), then stored back to the table. The scratch rows are whole vectors, so
    what one step stores the next loads without a masked access, which would wait for the store
    to reach the cache."""
    W = terms.shape[0] // 3
    sq, joint_row = aligned_zeros(W), aligned_zeros(W)
    m = hi - lo
    for u in range(first, hi):
        n_u = np.float64(indptr[u + 1] - indptr[u])
        count, half_n = vbroadcast(n_u), vbroadcast(0.5 * n_u)
        for c in range(0, Kp, WIDTH):
            e = vload_partial(rows, lane_at(m, Kp, u - lo, c), Kp - c, 0.0)
            vstore(sq, c, e)
            vstore(joint_row, c, log_joint(terms, c, e, half_n))
        user_ll[u] = normalize_log(joint_row, 0, Kp)
        for c in range(0, Kp, WIDTH):
            r = vload_partial(joint_row, c, Kp - c, 0.0)
            vstore_partial(rows, lane_at(m, Kp, u - lo, c), Kp - c, r)
            add_to(sums, c, r)
            add_to(sums, W + c, vmul(r, count))
            add_to(sums, 2 * W + c, vmul(r, vload(sq, c)))


@njit(cache=True, error_model="numpy")
def block_responsibilities(L, b, means_p, terms, resp_p, user_ll, small):
    """E-step of block b: its users' rows of resp_p (flat (n * Kp,), each block's a table of its
    rows, padding lanes 0) and of user_ll (n,); small (3, K) <- sum_u r_uj, sum_u r_uj |C_u|,
    sum_u r_uj sq_uj over the block, each added user by user."""
    K = small.shape[1]
    Kp, W = row_width(K), terms.shape[0] // 3
    indptr = L.indptr
    lo, hi = b * L.block, min(indptr.shape[0] - 1, (b + 1) * L.block)
    rows = resp_p[lo * Kp:hi * Kp]
    user_errors(L, lo, hi, means_p, Kp, rows)
    sums = aligned_zeros(3 * W)
    first = posteriors_in_groups(indptr, lo, hi, terms, rows, Kp, user_ll, sums)
    posteriors_by_rows(indptr, lo, first, hi, terms, rows, Kp, user_ll, sums)
    for j in range(K):
        for s in range(3):
            small[s, j] = sums[s * W + j]


@njit(parallel=True, cache=True, error_model="numpy")
def estep_blocks(L, means_t, log_weights, variances, resp_p):
    """E-step over all blocks into resp_p (flat (n * Kp,)); returns (user_ll (n,), small (3, K)),
    small summed in block order (see ``block_responsibilities``)."""
    K = log_weights.shape[0]
    n = L.indptr.shape[0] - 1
    n_blocks = -(-n // L.block)
    Kp = row_width(K)
    means_p = to_table(means_t, Kp, L.item_order)
    terms = component_terms(log_weights, variances, Kp)
    user_ll = np.empty(n)
    block_small = np.empty((n_blocks, 3, K))
    for b in prange(n_blocks):
        block_responsibilities(L, b, means_p, terms, resp_p, user_ll, block_small[b])
    small = np.zeros((3, K))
    for b in range(n_blocks):
        small += block_small[b]
    return user_ll, small


@njit(cache=True, error_model="numpy")
def responsibilities(L, means_t, log_weights, variances):
    """E-step: (resp (n, K), user_log_likelihood (n,)) over each user's observed entries."""
    K = log_weights.shape[0]
    n = L.indptr.shape[0] - 1
    resp_p = workspace(n, K)
    user_ll, _ = estep_blocks(L, means_t, log_weights, variances, resp_p)
    return block_rows(resp_p, n, K, row_width(K), L.block), user_ll


@njit(parallel=True, cache=True, error_model="numpy")
def squared_errors(L, means_t):
    """(n, K): each user's squared error to each mean (columns of means_t (d, K)) over the
    user's observed entries."""
    K = means_t.shape[1]
    Kp = row_width(K)
    n = L.indptr.shape[0] - 1
    means_p = to_table(means_t, Kp, L.item_order)
    out = aligned_zeros(n * Kp)
    for b in prange(-(-n // L.block)):
        lo, hi = b * L.block, min(n, (b + 1) * L.block)
        user_errors(L, lo, hi, means_p, Kp, out[lo * Kp:hi * Kp])
    return block_rows(out, n, K, Kp, L.block)


# ---------------------------------------------------------------- M-step sums per item

@njit(cache=True, error_model="numpy", inline="always")
def user_row(zero, rows, m, Kp, lane, users, p):
    """Lanes lane.. (as many as zero's: a Vec8 or a Vec4) of the responsibilities of rating p's
    user (users[p] within the block), from the block's table ``rows`` of m rows."""
    return vload_as(zero, rows, vector_at(zero, m, Kp, np.intp(fetch(users, p)), lane))


@njit(cache=True, error_model="numpy", inline="always")
def odd_tail(zero, rows, m, Kp, lane, users, p, end):
    """The row of users[p] when one rating of the run is left (p = end - 1), else zeros (p = end),
    without a branch: a run's parity is random, so a branch would be mispredicted half the time.
    r * 1.0 = r and r * 0.0 = +0.0 exactly, so sums do not change."""
    return vmul(user_row(zero, rows, m, Kp, lane, users, end - 1), vbroadcast_as(zero, np.float64(end - p)))


@njit(cache=True, error_model="numpy", inline="always")
def pair_tail(zero, rows, m, Kp, lane, users, p, end, k):
    """The row of users[p + k] (k = 0, 1) when two or more ratings of the run are left (p + 1 < end),
    else zeros, without a branch (see ``odd_tail``; the index is kept inside the run)."""
    return vmul(user_row(zero, rows, m, Kp, lane, users, min(p + k, end - 1)), vbroadcast_as(zero, np.float64(p + 1 < end)))


@njit(cache=True, error_model="numpy", inline="always")
def block_table(L, b, Kp, resp_p):
    """(block b's table of responsibility rows in the workspace resp_p (flat (n * Kp,)), its
    number of rows m)."""
    lo = b * L.block
    hi = min(L.indptr.shape[0] - 1, lo + L.block)
    return resp_p[lo * Kp:hi * Kp], hi - lo


@njit(cache=True, error_model="numpy", inline="always")
def add_item_vectors(zero, L, b, lo, hi, lane, resp_p, Kp, s0, s1):
    """Lanes lane.. of items lo..hi-1's rows of s0 and s1 (as many as zero's: a Vec8 or a Vec4)
    += block b's runs of each item: per run of value x, s0 += S and s1 += x S, S the run's sum of
    responsibilities taken as four interleaved partial sums (four additions in flight)."""
    segments, runs, run_values, users = L.segments, L.runs, L.run_values, L.users
    d = L.n_items
    rows, m = block_table(L, b, Kp, resp_p)
    for i in range(lo, hi):
        row = i * Kp + lane
        a0, a1 = vload_as(zero, s0, row), vload_as(zero, s1, row)
        for r in range(fetch(segments, b * d + i), fetch(segments, b * d + i + 1)):
            ra, qa, ta, wa = zero, zero, zero, zero
            p, end = fetch(runs, r), fetch(runs, r + 1)
            while p + 3 < end:
                ra = vadd(ra, user_row(zero, rows, m, Kp, lane, users, p))
                qa = vadd(qa, user_row(zero, rows, m, Kp, lane, users, p + 1))
                ta = vadd(ta, user_row(zero, rows, m, Kp, lane, users, p + 2))
                wa = vadd(wa, user_row(zero, rows, m, Kp, lane, users, p + 3))
                p += 4
            two_left = p + 1 < end
            ra = vadd(ra, pair_tail(zero, rows, m, Kp, lane, users, p, end, 0))
            qa = vadd(qa, pair_tail(zero, rows, m, Kp, lane, users, p, end, 1))
            p += 2 if two_left else 0
            ra = vadd(vadd(vadd(ra, odd_tail(zero, rows, m, Kp, lane, users, p, end)), qa), vadd(ta, wa))
            a0, a1 = vadd(a0, ra), vadd(a1, vmul(ra, vbroadcast_as(zero, rating(run_values, r))))
        vstore(s0, row, a0)
        vstore(s1, row, a1)


@njit(cache=True, error_model="numpy", inline="always")
def add_item_pairs(zero_a, zero_b, L, b, lo, hi, lanes, resp_p, Kp, s0, s1):
    """``add_item_vectors`` for the lane groups lanes[0], lanes[0] + 16, .. < lanes[1] of two
    vectors each (widths those of zero_a, zero_b: an 8-lane one, then an 8- or a 4-lane one), each
    run walked once per group."""
    segments, runs, run_values, users = L.segments, L.runs, L.run_values, L.users
    d = L.n_items
    rows, m = block_table(L, b, Kp, resp_p)
    for i in range(lo, hi):
        for lane in range(lanes[0], lanes[1], 2 * WIDTH):
            row = i * Kp + lane
            a0, b0 = vload_as(zero_a, s0, row), vload_as(zero_b, s0, row + WIDTH)
            a1, b1 = vload_as(zero_a, s1, row), vload_as(zero_b, s1, row + WIDTH)
            for r in range(fetch(segments, b * d + i), fetch(segments, b * d + i + 1)):
                ra, rb, qa, qb = zero_a, zero_b, zero_a, zero_b
                p, end = fetch(runs, r), fetch(runs, r + 1)
                while p + 1 < end:
                    ra = vadd(ra, user_row(zero_a, rows, m, Kp, lane, users, p))
                    rb = vadd(rb, user_row(zero_b, rows, m, Kp, lane + WIDTH, users, p))
                    qa = vadd(qa, user_row(zero_a, rows, m, Kp, lane, users, p + 1))
                    qb = vadd(qb, user_row(zero_b, rows, m, Kp, lane + WIDTH, users, p + 1))
                    p += 2
                ra = vadd(vadd(ra, odd_tail(zero_a, rows, m, Kp, lane, users, p, end)), qa)
                rb = vadd(vadd(rb, odd_tail(zero_b, rows, m, Kp, lane + WIDTH, users, p, end)), qb)
                x = rating(run_values, r)
                a0, b0 = vadd(a0, ra), vadd(b0, rb)
                a1, b1 = vadd(a1, vmul(ra, vbroadcast_as(zero_a, x))), vadd(b1, vmul(rb, vbroadcast_as(zero_b, x)))
            vstore(s0, row, a0)
            vstore(s0, row + WIDTH, b0)
            vstore(s1, row, a1)
            vstore(s1, row + WIDTH, b1)


@njit(cache=True, error_model="numpy")
def add_item_range(L, lo, hi, resp_p, Kp, s0, s1):
    """Items lo..hi-1: s0[i] += sum_u r_u and s1[i] += sum_u r_u x_ui (Kp-rows of flat s0, s1;
    resp_p flat (n * Kp,)), block by block, run by run: 16 lanes at a time as two 8-lane vectors,
    then the last 12 lanes as an 8- and a 4-lane one (``add_item_pairs``), or the last 8 or 4 as
    one vector (``add_item_vectors``). The helpers walk all the items of a block (see ``user_errors``)."""
    lane = Kp // (2 * WIDTH) * (2 * WIDTH)   # after the 16-lane groups
    for b in range(-(-(L.indptr.shape[0] - 1) // L.block)):
        if lane > 0:
            add_item_pairs(vzero(), vzero(), L, b, lo, hi, (0, lane), resp_p, Kp, s0, s1)
        if Kp - lane == WIDTH + NARROW:
            add_item_pairs(vzero(), vzero4(), L, b, lo, hi, (lane, Kp), resp_p, Kp, s0, s1)
        elif Kp - lane == WIDTH:
            add_item_vectors(vzero(), L, b, lo, hi, lane, resp_p, Kp, s0, s1)
        elif Kp - lane == NARROW:
            add_item_vectors(vzero4(), L, b, lo, hi, lane, resp_p, Kp, s0, s1)


@njit(parallel=True, cache=True, error_model="numpy")
def item_sums(L, resp_p, K, n_threads):
    """(s0, s1) (d, K): sum_u r_uj [i in C_u] and sum_u r_uj x_ui, from resp_p (flat (n * Kp,)).

    Each of n_threads threads takes a run of items (``common.balanced_parts``); an item's terms are added
    block by block, run by run, so how the items are split does not change a bit of the result.
    """
    d = L.n_items
    Kp = row_width(K)
    parts = balanced_parts(L.column_ends, n_threads)
    s0 = aligned_zeros(d * Kp)
    s1 = aligned_zeros(d * Kp)
    for t in prange(parts.shape[0] - 1):
        add_item_range(L, parts[t], parts[t + 1], resp_p, Kp, s0, s1)
    return unpad_columns(s0, K, Kp), unpad_columns(s1, K, Kp)


def em_statistics(L, means_t, log_weights, variances, resp_p):
    """One EM pass: the E-step block by block, then the M-step's sums item by item.

    resp_p: (n * Kp,) float64 workspace, overwritten with the padded responsibilities.

    Returns
    -------
    log_likelihood : float, total over users.
    resp_sum : (K,) sum_u r_uj.
    obs_weight : (K,) sum_u r_uj |C_u|.
    sq_weight : (K,) sum_u r_uj sq_uj.
    s0 : (d, K) sum_u r_uj [i in C_u].
    s1 : (d, K) sum_u r_uj [i in C_u] x_ui.
    """
    user_ll, small = estep_blocks(L, means_t, log_weights, variances, resp_p)
    s0, s1 = item_sums(L, resp_p, log_weights.shape[0], get_num_threads())
    return float(np.sum(user_ll)), small[0], small[1], small[2], s0, s1


@njit(cache=True, error_model="numpy")
def move_means(means_t, s0, s1, min_mean_weight):
    """The M-step's means: (new means_t (d, K), explained (K,)).

    A mean (i, j) moves to the weighted mean s1_ij / s0_ij of item i's ratings only where
    s0_ij >= min_mean_weight (and s0_ij > 0). With c = s1 - mu s0, the weighted residual sum,
    sum_u r_uj sum_i (x_ui - new mu_ji)^2 = sq_j - explained_j, explained_j = sum_{i moved} c_ij^2 / s0_ij.
    """
    d, K = means_t.shape
    new = means_t.copy()
    explained = np.zeros(K)
    for i in range(d):
        for j in range(K):
            if s0[i, j] >= min_mean_weight and s0[i, j] > 0:
                c = s1[i, j] - means_t[i, j] * s0[i, j]
                new[i, j] = means_t[i, j] + c / s0[i, j]
                explained[j] += c * c / s0[i, j]
    return new, explained


@njit(parallel=True, cache=True, error_model="numpy")
def predict_pairs(resp, means_t, users, items):
    """(m,) sum_j resp[users[k], j] * means_t[items[k], j] for each requested pair k."""
    out = np.empty(users.shape[0])
    for k in prange(users.shape[0]):
        acc = 0.0
        for j in range(resp.shape[1]):
            acc += resp[users[k], j] * means_t[items[k], j]
        out[k] = acc
    return out
