"""Mixture models for incomplete rating matrices: each user's observed ratings are a draw from
one of K Gaussian user types (the course's collaborative-filtering model)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import em
from ._base import Estimator, numba_threads
from ._kernels import masked, one_pass
from ._validation import check_choice, check_float, check_int, check_pairs, seed_list
from .metrics import bic, bic_score
from .ratings import RatingMatrix, column_moments, csr_blocks, e_step_blocks, item_blocks, item_means, load_ratings

INITS = ("course", "k-means++", "random")
#: Sweeps over the ratings per EM iteration -> (the layout of R the statistics read, the workspace
#: they overwrite (layout, K), the statistics kernel): 2, the E-step over R's CSR arrays then the
#: M-step's sums over an item-major copy (``masked``; the faster); 1, both in one sweep over R's
#: own arrays, nothing laid out (``one_pass``; the least memory).
SWEEPS = {2: (item_blocks, lambda L, K: masked.workspace(L.indptr.shape[0] - 1, K), masked.em_statistics),
          1: (csr_blocks, one_pass.workspace, one_pass.em_statistics)}
PASSES = tuple(SWEEPS)


def check_passes(passes) -> int:
    """``passes`` if it is one of PASSES; ValueError naming it otherwise."""
    return check_choice("passes", check_int("passes", passes), PASSES)


@dataclass(frozen=True)
class SphericalMixture:
    """K spherical Gaussians over d items: means_t (d, K), variances (K,), weights (K,)."""

    means_t: np.ndarray
    variances: np.ndarray
    weights: np.ndarray

    @property
    def means(self) -> np.ndarray:
        """(K, d) means."""
        return np.ascontiguousarray(self.means_t.T)

    def log_weights(self) -> np.ndarray:
        """(K,) log weights (-inf for a weight of 0)."""
        with np.errstate(divide="ignore"):
            return np.log(self.weights)

    def n_parameters(self) -> int:
        """K d means + K variances + (K - 1) free weights."""
        d, K = self.means_t.shape
        return K * d + K + K - 1


# ---------------------------------------------------------------- starting points

def _rows(R: RatingMatrix, users: np.ndarray) -> np.ndarray:
    """(len(users), d) dense rows, 0 where missing."""
    out = np.zeros((len(users), R.n_items))
    for k, u in enumerate(users):
        lo, hi = R.indptr[u], R.indptr[u + 1]
        out[k, R.indices[lo:hi]] = R.values[lo:hi]
    return out


def course_start(R: RatingMatrix, K: int, seed: int) -> SphericalMixture:
    """The course's init: K distinct random users' full rows (zeros included) as means, var_j the
    mean of (X - mu_j)^2 over all n d entries of the zero-filled matrix, uniform weights."""
    chosen = np.random.RandomState(seed).choice(R.n_users, K, replace=False)
    means = _rows(R, chosen)
    sums, _, total_sq = column_moments(R)
    n, d = R.shape
    var = (total_sq - 2.0 * means @ sums + n * np.einsum("kd,kd->k", means, means)) / (n * d)
    return SphericalMixture(np.ascontiguousarray(means.T), var, np.full(K, 1.0 / K))


def kmeans_plus_plus_start(R: RatingMatrix, K: int, seed: int) -> SphericalMixture:
    """k-means++ over users: each new centre is a user drawn with probability proportional to
    the mean squared error of its observed ratings to the nearest centre so far; a centre is the
    user's ratings with item means where the user has none. Variances start at the global one."""
    rng = np.random.RandomState(seed)
    item, _, var = item_means(R)
    counts = np.maximum(R.user_counts(), 1).astype(np.float64)
    centres = np.empty((R.n_items, K))
    blocks = csr_blocks(R)
    nearest = np.full(R.n_users, np.inf)
    chosen = rng.randint(R.n_users)
    for k in range(K):
        centre = item.copy()
        lo, hi = R.indptr[chosen], R.indptr[chosen + 1]
        centre[R.indices[lo:hi]] = R.values[lo:hi]
        centres[:, k] = centre
        if k + 1 == K:
            break
        dist = masked.squared_errors(blocks, centre[:, None].copy())[:, 0] / counts
        nearest = np.minimum(nearest, dist)
        total = nearest.sum()
        chosen = rng.choice(R.n_users, p=nearest / total) if total > 0 else rng.randint(R.n_users)
    return SphericalMixture(centres, np.full(K, var), np.full(K, 1.0 / K))


