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

Layout of ``estep_diagonal`` and ``estep_triangular``: the component axis runs as 8-lane vectors
(``simd``) over tables padded to Kp = padded(K) components, the padding components with log-weight
-inf (posterior 0). A chunk takes its rows ``TILE`` at a time in three sweeps (log-joints, then
posteriors by ``common.normalize_log``, then statistics), so the dependency chains of
consecutive rows overlap; it sums into its own buffer and writes its slot once, at the end (no
cache line shared between threads). There is no BLAS call inside the chunks: a multithreaded BLAS
called from every thread oversubscribes the cores.
"""
import numpy as np
from numba import njit, prange

from .common import normalize_log
from .simd import (WIDTH, aligned_zeros, fetch, padded, unpad_columns, vadd, vbroadcast, vfma, vload, vmul, vstore,
                   vstore_partial, vsub, vzero)

LOG_2PI = np.log(2.0 * np.pi)

#: Rows per sweep of a chunk: the tile's log-joints (TILE * Kp floats) stay in L1.
TILE = 32


@njit(cache=True, error_model="numpy")
def padded_log_weights(log_const):
    """(Kp,) the (K,) per-component constants of the log-joint, padded with -inf, 64-byte aligned."""
    K = log_const.shape[0]
    out = aligned_zeros(padded(K))
    out[:] = -np.inf
    out[:K] = log_const
    return out


@njit(cache=True, error_model="numpy")
def diagonal_table(means_t, prec_t):
    """(d * 4 Kp,): for each feature i the padded rows [mu_i | prec_i | log prec_i | 1 / prec_i^2]
    of means_t and prec_t (d, K) (prec = 1 / standard deviation); padding 0."""
    d, K = means_t.shape
    Kp = padded(K)
    table = aligned_zeros(d * 4 * Kp)
    for i in range(d):
        for k in range(K):
            p = prec_t[i, k]
            table[4 * i * Kp + k] = means_t[i, k]
            table[(4 * i + 1) * Kp + k] = p
            table[(4 * i + 2) * Kp + k] = np.log(p)
            table[(4 * i + 3) * Kp + k] = 1.0 / (p * p)
    return table


@njit(cache=True, error_model="numpy")
def tile_posteriors(joint, m, K, start, posteriors, sample_ll, stats):
    """A tile's m rows of log joints (joint: rows of Kp = padded(K)) to posteriors, in place; each
    row t also goes to posteriors[(start + t) K : ... + K] (flat), its log-sum-exp to
    sample_ll[start + t], and is added to the posterior sums stats[0 : Kp]."""
    Kp = padded(K)
    for t in range(m):
        sample_ll[start + t] = normalize_log(joint, t * Kp, Kp)
        for block in range(0, Kp, WIDTH):
            r = vload(joint, t * Kp + block)
            vstore_partial(posteriors, (start + t) * K + block, K - block, r)
            vstore(stats, block, vadd(vload(stats, block), r))


@njit(cache=True, error_model="numpy")
def diagonal_chunk(X, lo, hi, table, log_weights_p, resp, sample_ll, stats):
    """Rows lo..hi-1 of X (n, d) C-contiguous, NaN missing: fills their resp and sample_ll and sets
    stats (Kp + 2 d Kp,) to [nk (Kp,) | first (d, Kp) | second (d, Kp)] summed over them.

    table: ``diagonal_table``; log_weights_p (Kp,): ``padded_log_weights``. A missing x_i is replaced
    by its conditional distribution given the component, N(mu_ki, var_ki): it adds 0 to first and
    var_ki to second. The loops over a row's components are written out here: helpers taking
    arrays, called per row, would pay atomic reference counting per call.
    """
    d = X.shape[1]
    K = resp.shape[1]
    Kp = log_weights_p.shape[0]
    flat = X.reshape(-1)
    posteriors = resp.reshape(-1)
    first = Kp
    second = Kp + d * Kp
    joint = aligned_zeros(TILE * Kp)
    half = vbroadcast(0.5)
    stats[:] = 0.0
    for start in range(lo, hi, TILE):
        m = min(TILE, hi - start)
        for t in range(m):
            at = (start + t) * d
            for block in range(0, Kp, WIDTH):
                n_obs = 0
                quad = vzero()
                log_det = vzero()
                for i in range(d):
                    x = fetch(flat, at + i)
                    if x == x:
                        n_obs += 1
                        o = 4 * i * Kp + block
                        z = vmul(vsub(vbroadcast(x), vload(table, o)), vload(table, o + Kp))
                        quad = vfma(z, z, quad)
                        log_det = vadd(log_det, vload(table, o + 2 * Kp))
                spread = vmul(half, vadd(vbroadcast(n_obs * LOG_2PI), quad))
                vstore(joint, t * Kp + block, vadd(log_det, vsub(vload(log_weights_p, block), spread)))
        tile_posteriors(joint, m, K, start, posteriors, sample_ll, stats)
        for t in range(m):
            at = (start + t) * d
            for block in range(0, Kp, WIDTH):
                r = vload(joint, t * Kp + block)
                for i in range(d):
                    o = 4 * i * Kp + block
                    f = first + i * Kp + block
                    s = second + i * Kp + block
                    x = fetch(flat, at + i)
                    if x == x:
                        dev = vsub(vbroadcast(x), vload(table, o))
                        weighted = vmul(r, dev)
                        vstore(stats, f, vadd(vload(stats, f), weighted))
                        vstore(stats, s, vfma(weighted, dev, vload(stats, s)))
                    else:
                        vstore(stats, s, vfma(r, vload(table, o + 3 * Kp), vload(stats, s)))


@njit(parallel=True, cache=True, error_model="numpy")
def estep_diagonal(X, means_t, prec_t, log_weights, bounds, resp, sample_ll):
    """E-step and statistics for diagonal (and spherical) covariances; NaN entries are missing.

    X (n, d) C-contiguous; means_t (d, K) transposed means; prec_t (d, K) = 1 / standard
    deviation; log_weights (K,); bounds (c + 1,). Fills resp (n, K) C-contiguous and sample_ll (n,);
    returns nk (c, K), first (c, d, K), second (c, d, K) (transposed like the parameters).
    """
    d, K = means_t.shape
    Kp = padded(K)
    c = bounds.shape[0] - 1
    table = diagonal_table(means_t, prec_t)
    log_weights_p = padded_log_weights(log_weights)
    size = Kp + 2 * d * Kp
    stats = np.empty((c, size))
    for chunk in prange(c):
        local = aligned_zeros(size)
        diagonal_chunk(X, bounds[chunk], bounds[chunk + 1], table, log_weights_p, resp, sample_ll, local)
        stats[chunk] = local
    nk = np.empty((c, K))
    first = np.empty((c, d, K))
    second = np.empty((c, d, K))
    for chunk in range(c):
        nk[chunk] = stats[chunk, :K]
        first[chunk] = unpad_columns(stats[chunk, Kp:Kp + d * Kp], K)
        second[chunk] = unpad_columns(stats[chunk, Kp + d * Kp:], K)
    return nk, first, second


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


@njit(cache=True, error_model="numpy")
def triangular_tables(means, prec_chol, log_weights):
    """The padded tables of ``triangular_chunk`` for means (K, d), prec_chol (G, d, d), log_weights (K,).

    factors: G > 1: (d * d * Kp,) with [i, j, k] = U_k[i, j]; G = 1: (d * dp,) the rows of U padded
    to dp = padded(d). shifted_t, means_t (d * Kp,): [j, k] = (mu_k U_g)_j and mu_kj.
    log_const (Kp,): log w_k + log det U_g, padding -inf.
    """
    K, d = means.shape
    G = prec_chol.shape[0]
    Kp = padded(K)
    dp = padded(d)
    shifted, log_det = whitened_means(means, prec_chol)
    if G > 1:
        factors = aligned_zeros(d * d * Kp)
        for i in range(d):
            for j in range(d):
                for k in range(K):
                    factors[(i * d + j) * Kp + k] = prec_chol[k, i, j]
    else:
        factors = aligned_zeros(d * dp)
        for i in range(d):
            for j in range(d):
                factors[i * dp + j] = prec_chol[0, i, j]
    shifted_t = aligned_zeros(d * Kp)
    means_t = aligned_zeros(d * Kp)
    for j in range(d):
        for k in range(K):
            shifted_t[j * Kp + k] = shifted[k, j]
            means_t[j * Kp + k] = means[k, j]
    log_const = np.empty(K)
    for k in range(K):
        log_const[k] = log_weights[k] + log_det[min(k, G - 1)]
    return factors, shifted_t, means_t, padded_log_weights(log_const)


@njit(cache=True, error_model="numpy")
def triangular_chunk(X, lo, hi, factors, per_component, shifted_t, means_t, log_const, scatter, resp, sample_ll,
                     stats):
    """Rows lo..hi-1 of X (n, d) C-contiguous and complete: fills their resp and sample_ll and sets
    stats to [nk (Kp,) | first (d, Kp) | second (d, dp, Kp) if scatter] summed over them (second:
    entries j >= i are the sums, dp = padded(d)).

    Tables from ``triangular_tables``; per_component: factors holds one U per component (else one
    shared U). The whitened row y = x U is accumulated over the rows i <= j of the upper
    triangular U. Loops are written out here (see ``diagonal_chunk``).
    """
    d = X.shape[1]
    K = resp.shape[1]
    Kp = log_const.shape[0]
    dp = padded(d)
    flat = X.reshape(-1)
    posteriors = resp.reshape(-1)
    first = Kp
    second = Kp + d * Kp
    joint = aligned_zeros(TILE * Kp)
    shared = aligned_zeros(dp)
    devs = aligned_zeros(TILE * dp * Kp)
    half = vbroadcast(0.5)
    constant = vbroadcast(d * LOG_2PI)
    stats[:] = 0.0
    for start in range(lo, hi, TILE):
        m = min(TILE, hi - start)
        for t in range(m):
            at = (start + t) * d
            if not per_component:
                for jb in range(0, dp, WIDTH):
                    y = vzero()
                    for i in range(min(jb + WIDTH, d)):
                        y = vfma(vbroadcast(fetch(flat, at + i)), vload(factors, i * dp + jb), y)
                    vstore(shared, jb, y)
            for block in range(0, Kp, WIDTH):
                quad = vzero()
                for j in range(d):
                    if per_component:
                        y = vzero()
                        for i in range(j + 1):
                            y = vfma(vbroadcast(fetch(flat, at + i)), vload(factors, (i * d + j) * Kp + block), y)
                    else:
                        y = vbroadcast(shared[j])
                    z = vsub(y, vload(shifted_t, j * Kp + block))
                    quad = vfma(z, z, quad)
                vstore(joint, t * Kp + block, vsub(vload(log_const, block), vmul(half, vadd(constant, quad))))
        tile_posteriors(joint, m, K, start, posteriors, sample_ll, stats)
        for t in range(m):
            at = (start + t) * d
            for block in range(0, Kp, WIDTH):
                r = vload(joint, t * Kp + block)
                for i in range(d):
                    dev = vsub(vbroadcast(fetch(flat, at + i)), vload(means_t, i * Kp + block))
                    vstore(devs, (t * dp + i) * Kp + block, dev)
                    vstore(stats, first + i * Kp + block, vfma(r, dev, vload(stats, first + i * Kp + block)))
        if scatter:
            # second[i, j] += r_t dev_ti dev_tj over the tile's rows t, eight j at a time in registers
            # (whole blocks of 8 j from the one holding j = i; the j < i among them are not used).
            for block in range(0, Kp, WIDTH):
                for i in range(d):
                    for j in range(i // WIDTH * WIDTH, d, WIDTH):
                        s = second + (i * dp + j) * Kp + block
                        a0, a1, a2, a3 = (vload(stats, s), vload(stats, s + Kp), vload(stats, s + 2 * Kp),
                                          vload(stats, s + 3 * Kp))
                        a4, a5, a6, a7 = (vload(stats, s + 4 * Kp), vload(stats, s + 5 * Kp), vload(stats, s + 6 * Kp),
                                          vload(stats, s + 7 * Kp))
                        for t in range(m):
                            w = vmul(vload(joint, t * Kp + block), vload(devs, (t * dp + i) * Kp + block))
                            o = (t * dp + j) * Kp + block
                            a0 = vfma(w, vload(devs, o), a0)
                            a1 = vfma(w, vload(devs, o + Kp), a1)
                            a2 = vfma(w, vload(devs, o + 2 * Kp), a2)
                            a3 = vfma(w, vload(devs, o + 3 * Kp), a3)
                            a4 = vfma(w, vload(devs, o + 4 * Kp), a4)
                            a5 = vfma(w, vload(devs, o + 5 * Kp), a5)
                            a6 = vfma(w, vload(devs, o + 6 * Kp), a6)
                            a7 = vfma(w, vload(devs, o + 7 * Kp), a7)
                        vstore(stats, s, a0)
                        vstore(stats, s + Kp, a1)
                        vstore(stats, s + 2 * Kp, a2)
                        vstore(stats, s + 3 * Kp, a3)
                        vstore(stats, s + 4 * Kp, a4)
                        vstore(stats, s + 5 * Kp, a5)
                        vstore(stats, s + 6 * Kp, a6)
                        vstore(stats, s + 7 * Kp, a7)


@njit(parallel=True, cache=True, error_model="numpy")
def estep_triangular(X, means, prec_chol, log_weights, scatter, bounds, resp, sample_ll):
    """E-step and statistics for full (G = K) or tied (G = 1) precision factors; X complete.

    X (n, d) C-contiguous; means (K, d); prec_chol (G, d, d) upper triangular; log_weights (K,);
    scatter: accumulate ``second`` (else it is returned with 0 slots per chunk). Fills resp (n, K)
    C-contiguous and sample_ll (n,); returns nk (c, K), first (c, K, d), second (c, K or 0, d, d).
    """
    K, d = means.shape
    Kp = padded(K)
    dp = padded(d)
    c = bounds.shape[0] - 1
    factors, shifted_t, means_t, log_const = triangular_tables(means, prec_chol, log_weights)
    per_component = prec_chol.shape[0] > 1
    size = Kp + d * Kp + (d * dp * Kp if scatter else 0)
    stats = np.empty((c, size))
    for chunk in prange(c):
        local = aligned_zeros(size)
        triangular_chunk(X, bounds[chunk], bounds[chunk + 1], factors, per_component, shifted_t, means_t, log_const,
                         scatter, resp, sample_ll, local)
        stats[chunk] = local
    nk = np.empty((c, K))
    first = np.empty((c, K, d))
    second = np.empty((c, K if scatter else 0, d, d))
    for chunk in range(c):
        for k in range(K):
            nk[chunk, k] = stats[chunk, k]
            for i in range(d):
                first[chunk, k, i] = stats[chunk, Kp + i * Kp + k]
                if scatter:
                    for j in range(i, d):
                        second[chunk, k, i, j] = second[chunk, k, j, i] = stats[chunk, Kp + (d + i * dp + j) * Kp + k]
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
            resp[row] = log_joint
            sample_ll[row] = normalize_log(resp[row], 0, K)
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
