"""Prediction error and information criteria: each formula in one place."""
from __future__ import annotations

import numpy as np


def _paired(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        raise ValueError("cannot score empty arrays")
    return a, b


def rmse(a, b) -> float:
    """Root mean squared difference of two arrays of one shape."""
    a, b = _paired(a, b)
    return float(np.sqrt(np.mean((a - b) ** 2)))


def mae(a, b) -> float:
    """Mean absolute difference of two arrays of one shape."""
    a, b = _paired(a, b)
    return float(np.mean(np.abs(a - b)))


def bic(log_likelihood: float, n_parameters: int, n_samples: int) -> float:
    """-2 LL + p ln n: lower is better (scikit-learn's convention)."""
    return -2.0 * log_likelihood + n_parameters * np.log(n_samples)


def bic_score(log_likelihood: float, n_parameters: int, n_samples: int) -> float:
    """LL - p/2 ln n: higher is better (the course's convention)."""
    return log_likelihood - 0.5 * n_parameters * np.log(n_samples)


def aic(log_likelihood: float, n_parameters: int) -> float:
    """-2 LL + 2 p: lower is better."""
    return -2.0 * log_likelihood + 2.0 * n_parameters
