"""Kernel helpers shared by every model."""
import numpy as np
from numba import njit

SMALLEST_NORMAL = np.finfo(np.float64).tiny

from .simd import (WIDTH, vadd, vbroadcast, vdiv, vexp, vexp_normal, vflush, vload, vload_partial, vmax, vmax_lanes,
                   vmul, vstore, vstore_partial, vsub, vsum, vzero)


@njit(cache=True, error_model="numpy")
def normalize_log(log_joint, resp):
    """resp (K,) <- softmax(log_joint); returns logsumexp(log_joint). Contiguous (K,) arrays.

    Exponentials go 8 lanes at a time (``simd.vexp``, within 1 ulp of libm). A responsibility
    below the smallest normal float64 (2.2e-308) is set to 0: it cannot change any sum of
    responsibilities, and sums that meet subnormal numbers run many times slower on x86.
    """
    K = log_joint.shape[0]
    top = -np.inf
    for j in range(K):
        top = max(top, log_joint[j])
    shift = vbroadcast(top)
    total = 0.0
    for block in range(0, K, WIDTH):
        e = vexp(vsub(vload_partial(log_joint, block, K - block, -np.inf), shift))
        vstore_partial(resp, block, K - block, e)
        total += vsum(e)
    scale = vbroadcast(total)
    for block in range(0, K, WIDTH):
        vstore_partial(resp, block, K - block, vdiv(vload_partial(resp, block, K - block, 0.0), scale))
    for j in range(K):
        if resp[j] < SMALLEST_NORMAL:
            resp[j] = 0.0
    return top + np.log(total)


@njit(cache=True, error_model="numpy")
def normalize_log_padded(joint, at, Kp):
    """joint[at : at + Kp] <- softmax of the log-joints there; returns their log-sum-exp.

    For rows of Kp = padded(K) components, 64-byte aligned when ``at`` is a multiple of Kp, whose
    padding lanes hold -inf (they get 0). The rows stay in 8-lane registers: exponentials by
    ``simd.vexp_normal`` (2 ulp, no subnormal formed), posteriors scaled by 1 / sum and, as in
    ``normalize_log``, set to 0 below the smallest normal float64.
    """
    top = vbroadcast(-np.inf)
    for block in range(at, at + Kp, WIDTH):
        top = vmax(top, vload(joint, block))
    shift = vmax_lanes(top)
    top = vbroadcast(shift)
    total = vzero()
    for block in range(at, at + Kp, WIDTH):
        e = vexp_normal(vsub(vload(joint, block), top))
        vstore(joint, block, e)
        total = vadd(total, e)
    norm = vsum(total)
    scale = vbroadcast(1.0 / norm)
    for block in range(at, at + Kp, WIDTH):
        vstore(joint, block, vflush(vmul(vload(joint, block), scale), SMALLEST_NORMAL))
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
