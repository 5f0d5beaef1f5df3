"""Kernels of Gaussian pLSA (Hofmann 2004) over the observed entries of a CSR matrix.

Notation: n users, d items, K classes, Kp = padded(K). User u has mixing weights theta[u] =
P(z | u) (n, K); item i and class z a Gaussian N(v; mu_iz, psi_iz), arrays means_t and noise
(d, K). Each rating (u, i, v) has its own class posterior

    q_z ∝ theta_uz N(v; mu_iz, psi_iz),   log of the joint: log theta_uz - (log 2 pi psi_iz + (v - mu_iz)^2 / psi_iz) / 2

computed in ``add_user`` 8 classes at a time over padded rows (``simd``):

    table (d * 3 Kp,)      per item [mu_i. | 1 / psi_i. | log 2 pi psi_i.], padding 0
    log_theta_p (n * Kp,)  per user log theta_u., padding -inf (so padding classes get q = 0)
    sums (d * 3 Kp,)       per item [sum q | sum q v | sum q v^2] over its ratings

A posterior below the smallest normal float64 is set to 0 (as ``common.normalize_log`` does;
``simd.vexp_normal`` forms no subnormal number on the way).
Item sums are accumulated per fixed user chunk and added in chunk order (results do not depend
on the thread count); user sums are each user's own.
"""
import numpy as np
from numba import njit, prange

from .common import SMALLEST_NORMAL
from .simd import (WIDTH, aligned_zeros, fetch, padded, vadd, vbroadcast, vexp_normal, vflush, vload, vmax, vmax_lanes,
                   vmul, vstore, vsub, vsum_tree, vzero)

LOG_2PI = np.log(2.0 * np.pi)
PRODUCT_LIMIT = 2.0 ** 600  # a product of normalisers is taken into the log-likelihood past this


@njit(cache=True, error_model="numpy")
def item_table(means_t, noise):
    """(d * 3 Kp,) the per-item table of the module docstring."""
    d, K = means_t.shape
    Kp = padded(K)
    table = aligned_zeros(d * 3 * Kp)
    for i in range(d):
        for z in range(K):
            table[i * 3 * Kp + z] = means_t[i, z]
            table[i * 3 * Kp + Kp + z] = 1.0 / noise[i, z]
            table[i * 3 * Kp + 2 * Kp + z] = LOG_2PI + np.log(noise[i, z])
    return table


@njit(cache=True, error_model="numpy")
def padded_log_theta(log_theta):
    """(n * Kp,) the rows of log_theta (n, K) padded with -inf."""
    n, K = log_theta.shape
    Kp = padded(K)
    out = aligned_zeros(n * Kp)
    for u in range(n):
        for z in range(Kp):
            out[u * Kp + z] = log_theta[u, z] if z < K else -np.inf
    return out


