"""Lloyd iterations for k-means over dense data with NaN as missing.

One pass does the work of one iteration: it scores the previous assignment against the current
centres (the course's cost of the previous iteration), assigns every sample to its nearest
centre and sums the samples of each new cluster. Distances run over the observed coordinates of
each sample. For complete rows the nearest centre is found from ||c||^2 - 2 x.c with one BLAS
product per block of rows (so a sample exactly equidistant from two centres may, through
rounding, go to either; exact ties of that score go to the lowest index); rows with NaN use the
masked distance, with exact ties to the lowest index. Statistics are accumulated per
fixed chunk (``fastem.chunks.even_chunks``) and summed by the caller in chunk order.
"""
import numpy as np
from numba import njit, prange

from .simd import WIDTH, vadd, vload_partial, vmul, vstore_partial, vsub, vsum, vzero

#: Rows per BLAS product.
BLOCK = 256


@njit(cache=True)
def masked_squared_distance(x, center):
    """sum over the observed (non-NaN) i of (x_i - center_i)^2; x, center (d,)."""
    total = 0.0
    for i in range(x.shape[0]):
        if x[i] == x[i]:
            z = x[i] - center[i]
            total += z * z
    return total


@njit(cache=True)
def nearest_masked(x, centers):
    """Index of the centre (K, d) nearest to x (d,) over x's observed coordinates (lowest on ties)."""
    best, best_dist = 0, np.inf
    for k in range(centers.shape[0]):
        dist = masked_squared_distance(x, centers[k])
        if dist < best_dist:
            best, best_dist = k, dist
    return best


@njit(cache=True)
def squared_distance(x, center):
    """sum_i (x_i - center_i)^2 for complete x, center (d,), 8 coordinates at a time."""
    d = x.shape[0]
    total = vzero()
    for i in range(0, d, WIDTH):
        z = vsub(vload_partial(x, i, d - i, 0.0), vload_partial(center, i, d - i, 0.0))
        total = vadd(total, vmul(z, z))
    return vsum(total)


@njit(cache=True)
def add_row(x, sums, at):
    """sums[at : at + d] += x (d,), 8 coordinates at a time."""
    d = x.shape[0]
    for i in range(0, d, WIDTH):
        vstore_partial(sums, at + i, d - i, vadd(vload_partial(sums, at + i, d - i, 0.0), vload_partial(x, i, d - i, 0.0)))


@njit(parallel=True, cache=True)
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
    norms = np.empty(K)
    for k in range(K):
        norms[k] = np.dot(centers[k], centers[k])
    centers_t = np.ascontiguousarray(centers.T)
    sums = np.zeros((c, K * d))
    counts = np.zeros((c, K, d))
    complete_counts = np.zeros((c, K))
    prev_sse = np.zeros((c, K))
    for chunk in prange(c):
        for start in range(bounds[chunk], bounds[chunk + 1], BLOCK):
            m = min(BLOCK, bounds[chunk + 1] - start)
            products = np.dot(X[start:start + m], centers_t)
            for r in range(m):
                row = start + r
                x = X[row]
                prev = prev_labels[row]
                if complete[row]:
                    best, best_score = 0, np.inf
                    for k in range(K):
                        score = norms[k] - 2.0 * products[r, k]
                        if score < best_score:
                            best, best_score = k, score
                    if prev >= 0:
                        prev_sse[chunk, prev] += squared_distance(x, centers[prev])
                    add_row(x, sums[chunk], best * d)
                    complete_counts[chunk, best] += 1.0
                else:
                    best = nearest_masked(x, centers)
                    if prev >= 0:
                        prev_sse[chunk, prev] += masked_squared_distance(x, centers[prev])
                    for i in range(d):
                        if x[i] == x[i]:
                            sums[chunk, best * d + i] += x[i]
                            counts[chunk, best, i] += 1.0
                labels[row] = best
    for chunk in range(c):
        for k in range(K):
            counts[chunk, k] += complete_counts[chunk, k]
    return sums.reshape(c, K, d), counts, prev_sse
