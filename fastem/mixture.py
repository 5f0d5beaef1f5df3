"""Dense Gaussian mixtures with scikit-learn's ``GaussianMixture`` semantics, and missing values.

The E-step and the M-step statistics run in one Numba pass (``fastem._kernels.dense``); this
module validates, initialises, turns statistics into parameters and runs the loop through
``fastem.em`` (scikit-learn's loop: E-step, M-step, stop when the mean log-likelihood per sample
changes by less than ``tol``; best of ``n_init`` starts; a final E-step so labels match the
parameters).

Missing values (NaN) are missing at random and handled by exact EM: diag and spherical
components marginalise the missing coordinates; full and tied use Ghahramani & Jordan (1994):
the E-step on each row's observed marginal, the M-step with the conditional mean and covariance
of the missing block. Initialisation (k-means, random responsibilities, ...) sees the data with
each missing entry replaced by its column's observed mean.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.linalg import lapack

from . import em, metrics
from ._kernels.dense import estep_conditional, estep_diagonal, estep_triangular
from ._base import Estimator, numba_threads
from ._validation import check_choice, check_features, check_float, check_int, check_samples, seed_list
from .chunks import even_chunks
from .kmeans import KMeans, initial_rows

__all__ = ["GaussianMixture", "ConvergenceWarning"]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")

ILL_DEFINED = ("Fitting the mixture model failed because some components have ill-defined empirical "
               "covariance (for instance caused by singleton or collapsed samples). Try to decrease "
               "the number of components, increase reg_covar, or scale the input data.")

#: Added to every component's responsibility sum, as scikit-learn does, so no division by zero.
NK_FLOOR = 10 * np.finfo(np.float64).eps


class ConvergenceWarning(UserWarning):
    """The best start did not converge within max_iter."""


@dataclass
class GaussianParams:
    """Parameters in scikit-learn's shapes for the covariance type.

    weights (K,); means (K, d); covariances and precisions_cholesky: full (K, d, d),
    tied (d, d), diag (K, d), spherical (K,). precisions_cholesky is upper triangular U with
    precision = U U^T (full, tied) or 1 / sqrt(covariance) (diag, spherical).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray


# ------------------------------------------------------------------ parameter conversions