@njit(cache=True, error_model="numpy")
def add_user(indptr, indices, values, u, table, log_theta_p, Kp, joint, counts, sums):
    """User u: counts (Kp,) <- sum_i q over u's ratings; sums (d * 3 Kp,) += u's terms; returns
    u's log-likelihood sum_i log sum_z theta_uz N(v_ui; mu_iz, psi_iz) = sum_i (shift_i + log norm_i),
    shift_i the largest log-joint and norm_i the sum of the shifted joints, the logarithms of the
    norms taken of their products (one call per many ratings). joint: (Kp,) scratch.

    The loops over a rating's classes are written out here: helpers taking arrays, called per
    rating, would pay atomic reference counting per call.
    """
    half = vbroadcast(0.5)
    for v in range(0, Kp, WIDTH):
        vstore(counts, v, vzero())
    ll = 0.0
    product = 1.0  # of the normalisers, each in [1, K]: one logarithm per many ratings
    for p in range(indptr[u], indptr[u + 1]):
        x = np.float64(fetch(values, p))
        xv = vbroadcast(x)
        at = np.intp(fetch(indices, p)) * 3 * Kp
        top = vbroadcast(-np.inf)
        for v in range(0, Kp, WIDTH):
            r = vsub(xv, vload(table, at + v))
            spread = vadd(vload(table, at + 2 * Kp + v), vmul(vmul(r, r), vload(table, at + Kp + v)))
            log_joint = vsub(vload(log_theta_p, u * Kp + v), vmul(half, spread))
            vstore(joint, v, log_joint)
            top = vmax(top, log_joint)
        shift = vmax_lanes(top)
        top = vbroadcast(shift)
        total = vzero()
        for v in range(0, Kp, WIDTH):
            e = vexp_normal(vsub(vload(joint, v), top))
            vstore(joint, v, e)
            total = vadd(total, e)
        norm = vsum_tree(total)
        ll += shift
        product *= norm
        if product > PRODUCT_LIMIT:
            ll += np.log(product)
            product = 1.0
        scale = vbroadcast(1.0 / norm)
        for v in range(0, Kp, WIDTH):
            q = vflush(vmul(vload(joint, v), scale), SMALLEST_NORMAL)
            xq = vmul(xv, q)
            vstore(counts, v, vadd(vload(counts, v), q))
            vstore(sums, at + v, vadd(vload(sums, at + v), q))
            vstore(sums, at + Kp + v, vadd(vload(sums, at + Kp + v), xq))
            vstore(sums, at + 2 * Kp + v, vadd(vload(sums, at + 2 * Kp + v), vmul(xv, xq)))
    return ll + np.log(product)


@njit(cache=True, error_model="numpy")
def chunk_statistics(indptr, indices, values, lo, hi, table, log_theta_p, user_counts, sums):
    """Users lo..hi-1: user_counts[u] (K,) <- sum_i q; fresh sums (d * 3 Kp,); returns the chunk's
    log-likelihood."""
    K = user_counts.shape[1]
    Kp = padded(K)
    sums[:] = 0.0
    joint = aligned_zeros(Kp)
    counts = aligned_zeros(Kp)
    ll = 0.0
    for u in range(lo, hi):
        ll += add_user(indptr, indices, values, u, table, log_theta_p, Kp, joint, counts, sums)
        user_counts[u] = counts[:K]
    return ll


@njit(cache=True, error_model="numpy")
def unpack_sums(sums, d, K):
    """(s0, s1, s2) (d, K) from the flat per-item sums."""
    Kp = padded(K)
    out = np.empty((3, d, K))
    for i in range(d):
        for k in range(3):
            for z in range(K):
                out[k, i, z] = sums[(3 * i + k) * Kp + z]
    return out[0], out[1], out[2]


@njit(parallel=True, cache=True, error_model="numpy")
def em_statistics(indptr, indices, values, chunks, means_t, noise, log_theta, n_threads):
    """One sweep: (log_likelihood, user_counts (n, K), s0, s1, s2 (d, K)) of sum q, sum q v, sum q v^2
    per item and class; see ``add_user``."""
    d, K = means_t.shape
    Kp = padded(K)
    n = indptr.shape[0] - 1
    n_chunks = chunks.shape[0] - 1
    width = max(1, min(n_threads, n_chunks))
    table = item_table(means_t, noise)
    log_theta_p = padded_log_theta(log_theta)
    chunk_ll = np.zeros(n_chunks)
    user_counts = np.empty((n, K))
    size = d * 3 * Kp
    sums = aligned_zeros(size)
    buf = aligned_zeros(width * size)
    for first in range(0, n_chunks, width):
        wave = min(width, n_chunks - first)
        for t in prange(wave):
            c = first + t
            chunk_ll[c] = chunk_statistics(indptr, indices, values, chunks[c], chunks[c + 1], table, log_theta_p,
                                           user_counts, buf[t * size:(t + 1) * size])
        for part in prange(width):
            for at in range(part * size // width, (part + 1) * size // width):
                for t in range(wave):
                    sums[at] += buf[t * size + at]
    log_likelihood = 0.0
    for c in range(n_chunks):
        log_likelihood += chunk_ll[c]
    s0, s1, s2 = unpack_sums(sums, d, K)
    return log_likelihood, user_counts, s0, s1, s2
