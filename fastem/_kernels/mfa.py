"""Kernels of the mixture of factor analysers over the observed entries of a CSR matrix.

Notation: n users, d items, K components, q factors (q = 0 is the diagonal-covariance mixture).
Component j models a user's rating vector as x = mu_j + W_j z + e with z ~ N(0, I_q) and
e ~ N(0, diag(psi_j)). For user u with observed items O, in component j:

    A = I + sum_{i in O} W_ji W_ji^T / psi_ji            (q, q)
    b = sum_{i in O} W_ji (x_ui - mu_ji) / psi_ji         (q,)
    log N(x_O) = -1/2 [|O| log 2 pi + sum_O log psi + log det A + sum_O (x - mu)^2 / psi - b^T A^-1 b]

(determinant lemma and Woodbury), and z | x_O, j ~ N(A^-1 b, A^-1). This is written once, in
``user_posterior``. Arrays: means_t (d, K), loadings (d, K, q), noise (d, K) = psi, log_weights (K,).
Statistics are accumulated per fixed user chunk and added in chunk order, so results do not
depend on the thread count.
"""
import numpy as np
from numba import njit, prange

from .common import normalize_log

LOG_2PI = np.log(2.0 * np.pi)


@njit(cache=True, error_model="numpy")
def cholesky_logdet(A):
    """A (q, q) symmetric positive definite -> its lower Cholesky factor in place; returns log det A."""
    q = A.shape[0]
    logdet = 0.0
    for c in range(q):
        s = A[c, c]
        for k in range(c):
            s -= A[c, k] * A[c, k]
        root = np.sqrt(s)
        A[c, c] = root
        logdet += 2.0 * np.log(root)
        for r in range(c + 1, q):
            t = A[r, c]
            for k in range(c):
                t -= A[r, k] * A[c, k]
            A[r, c] = t / root
        for r in range(c):
            A[r, c] = 0.0
    return logdet


@njit(cache=True, error_model="numpy")
def cholesky_solve(L, b):
    """b (q,) <- A^-1 b for A = L L^T (L lower); returns b^T A^-1 b (before the overwrite)."""
    q = L.shape[0]
    explained = 0.0
    for a in range(q):
        t = b[a]
        for c in range(a):
            t -= L[a, c] * b[c]
        b[a] = t / L[a, a]
        explained += b[a] * b[a]
    for a in range(q - 1, -1, -1):
        t = b[a]
        for c in range(a + 1, q):
            t -= L[c, a] * b[c]
        b[a] = t / L[a, a]
    return explained


@njit(cache=True, error_model="numpy")
def user_posterior(indptr, indices, values, u, means_t, loadings, inv_noise, log_noise, log_weights, work, cov,
                   mean, log_joint):
    """For user u: log_joint (K,) <- log w_j + log N(x_u,O | component j); mean (K, q) and
    cov (K, q, q) <- the posterior mean and covariance of z given x_u,O and j.
    inv_noise, log_noise: (d, K) 1 / psi and log psi; work: (q, q) scratch."""
    K = means_t.shape[1]
    q = loadings.shape[2]
    n_u = indptr[u + 1] - indptr[u]
    for j in range(K):
        b = mean[j]
        for a in range(q):
            b[a] = 0.0
            for c in range(q):
                work[a, c] = 1.0 if a == c else 0.0
        quad = 0.0
        log_psi = 0.0
        for p in range(indptr[u], indptr[u + 1]):
            i = indices[p]
            inv = inv_noise[i, j]
            r = np.float64(values[p]) - means_t[i, j]
            quad += r * r * inv
            log_psi += log_noise[i, j]
            for a in range(q):
                wa = loadings[i, j, a] * inv
                b[a] += wa * r
                for c in range(a + 1):
                    work[a, c] += wa * loadings[i, j, c]
        logdet = cholesky_logdet(work)
        explained = cholesky_solve(work, b)
        log_joint[j] = log_weights[j] - 0.5 * (n_u * LOG_2PI + log_psi + logdet + quad - explained)
        for c in range(q):
            col = cov[j, c]  # row c of the symmetric A^-1 = its column c
            for a in range(q):
                col[a] = 1.0 if a == c else 0.0
            cholesky_solve(work, col)


