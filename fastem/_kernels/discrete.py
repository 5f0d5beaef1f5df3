"""E-step kernel of mixtures of independent exponential-family coordinates (Bernoulli, Poisson).

Notation: n rows, d coordinates, K components. Both mixtures have a per-row log joint of the form

    log p(x_n, z_n = k) = offset_k + sum_j x_nj * natural_kj + row_const_n

(Bernoulli: natural = logit p, offset = log w_k + sum_j log(1 - p_kj), row_const = 0;
Poisson: natural = log lambda, offset = log w_k - sum_j lambda_kj, row_const = -sum_j log x_nj!),
written once, in ``row_log_joint``. Rows are split into fixed chunks; statistics are accumulated
per chunk and added in chunk order, so results do not depend on the number of threads.
"""
import numpy as np
from numba import njit, prange

from .common import normalize_log


@njit(cache=True)
def row_log_joint(X, n, natural, offset, row_const, log_joint):
    """log_joint (K,) <- offset_k + x_n . natural_k + row_const_n."""
    for k in range(natural.shape[0]):
        acc = offset[k] + row_const[n]
        for j in range(X.shape[1]):
            acc += X[n, j] * natural[k, j]
        log_joint[k] = acc


@njit(cache=True)
def chunk_statistics(X, start, stop, natural, offset, row_const, resp, resp_sum, weighted_sum):
    """E-step over rows start..stop-1: fills their resp rows, overwrites resp_sum (K,) and
    weighted_sum (K, d) with the chunk's sums; returns the chunk's log-likelihood."""
    K, d = natural.shape
    resp_sum[:] = 0.0
    weighted_sum[:] = 0.0
    log_joint = np.empty(K)
    ll = 0.0
    for n in range(start, stop):
        row_log_joint(X, n, natural, offset, row_const, log_joint)
        r = resp[n]
        r[:] = log_joint
        ll += normalize_log(r, 0, K)
        for k in range(K):
            resp_sum[k] += r[k]
            for j in range(d):
                weighted_sum[k, j] += r[k] * X[n, j]
    return ll


@njit(cache=True)
def sum_in_chunk_order(chunk_ll, chunk_resp_sum):
    """(sum of chunk_ll (c,), column sums (K,) of chunk_resp_sum (c, K)), added in chunk order."""
    ll = 0.0
    resp_sum = np.zeros(chunk_resp_sum.shape[1])
    for c in range(chunk_ll.shape[0]):
        ll += chunk_ll[c]
        resp_sum += chunk_resp_sum[c]
    return ll, resp_sum


@njit(parallel=True, cache=True)
def mixture_estep(X, chunks, natural, offset, row_const, resp, n_threads):
    """E-step and sufficient statistics of an exponential-family mixture.

    Parameters
    ----------
    X : (n, d) float64 data.
    chunks : (c + 1,) int64 row boundaries (``fastem.chunks.even_chunks``).
    natural : (K, d) natural parameters; offset : (K,); row_const : (n,).
    resp : (n, K) output, overwritten with the posterior responsibilities.
    n_threads : int, chunks run at a time, each into its own buffer (the result does not depend on it).

    Returns
    -------
    log_likelihood : float, sum_n log sum_k exp(log joint).
    resp_sum : (K,) sum_n r_nk.
    weighted_sum : (K, d) sum_n r_nk x_n.
    """
    K, d = natural.shape
    n_chunks = chunks.shape[0] - 1
    width = max(1, min(n_threads, n_chunks))
    chunk_ll = np.empty(n_chunks)
    chunk_resp_sum = np.empty((n_chunks, K))
    weighted_sum = np.zeros((K, d))
    buf = np.empty((width, K, d))
    for first in range(0, n_chunks, width):
        wave = min(width, n_chunks - first)
        for t in prange(wave):
            chunk_ll[first + t] = chunk_statistics(X, chunks[first + t], chunks[first + t + 1], natural, offset,
                                                   row_const, resp, chunk_resp_sum[first + t], buf[t])
        for k in prange(K):
            for t in range(wave):
                for j in range(d):
                    weighted_sum[k, j] += buf[t, k, j]
    log_likelihood, resp_sum = sum_in_chunk_order(chunk_ll, chunk_resp_sum)
    return log_likelihood, resp_sum, weighted_sum
