"""k-means with the course's initialisation and cost, NaN-masked distances, and a mixture view.

The loop is the course's: repeat {assign each sample to its nearest centre (lowest index on
ties); move each centre to the mean of its samples; cost = squared error of the assignment
w.r.t. the moved centres} until the cost decreases by no more than ``tol``. It runs through
``fastem.em`` as hard EM whose bound is minus the cost. Missing values (NaN) are left out of
distances, means and costs. A centre whose cluster becomes empty (or, with NaN, a coordinate
no sample of its cluster observes) keeps its previous value.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import em
from ._kernels.kmeans import lloyd_pass, observed_counts
from ._base import Estimator, numba_threads
from ._validation import check_choice, check_features, check_float, check_int, check_samples, seed_list
from .chunks import even_chunks

__all__ = ["KMeans"]

INITS = ("course", "k-means++", "random")


@dataclass
class LloydState:
    """Centres and the assignment that produced them; ``scored`` is the state the last bound scored."""

    centers: np.ndarray      # (K, d)
    labels: np.ndarray       # (n,) int64, -1 before the first assignment
    scored: LloydState | None = None
    sse: np.ndarray | None = None  # (K,) squared error of this state's assignment w.r.t. its centres


class Lloyd:
    """The k-means loop over one data set, as E-step / M-step callables for ``fastem.em``."""

    def __init__(self, X: np.ndarray):
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        self.observed = observed_counts(self.X)   # (n,) observed entries per row
        self.complete = self.observed == X.shape[1]
        self.bounds = even_chunks(X.shape[0])

    def e_step(self, state: LloydState):
        """Assign to the nearest of ``state.centers``; bound = -(cost of ``state``)."""
        labels = np.empty(self.X.shape[0], np.int64)
        sums, counts, prev_sse = lloyd_pass(self.X, self.complete, np.ascontiguousarray(state.centers), state.labels,
                                            self.bounds, labels)
        sse = prev_sse.sum(axis=0)
        return (labels, sums.sum(axis=0), counts.sum(axis=0), sse), -sse.sum()

    @staticmethod
    def m_step(stats, state: LloydState) -> LloydState:
        """Centres = means of the new clusters (an unobserved coordinate keeps its old value)."""
        labels, sums, counts, sse = stats
        centers = np.where(counts > 0, sums / np.maximum(counts, 1.0), state.centers)
        scored = LloydState(state.centers, state.labels, sse=sse)
        return LloydState(centers, labels, scored=scored)

    def start(self, centers: np.ndarray) -> LloydState:
        """The state after the first assignment and update from initial ``centers``."""
        state = LloydState(centers, np.full(self.X.shape[0], -1, np.int64))
        return self.m_step(self.e_step(state)[0], state)

    def labels(self, centers: np.ndarray) -> np.ndarray:
        """(n,) nearest centre of each sample."""
        return self.e_step(LloydState(centers, np.full(self.X.shape[0], -1, np.int64)))[0][0]


def masked_sq_distances(X: np.ndarray, center: np.ndarray) -> np.ndarray:
    """(n,) squared distance of each row of X to ``center`` over the row's observed coordinates."""
    return np.nansum((X - center) ** 2, axis=1)


def initial_rows(X: np.ndarray, K: int, init: str, seed: int) -> np.ndarray:
    """(K,) indices of the rows of X that start k-means.

    course: ``np.random.RandomState(seed).choice(n, K, replace=False)`` (the course's choice);
    random: the first K of a random permutation (scikit-learn's "random");
    k-means++: the first row uniformly, each next with probability proportional to the squared
    distance (over observed coordinates) to the nearest chosen row (Arthur & Vassilvitskii 2007).
    """
    rng = np.random.RandomState(seed)
    n = X.shape[0]
    if init == "course":
        return rng.choice(n, K, replace=False)
    if init == "random":
        return rng.permutation(n)[:K]
    rows = [rng.randint(n)]
    nearest = masked_sq_distances(X, X[rows[0]])
    for _ in range(1, K):
        total = nearest.sum()
        row = rng.choice(n, p=nearest / total) if total > 0 else rng.randint(n)
        rows.append(row)
        nearest = np.minimum(nearest, masked_sq_distances(X, X[row]))
    return np.asarray(rows)


