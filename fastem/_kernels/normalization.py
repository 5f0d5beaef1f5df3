"""Per-user passes of the rating normalisation (``fastem.normalization``) over a CSR matrix.

Each user's sums run over its ratings in storage order, as ``np.bincount`` would add them, one
user per iteration of a parallel loop: the results do not depend on the thread count.
"""
import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, error_model="numpy")
def user_sums(indptr, values):
    """(n,) sum of each user's ratings."""
    n = indptr.shape[0] - 1
    out = np.empty(n)
    for u in prange(n):
        total = 0.0
        for p in range(indptr[u], indptr[u + 1]):
            total += np.float64(values[p])
        out[u] = total
    return out


@njit(parallel=True, cache=True, error_model="numpy")
def residual_squares(indptr, indices, values, shift_user, shift_item):
    """(n,) sum over each user's ratings of e^2, e = x - shift_user[u] - shift_item[i]."""
    n = indptr.shape[0] - 1
    out = np.empty(n)
    for u in prange(n):
        total = 0.0
        for p in range(indptr[u], indptr[u + 1]):
            e = np.float64(values[p]) - shift_user[u] - shift_item[indices[p]]
            total += e * e
        out[u] = total
    return out


@njit(parallel=True, cache=True, error_model="numpy")
def normalized(indptr, indices, values, shift_user, shift_item, scale):
    """(nnz,) z = (x - shift_user[u] - shift_item[i]) / scale[u] of every rating."""
    n = indptr.shape[0] - 1
    out = np.empty(indices.shape[0])
    for u in prange(n):
        for p in range(indptr[u], indptr[u + 1]):
            out[p] = (np.float64(values[p]) - shift_user[u] - shift_item[indices[p]]) / scale[u]
    return out