@njit(cache=True, error_model="numpy")
def chunk_statistics(indptr, indices, values, lo, hi, means_t, loadings, inv_noise, log_noise, log_weights, gram,
                     cross, sq, resp_sum):
    """Statistics of users lo..hi-1 into fresh gram (d, K, q+1, q+1), cross (d, K, q+1), sq (d, K)
    and resp_sum (K,); returns their log-likelihood.

    With zt = (z, 1): gram[i, j] = sum_u r_uj E[zt zt^T | u, j] (lower triangle only; the rest stays 0), cross[i, j] = sum_u r_uj x_ui E[zt | u, j],
    sq[i, j] = sum_u r_uj x_ui^2, over the users u in the chunk who rated item i.
    """
    d, K = means_t.shape
    q = loadings.shape[2]
    gram[:] = 0.0
    cross[:] = 0.0
    sq[:] = 0.0
    resp_sum[:] = 0.0
    work = np.empty((q, q))
    cov = np.empty((K, q, q))
    mean = np.empty((K, q))
    log_joint = np.empty(K)
    r = np.empty(K)
    moment = np.empty((K, q + 1, q + 1))
    ll = 0.0
    for u in range(lo, hi):
        user_posterior(indptr, indices, values, u, means_t, loadings, inv_noise, log_noise, log_weights, work, cov,
                       mean, log_joint)
        ll += normalize_log(log_joint, r)
        for j in range(K):
            resp_sum[j] += r[j]
            for a in range(q):
                for c in range(q):
                    moment[j, a, c] = r[j] * (cov[j, a, c] + mean[j, a] * mean[j, c])
                moment[j, a, q] = r[j] * mean[j, a]
                moment[j, q, a] = r[j] * mean[j, a]
            moment[j, q, q] = r[j]
        for p in range(indptr[u], indptr[u + 1]):
            i = indices[p]
            x = np.float64(values[p])
            for j in range(K):
                sq[i, j] += r[j] * x * x
                for a in range(q + 1):
                    cross[i, j, a] += x * moment[j, q, a]
                    for c in range(a + 1):
                        gram[i, j, a, c] += moment[j, a, c]
    return ll


@njit(parallel=True, cache=True, error_model="numpy")
def em_statistics(indptr, indices, values, chunks, means_t, loadings, noise, log_weights, n_threads):
    """One fused sweep over the ratings: the E-step and the M-step's sufficient statistics.

    ``n_threads`` chunks run at a time, each into its own buffer; the buffers are added in chunk
    order, so the result is the same for every ``n_threads``.

    Returns (log_likelihood, resp_sum (K,), gram (d, K, q+1, q+1) lower triangle, cross (d, K, q+1),
    sq (d, K)); see ``chunk_statistics``.
    """
    d, K = means_t.shape
    q1 = loadings.shape[2] + 1
    n_chunks = chunks.shape[0] - 1
    width = max(1, min(n_threads, n_chunks))
    chunk_ll = np.zeros(n_chunks)
    chunk_resp = np.zeros((n_chunks, K))
    gram = np.zeros((d, K, q1, q1))
    cross = np.zeros((d, K, q1))
    sq = np.zeros((d, K))
    buf_gram = np.empty((width, d, K, q1, q1))
    buf_cross = np.empty((width, d, K, q1))
    buf_sq = np.empty((width, d, K))
    inv_noise = 1.0 / noise
    log_noise = np.log(noise)
    for first in range(0, n_chunks, width):
        wave = min(width, n_chunks - first)
        for t in prange(wave):
            c = first + t
            chunk_ll[c] = chunk_statistics(indptr, indices, values, chunks[c], chunks[c + 1], means_t, loadings,
                                           inv_noise, log_noise, log_weights, buf_gram[t], buf_cross[t], buf_sq[t], chunk_resp[c])
        for i in prange(d):
            for t in range(wave):
                for j in range(K):
                    sq[i, j] += buf_sq[t, i, j]
                    for a in range(q1):
                        cross[i, j, a] += buf_cross[t, i, j, a]
                        for c in range(a + 1):
                            gram[i, j, a, c] += buf_gram[t, i, j, a, c]
    log_likelihood = 0.0
    resp_sum = np.zeros(K)
    for c in range(n_chunks):
        log_likelihood += chunk_ll[c]
        for j in range(K):
            resp_sum[j] += chunk_resp[c, j]
    return log_likelihood, resp_sum, gram, cross, sq


@njit(parallel=True, cache=True, error_model="numpy")
def posteriors(indptr, indices, values, means_t, loadings, noise, log_weights):
    """(resp (n, K), factor_means (n, K, q), user_log_likelihood (n,)) of every user."""
    n = indptr.shape[0] - 1
    K = means_t.shape[1]
    q = loadings.shape[2]
    resp = np.empty((n, K))
    factor_means = np.empty((n, K, q))
    user_ll = np.empty(n)
    inv_noise = 1.0 / noise
    log_noise = np.log(noise)
    for u in prange(n):
        work = np.empty((q, q))
        cov = np.empty((K, q, q))
        log_joint = np.empty(K)
        user_posterior(indptr, indices, values, u, means_t, loadings, inv_noise, log_noise, log_weights, work, cov,
                       factor_means[u], log_joint)
        user_ll[u] = normalize_log(log_joint, resp[u])
    return resp, factor_means, user_ll


@njit(parallel=True, cache=True, error_model="numpy")
def predict_pairs(resp, factor_means, means_t, loadings, users, items):
    """(m,) sum_j resp[u, j] (mu_ji + W_ji . factor_means[u, j]) for each pair (u, i) = (users[k], items[k])."""
    out = np.empty(users.shape[0])
    q = loadings.shape[2]
    for k in prange(users.shape[0]):
        u = users[k]
        i = items[k]
        acc = 0.0
        for j in range(resp.shape[1]):
            x = means_t[i, j]
            for a in range(q):
                x += loadings[i, j, a] * factor_means[u, j, a]
            acc += resp[u, j] * x
        out[k] = acc
    return out