def random_start(R: RatingMatrix, K: int, seed: int) -> SphericalMixture:
    """Item means plus Gaussian noise of half the global standard deviation; global variance."""
    rng = np.random.RandomState(seed)
    item, _, var = item_means(R)
    means_t = item[:, None] + 0.5 * np.sqrt(var) * rng.standard_normal((R.n_items, K))
    return SphericalMixture(means_t, np.full(K, var), np.full(K, 1.0 / K))


STARTS = {"course": course_start, "k-means++": kmeans_plus_plus_start, "random": random_start}


def floor_variances(params: SphericalMixture, min_variance: float) -> SphericalMixture:
    """The start with variances raised to the floor; ValueError when one is still 0."""
    variances = np.maximum(params.variances, min_variance)
    if np.any(variances <= 0):
        raise ValueError("a starting component has variance 0 (all users identical to it); set min_variance > 0")
    return SphericalMixture(params.means_t, variances, params.weights)


# ---------------------------------------------------------------- E and M steps

def new_workspace(R: RatingMatrix, K: int, passes: int = 2) -> np.ndarray:
    """The flat float64 workspace the statistics of ``passes`` sweeps overwrite (a fit allocates it once)."""
    layout, workspace, _ = SWEEPS[passes]
    return workspace(layout(R), K)


def e_step(R: RatingMatrix, params: SphericalMixture, workspace: np.ndarray | None = None, passes: int = 2):
    """One EM iteration's statistics (``masked.em_statistics``, or ``one_pass.em_statistics``
    when passes = 1): (statistics tuple, log-likelihood of R under params).

    ``workspace``: ``new_workspace(R, K, passes)``.
    """
    if workspace is None:
        workspace = new_workspace(R, params.weights.shape[0], passes)
    layout, _, statistics = SWEEPS[passes]
    ll, *stats = statistics(layout(R), params.means_t, params.log_weights(), params.variances, workspace)
    return stats, ll


def m_step(stats, params: SphericalMixture, n_users: int, min_variance: float,
           min_mean_weight: float) -> SphericalMixture:
    """New mixture from the statistics of ``masked.em_statistics``: means moved where
    sum_u r_uj [i observed] >= min_mean_weight (the course uses 1; ``masked.move_means``),
    var_j = sum_u r_uj sum_i (x_ui - new mu_ji)^2 / sum_u r_uj |C_u| floored at min_variance,
    w_j = mean responsibility. A component with no weight at all keeps its variance."""
    resp_sum, obs_weight, sq_weight, s0, s1 = stats
    means_t, explained = masked.move_means(params.means_t, s0, s1, min_mean_weight)
    has_weight = obs_weight > 0
    variances = np.where(has_weight, np.maximum(sq_weight - explained, 0.0) / np.where(has_weight, obs_weight, 1.0),
                         params.variances)
    variances = np.maximum(variances, min_variance)
    collapsed = np.flatnonzero(variances <= 0)
    if collapsed.size:
        raise ValueError(f"component {collapsed[0]} collapsed to variance 0; set min_variance > 0")
    return SphericalMixture(means_t, variances, resp_sum / n_users)


# ---------------------------------------------------------------- the estimator

