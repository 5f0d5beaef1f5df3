"""The reference implementation fastem is measured against: the course's EM for matrix
completion written with dense NumPy arrays and BLAS matrix products (no Python loop over
users, items or components)."""
import numpy as np
from scipy.special import logsumexp


class Dense:
    """A dense (n, d) matrix with 0 = missing and the arrays every iteration reuses."""

    def __init__(self, X):
        self.X = np.asarray(X, dtype=np.float64)
        self.mask = (self.X != 0).astype(np.float64)
        self.X2 = self.X * self.X
        self.row_sq = self.X2.sum(axis=1, keepdims=True)
        self.n_obs = self.mask.sum(axis=1, keepdims=True)


def course_init(D: Dense, K: int, seed: int):
    n = D.X.shape[0]
    means = D.X[np.random.RandomState(seed).choice(n, K, replace=False)].copy()
    return means, np.array([((D.X - m) ** 2).mean() for m in means]), np.full(K, 1.0 / K)


def e_step(D: Dense, means, variances, weights):
    """(post (n, K), log-likelihood)."""
    sq = D.row_sq - 2.0 * D.X @ means.T + D.mask @ (means * means).T
    log_joint = np.log(weights) - D.n_obs / 2 * np.log(2 * np.pi * variances) - sq / (2 * variances)
    total = logsumexp(log_joint, axis=1)
    return np.exp(log_joint - total[:, None]), total.sum()


def m_step(D: Dense, post, means, min_variance=0.25):
    s0, s1, s2 = post.T @ D.mask, post.T @ D.X, post.T @ D.X2
    means = np.where(s0 >= 1, s1 / np.where(s0 >= 1, s0, 1.0), means)
    sse = (s2 - 2 * means * s1 + means * means * s0).sum(axis=1)
    variances = np.maximum(sse / (post * D.n_obs).sum(axis=0), min_variance)
    return means, variances, post.sum(axis=0) / D.X.shape[0]


def course_em(D: Dense, K: int, seed: int, tol: float = 1e-6):
    """One course run: (log-likelihood of the last E-step, n_iter)."""
    params, old, n_iter = course_init(D, K, seed), None, 0
    while True:
        n_iter += 1
        post, ll = e_step(D, *params)
        params = m_step(D, post, params[0])
        if old is not None and ll - old <= tol * abs(ll):
            return ll, n_iter
        old = ll


def best_of_seeds(D: Dense, K: int, seeds) -> tuple[float, int]:
    """(best log-likelihood, its seed)."""
    return max((course_em(D, K, s)[0], s) for s in seeds)
