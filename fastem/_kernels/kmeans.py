"""Lloyd iterations for k-means over dense data with NaN as missing.

One pass does the work of one iteration: it scores the previous assignment against the current
centres (the course's cost of the previous iteration), assigns every sample to its nearest
centre and sums the samples of each new cluster. Distances run over the observed coordinates of
each sample. For complete rows the nearest centre is found from ||c||^2 - 2 x.c with one BLAS
product per block of rows (so a sample exactly equidistant from two centres may, through
rounding, go to either; exact ties of that score go to the lowest index), 8 centres at a time
(``simd``); rows with NaN use the masked distance, with exact ties to the lowest index.
Statistics are accumulated per fixed chunk (``fastem.chunks.even_chunks``) in the chunk's own
buffers, written to its slot once, and summed by the caller in chunk order.
"""
import numpy as np
from numba import njit, prange

from .simd import (WIDTH, aligned_zeros, fetch, padded, vadd, vbroadcast, vfind, vfma, vload, vload_partial, vmax,
                   vmax_lanes, vmul, vstore, vstore_partial, vsub, vsum)

#: Products per BLAS call (16k float64, 128 KiB: in L2): rows per call = PRODUCTS // K, so that a
#: small K does not pay a BLAS call per few hundred rows.
PRODUCTS = 1 << 14


@njit(cache=True, error_model="numpy")
def masked_squared_distance(flat, at, centers, to, d):
    """sum over the observed (non-NaN) i of (flat[at + i] - centers[to + i])^2; flat, centers 1-D."""
    total = 0.0
    for i in range(d):
        x = fetch(flat, at + i)
        if x == x:
            z = x - fetch(centers, to + i)
            total += z * z
    return total


@njit(parallel=True, cache=True)
def observed_counts(X):
    """(n,) int64: the number of observed (non-NaN) entries of each row of X (n, d)."""
    n, d = X.shape
    counts = np.empty(n, np.int64)
    for row in prange(n):
        q = 0
        for i in range(d):
            q += X[row, i] == X[row, i]
        counts[row] = q
    return counts


@njit(cache=True, error_model="numpy")
def lloyd_chunk(X, complete, lo, hi, centers, centers_t, norms_p, prev_labels, labels, sums, counts, prev_sse):
    """Rows lo..hi-1 of X (n, d) C-contiguous: labels them and sets sums (K * d,), counts (K, d)
    and prev_sse (K,) to their sums (see ``lloyd_pass``); centers (K, d), centers_t (d, K),
    norms_p (Kp,) = ||c_k||^2 padded with +inf (padding centres are never nearest)."""
    K, d = centers.shape
    Kp = norms_p.shape[0]
    flat = X.reshape(-1)
    centers_flat = centers.reshape(-1)
    rows = max(1, PRODUCTS // K)
    products = np.empty((rows, K))
    scores_flat = products.reshape(-1)
    scores = aligned_zeros(Kp)
    complete_counts = np.zeros(K)
    dp = padded(d)
    complete_sse = aligned_zeros(K * dp)   # complete rows' squared errors per centre, lane by lane
    two = vbroadcast(2.0)
    sums[:] = 0.0
    counts[:] = 0.0
    prev_sse[:] = 0.0
    for start in range(lo, hi, rows):
        m = min(rows, hi - start)
        np.dot(X[start:start + m], centers_t, products[:m])
        for r in range(m):
            row = start + r
            at = row * d
            prev = prev_labels[row]
            if complete[row]:
                # Nearest = largest 2 x.c - ||c||^2 (exactly minus the score ||c||^2 - 2 x.c).
                top = vbroadcast(-np.inf)
                for block in range(0, Kp, WIDTH):
                    product = vload_partial(scores_flat, r * K + block, K - block, 0.0)
                    s = vsub(vmul(two, product), vload(norms_p, block))
                    vstore(scores, block, s)
                    top = vmax(s, top)
                best_score = vmax_lanes(top)
                best = K
                for block in range(Kp - WIDTH, -1, -WIDTH):   # every block, last to first: no branch to mispredict
                    lane = vfind(vload(scores, block), best_score)
                    best = block + lane if lane < WIDTH else best
                if best >= K:   # no finite score (overflow): the lowest index, as a strict comparison would
                    best = 0
                if prev >= 0:
                    for i in range(0, d, WIDTH):
                        center = vload_partial(centers_flat, prev * d + i, d - i, 0.0)
                        z = vsub(vload_partial(flat, at + i, d - i, 0.0), center)
                        vstore(complete_sse, prev * dp + i, vfma(z, z, vload(complete_sse, prev * dp + i)))
                for i in range(0, d, WIDTH):
                    o = best * d + i
                    values = vload_partial(flat, at + i, d - i, 0.0)
                    vstore_partial(sums, o, d - i, vadd(vload_partial(sums, o, d - i, 0.0), values))
                complete_counts[best] += 1.0
            else:
                best, best_dist = 0, np.inf
                for k in range(K):
                    dist = masked_squared_distance(flat, at, centers_flat, k * d, d)
                    if dist < best_dist:
                        best, best_dist = k, dist
                if prev >= 0:
                    prev_sse[prev] += masked_squared_distance(flat, at, centers_flat, prev * d, d)
                for i in range(d):
                    x = fetch(flat, at + i)
                    if x == x:
                        sums[best * d + i] += x
                        counts[best, i] += 1.0
            labels[row] = best
    for k in range(K):
        for i in range(d):
            counts[k, i] += complete_counts[k]
        for i in range(0, dp, WIDTH):
            prev_sse[k] += vsum(vload(complete_sse, k * dp + i))


@njit(parallel=True, cache=True, error_model="numpy")
def lloyd_pass(X, complete, centers, prev_labels, bounds, labels):
    """One Lloyd pass.

    X (n, d) C-contiguous with NaN missing; complete (n,) bool, True for rows without NaN;
    centers (K, d); prev_labels (n,) int64, the previous assignment (-1: none); bounds (c + 1,).
    Fills labels (n,) with the nearest centre. Returns sums (c, K, d) and counts (c, K, d)
    (sum and number of the observed values of each coordinate in each new cluster) and
    prev_sse (c, K), the squared error of the previous assignment w.r.t. ``centers``.
    """
    K, d = centers.shape
    c = bounds.shape[0] - 1
    norms_p = aligned_zeros(padded(K))
    norms_p[:] = np.inf
    for k in range(K):
        norms_p[k] = np.dot(centers[k], centers[k])
    centers_t = np.ascontiguousarray(centers.T)
    sums = np.empty((c, K * d))
    counts = np.empty((c, K, d))
    prev_sse = np.empty((c, K))
    for chunk in prange(c):
        chunk_sums = aligned_zeros(K * d)
        chunk_counts = np.empty((K, d))
        chunk_sse = np.empty(K)
        lloyd_chunk(X, complete, bounds[chunk], bounds[chunk + 1], centers, centers_t, norms_p, prev_labels, labels,
                    chunk_sums, chunk_counts, chunk_sse)
        sums[chunk] = chunk_sums
        counts[chunk] = chunk_counts
        prev_sse[chunk] = chunk_sse
    return sums.reshape(c, K, d), counts, prev_sse
