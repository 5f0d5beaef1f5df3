"""Kernel helpers shared by every model."""
import numpy as np
from numba import njit

SMALLEST_NORMAL = np.finfo(np.float64).tiny

from .simd import WIDTH, vbroadcast, vdiv, vexp, vload_partial, vstore_partial, vsub, vsum


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
