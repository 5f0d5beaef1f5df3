"""Kernels of Gaussian pLSA (Hofmann 2004) over the observed entries of a CSR matrix.

Notation: n users, d items, K classes. User u has mixing weights theta[u] = P(z | u) (n, K);
item i and class z a Gaussian N(v; mu_iz, psi_iz), arrays means_t and noise (d, K). Each rating
(u, i, v) has its own class posterior q_z ∝ theta_uz N(v; mu_iz, psi_iz), written once in
``rating_posterior``. Item statistics are accumulated per fixed user chunk and added in chunk
order (results do not depend on the thread count); user statistics are each user's own.
"""
import numpy as np
from numba import njit, prange

from .common import normalize_log

LOG_2PI = np.log(2.0 * np.pi)


@njit(cache=True, error_model="numpy")
def rating_posterior(x, i, log_theta_u, means_t, inv_noise, log_noise, log_joint, post):
    """post (K,) <- q(z | u, i, x); returns log sum_z theta_uz N(x; mu_iz, psi_iz)."""
    for z in range(log_joint.shape[0]):
        r = x - means_t[i, z]
        log_joint[z] = log_theta_u[z] - 0.5 * (LOG_2PI + log_noise[i, z] + r * r * inv_noise[i, z])
    return normalize_log(log_joint, post)


@njit(cache=True, error_model="numpy")
def chunk_statistics(indptr, indices, values, lo, hi, means_t, inv_noise, log_noise, log_theta, user_counts,
                     s0, s1, s2):
    """Users lo..hi-1: user_counts[u] (K,) <- sum_i q; fresh s0, s1, s2 (d, K) <- sum q, sum q x,
    sum q x^2 per item; returns the chunk's log-likelihood."""
    K = means_t.shape[1]
    s0[:] = 0.0
    s1[:] = 0.0
    s2[:] = 0.0
    log_joint = np.empty(K)
    post = np.empty(K)
    ll = 0.0
    for u in range(lo, hi):
        user_counts[u] = 0.0
        for p in range(indptr[u], indptr[u + 1]):
            i = indices[p]
            x = np.float64(values[p])
            ll += rating_posterior(x, i, log_theta[u], means_t, inv_noise, log_noise, log_joint, post)
            for z in range(K):
                user_counts[u, z] += post[z]
                s0[i, z] += post[z]
                s1[i, z] += post[z] * x
                s2[i, z] += post[z] * x * x
    return ll


@njit(parallel=True, cache=True, error_model="numpy")
def em_statistics(indptr, indices, values, chunks, means_t, noise, log_theta, n_threads):
    """One sweep: (log_likelihood, user_counts (n, K), s0, s1, s2 (d, K)); see ``chunk_statistics``."""
    d, K = means_t.shape
    n = indptr.shape[0] - 1
    n_chunks = chunks.shape[0] - 1
    width = max(1, min(n_threads, n_chunks))
    inv_noise = 1.0 / noise
    log_noise = np.log(noise)
    chunk_ll = np.zeros(n_chunks)
    user_counts = np.empty((n, K))
    s0 = np.zeros((d, K))
    s1 = np.zeros((d, K))
    s2 = np.zeros((d, K))
    buf = np.empty((width, 3, d, K))
    for first in range(0, n_chunks, width):
        wave = min(width, n_chunks - first)
        for t in prange(wave):
            c = first + t
            chunk_ll[c] = chunk_statistics(indptr, indices, values, chunks[c], chunks[c + 1], means_t, inv_noise,
                                           log_noise, log_theta, user_counts, buf[t, 0], buf[t, 1], buf[t, 2])
        for i in prange(d):
            for t in range(wave):
                for z in range(K):
                    s0[i, z] += buf[t, 0, i, z]
                    s1[i, z] += buf[t, 1, i, z]
                    s2[i, z] += buf[t, 2, i, z]
    log_likelihood = 0.0
    for c in range(n_chunks):
        log_likelihood += chunk_ll[c]
    return log_likelihood, user_counts, s0, s1, s2

