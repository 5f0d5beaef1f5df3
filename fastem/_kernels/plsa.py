"""Kernels of Gaussian pLSA (Hofmann 2004) over the observed entries of a CSR matrix.

Notation: n users, d items, K classes, Kp = padded(K). User u has mixing weights theta[u] =
P(z | u) (n, K); item i and class z a Gaussian N(v; mu_iz, psi_iz), arrays means_t and noise
(d, K). Each rating (u, i, v) has its own class posterior

    q_z ∝ theta_uz N(v; mu_iz, psi_iz),   log of the joint: log theta_uz - (log 2 pi psi_iz + (v - mu_iz)^2 / psi_iz) / 2

computed in ``chunk_statistics`` 8 classes at a time over padded rows (``simd``), with fused
multiply-adds:

    table (d * 3 Kp,)      per item [mu_i. | -1 / (2 psi_i.) | -log(2 pi psi_i.) / 2], padding 0
    log_theta_p (n * Kp,)  per user log theta_u., padding -inf (so padding classes get q = 0)
    sums (d * 3 Kp,)       per item [sum q | sum q v | sum q v^2] over its ratings

A posterior below the smallest normal float64 is set to 0 (as ``common.normalize_log`` does;
``simd.vexp_normal`` forms no subnormal number on the way).
Item sums are accumulated per fixed user chunk (``ChunkRatings``: each chunk's ratings item by
item) and added in chunk order, so results do not depend on the thread count; user sums are each
user's own.
"""
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from .by_item import sort_by_item
from .common import SMALLEST_NORMAL
from .simd import (WIDTH, aligned_zeros, fetch, pad_columns, padded, vadd, vbroadcast, vexp_normal, vflush, vfma,
                   vload, vmax, vmax_lanes, vmul, vstore, vsub, vsum_tree, vzero)

LOG_2PI = np.log(2.0 * np.pi)
PRODUCT_LIMIT = 2.0 ** 600  # a product of normalisers is taken into the log-likelihood past this
BUFFER_BUDGET = 1 << 23     # float64 entries (64 MiB) of per-chunk item sums held at once


@njit(cache=True, error_model="numpy")
def item_table(means_t, noise):
    """(d * 3 Kp,) the per-item table of the module docstring."""
    d, K = means_t.shape
    Kp = padded(K)
    table = aligned_zeros(d * 3 * Kp)
    for i in range(d):
        for z in range(K):
            table[i * 3 * Kp + z] = means_t[i, z]
            table[i * 3 * Kp + Kp + z] = -0.5 / noise[i, z]
            table[i * 3 * Kp + 2 * Kp + z] = -0.5 * (LOG_2PI + np.log(noise[i, z]))
    return table


class ChunkRatings(NamedTuple):
    """Ratings of fixed user chunks, each chunk's item by item: chunk c holds users chunks[c] to
    chunks[c + 1] - 1, and its ratings of item i are entries segments[c (d + 1) + i] to
    segments[c (d + 1) + i + 1] - 1 of users (offsets within the chunk, int32, increasing) and
    values (float64). A chunk's pass then keeps one item's rows of the tables, and its users' rows
    of log theta and counts, in L1 cache."""

    chunks: np.ndarray
    segments: np.ndarray
    users: np.ndarray
    values: np.ndarray


def by_chunk_and_item(indptr, indices, values, chunks, n_items: int) -> ChunkRatings:
    """``ChunkRatings`` of a CSR matrix split at the user boundaries ``chunks`` (``fastem.chunks``),
    by ``by_item.sort_by_item``."""
    users = np.empty(indices.shape[0], np.int32)
    segments, sorted_values = sort_by_item(indptr, indices, np.ascontiguousarray(values, dtype=np.float64), chunks,
                                           n_items, users)
    return ChunkRatings(chunks, segments, users, sorted_values)


