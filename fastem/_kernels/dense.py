"""E-step kernels for dense Gaussian mixtures: responsibilities and the M-step statistics in one pass.

Notation: n samples, d features, K components, c chunks (``bounds`` from ``fastem.chunks.even_chunks``).
Every kernel fills ``resp`` (n, K) and ``sample_ll`` (n,) (log p(x_n), the log-sum-exp of the
log joints) and returns the statistics of its chunks, each in its own slot:

- ``nk`` (c, K): sum_n r_nk;
- ``first`` (c, K, d): sum_n r_nk (x_n - m_k), deviations from the *current* means m_k;
- ``second``: sum_n r_nk (x_n - m_k)(x_n - m_k)^T, (c, K, d) diagonal or (c, G, d, d) full.

Statistics are taken about the current means so the M-step's covariance
``second / nk - delta delta^T`` (delta = first / nk, the change of the mean) does not suffer the
cancellation of raw moments. Summing the chunk slots in chunk order (done by the caller) makes the
result independent of the number of threads.

Log-densities go through the Cholesky factor U of the precision (precision = U U^T), as in
scikit-learn: log N(x | mu, P^-1) = sum log diag U - (d log 2 pi + ||x U - mu U||^2) / 2. The
diagonal form (``estep_diagonal``, diag and spherical) and the triangular form
(``estep_triangular``, full and tied) are that one formula with a diagonal or triangular U.
Missing values (NaN) are marginalised: exactly in ``estep_diagonal``, and for full/tied
covariances by ``estep_conditional`` (Ghahramani & Jordan 1994), which also returns each
sample's conditional statistics of its missing block.
"""
import numpy as np
from numba import njit, prange

from .common import normalize_log
from .simd import WIDTH, pad_columns, padded, unpad_columns, vadd, vbroadcast, vload, vmul, vstore, vsub, vzero

LOG_2PI = np.log(2.0 * np.pi)

#: Rows per block in the BLAS-backed kernel: large enough to amortise a dgemm call, small
#: enough for the block to stay in cache.
BLOCK = 256


@njit(cache=True)
def diagonal_log_joint(x, means_p, prec_p, log_prec_p, log_weights_p, block, log_joint):
    """log_joint[block : block + 8] <- log w_k + log N(x_obs | mu_k,obs, diag(prec_k^-2)_obs).

    x (d,) with NaN for missing; means_p, prec_p, log_prec_p: flat (d * Kp,) rows of the (d, K)
    transposed parameters padded to Kp components (``simd.pad_columns``); log_weights_p (Kp,).
    """
    Kp = log_weights_p.shape[0]
    n_obs = 0
    quad = vzero()
    log_det = vzero()
    for i in range(x.shape[0]):
        if x[i] == x[i]:
            n_obs += 1
            at = i * Kp + block
            z = vmul(vsub(vbroadcast(x[i]), vload(means_p, at)), vload(prec_p, at))
            quad = vadd(quad, vmul(z, z))
            log_det = vadd(log_det, vload(log_prec_p, at))
    half_quad = vmul(vbroadcast(0.5), vadd(vbroadcast(n_obs * LOG_2PI), quad))
    vstore(log_joint, block, vadd(log_det, vsub(vload(log_weights_p, block), half_quad)))


@njit(cache=True)
def accumulate_diagonal(x, means_p, variances_p, r, block, nk, first, second):
    """Add one sample's diagonal statistics for components block..block+7: nk (Kp,), first and
    second flat (d * Kp,) like the parameters; r (Kp,) its responsibilities, zero-padded.

    A missing x_i is replaced by its conditional distribution given the component,
    N(mu_ki, var_ki): it adds 0 to first and var_ki to second.
    """
    Kp = r.shape[0]
    rv = vload(r, block)
    vstore(nk, block, vadd(vload(nk, block), rv))
    for i in range(x.shape[0]):
        at = i * Kp + block
        if x[i] == x[i]:
            dev = vsub(vbroadcast(x[i]), vload(means_p, at))
            weighted = vmul(rv, dev)
            vstore(first, at, vadd(vload(first, at), weighted))
            vstore(second, at, vadd(vload(second, at), vmul(weighted, dev)))
        else:
            vstore(second, at, vadd(vload(second, at), vmul(rv, vload(variances_p, at))))


