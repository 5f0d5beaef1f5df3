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

from .baselines import fit_biases
from .ratings import RatingMatrix

KINDS = ("none", "user", "biases")


def shrunk_spread(R: RatingMatrix, residuals: np.ndarray, variance: float, q: float) -> np.ndarray:
    """(n_users,) sqrt((sum_i e_ui^2 + q variance) / (n_u + q)) of per-rating residuals e (nnz,);
    1 where that is 0 (all of the user's residuals are then 0) or undefined (no rating and q = 0)."""
    per_user = np.bincount(R.rows(), weights=residuals * residuals, minlength=R.n_users)
    count = R.user_counts() + q
    spread = np.sqrt((per_user + q * variance) / np.where(count > 0, count, 1.0))
    return np.where(spread > 0, spread, 1.0)


def fit_normalization(R: RatingMatrix, kind: str, q: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shift_user (n,), shift_item (d,), scale (n,)) of ``kind`` on R's observed ratings."""
    x = R.values.astype(np.float64)
    n, d = R.shape
    if kind == "none":
        return np.zeros(n), np.zeros(d), np.ones(n)
    if kind == "user":
        mean = x.mean()
        sums = np.bincount(R.rows(), weights=x, minlength=n)
        shift_user = (sums + q * mean) / (R.user_counts() + q)
        return shift_user, np.zeros(d), shrunk_spread(R, x - shift_user[R.rows()], x.var(), q)
    mu, user_bias, item_bias = fit_biases(R)
    shift_user = mu + user_bias
    residuals = x - shift_user[R.rows()] - item_bias[R.indices]
    return shift_user, item_bias, shrunk_spread(R, residuals, float(np.mean(residuals ** 2)), q)


def normalize(R: RatingMatrix, shift_user, shift_item, scale) -> np.ndarray:
    """(nnz,) z values of R's observed ratings."""
    rows = R.rows()
    return (R.values - shift_user[rows] - shift_item[R.indices]) / scale[rows]


def denormalize(z: np.ndarray, users: np.ndarray, items: np.ndarray, shift_user, shift_item, scale) -> np.ndarray:
    """(m,) ratings from z values (m,) of the pairs (users[k], items[k])."""
    return shift_user[users] + shift_item[items] + scale[users] * z
