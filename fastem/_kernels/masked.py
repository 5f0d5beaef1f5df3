"""Kernels over the observed entries of a CSR rating matrix (spherical Gaussian components).

Notation: n users, d items, K components. ``means_t`` is (d, K), the transposed means, so the
K values an observed rating meets are contiguous. A user's log joint with component j is

    log w_j - n_u/2 log(2 pi var_j) - sq_uj / (2 var_j),   sq_uj = sum_{i in C_u} (x_ui - mu_ji)^2

and is written once, in ``user_log_joint``. The K-loops run as 8-lane vectors (``simd``) over
per-item rows padded to Kp = padded(K) components. Work is split into fixed user chunks;
statistics are accumulated per chunk and added in chunk order, so results do not depend on the
number of threads.
"""
import numpy as np
from numba import njit, prange

from .common import normalize_log
from .simd import WIDTH, pad_columns, padded, vadd, vbroadcast, vload, vmul, vstore, vsub

LOG_2PI = np.log(2.0 * np.pi)


@njit(cache=True, error_model="numpy", inline="always")
def squared_error(x, means_p, at):
    """(x - means_p[at : at + 8])^2 as a Vec8."""
    diff = vsub(vbroadcast(x), vload(means_p, at))
    return vmul(diff, diff)


@njit(cache=True, error_model="numpy")
def add_squared_errors(indices, values, start, end, means_p, sq):
    """sq (Kp,) += sum over the ratings p in start..end-1 of (x_p - means_p[item p, :])^2.

    means_p is the flat (d * Kp,) output of ``simd.pad_columns``; each rating meets its item's
    Kp means as Kp / 8 vectors, added in rating order (as the scalar loop would). Blocks go two
    per sweep over the ratings while two remain, which saves re-reading the ratings.
    """
    Kp = sq.shape[0]
    block = 0
    while block + 2 * WIDTH <= Kp:
        acc, acc2 = vload(sq, block), vload(sq, block + WIDTH)
        for p in range(start, end):
            at = np.intp(indices[p]) * Kp + block
            acc = vadd(acc, squared_error(values[p], means_p, at))
            acc2 = vadd(acc2, squared_error(values[p], means_p, at + WIDTH))
        vstore(sq, block, acc)
        vstore(sq, block + WIDTH, acc2)
        block += 2 * WIDTH
    if block < Kp:
        acc = vload(sq, block)
        for p in range(start, end):
            acc = vadd(acc, squared_error(values[p], means_p, np.intp(indices[p]) * Kp + block))
        vstore(sq, block, acc)


@njit(cache=True, error_model="numpy")
def log_joint_from_errors(n_u, sq, log_weights, variances, log_joint):
    """log_joint (K,) <- log w_j - n_u/2 log(2 pi var_j) - sq_j / (2 var_j), for a user with n_u ratings."""
    half_n = 0.5 * n_u
    for j in range(log_joint.shape[0]):
        log_joint[j] = (log_weights[j] - half_n * (LOG_2PI + np.log(variances[j]))
                        - sq[j] / (2.0 * variances[j]))


@njit(cache=True, error_model="numpy")
def user_log_joint(indptr, indices, values, u, means_p, log_weights, variances, sq, log_joint):
    """log_joint (K,) <- log w_j + log N(x_u,obs | mu_j,obs, var_j I); also fills sq (Kp,)."""
    sq[:] = 0.0
    add_squared_errors(indices, values, indptr[u], indptr[u + 1], means_p, sq)
    log_joint_from_errors(indptr[u + 1] - indptr[u], sq, log_weights, variances, log_joint)


@njit(parallel=True, cache=True, error_model="numpy")
def responsibilities(indptr, indices, values, means_t, log_weights, variances):
    """E-step: (resp (n, K), user_log_likelihood (n,)) over each user's observed entries."""
    n = indptr.shape[0] - 1
    K = means_t.shape[1]
    means_p = pad_columns(means_t)
    resp = np.empty((n, K))
    user_ll = np.empty(n)
    for u in prange(n):
        sq = np.empty(padded(K))
        log_joint = np.empty(K)
        user_log_joint(indptr, indices, values, u, means_p, log_weights, variances, sq, log_joint)
        user_ll[u] = normalize_log(log_joint, resp[u])
    return resp, user_ll


@njit(parallel=True, cache=True, error_model="numpy")
def squared_errors(indptr, indices, values, means_t):
    """(n, K): each user's squared error to each mean over the user's observed entries."""
    n = indptr.shape[0] - 1
    K = means_t.shape[1]
    Kp = padded(K)
    means_p = pad_columns(means_t)
    out = np.empty((n, K))
    for u in prange(n):
        sq = np.zeros(Kp)
        add_squared_errors(indices, values, indptr[u], indptr[u + 1], means_p, sq)
        out[u] = sq[:K]
    return out


@njit(cache=True, error_model="numpy", inline="always")
def add_rating(s0, s1, at, r, x):
    """s0[at : at + 8] += r and s1[at : at + 8] += r x, for a Vec8 r and a float64 x."""
    vstore(s0, at, vadd(vload(s0, at), r))
    vstore(s1, at, vadd(vload(s1, at), vmul(r, vbroadcast(x))))