@njit(parallel=True, cache=True)
def estep_diagonal(X, means_t, prec_t, log_weights, bounds, resp, sample_ll):
    """E-step and statistics for diagonal (and spherical) covariances; NaN entries are missing.

    X (n, d); means_t (d, K) transposed means; prec_t (d, K) = 1 / standard deviation;
    log_weights (K,); bounds (c + 1,). Fills resp (n, K), sample_ll (n,); returns nk (c, K),
    first (c, d, K), second (c, d, K) (transposed like the parameters). The component axis runs
    as 8-lane vectors (``simd``), padded to Kp = padded(K).
    """
    d, K = means_t.shape
    Kp = padded(K)
    c = bounds.shape[0] - 1
    means_p = pad_columns(means_t)
    prec_p = pad_columns(prec_t)
    log_prec_p = pad_columns(np.log(prec_t))
    variances_p = pad_columns(1.0 / (prec_t * prec_t))
    log_weights_p = pad_columns(log_weights.reshape(1, K))
    nk = np.zeros((c, Kp))
    first = np.zeros((c, d * Kp))
    second = np.zeros((c, d * Kp))
    for chunk in prange(c):
        log_joint = np.empty(Kp)
        r = np.zeros(Kp)
        for row in range(bounds[chunk], bounds[chunk + 1]):
            x = X[row]
            for block in range(0, Kp, WIDTH):
                diagonal_log_joint(x, means_p, prec_p, log_prec_p, log_weights_p, block, log_joint)
            sample_ll[row] = normalize_log(log_joint[:K], r[:K])
            resp[row] = r[:K]
            for block in range(0, Kp, WIDTH):
                accumulate_diagonal(x, means_p, variances_p, r, block, nk[chunk], first[chunk], second[chunk])
    first_t = np.empty((c, d, K))
    second_t = np.empty((c, d, K))
    for chunk in range(c):
        first_t[chunk] = unpad_columns(first[chunk], K)
        second_t[chunk] = unpad_columns(second[chunk], K)
    return np.ascontiguousarray(nk[:, :K]), first_t, second_t


@njit(cache=True)
def whitened_means(means, prec_chol):
    """(K, d): mu_k U_g and (G,): sum log diag U_g, where g = min(k, G - 1) (G = K or 1 for tied)."""
    K, d = means.shape
    G = prec_chol.shape[0]
    shifted = np.empty((K, d))
    for k in range(K):
        shifted[k] = np.dot(means[k], prec_chol[min(k, G - 1)])
    log_det = np.empty(G)
    for g in range(G):
        log_det[g] = np.sum(np.log(np.diag(prec_chol[g])))
    return shifted, log_det


@njit(parallel=True, cache=True)
def estep_triangular(X, means, prec_chol, log_weights, scatter, bounds, resp, sample_ll):
    """E-step and statistics for full (G = K) or tied (G = 1) precision factors; X complete.

    X (n, d); means (K, d); prec_chol (G, d, d) upper triangular; log_weights (K,);
    scatter: accumulate ``second`` (else it is returned with G = 0 slots). Work runs in blocks
    of ``BLOCK`` rows so the products X U_g and D^T (r D) go through BLAS. Fills resp (n, K),
    sample_ll (n,); returns nk (c, K), first (c, K, d), second (c, G or 0, d, d).
    """
    K, d = means.shape
    G = prec_chol.shape[0]
    c = bounds.shape[0] - 1
    shifted, log_det = whitened_means(means, prec_chol)
    nk = np.zeros((c, K))
    first = np.zeros((c, K, d))
    second = np.zeros((c, G if scatter else 0, d, d))
    for chunk in prange(c):
        log_joint = np.empty((BLOCK, K))
        dev = np.empty((BLOCK, d))
        weighted = np.empty((BLOCK, d))
        y = np.empty((BLOCK, d))
        for start in range(bounds[chunk], bounds[chunk + 1], BLOCK):
            m = min(BLOCK, bounds[chunk + 1] - start)
            block = X[start:start + m]
            for k in range(K):
                g = min(k, G - 1)
                if k < G:
                    y[:m] = np.dot(block, prec_chol[g])
                for r in range(m):
                    quad = 0.0
                    for j in range(d):
                        z = y[r, j] - shifted[k, j]
                        quad += z * z
                    log_joint[r, k] = log_weights[k] + log_det[g] - 0.5 * (d * LOG_2PI + quad)
            for r in range(m):
                sample_ll[start + r] = normalize_log(log_joint[r], resp[start + r])
            for k in range(K):
                for r in range(m):
                    w = resp[start + r, k]
                    nk[chunk, k] += w
                    for i in range(d):
                        dev[r, i] = block[r, i] - means[k, i]
                        weighted[r, i] = w * dev[r, i]
                        first[chunk, k, i] += weighted[r, i]
                if scatter:
                    second[chunk, min(k, G - 1)] += np.dot(dev[:m].T, weighted[:m])
    return nk, first, second


@njit(cache=True)
def cholesky_in_place(A, q):
    """Overwrite the leading q x q block of A (symmetric) with its lower Cholesky factor.

    Returns False (A partly overwritten) when the block is not positive definite.
    """
    for j in range(q):
        s = A[j, j]
        for p in range(j):
            s -= A[j, p] * A[j, p]
        if not s > 0.0:
            return False
        A[j, j] = np.sqrt(s)
        for i in range(j + 1, q):
            t = A[i, j]
            for p in range(j):
                t -= A[i, p] * A[j, p]
            A[i, j] = t / A[j, j]
            A[j, i] = 0.0
    return True


