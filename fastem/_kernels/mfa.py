"""Kernels of the mixture of factor analysers over the observed entries of a rating matrix.

Notation: n users, d items, K components, q factors (q = 0 is the diagonal-covariance mixture).
Component j models a user's rating vector as x = mu_j + W_j z + e with z ~ N(0, I_q) and
e ~ N(0, diag(psi_j)). For user u with observed items O, in component j:

    A = I + sum_{i in O} W_ji W_ji^T / psi_ji            (q, q)
    b = sum_{i in O} W_ji (x_ui - mu_ji) / psi_ji         (q,)
    log N(x_O) = -1/2 [|O| log 2 pi + sum_O log psi + log det A + sum_O (x - mu)^2 / psi - b^T A^-1 b]

(determinant lemma and Woodbury), and z | x_O, j ~ N(A^-1 b, A^-1). This is written once, in
``block_log_joint``. Arrays: means_t (d, K), loadings (d, K, q), noise (d, K) = psi, log_weights (K,).

Layout and determinism. The E-step runs user by user over the CSR ratings and writes each user's
posterior moments; the M-step's sums run item by item over the same ratings transposed
(``Ratings.col_*``: each item's users in increasing order), reading those moments. A user's
results depend on its own ratings only and an item's sums are taken over its users in increasing
order, whichever thread owns the user or the item: no result depends on the thread count, and no
thread needs a d x K buffer of its own.

Rows are padded to whole 8-lane vectors (``simd``): Kp = padded(K), qp = padded(q); a symmetric
(q, q) matrix is kept as its packed lower triangle (row a, column c <= a at a (a + 1) / 2 + c) of
T = q (q + 1) / 2 entries, padded to Tp; F = qp + Tp. Padding lanes hold 0.

    diag (d * 3 Kp,)          per item: [mu_i. | 1 / psi_i. | log psi_i.] over the components
    factor (d * K * F,)       per item and component: [W / psi | packed W W^T / psi]
    resp (n * Kp,)            per user: r_uj
    moments (n * K * F,)      per user and component: [r m | packed r (S + m m^T)], m = E[z | u, j], S = Cov[z | u, j]
    sums (d * 3 Kp,)          per item: [sum r | sum r x | sum r x^2] over its users
    factor_sums (d * K * G,)  per item and component, G = 2 qp + Tp: [sum r m | sum r x m | packed sum r (S + m m^T)]
"""
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from .by_item import sort_by_item
from .common import balanced_parts, normalize_log
from .simd import WIDTH, aligned_zeros, fetch, padded, vadd, vbroadcast, vload, vmul, vstore, vsub, vzero

LOG_2PI = np.log(2.0 * np.pi)
BLOCK = 64               # users (items) whose factor sums go through one tile together
TILE_BYTES = 1 << 15     # a tile of the per-item factor table (of the users' moments): it stays in L1


class Ratings(NamedTuple):
    """The ratings both ways: CSR by user (indptr (n + 1,), indices (nnz,), values (nnz,), items
    increasing per user) and by item (col_ptr (d + 1,), col_users (nnz,) int32 increasing per
    item, col_values (nnz,) float64)."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    col_ptr: np.ndarray
    col_users: np.ndarray
    col_values: np.ndarray


def both_ways(indptr, indices, values, n_items: int) -> Ratings:
    """``Ratings`` of a CSR matrix (values converted to float64 once); the by-item half is
    ``by_item.sort_by_item`` with one chunk of all users, i.e. the transpose."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    col_users = np.empty(indices.shape[0], np.int32)
    all_users = np.array([0, indptr.shape[0] - 1])
    col_ptr, col_values = sort_by_item(indptr, indices, values, all_users, n_items, col_users)
    return Ratings(indptr, indices, values, col_ptr, col_users, col_values)


@njit(cache=True)
def packed(q):
    """T = q (q + 1) / 2, the entries of a packed (q, q) lower triangle."""
    return q * (q + 1) // 2


