"""Kernels over the observed entries of a CSR rating matrix (spherical Gaussian components).

Notation: n users, d items, K components. ``means_t`` is (d, K), the transposed means, so the
K values an observed rating meets are contiguous. A user's log joint with component j is

    log w_j - n_u/2 log(2 pi var_j) - sq_uj / (2 var_j),   sq_uj = sum_{i in C_u} (x_ui - mu_ji)^2

and is written once, in ``user_log_joint``. Work is split into fixed user chunks; statistics
are accumulated per chunk and added in chunk order, so results do not depend on the number
of threads.
"""
import numpy as np
from numba import njit, prange

from .common import normalize_log

LOG_2PI = np.log(2.0 * np.pi)


@njit(cache=True, error_model="numpy")
def user_squared_errors(indptr, indices, values, u, means_t, sq):
    """sq (K,) <- sum over user u's observed items i of (x_ui - means_t[i, :])^2."""
    sq[:] = 0.0
    for p in range(indptr[u], indptr[u + 1]):
        i = indices[p]
        x = np.float64(values[p])
        for j in range(sq.shape[0]):
            diff = x - means_t[i, j]
            sq[j] += diff * diff


@njit(cache=True, error_model="numpy")
def user_log_joint(indptr, indices, values, u, means_t, log_weights, variances, sq, log_joint):
    """log_joint (K,) <- log w_j + log N(x_u,obs | mu_j,obs, var_j I); also fills sq (K,)."""
    user_squared_errors(indptr, indices, values, u, means_t, sq)
    half_n = 0.5 * (indptr[u + 1] - indptr[u])
    for j in range(sq.shape[0]):
        log_joint[j] = (log_weights[j] - half_n * (LOG_2PI + np.log(variances[j]))
                        - sq[j] / (2.0 * variances[j]))


@njit(parallel=True, cache=True, error_model="numpy")
def responsibilities(indptr, indices, values, means_t, log_weights, variances):
    """E-step: (resp (n, K), user_log_likelihood (n,)) over each user's observed entries."""
    n = indptr.shape[0] - 1
    K = means_t.shape[1]
    resp = np.empty((n, K))
    user_ll = np.empty(n)
    for u in prange(n):
        sq = np.empty(K)
        log_joint = np.empty(K)
        user_log_joint(indptr, indices, values, u, means_t, log_weights, variances, sq, log_joint)
        user_ll[u] = normalize_log(log_joint, resp[u])
    return resp, user_ll


@njit(parallel=True, cache=True, error_model="numpy")
def squared_errors(indptr, indices, values, means_t):
    """(n, K): each user's squared error to each mean over the user's observed entries."""
    n = indptr.shape[0] - 1
    out = np.empty((n, means_t.shape[1]))
    for u in prange(n):
        user_squared_errors(indptr, indices, values, u, means_t, out[u])
    return out


@njit(cache=True, error_model="numpy")
def chunk_statistics(indptr, indices, values, lo, hi, means_t, log_weights, variances, s0, s1, small):
    """Statistics of users lo..hi-1 into fresh s0, s1 (d, K) and small (3, K); returns their log-likelihood.

    small rows: sum_u r_uj, sum_u r_uj |C_u|, sum_u r_uj sq_uj.
    """
    d, K = means_t.shape
    for i in range(d):
        for j in range(K):
            s0[i, j] = 0.0
            s1[i, j] = 0.0
    sq = np.empty(K)
    log_joint = np.empty(K)
    r = np.empty(K)
    ll = 0.0
    for u in range(lo, hi):
        user_log_joint(indptr, indices, values, u, means_t, log_weights, variances, sq, log_joint)
        ll += normalize_log(log_joint, r)
        n_u = indptr[u + 1] - indptr[u]
        for j in range(K):
            small[0, j] += r[j]
            small[1, j] += r[j] * n_u
            small[2, j] += r[j] * sq[j]
        for p in range(indptr[u], indptr[u + 1]):
            i = indices[p]
            x = np.float64(values[p])
            for j in range(K):
                s0[i, j] += r[j]
                s1[i, j] += r[j] * x
    return ll


@njit(parallel=True, cache=True, error_model="numpy")
def em_statistics(indptr, indices, values, chunks, means_t, log_weights, variances, n_threads):
    """One fused sweep over the ratings: E-step and the M-step's sufficient statistics.

    ``n_threads`` chunks run at a time, each into its own buffer; the buffers are then added
    in chunk order, so the result is the same for every ``n_threads``.

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
    n_chunks = chunks.shape[0] - 1
    width = max(1, min(n_threads, n_chunks))
    chunk_ll = np.zeros(n_chunks)
    chunk_small = np.zeros((n_chunks, 3, K))
    s0 = np.zeros((d, K))
    s1 = np.zeros((d, K))
    buf0 = np.empty((width, d, K))
    buf1 = np.empty((width, d, K))
    for first in range(0, n_chunks, width):
        wave = min(width, n_chunks - first)
        for t in prange(wave):
            c = first + t
            chunk_ll[c] = chunk_statistics(indptr, indices, values, chunks[c], chunks[c + 1], means_t,
                                           log_weights, variances, buf0[t], buf1[t], chunk_small[c])
        for i in prange(d):
            for t in range(wave):
                for j in range(K):
                    s0[i, j] += buf0[t, i, j]
                    s1[i, j] += buf1[t, i, j]
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
