"""Bernoulli and Poisson mixtures: two models plugged into the general EM driver ``fastem.em``.

They are the documented examples of writing a model on ``fastem.em``. A model supplies three
callables over its own parameter object and lets the driver run the loop, the seeds, the
convergence test and the history::

    initialize(seed) -> params                    # a starting point
    e_step(params)   -> (stats, log_likelihood)   # responsibilities summed into statistics
    m_step(stats, params) -> params                # new parameters from the statistics

    best, fits = em.fit_best(initialize, e_step, m_step, seeds=[0, 1, 2],
                             converged=em.relative_tolerance(1e-6), max_iter=200)

Both mixtures have independent coordinates from one exponential family, so one Numba kernel
(``fastem._kernels.discrete.mixture_estep``) serves both; each model only says how its mean
parameters map to natural parameters. With exact posterior responsibilities the E-step's bound
(the ELBO) equals the log-likelihood, which is what ``history_`` records.

Means are kept inside [floor, ceiling] (1e-10 from the edges of the parameter space): the
M-step maximises the expected log-likelihood over that box, so EM stays monotone and no
log of 0 appears.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from scipy.special import gammaln

from . import em
from ._base import Estimator, numba_threads
from ._kernels.discrete import mixture_estep
from ._validation import check_features, check_float, check_int, check_samples, seed_list
from .chunks import even_chunks
from .metrics import bic

__all__ = ["BernoulliMixture", "PoissonMixture"]

EDGE = 1e-10


@dataclass(frozen=True)
class DiscreteMixtureParams:
    """K components over d coordinates: weights (K,), means (K, d) (probabilities or rates)."""

    weights: np.ndarray
    means: np.ndarray


def check_entries(X: np.ndarray, ok: np.ndarray, who: str, requirement: str) -> None:
    """ValueError naming ``who`` and the first entry of X (n, d) where ``ok`` (n, d) is False."""
    bad = np.argwhere(~ok)
    if bad.size:
        n, j = bad[0]
        raise ValueError(f"{who} needs X to be {requirement}, found {X[n, j]!r} at ({n}, {j})")


def check_binary(X: np.ndarray, who: str) -> None:
    """ValueError naming ``who`` unless every entry of X is 0 or 1."""
    check_entries(X, (X == 0) | (X == 1), who, "binary (0/1)")


class _DiscreteMixture(Estimator):
    """EM for a mixture of K products of d independent one-parameter distributions.

    Subclasses define ``_ceiling``, ``_check_values(X)``, ``_natural(means)`` and ``_row_const(X)``.
    """

    _ceiling = np.inf

    def __init__(self, n_components=2, n_init=1, seeds=None, tol=1e-6, max_iter=200,
                 n_threads=None, random_state=None):
        self.n_components = n_components
        self.n_init = n_init
        self.seeds = seeds
        self.tol = tol
        self.max_iter = max_iter
        self.n_threads = n_threads
        self.random_state = random_state

    # ------------------------------------------------------------ data

    def _check_data(self, X) -> np.ndarray:
        """A float64 (n, d) copy of ``X``, its values checked by the subclass."""
        X = check_samples(X, f"X ({type(self).__name__})")
        self._check_values(X)
        return X

    # ------------------------------------------------------------ EM pieces

    def _initialize(self, X: np.ndarray, K: int, seed: int) -> DiscreteMixtureParams:
        """Uniform weights; component k's means halfway between a random row and the column means."""
        rows = np.random.default_rng(seed).choice(X.shape[0], K, replace=False)
        means = np.clip(0.5 * (X[rows] + X.mean(axis=0)), EDGE, self._ceiling - EDGE)
        return DiscreteMixtureParams(np.full(K, 1.0 / K), means)

    def _statistics(self, X, row_const, chunks, params, resp):
        """Run the E-step kernel: (log-likelihood, resp_sum (K,), weighted_sum (K, d)); fills resp (n, K)."""
        natural, offset = self._natural(params.means)
        with np.errstate(divide="ignore"):
            offset = offset + np.log(params.weights)
        return mixture_estep(X, chunks, natural, offset, row_const, resp, numba.get_num_threads())

    def _m_step(self, stats, n: int) -> DiscreteMixtureParams:
        """weights = N_k / n; means = sum_n r_nk x_n / N_k, kept inside the box."""
        resp_sum, weighted_sum = stats
        means = weighted_sum / np.maximum(resp_sum, np.finfo(float).tiny)[:, None]
        return DiscreteMixtureParams(resp_sum / n, np.clip(means, EDGE, self._ceiling - EDGE))

    # ------------------------------------------------------------ public

    def fit(self, X):
        """Fit by EM (best of the seeds). X : (n, d) dense array (see the class docstring)."""
        K = check_int("n_components", self.n_components, minimum=1)
        tol = check_float("tol", self.tol, minimum=0.0)
        max_iter = check_int("max_iter", self.max_iter, minimum=1)
        seeds = seed_list(self.seeds, self.n_init, self.random_state)
        X = self._check_data(X)
        n, self.n_features_in_ = X.shape
        if K > n:
            raise ValueError(f"n_components={K} exceeds the number of rows {n}")
        row_const, chunks, resp = self._row_const(X), even_chunks(n), np.empty((n, K))

        def e_step(params):
            ll, resp_sum, weighted_sum = self._statistics(X, row_const, chunks, params, resp)
            return (resp_sum, weighted_sum), ll

        with numba_threads(self.n_threads):
            best, _ = em.fit_best(lambda seed: self._initialize(X, K, seed), e_step,
                                  lambda stats, params: self._m_step(stats, n), seeds,
                                  converged=em.relative_tolerance(tol), max_iter=max_iter)
        self.weights_ = best.params.weights
        self.means_ = best.params.means
        self.log_likelihood_ = best.bound
        self.history_ = best.history
        self.n_iter_ = best.n_iter
        self.converged_ = best.converged
        self.best_seed_ = best.seed
        return self

    def _posterior(self, X) -> tuple[float, np.ndarray]:
        """(log-likelihood of X, responsibilities (n, K)) under the fitted parameters."""
        X = self._check_data(X)
        check_features(self, X)
        resp = np.empty((X.shape[0], self.means_.shape[0]))
        with numba_threads(self.n_threads):
            ll, _, _ = self._statistics(X, self._row_const(X), even_chunks(X.shape[0]),
                                        DiscreteMixtureParams(self.weights_, self.means_), resp)
        return ll, resp

    def predict_proba(self, X) -> np.ndarray:
        """(n, K) posterior probability of each component for each row of X (n, d)."""
        return self._posterior(X)[1]

    def predict(self, X) -> np.ndarray:
        """(n,) int64 most probable component of each row of X (n, d)."""
        return np.argmax(self.predict_proba(X), axis=1)

    def score(self, X) -> float:
        """Total log-likelihood of the rows of X (n, d)."""
        return self._posterior(X)[0]

    def n_parameters(self) -> int:
        """K d means + (K - 1) free weights."""
        K, d = self.means_.shape
        return K * d + K - 1

    def bic(self, X) -> float:
        """-2 LL + p ln n (lower is better)."""
        return bic(self.score(X), self.n_parameters(), np.shape(X)[0])