class MixtureCompleter(Estimator):
    """Gaussian mixture over users' observed ratings, fitted by EM; fills missing ratings.

    Parameters
    ----------
    n_components : K, number of user types.
    covariance : "spherical" (one variance per component, the course's model).
    n_init, seeds, random_state : the runs; explicit ``seeds`` override ``n_init`` and
        ``random_state``; the run with the highest log-likelihood is kept.
    init : "course" (K random users' rows, zeros included), "k-means++" or "random".
    tol : stop when new_ll - old_ll <= tol * |new_ll|.
    min_variance : variance floor (the course: 0.25).
    min_mean_weight : a mean (i, j) is updated only where sum_u r_uj [i observed] >= this (course: 1).
    n_threads : Numba threads for the fit (None: Numba's default).
    passes : sweeps over the ratings per iteration: 2 (the E-step, then the M-step's sums over an
        item-major copy of the ratings built once, 4 bytes per rating) or 1 (one sweep over R's
        own arrays, nothing copied: memory beyond the data n Kp + 2 to 8 buffers of 2 d Kp float64,
        no more buffers than the ratings' size holds, Kp = K rounded up to a multiple of 4;
        1.0-2.5x the time per iteration in the README's scaling table). Same fit, to rounding.
    verbose : 1 prints each run's result, 2 also every iteration.

    Attributes
    ----------
    means_ (K, d), variances_ (K,), weights_ (K,), log_likelihood_ (of the last E-step),
    n_iter_, converged_, history_ (log-likelihood per iteration), best_seed_,
    resp_ (n_users, K) responsibilities of the training users under the final mixture.
    """

    def __init__(self, n_components=12, covariance="spherical", n_init=1, seeds=None, init="course",
                 tol=1e-6, max_iter=1000, min_variance=0.25, min_mean_weight=1.0, n_threads=None,
                 random_state=None, verbose=0, passes=2):
        self.n_components = n_components
        self.covariance = covariance
        self.n_init = n_init
        self.seeds = seeds
        self.init = init
        self.tol = tol
        self.max_iter = max_iter
        self.min_variance = min_variance
        self.min_mean_weight = min_mean_weight
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.passes = passes

    # -- fitting
    def fit(self, R) -> "MixtureCompleter":
        """Fit to a RatingMatrix, scipy.sparse matrix, or dense array (0 or NaN = missing)."""
        R = load_ratings(R)
        if R.nnz == 0:
            raise ValueError("the rating matrix has no observed ratings")
        K = check_int("n_components", self.n_components, minimum=1)
        if K > R.n_users:
            raise ValueError(f"n_components={K} exceeds the number of users ({R.n_users})")
        check_choice("covariance", self.covariance, ("spherical",))
        start = STARTS[check_choice("init", self.init, INITS)]
        tol = check_float("tol", self.tol, minimum=0.0)
        max_iter = check_int("max_iter", self.max_iter, minimum=1)
        min_variance = check_float("min_variance", self.min_variance, minimum=0.0)
        min_mean_weight = check_float("min_mean_weight", self.min_mean_weight, minimum=0.0)
        seeds = seed_list(self.seeds, self.n_init, self.random_state)
        passes = check_passes(self.passes)
        workspace = new_workspace(R, K, passes)

        def initialize(seed):
            return floor_variances(start(R, K, seed), min_variance)

        def m(stats, params):
            return m_step(stats, params, R.n_users, min_variance, min_mean_weight)

        with numba_threads(self.n_threads):
            best, _ = em.fit_best(initialize, lambda p: e_step(R, p, workspace, passes), m, seeds,
                                  converged=em.relative_tolerance(tol), max_iter=max_iter,
                                  callback=self._iteration_printer(), on_fit=self._fit_printer())
            self.mixture_ = best.params
            self.resp_, _ = self._responsibilities(R)
        self.log_likelihood_ = best.bound
        self.history_ = best.history
        self.n_iter_ = best.n_iter
        self.converged_ = best.converged
        self.best_seed_ = best.seed
        self.n_users_, self.n_items_ = R.shape
        return self

    def _fitted_state(self) -> dict:
        state = super()._fitted_state()
        mixture = state.pop("mixture_")
        return dict(state, mixture_={"means_t": mixture.means_t, "variances": mixture.variances,
                                     "weights": mixture.weights})

    def _restore_state(self, state: dict) -> None:
        super()._restore_state(dict(state, mixture_=SphericalMixture(**state["mixture_"])))

    def _iteration_printer(self):
        if self.verbose < 2:
            return None
        clock = [time.perf_counter()]

        def show(iteration, bound, params):
            now = time.perf_counter()
            print(f"  iter {iteration:4d}  log-likelihood {bound:.6f}  {now - clock[0]:.3f}s", flush=True)
            clock[0] = now
        return show

    def _fit_printer(self):
        if self.verbose < 1:
            return None
        return lambda f: print(f"K={self.n_components} seed {f.seed}: log-likelihood {f.bound:.4f} "
                               f"after {f.n_iter} iterations, {f.seconds:.2f}s", flush=True)

    # -- fitted state
    def _check_fitted(self):
        if not hasattr(self, "mixture_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit first")

    @property
    def means_(self) -> np.ndarray:
        """(K, d) component means."""
        self._check_fitted()
        return self.mixture_.means

    @property
    def variances_(self) -> np.ndarray:
        """(K,) spherical variances."""
        self._check_fitted()
        return self.mixture_.variances

    @property
    def weights_(self) -> np.ndarray:
        """(K,) mixing weights."""
        self._check_fitted()
        return self.mixture_.weights

    def _ratings(self, R) -> RatingMatrix:
        self._check_fitted()
        R = load_ratings(R)
        if R.n_items != self.n_items_:
            raise ValueError(f"the model was fitted on {self.n_items_} items, got {R.n_items}")
        return R

    def _responsibilities(self, R: RatingMatrix):
        p = self.mixture_
        return masked.responsibilities(e_step_blocks(R), p.means_t, p.log_weights(), p.variances)

    # -- inference
    def predict_proba(self, R) -> np.ndarray:
        """(n_users, K) posterior probability of each user type given the observed ratings."""
        R = self._ratings(R)
        with numba_threads(self.n_threads):
            return self._responsibilities(R)[0]

    def score(self, R) -> float:
        """Total log-likelihood of R's observed entries under the fitted mixture."""
        R = self._ratings(R)
        with numba_threads(self.n_threads):
            return float(self._responsibilities(R)[1].sum())

    def n_parameters(self) -> int:
        """Free parameters of the fitted mixture (what BIC counts)."""
        self._check_fitted()
        return self.mixture_.n_parameters()

    def bic(self, R) -> float:
        """-2 LL + p ln n_users: lower is better."""
        return bic(self.score(R), self.mixture_.n_parameters(), load_ratings(R).n_users)

    def bic_score(self, R) -> float:
        """LL - p/2 ln n_users: higher is better (the course's convention)."""
        return bic_score(self.score(R), self.mixture_.n_parameters(), load_ratings(R).n_users)

    def fill(self, R) -> np.ndarray:
        """(n_users, n_items) dense: observed ratings kept, missing ones sum_j r_uj mu_ji."""
        R = self._ratings(R)
        with numba_threads(self.n_threads):
            resp, _ = self._responsibilities(R)
        filled = resp @ self.mixture_.means
        filled[R.rows(), R.indices] = R.values
        return filled

    def predict(self, users, items) -> np.ndarray:
        """Predicted ratings sum_j r_uj mu_ji for (user, item) pairs of the training matrix.

        A training user without ratings is predicted from the weights alone.
        """
        self._check_fitted()
        users, items = check_pairs(users, items, self.n_users_, self.n_items_)
        with numba_threads(self.n_threads):
            return masked.predict_pairs(self.resp_, self.mixture_.means_t, users, items)
