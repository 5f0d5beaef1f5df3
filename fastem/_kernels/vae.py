"""The VAE's optimiser step: Adam over the flat parameter vector, fused into one pass.

Element-wise only (no reductions), so the result does not depend on the number of threads.
"""
import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def adam_ascent(theta, grad, m, v, grad_scale, learning_rate, beta1, beta2, eps, step):
    """Step ``step`` (1, 2, ...) of Adam up ``grad_scale * grad``, in place on theta, m, v ((p,) float64).

    m <- beta1 m + (1 - beta1) g;  v <- beta2 v + (1 - beta2) g^2;
    theta <- theta + learning_rate * m_hat / (sqrt(v_hat) + eps), with the bias-corrected
    m_hat = m / (1 - beta1^step), v_hat = v / (1 - beta2^step).
    """
    correction1 = 1.0 - beta1 ** step
    correction2 = 1.0 - beta2 ** step
    for i in prange(theta.shape[0]):
        g = grad[i] * grad_scale
        m[i] = beta1 * m[i] + (1.0 - beta1) * g
        v[i] = beta2 * v[i] + (1.0 - beta2) * g * g
        theta[i] += learning_rate * (m[i] / correction1) / (np.sqrt(v[i] / correction2) + eps)