@njit(cache=True, error_model="numpy")
def add_statistics(indices, values, start, end, r, s0, s1):
    """s0[i] += r and s1[i] += r x_p over the ratings p in start..end-1 (i their item; r (Kp,), s0, s1 flat (d * Kp,))."""
    Kp = r.shape[0]
    block = 0
    while block + 2 * WIDTH <= Kp:
        r1, r2 = vload(r, block), vload(r, block + WIDTH)
        for p in range(start, end):
            at = np.intp(indices[p]) * Kp + block
            add_rating(s0, s1, at, r1, values[p])
            add_rating(s0, s1, at + WIDTH, r2, values[p])
        block += 2 * WIDTH
    if block < Kp:
        r1 = vload(r, block)
        for p in range(start, end):
            add_rating(s0, s1, np.intp(indices[p]) * Kp + block, r1, values[p])


@njit(cache=True, error_model="numpy")
def tile_ends(indptr, indices, first, last, tiles, ends):
    """ends[u - first, t] <- end of user u's ratings in item tile t (``tiles``: (t + 1,) boundaries)."""
    for u in range(first, last):
        p, stop = indptr[u], indptr[u + 1]
        for t in range(tiles.shape[0] - 1):
            while p < stop and indices[p] < tiles[t + 1]:
                p += 1
            ends[u - first, t] = p


@njit(cache=True, error_model="numpy")
def chunk_statistics(indptr, indices, values, lo, hi, tiles, group, means_p, log_weights, variances, s0, s1, small):
    """Statistics of users lo..hi-1 into zeroed flat s0, s1 (d * Kp,) and small (3, K); returns their log-likelihood.

    small rows: sum_u r_uj, sum_u r_uj |C_u|, sum_u r_uj sq_uj. Cache blocking: users go in
    groups of ``group``, and within a group the items go tile by tile (``tiles``: (t + 1,) item
    boundaries), all the group's ratings in one tile before the next, first for the squared
    errors, then, once the group's responsibilities are known, for s0 and s1. Every sum still
    receives its terms in rating order, so the blocking does not change a bit of the result.
    """
    K = log_weights.shape[0]
    Kp = padded(K)
    n_tiles = tiles.shape[0] - 1
    log_joint = np.empty(K)
    group_sq = np.empty((group, Kp))
    group_resp = np.zeros((group, Kp))
    ends = np.empty((group, max(n_tiles, 1)), np.int64)
    ll = 0.0
    for first in range(lo, hi, group):
        last = min(hi, first + group)
        tile_ends(indptr, indices, first, last, tiles, ends)
        group_sq[:] = 0.0
        for t in range(n_tiles):
            for u in range(first, last):
                start = indptr[u] if t == 0 else ends[u - first, t - 1]
                add_squared_errors(indices, values, start, ends[u - first, t], means_p, group_sq[u - first])
        for u in range(first, last):
            sq, r = group_sq[u - first], group_resp[u - first]
            n_u = indptr[u + 1] - indptr[u]
            log_joint_from_errors(n_u, sq, log_weights, variances, log_joint)
            ll += normalize_log(log_joint, r[:K])
            for j in range(K):
                small[0, j] += r[j]
                small[1, j] += r[j] * n_u
                small[2, j] += r[j] * sq[j]
        for t in range(n_tiles):
            for u in range(first, last):
                start = indptr[u] if t == 0 else ends[u - first, t - 1]
                add_statistics(indices, values, start, ends[u - first, t], group_resp[u - first], s0, s1)
    return ll


@njit(parallel=True, cache=True, error_model="numpy")
def em_statistics(indptr, indices, values, chunks, tiles, group, means_t, log_weights, variances):
    """One fused sweep over the ratings: E-step and the M-step's sufficient statistics.

    Each chunk of users (``chunks``: (c + 1,) user boundaries, ``fastem.chunks.balanced_chunks``)
    accumulates into its own buffers; the buffers are then added in chunk order, so the result
    is the same for every number of threads. Extra memory: 2 c d Kp floats. ``tiles`` ((t + 1,)
    item boundaries) and ``group`` (users) set the cache blocking (``fastem.chunks.cache_blocking``).

    Returns
    -------
    log_likelihood : float, total over users.
    resp_sum : (K,) sum_u r_uj.
    obs_weight : (K,) sum_u r_uj |C_u|.
    sq_weight : (K,) sum_u r_uj sq_uj.
    s0 : (d, K) sum_u r_uj [i in C_u].
    s1 : (d, K) sum_u r_uj [i in C_u] x_ui.
    """
    d, K = means_t.shape
    Kp = padded(K)
    n_chunks = chunks.shape[0] - 1
    means_p = pad_columns(means_t)
    chunk_ll = np.zeros(n_chunks)
    chunk_small = np.zeros((n_chunks, 3, K))
    buf0 = np.zeros((n_chunks, d * Kp))
    buf1 = np.zeros((n_chunks, d * Kp))
    for c in prange(n_chunks):
        chunk_ll[c] = chunk_statistics(indptr, indices, values, chunks[c], chunks[c + 1], tiles, group, means_p,
                                       log_weights, variances, buf0[c], buf1[c], chunk_small[c])
    s0 = np.zeros((d, K))
    s1 = np.zeros((d, K))
    for i in prange(d):
        for c in range(n_chunks):
            for j in range(K):
                s0[i, j] += buf0[c, i * Kp + j]
                s1[i, j] += buf1[c, i * Kp + j]
    log_likelihood = 0.0
    sums = np.zeros((3, K))
    for c in range(n_chunks):
        log_likelihood += chunk_ll[c]
        for row in range(3):
            for j in range(K):
                sums[row, j] += chunk_small[c, row, j]
    return log_likelihood, sums[0], sums[1], sums[2], s0, s1


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
