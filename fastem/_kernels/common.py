"""Kernel helpers shared by every model."""
import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def normalize_log(log_joint, resp):
    """resp (K,) <- softmax(log_joint); returns logsumexp(log_joint)."""
    top = -np.inf
    for j in range(log_joint.shape[0]):
        top = max(top, log_joint[j])
    total = 0.0
    for j in range(log_joint.shape[0]):
        resp[j] = np.exp(log_joint[j] - top)
        total += resp[j]
    for j in range(log_joint.shape[0]):
        resp[j] /= total
    return top + np.log(total)
