"""Rating normalisation before a mixture (Hofmann 2004, section 3.3) and its inverse.

A rating becomes z_ui = (x_ui - shift_user[u] - shift_item[i]) / scale[u]:

- "none": shift 0, scale 1;
- "user": shift_user = the user's mean and scale = the user's spread, both shrunk toward the
  global values with strength q (a spread of 0 becomes 1): mean_u = (sum_i x_ui + q mean) / (n_u + q),
  scale_u^2 = (sum_i (x_ui - mean_u)^2 + q var) / (n_u + q);
- "biases": shift = mu + b_u + b_i of the regularised bias baseline, scale = the user's shrunk
  spread of the residuals (as above, around 0).
"""
from __future__ import annotations

import numpy as np

from ._kernels import normalization as kernels
from .baselines import fit_biases
from .ratings import RatingMatrix

KINDS = ("none", "user", "biases")


def shrunk_spread(R: RatingMatrix, squares: np.ndarray, variance: float, q: float) -> np.ndarray:
    """(n_users,) sqrt((sum_i e_ui^2 + q variance) / (n_u + q)) from each user's sum of squared
    residuals (n_users,); 1 where that is 0 (all of the user's residuals are then 0) or undefined
    (no rating and q = 0)."""
    count = R.user_counts() + q
    spread = np.sqrt((squares + q * variance) / np.where(count > 0, count, 1.0))
    return np.where(spread > 0, spread, 1.0)


def fit_normalization(R: RatingMatrix, kind: str, q: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shift_user (n,), shift_item (d,), scale (n,)) of ``kind`` on R's observed ratings."""
    n, d = R.shape
    if kind == "none":
        return np.zeros(n), np.zeros(d), np.ones(n)
    if kind == "user":
        x = R.values.astype(np.float64)
        mean = x.mean()
        shift_user = (kernels.user_sums(R.indptr, R.values) + q * mean) / (R.user_counts() + q)
        shift_item = np.zeros(d)
        squares = kernels.residual_squares(R.indptr, R.indices, R.values, shift_user, shift_item)
        return shift_user, shift_item, shrunk_spread(R, squares, x.var(), q)
    mu, user_bias, item_bias = fit_biases(R)
    shift_user = mu + user_bias
    squares = kernels.residual_squares(R.indptr, R.indices, R.values, shift_user, item_bias)
    return shift_user, item_bias, shrunk_spread(R, squares, float(squares.sum() / max(R.nnz, 1)), q)


def normalize(R: RatingMatrix, shift_user, shift_item, scale) -> np.ndarray:
    """(nnz,) z values of R's observed ratings."""
    return kernels.normalized(R.indptr, R.indices, R.values, shift_user, shift_item, scale)


def denormalize(z: np.ndarray, users: np.ndarray, items: np.ndarray, shift_user, shift_item, scale) -> np.ndarray:
    """(m,) ratings from z values (m,) of the pairs (users[k], items[k])."""
    return shift_user[users] + shift_item[items] + scale[users] * z