@njit(cache=True, error_model="numpy")
def chunk_statistics(ratings, c, table, log_theta_p, user_counts, sums):
    """Chunk c: user_counts[u] (K,) <- sum_i q for its users; fresh sums (d * 3 Kp,) <- its terms;
    returns its log-likelihood, sum over ratings of log sum_z theta_uz N(v; mu_iz, psi_iz) =
    shift + log norm (shift the largest log-joint, norm the sum of the shifted joints; the
    logarithms of the norms are taken of their products, one call per many ratings).

    The loops over a rating's classes are written out here: helpers taking arrays, called per
    rating, would pay atomic reference counting per call.
    """
    K = user_counts.shape[1]
    Kp = padded(K)
    lo, hi = ratings.chunks[c], ratings.chunks[c + 1]
    d = table.shape[0] // (3 * Kp)
    segments, users, values = ratings.segments[c * (d + 1):(c + 1) * (d + 1)], ratings.users, ratings.values
    theta_rows = log_theta_p[lo * Kp:hi * Kp]
    counts = aligned_zeros((hi - lo) * Kp)
    joint = aligned_zeros(Kp)
    sums[:] = 0.0
    ll = 0.0
    product = 1.0  # of the norms, each in [1, K]
    for i in range(d):
        at = i * 3 * Kp
        for p in range(segments[i], segments[i + 1]):
            x = fetch(values, p)
            xv = vbroadcast(x)
            squared = vbroadcast(x * x)
            row = np.intp(fetch(users, p)) * Kp
            top = vbroadcast(-np.inf)
            for v in range(0, Kp, WIDTH):
                r = vsub(xv, vload(table, at + v))
                log_joint = vadd(vload(theta_rows, row + v), vfma(vmul(r, r), vload(table, at + Kp + v),
                                                                  vload(table, at + 2 * Kp + v)))
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
                vstore(counts, row + v, vadd(vload(counts, row + v), q))
                vstore(sums, at + v, vadd(vload(sums, at + v), q))
                vstore(sums, at + Kp + v, vfma(xv, q, vload(sums, at + Kp + v)))
                vstore(sums, at + 2 * Kp + v, vfma(squared, q, vload(sums, at + 2 * Kp + v)))
    for u in range(lo, hi):
        for z in range(K):
            user_counts[u, z] = counts[(u - lo) * Kp + z]
    return ll + np.log(product)


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
def em_statistics(ratings, means_t, noise, log_theta, n_threads):
    """One sweep over ``ChunkRatings``: (log_likelihood, user_counts (n, K), s0, s1, s2 (d, K)) of
    sum q, sum q v, sum q v^2 per item and class; see ``chunk_statistics``.

    Chunks run in waves, each chunk into its own buffer, and the buffers are added in chunk order,
    so the result depends neither on the wave size nor on ``n_threads``. A wave holds every chunk
    when their buffers fit in BUFFER_BUDGET (one parallel launch: a thread slowed by other jobs
    holds the others up once, not once per wave), else ``n_threads`` chunks."""
    d, K = means_t.shape
    Kp = padded(K)
    n = log_theta.shape[0]
    n_chunks = ratings.chunks.shape[0] - 1
    size = d * 3 * Kp
    width = min(n_chunks, max(n_threads, BUFFER_BUDGET // size, 1))
    table = item_table(means_t, noise)
    log_theta_p = pad_columns(log_theta, -np.inf)
    chunk_ll = np.zeros(n_chunks)
    user_counts = np.empty((n, K))
    sums = aligned_zeros(size)
    buf = aligned_zeros(width * size)
    for first in range(0, n_chunks, width):
        wave = min(width, n_chunks - first)
        for t in prange(wave):
            chunk_ll[first + t] = chunk_statistics(ratings, first + t, table, log_theta_p, user_counts,
                                                   buf[t * size:(t + 1) * size])
        for part in prange(width):
            for at in range(part * size // width, (part + 1) * size // width):
                for t in range(wave):
                    sums[at] += buf[t * size + at]
    log_likelihood = 0.0
    for c in range(n_chunks):
        log_likelihood += chunk_ll[c]
    s0, s1, s2 = unpack_sums(sums, d, K)
    return log_likelihood, user_counts, s0, s1, s2