@njit(cache=True)
def forward_solve(L, q, b):
    """b[:q] <- L[:q, :q]^-1 b[:q], L lower triangular."""
    for i in range(q):
        t = b[i]
        for p in range(i):
            t -= L[i, p] * b[p]
        b[i] = t / L[i, i]


@njit(cache=True)
def backward_solve(L, q, b):
    """b[:q] <- L[:q, :q]^-T b[:q], L lower triangular."""
    for i in range(q - 1, -1, -1):
        t = b[i]
        for p in range(i + 1, q):
            t -= L[p, i] * b[p]
        b[i] = t / L[i, i]


@njit(cache=True)
def factor_observed_block(cov, obs, q, mis, L, B):
    """Cholesky L of cov[obs, obs] and B = L^-1 cov[obs, mis]; returns log det cov[obs, obs] or NaN.

    cov (d, d); obs, mis: index arrays whose first q and d - q entries are used; L, B (d, d).
    """
    d = cov.shape[0]
    for a in range(q):
        for b in range(q):
            L[a, b] = cov[obs[a], obs[b]]
    if not cholesky_in_place(L, q):
        return np.nan
    for j in range(d - q):
        for a in range(q):
            B[a, j] = cov[obs[a], mis[j]]
        forward_solve(L, q, B[:, j])
    log_det = 0.0
    for a in range(q):
        log_det += 2.0 * np.log(L[a, a])
    return log_det


@njit(parallel=True, cache=True)
def estep_conditional(X, means, covariances, log_weights, bounds, resp, sample_ll, imputed):
    """E-step and statistics for full (G = K) or tied (G = 1) covariances on rows with NaN.

    The E-step uses each row's observed marginal N(x_o | mu_o, S_oo); the statistics replace the
    missing block by its conditional mean mu_m + S_mo S_oo^-1 (x_o - mu_o) and add its conditional
    covariance S_mm - S_mo S_oo^-1 S_om to ``second``. X (n, d) with at least one observed entry
    per row; means (K, d); covariances (G, d, d); log_weights (K,). Fills resp (n, K),
    sample_ll (n,) (NaN when a marginal is not positive definite) and imputed (n, d)
    (x with its missing entries replaced by sum_k r_nk E[x_m | x_o, k]); returns nk (c, K),
    first (c, K, d), second (c, G, d, d).
    """
    K, d = means.shape
    G = covariances.shape[0]
    c = bounds.shape[0] - 1
    nk = np.zeros((c, K))
    first = np.zeros((c, K, d))
    second = np.zeros((c, G, d, d))
    for chunk in prange(c):
        obs = np.empty(d, np.int64)
        mis = np.empty(d, np.int64)
        chol = np.empty((G, d, d))
        cross = np.empty((G, d, d))
        log_det = np.empty(G)
        white = np.empty((K, d))
        log_joint = np.empty(K)
        dev = np.empty(d)
        for row in range(bounds[chunk], bounds[chunk + 1]):
            x = X[row]
            q = 0
            for i in range(d):
                if x[i] == x[i]:
                    obs[q] = i
                    q += 1
                else:
                    mis[i - q] = i
            for k in range(K):
                g = min(k, G - 1)
                if k < G:
                    log_det[g] = factor_observed_block(covariances[g], obs, q, mis, chol[g], cross[g])
                for a in range(q):
                    white[k, a] = x[obs[a]] - means[k, obs[a]]
                forward_solve(chol[g], q, white[k])
                quad = 0.0
                for a in range(q):
                    quad += white[k, a] * white[k, a]
                log_joint[k] = log_weights[k] - 0.5 * (q * LOG_2PI + log_det[g] + quad)
            sample_ll[row] = normalize_log(log_joint, resp[row])
            if sample_ll[row] != sample_ll[row]:
                continue
            imputed[row] = x
            for j in range(d - q):
                imputed[row, mis[j]] = 0.0
            for k in range(K):
                g = min(k, G - 1)
                w = resp[row, k]
                backward_solve(chol[g], q, white[k])
                for a in range(q):
                    dev[obs[a]] = x[obs[a]] - means[k, obs[a]]
                for j in range(d - q):
                    t = 0.0
                    for a in range(q):
                        t += covariances[g, mis[j], obs[a]] * white[k, a]
                    dev[mis[j]] = t
                    imputed[row, mis[j]] += w * (means[k, mis[j]] + t)
                nk[chunk, k] += w
                for i in range(d):
                    first[chunk, k, i] += w * dev[i]
                    for j in range(d):
                        second[chunk, g, i, j] += w * dev[i] * dev[j]
                for j1 in range(d - q):
                    for j2 in range(d - q):
                        cond = covariances[g, mis[j1], mis[j2]]
                        for a in range(q):
                            cond -= cross[g, a, j1] * cross[g, a, j2]
                        second[chunk, g, mis[j1], mis[j2]] += w * cond
    return nk, first, second