class BernoulliMixture(_DiscreteMixture):
    """Mixture of K products of d Bernoulli distributions, for binary data.

    p(x_n) = sum_k w_k prod_j p_kj^x_nj (1 - p_kj)^(1 - x_nj).

    Parameters
    ----------
    n_components : int, K >= 1.
    n_init, seeds, random_state : starting points; ``seeds`` (a list) overrides the others.
    tol : float, stop when new - old <= tol * |new| (log-likelihood).
    max_iter : int.
    n_threads : int or None, Numba threads (results do not depend on it).

    Attributes
    ----------
    weights_ : (K,); means_ : (K, d) probabilities p_kj in [1e-10, 1 - 1e-10];
    log_likelihood_, history_ (log-likelihood per iteration), n_iter_, converged_, best_seed_,
    n_features_in_ (d).

    ``fit(X)``, ``predict_proba(X)`` etc. take a dense (n, d) array of 0/1 (bool or numbers).
    """

    _ceiling = 1.0

    @staticmethod
    def _check_values(X):
        check_binary(X, "BernoulliMixture")

    @staticmethod
    def _natural(means):
        """(logit p (K, d), sum_j log(1 - p_kj) (K,))."""
        return np.log(means) - np.log1p(-means), np.log1p(-means).sum(axis=1)

    @staticmethod
    def _row_const(X):
        return np.zeros(X.shape[0])


class PoissonMixture(_DiscreteMixture):
    """Mixture of K products of d Poisson distributions, for count data.

    p(x_n) = sum_k w_k prod_j lambda_kj^x_nj exp(-lambda_kj) / x_nj!.

    Parameters and attributes as ``BernoulliMixture``, except ``means_`` (K, d) holds the rates
    lambda_kj >= 1e-10. ``fit(X)`` etc. take a dense (n, d) array of non-negative integers.
    """

    @staticmethod
    def _check_values(X):
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(X) & (X >= 0) & (X == np.round(X))
        check_entries(X, ok, "PoissonMixture", "non-negative integer counts")

    @staticmethod
    def _natural(means):
        """(log lambda (K, d), -sum_j lambda_kj (K,))."""
        return np.log(means), -means.sum(axis=1)

    @staticmethod
    def _row_const(X):
        """-sum_j log x_nj! (n,)."""
        return -gammaln(X + 1.0).sum(axis=1)
