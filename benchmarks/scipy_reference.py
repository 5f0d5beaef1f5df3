"""The natural SciPy-sparse implementation of the course's EM over an incomplete rating matrix:
the reference fastem's scaling benchmark is measured against. Sparse-dense products over a
float64 CSR matrix and its 0/1 mask; every (n, K) array dense; no Python loop over users."""
import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp


class Sparse:
    """The ratings as a float64 CSR matrix X, its mask M, and per-user sums every iteration reuses."""

    def __init__(self, R):
        self.X = sp.csr_matrix((R.values.astype(np.float64), R.indices, R.indptr), shape=R.shape)
        self.M = sp.csr_matrix((np.ones(R.nnz), R.indices, R.indptr), shape=R.shape)
        self.X2 = self.X.multiply(self.X).tocsr()
        self.row_sq = np.asarray(self.X2.sum(axis=1))
        self.n_obs = np.diff(R.indptr)[:, None].astype(np.float64)


def e_step(S: Sparse, means, variances, weights):
    """(post (n, K), log-likelihood); means (K, d)."""
    sq = S.row_sq - 2.0 * (S.X @ means.T) + S.M @ (means * means).T
    with np.errstate(divide="ignore"):
        log_w = np.log(weights)
    log_joint = log_w - S.n_obs / 2 * np.log(2 * np.pi * variances) - sq / (2 * variances)
    total = logsumexp(log_joint, axis=1)
    return np.exp(log_joint - total[:, None]), total.sum()


def m_step(S: Sparse, post, means, min_variance=0.25):
    """The course's M-step: a mean moves where its weight s0 >= 1."""
    s0, s1, s2 = (S.M.T @ post).T, (S.X.T @ post).T, (S.X2.T @ post).T
    means = np.where(s0 >= 1, s1 / np.where(s0 >= 1, s0, 1.0), means)
    sse = (s2 - 2 * means * s1 + means * means * s0).sum(axis=1)
    variances = np.maximum(sse / (post * S.n_obs).sum(axis=0), min_variance)
    return means, variances, post.sum(axis=0) / S.X.shape[0]