@njit(cache=True, error_model="numpy")
def item_tables(means_t, loadings, noise):
    """(diag (d * 3 Kp,), factor (d * K * F,)): the per-item tables of the module docstring."""
    d, K, q = loadings.shape
    Kp, qp, F = padded(K), padded(q), padded(q) + padded(packed(q))
    diag = aligned_zeros(d * 3 * Kp)
    factor = aligned_zeros(d * K * F)
    for i in range(d):
        for j in range(K):
            inv = 1.0 / noise[i, j]
            diag[i * 3 * Kp + j] = means_t[i, j]
            diag[i * 3 * Kp + Kp + j] = inv
            diag[i * 3 * Kp + 2 * Kp + j] = np.log(noise[i, j])
            row = (i * K + j) * F
            for a in range(q):
                wa = loadings[i, j, a] * inv
                factor[row + a] = wa
                for c in range(a + 1):
                    factor[row + qp + packed(a) + c] = wa * loadings[i, j, c]
    return diag, factor


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
def cholesky_inverse(L, inverse):
    """L (q, q) lower Cholesky factor of A -> L^-1 transposed into its diagonal and upper
    triangle (the strict lower triangle is kept); inverse (T,) <- packed lower A^-1 = L^-T L^-1."""
    q = L.shape[0]
    for c in range(q):  # column c of L^-1 into row c: L^-1[k, c] = L[c, k] for k >= c
        L[c, c] = 1.0 / L[c, c]
        for r in range(c + 1, q):
            t = 0.0
            for k in range(c, r):
                t -= L[r, k] * L[c, k]
            L[c, r] = t / L[r, r]
    for a in range(q):
        for c in range(a + 1):
            s = 0.0
            for k in range(a, q):
                s += L[a, k] * L[c, k]
            inverse[packed(a) + c] = s


@njit(cache=True, error_model="numpy")
def add_rows(acc, at, table, keys, lo, hi, K, j, F, first, last):
    """acc[at + v] += table[(keys[p] K + j) F + v] for p in lo..hi-1, in that order, and v in
    first..last-1 (multiples of 8): four vectors at a time held in registers across the p loop."""
    v = first
    while v < last:
        if v + 4 * WIDTH <= last:
            a0, a1 = vload(acc, at + v), vload(acc, at + v + WIDTH)
            a2, a3 = vload(acc, at + v + 2 * WIDTH), vload(acc, at + v + 3 * WIDTH)
            for p in range(lo, hi):
                row = (np.intp(fetch(keys, p)) * K + j) * F + v
                a0, a1 = vadd(a0, vload(table, row)), vadd(a1, vload(table, row + WIDTH))
                a2, a3 = vadd(a2, vload(table, row + 2 * WIDTH)), vadd(a3, vload(table, row + 3 * WIDTH))
            vstore(acc, at + v, a0)
            vstore(acc, at + v + WIDTH, a1)
            vstore(acc, at + v + 2 * WIDTH, a2)
            vstore(acc, at + v + 3 * WIDTH, a3)
            v += 4 * WIDTH
        else:
            a0 = vload(acc, at + v)
            for p in range(lo, hi):
                a0 = vadd(a0, vload(table, (np.intp(fetch(keys, p)) * K + j) * F + v))
            vstore(acc, at + v, a0)
            v += WIDTH


@njit(cache=True, error_model="numpy")
def add_scaled_rows(acc, at, table, keys, scales, lo, hi, K, j, F, first, last):
    """As ``add_rows`` with row p multiplied by scales[p - lo]."""
    v = first
    while v < last:
        if v + 2 * WIDTH <= last:
            a0, a1 = vload(acc, at + v), vload(acc, at + v + WIDTH)
            for p in range(lo, hi):
                row, s = (np.intp(fetch(keys, p)) * K + j) * F + v, vbroadcast(scales[p - lo])
                a0, a1 = vadd(a0, vmul(s, vload(table, row))), vadd(a1, vmul(s, vload(table, row + WIDTH)))
            vstore(acc, at + v, a0)
            vstore(acc, at + v + WIDTH, a1)
            v += 2 * WIDTH
        else:
            a0 = vload(acc, at + v)
            for p in range(lo, hi):
                a0 = vadd(a0, vmul(vbroadcast(scales[p - lo]), vload(table, (np.intp(fetch(keys, p)) * K + j) * F + v)))
            vstore(acc, at + v, a0)
            v += WIDTH