def precision_cholesky(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    """Cholesky factors of the precisions from covariances; ValueError (ILL_DEFINED) if not PD."""
    if covariance_type in ("diag", "spherical"):
        if not np.all(covariances > 0.0):
            raise ValueError(ILL_DEFINED)
        return 1.0 / np.sqrt(covariances)
    stack = covariances[None] if covariance_type == "tied" else covariances
    try:
        cov_chol = np.linalg.cholesky(stack)
    except np.linalg.LinAlgError:
        raise ValueError(ILL_DEFINED) from None
    # Triangular inverses by LAPACK's dtrtri: for small d it runs no BLAS thread (a threaded
    # solve_triangular of a 16 x 16 system costs milliseconds on busy cores).
    factors = np.stack([lapack.dtrtri(c, lower=1)[0].T for c in cov_chol])
    return factors[0] if covariance_type == "tied" else factors


def precisions_from_cholesky(prec_chol: np.ndarray, covariance_type: str) -> np.ndarray:
    """Precisions U U^T (full, tied) or U^2 (diag, spherical)."""
    if covariance_type in ("diag", "spherical"):
        return prec_chol ** 2
    return prec_chol @ np.swapaxes(prec_chol, -1, -2)


def cholesky_of_precisions(precisions: np.ndarray, covariance_type: str) -> np.ndarray:
    """Upper triangular U with precision = U U^T (full, tied) or sqrt (diag, spherical)."""
    if covariance_type in ("diag", "spherical"):
        return np.sqrt(precisions)
    flipped = np.linalg.cholesky(precisions[..., ::-1, ::-1])
    return np.ascontiguousarray(flipped[..., ::-1, ::-1])


def covariances_from_cholesky(prec_chol: np.ndarray, covariance_type: str) -> np.ndarray:
    """Covariances (inverse precisions) from the precisions' Cholesky factors."""
    if covariance_type in ("diag", "spherical"):
        return 1.0 / prec_chol ** 2
    inverse = np.linalg.inv(prec_chol)
    return np.swapaxes(inverse, -1, -2) @ inverse


def covariances_from_scatter(nk, scatter, covariance_type: str, reg_covar: float) -> np.ndarray:
    """Covariances from each component's responsibility-weighted scatter about its new mean.

    nk (K,) with the floor added; scatter: full (K, d, d), tied (d, d) pooled over components,
    diag/spherical (K, d).
    """
    if covariance_type == "full":
        cov = scatter / nk[:, None, None]
    elif covariance_type == "tied":
        cov = scatter / nk.sum()
    else:
        cov = scatter / nk[:, None]
    if covariance_type in ("full", "tied"):
        cov = 0.5 * (cov + np.swapaxes(cov, -1, -2))
        cov[..., np.arange(cov.shape[-1]), np.arange(cov.shape[-1])] += reg_covar
        return cov
    cov = cov + reg_covar
    return cov.mean(axis=1) if covariance_type == "spherical" else cov


def parameters_from_stats(stats, means, covariance_type: str, reg_covar: float) -> GaussianParams:
    """M-step: parameters from (nk (K,), first (K, d), second) taken about ``means`` (K, d).

    second: full (K, d, d), tied (d, d) pooled, diag/spherical (K, d). The new mean is
    means + first / nk and the scatter about it is second - first delta^T.
    """
    nk, first, second = stats
    nk = nk + NK_FLOOR
    delta = first / nk[:, None]
    if covariance_type == "full":
        scatter = second - first[:, :, None] * delta[:, None, :]
    elif covariance_type == "tied":
        scatter = second - first.T @ delta
    else:
        scatter = second - first * delta
    covariances = covariances_from_scatter(nk, scatter, covariance_type, reg_covar)
    return GaussianParams(nk / nk.sum(), means + delta, covariances,
                          precision_cholesky(covariances, covariance_type))


def n_parameters(K: int, d: int, covariance_type: str) -> int:
    """Free parameters of the mixture (scikit-learn's count)."""
    cov = {"full": K * d * (d + 1) / 2, "tied": d * (d + 1) / 2, "diag": K * d, "spherical": K}[covariance_type]
    return int(cov + K * d + K - 1)


# ------------------------------------------------------------------ the data and the E-step

class MixtureData:
    """X prepared once for repeated E-steps: chunk bounds, rows with and without NaN, buffers."""

    def __init__(self, X: np.ndarray, covariance_type: str):
        self.X = X
        self.covariance_type = covariance_type
        n = X.shape[0]
        self.resp = np.empty((n, 0))
        self.sample_ll = np.empty(n)
        self.missing_mask = np.isnan(X)
        if covariance_type in ("diag", "spherical"):
            self.bounds = even_chunks(n)
            return
        has_nan = self.missing_mask.any(axis=1)
        self.complete_rows = np.flatnonzero(~has_nan)
        self.missing_rows = np.flatnonzero(has_nan)
        self.complete = X if not has_nan.any() else X[self.complete_rows]
        self.incomplete = X[self.missing_rows]
        self.bounds = even_chunks(self.complete.shape[0])
        self.missing_bounds = even_chunks(self.incomplete.shape[0])
        if covariance_type == "tied":
            # Pooled scatter of the complete rows about their mean: constant over iterations.
            self.center = self.complete.mean(axis=0) if len(self.complete) else np.zeros(X.shape[1])
            centered = self.complete - self.center
            self.total_scatter = centered.T @ centered

    def expectation(self, params: GaussianParams):
        """E-step: fills resp (n, K) and sample_ll (n,); returns statistics (nk, first, second)
        about ``params.means`` (second: full (K, d, d), tied (d, d), diag/spherical (K, d))."""
        K, d = params.means.shape
        if self.resp.shape[1] != K:
            self.resp = np.empty((self.X.shape[0], K))
        log_weights = np.log(params.weights)
        means = np.ascontiguousarray(params.means)
        kind = self.covariance_type
        if kind in ("diag", "spherical"):
            prec = params.precisions_cholesky
            prec_t = np.ascontiguousarray(np.broadcast_to(prec[:, None] if kind == "spherical" else prec, (K, d)).T)
            nk, first, second = estep_diagonal(self.X, np.ascontiguousarray(means.T), prec_t, log_weights,
                                               self.bounds, self.resp, self.sample_ll)
            return nk.sum(axis=0), first.sum(axis=0).T, second.sum(axis=0).T
        factors = np.ascontiguousarray(params.precisions_cholesky.reshape(-1, d, d))
        resp, ll = self.resp, self.sample_ll
        if len(self.missing_rows):
            resp, ll = np.empty((len(self.complete_rows), K)), np.empty(len(self.complete_rows))
        nk, first, second = (s.sum(axis=0) for s in estep_triangular(
            self.complete, means, factors, log_weights, kind == "full", self.bounds, resp, ll))
        if kind == "tied":
            second = self.tied_complete_scatter(nk, first, means)
        if len(self.missing_rows):
            self.resp[self.complete_rows], self.sample_ll[self.complete_rows] = resp, ll
            resp_m, ll_m = np.empty((len(self.missing_rows), K)), np.empty(len(self.missing_rows))
            self.imputed = np.empty_like(self.incomplete)
            covariances = np.ascontiguousarray(params.covariances.reshape(-1, d, d))
            more = estep_conditional(self.incomplete, means, covariances, log_weights,
                                     self.missing_bounds, resp_m, ll_m, self.imputed)
            self.resp[self.missing_rows], self.sample_ll[self.missing_rows] = resp_m, ll_m
            nk, first, second = (a + b.sum(axis=0) for a, b in zip((nk, first, second), more))
        return nk, first, second.reshape(params.covariances.shape)

    def tied_complete_scatter(self, nk, first, means) -> np.ndarray:
        """(1, d, d): sum_k sum_n r_nk (x_n - m_k)(x_n - m_k)^T over the complete rows, from the
        constant scatter about their mean a and the first moments: with v_k = m_k - a and
        s_k = first_k + nk_k v_k, it is T - sum_k (s_k v_k^T + v_k s_k^T) + sum_k nk_k v_k v_k^T."""
        v = means - self.center
        s = first + nk[:, None] * v
        cross = s.T @ v
        return (self.total_scatter - cross - cross.T + (nk[:, None] * v).T @ v)[None]

    def imputed_values(self, params: GaussianParams) -> np.ndarray:
        """(n, d) copy of X with each NaN replaced by its posterior-weighted conditional mean."""
        self.expectation(params)
        out = self.X.copy()
        if self.covariance_type in ("diag", "spherical"):
            out[self.missing_mask] = (self.resp @ params.means)[self.missing_mask]
        elif len(self.missing_rows):
            out[self.missing_rows] = self.imputed
        return out


# ------------------------------------------------------------------ validation of the *_init arrays

def check_weights_init(weights, K: int) -> np.ndarray:
    """weights_init as float64 (K,): non-negative, summing to 1; ValueError otherwise."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (K,):
        raise ValueError(f"weights_init must have shape ({K},), got {weights.shape}")
    if not np.all(np.isfinite(weights)) or weights.min() < 0.0 or weights.max() > 1.0:
        raise ValueError(f"weights_init must lie in [0, 1], got min {weights.min()}, max {weights.max()}")
    if abs(weights.sum() - 1.0) > 1e-8:
        raise ValueError(f"weights_init must sum to 1, got sum {weights.sum()!r}")
    return weights


def check_means_init(means, K: int, d: int) -> np.ndarray:
    """means_init as float64 (K, d), finite; ValueError otherwise."""
    means = np.asarray(means, dtype=np.float64)
    if means.shape != (K, d):
        raise ValueError(f"means_init must have shape ({K}, {d}), got {means.shape}")
    if not np.all(np.isfinite(means)):
        raise ValueError("means_init must be finite")
    return means


def check_precisions_init(precisions, covariance_type: str, K: int, d: int) -> np.ndarray:
    """precisions_init as float64 in the shape of ``covariance_type`` ((K, d, d), (d, d), (K, d) or (K,)),
    positive definite; ValueError otherwise."""
    precisions = np.asarray(precisions, dtype=np.float64)
    shape = {"full": (K, d, d), "tied": (d, d), "diag": (K, d), "spherical": (K,)}[covariance_type]
    if precisions.shape != shape:
        raise ValueError(f"precisions_init for covariance_type={covariance_type!r} must have shape {shape}, "
                         f"got {precisions.shape}")
    if not np.all(np.isfinite(precisions)):
        raise ValueError("precisions_init must be finite")
    if covariance_type in ("diag", "spherical"):
        if not np.all(precisions > 0):
            raise ValueError(f"precisions_init ({covariance_type}) must be positive, got min {precisions.min()}")
        return precisions
    stack = precisions.reshape(-1, d, d)
    for k, p in enumerate(stack):
        if not np.allclose(p, p.T) or np.linalg.eigvalsh(p).min() <= 0.0:
            which = "" if covariance_type == "tied" else f" (component {k})"
            raise ValueError(f"precisions_init{which} must be symmetric, positive-definite")
    return precisions


# ------------------------------------------------------------------ the estimator

class GaussianMixture(Estimator):
    """Gaussian mixture fitted by EM, with scikit-learn's parameters and attributes; NaN = missing.

    Parameters
    ----------
    n_components : int
    covariance_type : {"full", "tied", "diag", "spherical"}
    tol : float
        Converged when the mean log-likelihood per sample changes by less than ``tol``.
    reg_covar : float
        Added to the covariances' diagonals.
    max_iter : int
        EM iterations per start (0: only initialise).
    n_init : int
        Starts; the one with the highest final lower bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}
        Starting responsibilities: fastem's KMeans (k-means++ start, one run), k-means++ seeds,
        uniform random responsibilities, or K random samples.
    weights_init : (K,), means_init : (K, d), precisions_init : array, optional
        Starting parameters; precisions_init in the covariance type's shape.
    random_state : int, optional
        Seed of the first start (start i uses random_state + i) and of ``sample``.
    warm_start : bool
        Start each ``fit`` from the previous solution (then a single start).
    verbose : int
        Print the bound per iteration when > 0.
    n_threads : int, optional
        Numba threads during ``fit`` (restored afterwards); results do not depend on it.

    Attributes
    ----------
    weights_ (K,), means_ (K, d), covariances_, precisions_, precisions_cholesky_ (shapes of the
    covariance type), converged_, n_iter_, lower_bound_ (mean log-likelihood per sample at the
    last E-step of the best start), lower_bounds_ (list, per iteration), n_features_in_.
    """

    def __init__(self, n_components=1, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100, n_init=1,
                 init_params="kmeans", weights_init=None, means_init=None, precisions_init=None,
                 random_state=None, warm_start=False, verbose=0, n_threads=None):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.n_threads = n_threads

    # -------------------------------------------------------------- fitting

    def fit(self, X, y=None):
        """Estimate the parameters with EM (best of ``n_init`` starts). Returns self."""
        self.fit_predict(X)
        return self

    def fit_predict(self, X, y=None):
        """Fit, then return the most probable component of each sample (n,)."""
        X = check_samples(X, min_samples=2, copy=False, every_feature_observed=True)   # only read
        K = check_int("n_components", self.n_components, minimum=1)
        kind = check_choice("covariance_type", self.covariance_type, COVARIANCE_TYPES)
        check_choice("init_params", self.init_params, INIT_PARAMS)
        tol = check_float("tol", self.tol, minimum=0.0)
        reg = check_float("reg_covar", self.reg_covar, minimum=0.0)
        max_iter = check_int("max_iter", self.max_iter, minimum=0)
        if X.shape[0] < K:
            raise ValueError(f"Expected n_samples >= n_components but got n_components = {K}, "
                             f"n_samples = {X.shape[0]}")
        warm = bool(self.warm_start) and hasattr(self, "converged_")
        if warm and X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, the warm start has {self.n_features_in_}")
        seeds = [0] if warm else seed_list(None, self.n_init, self.random_state)
        inits = self.checked_inits(K, X.shape[1], kind)
        data = MixtureData(X, kind)

        def initialize(seed):
            return self.current_params() if warm else self.initial_params(X, inits, seed)

        def m_step(stats, params):
            return parameters_from_stats(stats, params.means, kind, reg)

        def e_step(params):
            stats = data.expectation(params)
            bound = data.sample_ll.mean()
            if np.isnan(bound):   # some row's observed marginal covariance is not positive definite
                raise ValueError(ILL_DEFINED)
            return stats, bound

        def report(iteration, bound, params):
            if self.verbose:
                print(f"  iteration {iteration}: lower bound {bound:.10g}")

        with numba_threads(self.n_threads):
            best, _ = em.fit_best(initialize, e_step, m_step, seeds, converged=em.absolute_tolerance(tol),
                                  max_iter=max_iter, callback=report,
                                  initial_bound=self.lower_bound_ if warm else -np.inf)
            if not best.converged and max_iter > 0:
                warnings.warn("Best performing initialization did not converge. Try different init parameters, "
                              "or increase max_iter, tol, or check for degenerate data.", ConvergenceWarning,
                              stacklevel=2)
            self.set_fitted(best.params)
            self.converged_ = best.converged
            self.n_iter_ = best.n_iter
            self.lower_bound_ = best.bound
            self.lower_bounds_ = [float(b) for b in best.history]
            self.n_features_in_ = X.shape[1]
            data.expectation(best.params)
        return data.resp.argmax(axis=1)

    def checked_inits(self, K: int, d: int, kind: str):
        """The validated (weights_init, means_init, precisions_init), each None when not given."""
        return (None if self.weights_init is None else check_weights_init(self.weights_init, K),
                None if self.means_init is None else check_means_init(self.means_init, K, d),
                None if self.precisions_init is None else check_precisions_init(self.precisions_init, kind, K, d))

    def initial_params(self, X: np.ndarray, inits, seed: int) -> GaussianParams:
        """Starting parameters: the given *_init arrays, the rest estimated from starting responsibilities."""
        weights, means, precisions = inits
        kind = self.covariance_type
        if weights is None or means is None or precisions is None:
            filled = np.where(np.isnan(X), np.nanmean(X, axis=0), X)
            start = parameters_from_responsibilities(filled, self.initial_responsibilities(filled, seed),
                                                     kind, self.reg_covar)
            weights = start.weights if weights is None else weights
            means = start.means if means is None else means
            if precisions is None:
                return GaussianParams(weights, means, start.covariances, start.precisions_cholesky)
        prec_chol = cholesky_of_precisions(precisions, kind)
        return GaussianParams(weights, means, covariances_from_cholesky(prec_chol, kind), prec_chol)

    def initial_responsibilities(self, X: np.ndarray, seed: int) -> np.ndarray:
        """(n, K) starting responsibilities for ``init_params`` with the generator of ``seed``."""
        n, K = X.shape[0], self.n_components
        rng = np.random.RandomState(seed)
        if self.init_params == "random":
            resp = rng.uniform(size=(n, K))
            return resp / resp.sum(axis=1, keepdims=True)
        resp = np.zeros((n, K))
        if self.init_params == "kmeans":
            labels = KMeans(K, init="k-means++", seeds=[seed]).fit(X).labels_
            resp[np.arange(n), labels] = 1.0
            return resp
        if self.init_params == "random_from_data":
            rows = rng.choice(n, size=K, replace=False)
        else:
            rows = initial_rows(X, K, "k-means++", seed)
        resp[rows, np.arange(K)] = 1.0
        return resp

    # -------------------------------------------------------------- fitted parameters

    def set_fitted(self, params: GaussianParams):
        """Store ``params`` as the fitted attributes (weights_, means_, covariances_, precisions_...)."""
        self.weights_ = params.weights
        self.means_ = params.means
        self.covariances_ = params.covariances
        self.precisions_cholesky_ = params.precisions_cholesky
        self.precisions_ = precisions_from_cholesky(params.precisions_cholesky, self.covariance_type)

    def current_params(self) -> GaussianParams:
        """The fitted attributes as GaussianParams (the start of a warm-started fit)."""
        return GaussianParams(self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)

    def prepared(self, X) -> MixtureData:
        """X validated against the fitted model and prepared for an E-step."""
        X = check_samples(X, copy=False)   # only read
        check_features(self, X)
        return MixtureData(X, self.covariance_type)

    def expectation(self, X) -> MixtureData:
        """An E-step of the fitted model on X; raises ValueError if a log-likelihood is not finite."""
        data = self.prepared(X)
        with numba_threads(self.n_threads):
            data.expectation(self.current_params())
        if not np.all(np.isfinite(data.sample_ll)):
            raise ValueError("log-likelihood is not finite for some samples: ill-conditioned covariances")
        return data

    # -------------------------------------------------------------- predictions

    def score_samples(self, X) -> np.ndarray:
        """(n,) log p(x_n) under the fitted mixture (of the observed entries when some are NaN)."""
        return self.expectation(X).sample_ll.copy()

    def score(self, X, y=None) -> float:
        """Mean log-likelihood per sample."""
        return float(self.score_samples(X).mean())

    def predict_proba(self, X) -> np.ndarray:
        """(n, K) posterior probability of each component."""
        return self.expectation(X).resp.copy()

    def predict(self, X) -> np.ndarray:
        """(n,) most probable component."""
        return self.expectation(X).resp.argmax(axis=1)

    def impute(self, X) -> np.ndarray:
        """Copy of X (n, d) with each NaN replaced by sum_k p(k | x_obs) E[x_missing | x_obs, k]."""
        data = self.prepared(X)
        with numba_threads(self.n_threads):
            out = data.imputed_values(self.current_params())
        if not np.all(np.isfinite(data.sample_ll)):
            raise ValueError("log-likelihood is not finite for some samples: ill-conditioned covariances")
        return out

    def _n_parameters(self) -> int:
        return n_parameters(self.n_components, self.n_features_in_, self.covariance_type)

    def bic(self, X) -> float:
        """Bayesian information criterion -2 log L + p ln n (lower is better)."""
        n = np.shape(X)[0]
        return metrics.bic(self.score(X) * n, self._n_parameters(), n)

    def aic(self, X) -> float:
        """Akaike information criterion -2 log L + 2 p (lower is better)."""
        return metrics.aic(self.score(X) * np.shape(X)[0], self._n_parameters())

    def sample(self, n_samples=1):
        """Draw (X (n_samples, d), labels (n_samples,)) from the fitted mixture, as scikit-learn does."""
        if not hasattr(self, "means_"):
            raise ValueError("this GaussianMixture is not fitted yet: call fit first")
        n_samples = check_int("n_samples", n_samples, minimum=1)
        rng = np.random.RandomState(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        d = self.means_.shape[1]
        kind = self.covariance_type
        if kind in ("full", "tied"):
            covs = self.covariances_ if kind == "full" else [self.covariances_] * len(counts)
            X = np.vstack([rng.multivariate_normal(m, c, int(s)) for m, c, s in zip(self.means_, covs, counts)])
        else:
            X = np.vstack([m + rng.standard_normal(size=(s, d)) * np.sqrt(c)
                           for m, c, s in zip(self.means_, self.covariances_, counts)])
        return X, np.repeat(np.arange(len(counts)), counts)


def parameters_from_responsibilities(X: np.ndarray, resp: np.ndarray, covariance_type: str,
                                     reg_covar: float) -> GaussianParams:
    """Parameters from complete X (n, d) and responsibilities (n, K), through the M-step's
    formula with statistics taken about the column means of X.

    Rows weigh by their total responsibility, also in the tied covariance (scikit-learn pools
    X^T X over every row there, which inflates the start when only K rows carry weight).
    """
    center = X.mean(axis=0)
    centered = X - center
    K = resp.shape[1]
    first = resp.T @ centered
    if covariance_type == "full":
        second = np.stack([(resp[:, k, None] * centered).T @ centered for k in range(K)])
    elif covariance_type == "tied":
        second = (resp.sum(axis=1)[:, None] * centered).T @ centered
    else:
        second = resp.T @ (centered * centered)
    return parameters_from_stats((resp.sum(axis=0), first, second), np.tile(center, (K, 1)),
                                 covariance_type, reg_covar)
