"""What every recommender shares (validated pairs, the fallback for unseen users and items) and
the two baselines: the global mean and regularised user + item biases.

Fallback: a pair whose user or item has no training rating is predicted by the item's mean
training rating, or by the global mean when the item has none. Ids outside the fitted matrix
raise ValueError.
"""
from __future__ import annotations

import numpy as np

from ._base import Estimator
from ._validation import check_float, check_int, check_pairs
from .ratings import RatingMatrix, item_means, load_ratings


def fit_biases(R: RatingMatrix, reg_user: float = 5.0, reg_item: float = 10.0, n_iter: int = 10):
    """(mu, user_bias (n,), item_bias (d,)) minimising sum (x - mu - b_u - b_i)^2 + reg_user |b_u|^2
    + reg_item |b_i|^2 by alternating exact updates, starting from b = 0; mu is the global mean."""
    x = R.values.astype(np.float64)
    rows = R.rows()
    mu = x.mean()
    n_u = R.user_counts().astype(np.float64)
    n_i = np.bincount(R.indices, minlength=R.n_items).astype(np.float64)
    user_bias = np.zeros(R.n_users)
    item_bias = np.zeros(R.n_items)
    for _ in range(n_iter):
        item_bias = np.bincount(R.indices, weights=x - mu - user_bias[rows], minlength=R.n_items) / (n_i + reg_item)
        user_bias = np.bincount(rows, weights=x - mu - item_bias[R.indices], minlength=R.n_users) / (n_u + reg_user)
    return mu, user_bias, item_bias


class RatingModel(Estimator):
    """Base of the recommenders: ``fit`` stores the fallback, ``predict`` validates the pairs and
    routes pairs of unseen users or items to it; subclasses implement ``_fit(R)`` and
    ``_predict_known(users, items)``."""

    def __init__(self):
        pass

    def fit(self, R) -> "RatingModel":
        """Fit to a RatingMatrix, scipy.sparse matrix, or dense array (0 or NaN = missing)."""
        R = load_ratings(R)
        if R.nnz == 0:
            raise ValueError("the rating matrix holds no rating to fit")
        item, self.global_mean_, _ = item_means(R)
        self.item_counts_ = np.bincount(R.indices, minlength=R.n_items)
        self.item_means_ = item
        self.user_counts_ = R.user_counts().copy()
        self._fit(R)
        return self

    def _check_fitted(self):
        if not hasattr(self, "item_means_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit first")

    def predict(self, users, items) -> np.ndarray:
        """(m,) predicted ratings of the (user, item) pairs; unseen users or items get the fallback."""
        self._check_fitted()
        users, items = check_pairs(users, items, len(self.user_counts_), len(self.item_counts_))
        out = self.item_means_[items].copy()
        known = (self.user_counts_[users] > 0) & (self.item_counts_[items] > 0)
        if known.any():
            out[known] = self._predict_known(users[known], items[known])
        return out


class GlobalMean(RatingModel):
    """Predicts the mean training rating for every pair (the fallback still applies)."""

    def _fit(self, R):
        self.mean_ = float(self.global_mean_)

    def _predict_known(self, users, items):
        return np.full(len(users), self.mean_)


class BiasBaseline(RatingModel):
    """mu + b_u + b_i with ridge-regularised biases (``fit_biases``).

    Parameters: reg_user, reg_item (ridge strengths), n_iter (alternating updates).
    Attributes: mean_, user_bias_ (n_users,), item_bias_ (n_items,).
    """

    def __init__(self, reg_user=5.0, reg_item=10.0, n_iter=10):
        self.reg_user = reg_user
        self.reg_item = reg_item
        self.n_iter = n_iter

    def _fit(self, R):
        reg_user = check_float("reg_user", self.reg_user, minimum=0.0)
        reg_item = check_float("reg_item", self.reg_item, minimum=0.0)
        n_iter = check_int("n_iter", self.n_iter, minimum=1)
        self.mean_, self.user_bias_, self.item_bias_ = fit_biases(R, reg_user, reg_item, n_iter)

    def _predict_known(self, users, items):
        return self.mean_ + self.user_bias_[users] + self.item_bias_[items]