@njit(cache=True, error_model="numpy")
def block_log_joint(indptr, indices, values, first, last, diag, factor, log_weights, q, acc, work, log_joint, mean,
                    cov):
    """Users first..last-1 (row b = u - first): log_joint (B, K) <- log w_j + log N(x_u,O | component j),
    and for q > 0 mean (B, K, q) and cov (B, K, T) <- the posterior mean and packed covariance of z
    given x_u,O and j.

    diag, factor: ``item_tables``; acc: aligned scratch of max(Kp, B K F); work: (q, q) scratch.
    The factor sums go tile by tile of TILE_BYTES of the factor table, every user of the block
    through a tile before the next, so the tile is read from L1 (a user's items are still added
    in increasing order: the same sums as one user at a time), by ``add_rows``.
    """
    K = log_weights.shape[0]
    Kp, qp = padded(K), padded(q)
    F = qp + padded(packed(q))
    stride = 3 * Kp
    for u in range(first, last):  # sum_O (x - mu)^2 / psi + log psi, 8 components at a time
        lo, hi = indptr[u], indptr[u + 1]
        for lane in range(0, Kp, WIDTH):
            quad, logs = vzero(), vzero()
            for p in range(lo, hi):
                at = np.intp(fetch(indices, p)) * stride + lane
                r = vsub(vbroadcast(np.float64(fetch(values, p))), vload(diag, at))
                quad = vadd(quad, vmul(vmul(r, r), vload(diag, at + Kp)))
                logs = vadd(logs, vload(diag, at + 2 * Kp))
            vstore(acc, lane, vadd(quad, logs))
        n_log_2pi = (hi - lo) * LOG_2PI
        for j in range(K):
            log_joint[u - first, j] = log_weights[j] - 0.5 * (n_log_2pi + acc[j])
    if q == 0:
        return
    size = K * F  # acc row of a user: per component [b | packed A - I]
    acc[:(last - first) * size] = 0.0
    tile = max(1, TILE_BYTES // (8 * size))
    scales = np.empty(min(tile, diag.shape[0] // stride))  # x - mu of a user's ratings in a tile
    cursor = indptr[first:last].copy()
    for tile_start in range(0, diag.shape[0] // stride, tile):
        for u in range(first, last):
            start = stop = cursor[u - first]
            while stop < indptr[u + 1] and fetch(indices, stop) < tile_start + tile:
                stop += 1
            cursor[u - first] = stop
            for j in range(K):
                for p in range(start, stop):
                    scales[p - start] = np.float64(fetch(values, p)) - diag[np.intp(fetch(indices, p)) * stride + j]
                out = (u - first) * size + j * F
                add_scaled_rows(acc, out, factor, indices, scales, start, stop, K, j, F, 0, qp)
                add_rows(acc, out, factor, indices, start, stop, K, j, F, qp, F)
    for u in range(first, last):
        for j in range(K):
            out = (u - first) * size + j * F
            for a in range(q):
                for c in range(a + 1):
                    work[a, c] = acc[out + qp + packed(a) + c]
                work[a, a] += 1.0
            logdet = cholesky_logdet(work)
            b = mean[u - first, j]
            for a in range(q):
                b[a] = acc[out + a]
            explained = cholesky_solve(work, b)
            log_joint[u - first, j] -= 0.5 * (logdet - explained)
            cholesky_inverse(work, cov[u - first, j])


@njit(cache=True, error_model="numpy")
def block_scratch(K, q):
    """(acc, work, log_joint, mean, cov): the scratch arrays of ``block_log_joint`` for BLOCK users."""
    size = max(padded(K), BLOCK * K * (padded(q) + padded(packed(q))))
    return (aligned_zeros(size), np.empty((q, q)), np.empty((BLOCK, K)), np.empty((BLOCK, K, q)),
            np.empty((BLOCK, K, packed(q))))


@njit(parallel=True, cache=True, error_model="numpy")
def estep_users(indptr, indices, values, diag, factor, log_weights, q, n_threads, resp, moments, user_ll):
    """E-step of every user: resp (n * Kp,), moments (n * K * F,) (module docstring), user_ll (n,)."""
    K = log_weights.shape[0]
    Kp, qp = padded(K), padded(q)
    F = qp + padded(packed(q))
    parts = balanced_parts(indptr, n_threads)
    for t in prange(parts.shape[0] - 1):
        acc, work, log_joint, mean, cov = block_scratch(K, q)
        for first in range(parts[t], parts[t + 1], BLOCK):
            last = min(first + BLOCK, parts[t + 1])
            block_log_joint(indptr, indices, values, first, last, diag, factor, log_weights, q, acc, work, log_joint,
                            mean, cov)
            for u in range(first, last):
                b = u - first
                r = resp[u * Kp:u * Kp + K]
                r[:] = log_joint[b]
                user_ll[u] = normalize_log(resp, u * Kp, K)
                for j in range(K):
                    row = (u * K + j) * F
                    for a in range(q):
                        moments[row + a] = r[j] * mean[b, j, a]
                        for c in range(a + 1):
                            moments[row + qp + packed(a) + c] = r[j] * (cov[b, j, packed(a) + c]
                                                                        + mean[b, j, a] * mean[b, j, c])


@njit(cache=True, error_model="numpy")
def add_item_range(col_ptr, col_users, col_values, lo, hi, resp, moments, K, q, sums, factor_sums):
    """Items lo..hi-1: their rows of sums and factor_sums (module docstring) from the users' resp
    and moments, each item's users taken in increasing order. The factor sums go BLOCK items at a
    time through tiles of TILE_BYTES of the users' moments (each item's users still in increasing
    order), so the tile is read from L1, by ``add_rows``."""
    Kp, qp = padded(K), padded(q)
    F = qp + padded(packed(q))
    G = qp + F
    for i in range(lo, hi):
        for lane in range(0, Kp, WIDTH):
            s0, s1, s2 = vzero(), vzero(), vzero()
            for p in range(col_ptr[i], col_ptr[i + 1]):
                x = vbroadcast(fetch(col_values, p))
                r = vload(resp, np.intp(fetch(col_users, p)) * Kp + lane)
                xr = vmul(x, r)
                s0, s1, s2 = vadd(s0, r), vadd(s1, xr), vadd(s2, vmul(x, xr))
            at = i * 3 * Kp + lane
            vstore(sums, at, s0)
            vstore(sums, at + Kp, s1)
            vstore(sums, at + 2 * Kp, s2)
    if q == 0:
        return
    tile = max(1, TILE_BYTES // (8 * K * F))
    n = resp.shape[0] // Kp
    for first in range(lo, hi, BLOCK):
        last = min(first + BLOCK, hi)
        cursor = col_ptr[first:last].copy()
        for tile_start in range(0, n, tile):
            for i in range(first, last):
                start = stop = cursor[i - first]
                while stop < col_ptr[i + 1] and fetch(col_users, stop) < tile_start + tile:
                    stop += 1
                cursor[i - first] = stop
                for j in range(K):
                    out = (i * K + j) * G
                    add_rows(factor_sums, out, moments, col_users, start, stop, K, j, F, 0, qp)
                    add_scaled_rows(factor_sums, out + qp, moments, col_users, col_values[start:stop], start, stop, K,
                                    j, F, 0, qp)
                    add_rows(factor_sums, out + qp, moments, col_users, start, stop, K, j, F, qp, F)


@njit(parallel=True, cache=True, error_model="numpy")
def item_sums(ratings, resp, moments, K, q, n_threads):
    """(sums (d * 3 Kp,), factor_sums (d * K * G,)) of the module docstring, n_threads runs of items at once."""
    d = ratings.col_ptr.shape[0] - 1
    Kp, qp = padded(K), padded(q)
    G = 2 * qp + padded(packed(q))
    sums = aligned_zeros(d * 3 * Kp)
    factor_sums = aligned_zeros(d * K * G)
    parts = balanced_parts(ratings.col_ptr, n_threads)
    for t in prange(parts.shape[0] - 1):
        add_item_range(ratings.col_ptr, ratings.col_users, ratings.col_values, parts[t], parts[t + 1], resp,
                       moments, K, q, sums, factor_sums)
    return sums, factor_sums


@njit(cache=True, error_model="numpy")
def unpack_statistics(sums, factor_sums, d, K, q):
    """(gram (d, K, q+1, q+1) lower triangle, upper 0; cross (d, K, q+1); sq (d, K)) with zt = (z, 1):
    gram[i, j] = sum_u r_uj E[zt zt^T | u, j], cross[i, j] = sum_u r_uj x_ui E[zt | u, j],
    sq[i, j] = sum_u r_uj x_ui^2, over the users u who rated item i."""
    Kp, qp = padded(K), padded(q)
    G = 2 * qp + padded(packed(q))
    gram = np.zeros((d, K, q + 1, q + 1))
    cross = np.empty((d, K, q + 1))
    sq = np.empty((d, K))
    for i in range(d):
        for j in range(K):
            at, out = i * 3 * Kp + j, (i * K + j) * G
            gram[i, j, q, q] = sums[at]
            cross[i, j, q] = sums[at + Kp]
            sq[i, j] = sums[at + 2 * Kp]
            for a in range(q):
                gram[i, j, q, a] = factor_sums[out + a]
                cross[i, j, a] = factor_sums[out + qp + a]
                for c in range(a + 1):
                    gram[i, j, a, c] = factor_sums[out + 2 * qp + packed(a) + c]
    return gram, cross, sq


@njit(cache=True, error_model="numpy")
def em_statistics(ratings, means_t, loadings, noise, log_weights, n_threads):
    """One EM pass: the E-step user by user, then the M-step's sums item by item.

    Returns (log_likelihood, resp_sum (K,), gram (d, K, q+1, q+1) lower triangle, cross (d, K, q+1),
    sq (d, K)); see ``unpack_statistics``. ``n_threads`` only splits the work.
    """
    d, K, q = loadings.shape
    n = ratings.indptr.shape[0] - 1
    Kp = padded(K)
    diag, factor = item_tables(means_t, loadings, noise)
    resp = aligned_zeros(n * Kp)
    moments = aligned_zeros(n * K * (padded(q) + padded(packed(q))))
    user_ll = np.empty(n)
    estep_users(ratings.indptr, ratings.indices, ratings.values, diag, factor, log_weights, q, n_threads, resp,
                moments, user_ll)
    sums, factor_sums = item_sums(ratings, resp, moments, K, q, n_threads)
    log_likelihood = 0.0
    resp_sum = np.zeros(K)
    for u in range(n):
        log_likelihood += user_ll[u]
        for j in range(K):
            resp_sum[j] += resp[u * Kp + j]
    gram, cross, sq = unpack_statistics(sums, factor_sums, d, K, q)
    return log_likelihood, resp_sum, gram, cross, sq


@njit(parallel=True, cache=True, error_model="numpy")
def posteriors(indptr, indices, values, means_t, loadings, noise, log_weights):
    """(resp (n, K), factor_means (n, K, q), user_log_likelihood (n,)) of every user."""
    n = indptr.shape[0] - 1
    d, K, q = loadings.shape
    diag, factor = item_tables(means_t, loadings, noise)
    resp = np.empty((n, K))
    factor_means = np.empty((n, K, q))
    user_ll = np.empty(n)
    for block in prange(-(-n // BLOCK)):
        acc, work, log_joint, mean, cov = block_scratch(K, q)
        first, last = block * BLOCK, min(n, (block + 1) * BLOCK)
        block_log_joint(indptr, indices, values, first, last, diag, factor, log_weights, q, acc, work, log_joint, mean,
                        cov)
        for u in range(first, last):
            resp[u] = log_joint[u - first]
            user_ll[u] = normalize_log(resp[u], 0, K)
            factor_means[u] = mean[u - first]
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
