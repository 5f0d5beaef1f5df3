"""Kernel helpers shared by every model."""
import numpy as np
from numba import njit

SMALLEST_NORMAL = np.finfo(np.float64).tiny

from .simd import (WIDTH, vadd, vbroadcast, vexp_normal, vflush, vload, vload_partial, vmax, vmax_lanes, vmul, vstore,
                   vstore_partial, vsub, vsum, vzero)


@njit(cache=True, error_model="numpy", inline="always")
def softmax_vector(x):
    """(softmax of the Vec8 x, log-sum-exp of x): ``normalize_log`` of one vector held in a register
    (-inf lanes get 0, results below the smallest normal float64 0)."""
    shift = vmax_lanes(x)
    e = vexp_normal(vsub(x, vbroadcast(shift)))
    norm = vsum(e)
    return vflush(vmul(e, vbroadcast(1.0 / norm)), SMALLEST_NORMAL), shift + np.log(norm)


@njit(cache=True, error_model="numpy", inline="always")
def softmax_pair(x0, x1):
    """(softmax of the 16 lanes of the Vec8 x0 then x1 as two Vec8, log-sum-exp of them):
    ``normalize_log`` of two vectors held in registers, in its order of operations."""
    shift = vmax_lanes(vmax(vmax(vbroadcast(-np.inf), x0), x1))
    top = vbroadcast(shift)
    e0, e1 = vexp_normal(vsub(x0, top)), vexp_normal(vsub(x1, top))
    norm = vsum(vadd(vadd(vzero(), e0), e1))
    scale = vbroadcast(1.0 / norm)
    return (vflush(vmul(e0, scale), SMALLEST_NORMAL), vflush(vmul(e1, scale), SMALLEST_NORMAL),
            shift + np.log(norm))


@njit(cache=True, error_model="numpy")
def normalize_log(values, at, count):
    """values[at : at + count] <- the softmax of the log values there; returns their log-sum-exp.

    The posterior step of every model (in registers up to 16 values: ``softmax_vector``,
    ``softmax_pair``). Eight lanes at a time: the maximum, exponentials by ``simd.vexp_normal``
    (2 ulp; 0 below the smallest normal, no subnormal formed), then a scaling by 1 / sum
    (``masked.group_posteriors`` repeats these operations for eight users at once, one per lane;
    a test holds the two equal to the bit). A result below the smallest normal float64 (2.2e-308) is set to 0: it cannot change
    any sum of posteriors, and sums that meet subnormal numbers run many times slower on x86.
    Lanes holding -inf (padding) get 0; a partial last block is read and written masked.
    """
    if count <= WIDTH:
        probabilities, log_sum = softmax_vector(vload_partial(values, at, count, -np.inf))
        vstore_partial(values, at, count, probabilities)
        return log_sum
    if count <= 2 * WIDTH:
        low, high, log_sum = softmax_pair(vload(values, at), vload_partial(values, at + WIDTH, count - WIDTH, -np.inf))
        vstore(values, at, low)
        vstore_partial(values, at + WIDTH, count - WIDTH, high)
        return log_sum
    top = vbroadcast(-np.inf)
    for block in range(0, count, WIDTH):
        top = vmax(top, vload_partial(values, at + block, count - block, -np.inf))
    shift = vmax_lanes(top)
    top = vbroadcast(shift)
    total = vzero()
    for block in range(0, count, WIDTH):
        e = vexp_normal(vsub(vload_partial(values, at + block, count - block, -np.inf), top))
        vstore_partial(values, at + block, count - block, e)
        total = vadd(total, e)
    norm = vsum(total)
    scale = vbroadcast(1.0 / norm)
    for block in range(0, count, WIDTH):
        scaled = vmul(vload_partial(values, at + block, count - block, 0.0), scale)
        vstore_partial(values, at + block, count - block, vflush(scaled, SMALLEST_NORMAL))
    return shift + np.log(norm)


@njit(cache=True, error_model="numpy")
def balanced_parts(ends, n_parts):
    """(n_parts + 1,) boundaries splitting rows (items or users) into runs holding about equal
    numbers of ratings; ends (m + 1,) cumulative ratings per row (a CSR/CSC pointer). Parallel loops
    give each thread one run; any split gives the same sums when each row's terms keep their order."""
    targets = np.arange(n_parts + 1) * (ends[-1] / n_parts)
    bounds = np.searchsorted(ends, targets)
    bounds[0], bounds[-1] = 0, ends.shape[0] - 1
    for t in range(1, n_parts + 1):
        bounds[t] = max(bounds[t], bounds[t - 1])
    return bounds