def initial_centers(X: np.ndarray, K: int, init: str, seed: int) -> np.ndarray:
    """(K, d) the rows ``initial_rows`` picks, a missing coordinate filled with its column's observed
    mean (0 for a column with no observed value)."""
    centers = X[initial_rows(X, K, init, seed)]
    missing = np.isnan(centers)
    if missing.any():
        observed = ~np.isnan(X)
        column_means = np.where(observed, X, 0.0).sum(axis=0) / np.maximum(observed.sum(axis=0), 1)
        centers[missing] = np.take(column_means, np.nonzero(missing)[1])
    return centers


class KMeans(Estimator):
    """k-means (Lloyd) that also returns the spherical Gaussian mixture of its clusters.

    Parameters
    ----------
    n_clusters : int
    n_init : int
        Number of starts (seeds ``random_state, random_state + 1, ...``); ignored when ``seeds``.
    seeds : iterable of int, optional
        Explicit seeds, one start each; the lowest cost wins (the first on ties).
    init : {"course", "k-means++", "random"}
    tol : float
        Stop when the cost decreases by no more than ``tol`` (absolute).
    max_iter : int
    random_state : int, optional
    n_threads : int, optional
        Numba threads for the fit (restored afterwards); results do not depend on it.

    Attributes
    ----------
    cluster_centers_ : (K, d); labels_ : (n,); inertia_ : float, the course's cost (squared error
    of ``labels_`` w.r.t. ``cluster_centers_`` over observed entries); n_iter_ : int;
    history_ : (n_iter_,) cost per iteration; best_seed_ : int; mixture_ : (means (K, d),
    variances (K,), weights (K,)) with var_j = SSE_j / (observed entries of cluster j),
    weight_j = n_j / n (0 and 0 for an empty cluster).
    """

    def __init__(self, n_clusters=4, n_init=1, seeds=None, init="course", tol=1e-6, max_iter=300,
                 random_state=None, n_threads=None):
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.seeds = seeds
        self.init = init
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_threads = n_threads

    def fit(self, X, y=None):
        """Fit k-means to X (n, d); NaN entries are missing. Returns self."""
        K = check_int("n_clusters", self.n_clusters, minimum=1)
        init = check_choice("init", self.init, INITS)
        tol = check_float("tol", self.tol, minimum=0.0)
        max_iter = check_int("max_iter", self.max_iter, minimum=1)
        seeds = seed_list(self.seeds, self.n_init, self.random_state)
        X = check_samples(X, copy=False)   # only read
        if X.shape[0] < K:
            raise ValueError(f"n_samples={X.shape[0]} must be >= n_clusters={K}")
        lloyd = Lloyd(X)
        with numba_threads(self.n_threads):
            best, _ = em.fit_best(lambda seed: lloyd.start(initial_centers(X, K, init, seed)),
                                  lloyd.e_step, lloyd.m_step, seeds,
                                  converged=lambda old, new: new - old <= tol, max_iter=max_iter)
        final = best.params.scored
        self.cluster_centers_ = final.centers
        self.labels_ = final.labels
        self.inertia_ = -best.bound
        self.history_ = -best.history
        self.n_iter_ = best.n_iter
        self.best_seed_ = best.seed
        self.n_features_in_ = X.shape[1]
        sizes = np.bincount(final.labels, minlength=K)
        observed = np.bincount(final.labels, weights=lloyd.observed, minlength=K)
        variances = np.divide(final.sse, observed, out=np.zeros(K), where=observed > 0)
        self.mixture_ = (final.centers.copy(), variances, sizes / X.shape[0])
        return self

    def predict(self, X):
        """(n,) index of the nearest centre of each row of X (over its observed coordinates)."""
        X = check_samples(X, copy=False)   # only read
        check_features(self, X)
        with numba_threads(self.n_threads):
            return Lloyd(X).labels(self.cluster_centers_)

    def fit_predict(self, X, y=None):
        """Fit and return ``labels_``."""
        return self.fit(X).labels_
