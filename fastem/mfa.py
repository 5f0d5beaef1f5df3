"""Mixtures of factor analysers over users' observed ratings, fitted by MAP EM (q = 0 factors is the
diagonal-covariance mixture: a variance per component and item).

Component j: x_u = mu_j + W_j z + e, z ~ N(0, I_q), e ~ N(0, diag(psi_j)); the E-step uses each
user's observed block only (``fastem._kernels.mfa``), the M-step is closed form per item and
component. Ratings are first normalised (``fastem.normalization``). Priors, written as
pseudo-observations on each item i and component j (0 turns a prior off; all 0 is plain ML):

    log p = (alpha - 1) sum_j log w_j
            + sum_ij [ -(nu/2) log psi_ji - (lam |W_ji|^2 + kappa (mu_ji - m0_i)^2 + nu v0) / (2 psi_ji) ]

a Dirichlet prior on the weights and a conjugate normal / inverse-gamma prior on (mu, W, psi);
m0 (d,) are the items' shrunk mean normalised ratings and v0 the variance around them.
Predictions are posterior-weighted conditional means sum_j r_uj (mu_ji + W_ji E[z | u, j]).
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from . import em
from ._base import numba_threads
from ._kernels import mfa
from ._validation import check_choice, check_float, check_int, seed_list
from .baselines import RatingModel
from .metrics import bic
from .normalization import KINDS, fit_normalization, normalize


class FactorParams(NamedTuple):
    """Kernel layout: means_t (d, K), loadings (d, K, q), noise (d, K), weights (K,)."""

    means_t: np.ndarray
    loadings: np.ndarray
    noise: np.ndarray
    weights: np.ndarray

    def log_weights(self) -> np.ndarray:
        """(K,) log weights (-inf for a weight of 0)."""
        with np.errstate(divide="ignore"):
            return np.log(self.weights)


class Prior(NamedTuple):
    """alpha (weights), kappa (means), lam (loadings), nu (variances), m0 (d,), v0."""

    alpha: float
    kappa: float
    lam: float
    nu: float
    m0: np.ndarray
    v0: float


def item_log_prior(means_t, loadings, noise, prior: Prior) -> float:
    """sum_ij [-(nu/2) log psi - (lam |W|^2 + kappa (mu - m0)^2 + nu v0) / (2 psi)]: arrays (d, K[, q])."""
    penalty = (prior.lam * (loadings ** 2).sum(axis=2) + prior.kappa * (means_t - prior.m0[:, None]) ** 2
               + prior.nu * prior.v0)
    return float(-0.5 * (prior.nu * np.log(noise) + penalty / noise).sum())


def dirichlet_log_prior(log_weights: np.ndarray, alpha: float) -> float:
    """(alpha - 1) sum log w (0 when alpha = 1, also for zero weights)."""
    return float((alpha - 1.0) * log_weights.sum()) if alpha != 1.0 else 0.0


def log_prior(params: FactorParams, prior: Prior) -> float:
    """The log prior density (up to a constant) written in the module docstring."""
    return (item_log_prior(params.means_t, params.loadings, params.noise, prior)
            + dirichlet_log_prior(params.log_weights(), prior.alpha))


def prior_location(R, z: np.ndarray, shrinkage: float, min_variance: float) -> tuple[np.ndarray, float]:
    """(m0 (d,), v0): each item's mean of the normalised ratings z (nnz,) shrunk toward 0 with
    strength ``shrinkage``, and the mean squared deviation from it (at least ``min_variance``)."""
    counts = np.bincount(R.indices, minlength=R.n_items)
    m0 = np.bincount(R.indices, weights=z, minlength=R.n_items) / (counts + max(shrinkage, 1e-12))
    return m0, max(float(np.mean((z - m0[R.indices]) ** 2)), min_variance)


def e_step(ratings: mfa.Ratings, params: FactorParams, prior: Prior):
    """(statistics, log posterior bound, log-likelihood) of one pass over ``ratings`` (``mfa.both_ways``)."""
    ll, *stats = mfa.em_statistics(ratings, params.means_t, params.loadings, params.noise, params.log_weights(),
                                   numba.get_num_threads())
    return stats, ll + log_prior(params, prior), ll


def solve_stack(A, b):
    """x (m, k) with A[s] x[s] = b[s] for a stack A (m, k, k), b (m, k); for k = 1 by division
    (what the 1 x 1 LU solve computes, without a LAPACK call per system)."""
    if A.shape[-1] == 1:
        return b / A[..., 0]
    return np.linalg.solve(A, b[..., None])[..., 0]


def item_m_step(gram, cross, sq, means_t, loadings, noise, prior: Prior, min_variance: float):
    """MAP (means_t (d, K), loadings (d, K, q), noise (d, K)) from gram (d, K, q+1, q+1) (lower
    triangle read), cross (d, K, q+1) and sq (d, K); an (item, component) with no responsibility goes to
    the prior's mode where the prior is proper enough, else keeps its parameters."""
    q = loadings.shape[2]
    gram = gram + np.swapaxes(np.tril(gram, -1), 2, 3)
    s0 = gram[..., q, q]
    ridge = np.diag(np.r_[np.full(q, prior.lam), prior.kappa])
    target = cross.copy()
    target[..., q] += prior.kappa * prior.m0[:, None]
    active = s0 > 0
    if prior.kappa > 0 and (prior.lam > 0 or q == 0):
        active[:] = True  # the prior alone makes every system regular: unrated items go to the prior mode
    coef = np.concatenate([loadings, means_t[..., None]], axis=2)
    coef[active] = solve_stack(gram[active] + ridge, target[active])
    loadings, means_t = coef[..., :q], coef[..., q]
    fitted = np.einsum("ija,ijab,ijb->ij", coef, gram, coef)
    residual = (sq - 2.0 * np.einsum("ija,ija->ij", coef, cross) + fitted + prior.lam * (loadings ** 2).sum(axis=2)
                + prior.kappa * (means_t - prior.m0[:, None]) ** 2 + prior.nu * prior.v0)
    count = s0 + prior.nu
    noise = np.where(count > 0, np.maximum(residual, 0.0) / np.where(count > 0, count, 1.0), noise)
    return np.ascontiguousarray(means_t), np.ascontiguousarray(loadings), np.maximum(noise, min_variance)


def dirichlet_weights(counts: np.ndarray, alpha: float) -> np.ndarray:
    """MAP weights (..., K) (counts + alpha - 1) / (total + K (alpha - 1)); uniform where that is 0 / 0."""
    K = counts.shape[-1]
    top = counts + (alpha - 1.0)
    total = top.sum(axis=-1, keepdims=True)
    return np.where(total > 0, top / np.where(total > 0, total, 1.0), 1.0 / K)


def m_step(stats, params: FactorParams, prior: Prior, min_variance: float) -> FactorParams:
    """The MAP parameters given the statistics of ``mfa.em_statistics``."""
    resp_sum, gram, cross, sq = stats
    means_t, loadings, noise = item_m_step(gram, cross, sq, params.means_t, params.loadings, params.noise, prior,
                                           min_variance)
    return FactorParams(means_t, loadings, noise, dirichlet_weights(resp_sum, prior.alpha))


def random_start(prior: Prior, K: int, q: int, seed: int) -> FactorParams:
    """Prior means plus noise of half the prior spread; small random loadings; noise v0; uniform weights."""
    rng = np.random.RandomState(seed)
    d = len(prior.m0)
    spread = np.sqrt(prior.v0)
    means_t = prior.m0[:, None] + 0.5 * spread * rng.standard_normal((d, K))
    loadings = 0.1 * spread * rng.standard_normal((d, K, q))
    return FactorParams(means_t, loadings, np.full((d, K), prior.v0), np.full(K, 1.0 / K))


def normalize_with_prior(model, R, lam: float):
    """The shared start of a fit: validate ``model``'s normalisation and prior parameters, set its
    shift_user_, shift_item_, scale_; return (z (nnz,) normalised ratings, Prior, min_variance)."""
    kind = check_choice("normalize", model.normalize, KINDS)
    shrinkage = check_float("shrinkage", model.shrinkage, minimum=0.0)
    alpha = check_float("weight_concentration", model.weight_concentration, minimum=1.0)
    kappa = check_float("mean_strength", model.mean_strength, minimum=0.0)
    nu = check_float("variance_strength", model.variance_strength, minimum=0.0)
    min_variance = check_float("min_variance", model.min_variance, minimum=0.0, exclusive=True)
    model.shift_user_, model.shift_item_, model.scale_ = fit_normalization(R, kind, shrinkage)
    z = normalize(R, model.shift_user_, model.shift_item_, model.scale_)
    m0, v0 = prior_location(R, z, shrinkage, min_variance)
    return z, Prior(alpha, kappa, lam, nu, m0, v0), min_variance


class FactorMixture(RatingModel):
    """Mixture of factor analysers (probabilistic PCA when K = 1) with missing data, MAP EM.

    Parameters
    ----------
    n_components : K. n_factors : q (0: diagonal covariances).
    normalize : "user" (Hofmann's shrunk user mean and spread), "biases" or "none"; shrinkage: q of it.
    weight_concentration : Dirichlet alpha >= 1 (1: no prior on the weights).
    mean_strength, loading_strength, variance_strength : kappa, lam, nu (pseudo-counts, 0: off).
    n_init, seeds, random_state : the runs; the highest log posterior is kept.
    tol : stop when the bound's relative gain <= tol. min_variance : floor on each psi.
    n_threads, verbose : as in MixtureCompleter.

    Attributes
    ----------
    weights_ (K,), means_ (K, d), variances_ (K, d) the noise psi, loadings_ (K, d, q) (normalised units);
    shift_user_ (n,), shift_item_ (d,), scale_ (n,) the normalisation; prior_means_ (d,), prior_variance_;
    resp_ (n, K) and factor_means_ (n, K, q) of the training users; log_likelihood_, log_posterior_,
    history_, n_iter_, converged_, best_seed_.
    """

    def __init__(self, n_components=2, n_factors=8, normalize="user", shrinkage=5.0, weight_concentration=2.0,
                 mean_strength=1.0, loading_strength=1.0, variance_strength=2.0, n_init=1, seeds=None, tol=1e-5,
                 max_iter=200, min_variance=1e-3, n_threads=None, random_state=None, verbose=0):
        self.n_components = n_components
        self.n_factors = n_factors
        self.normalize = normalize
        self.shrinkage = shrinkage
        self.weight_concentration = weight_concentration
        self.mean_strength = mean_strength
        self.loading_strength = loading_strength
        self.variance_strength = variance_strength
        self.n_init = n_init
        self.seeds = seeds
        self.tol = tol
        self.max_iter = max_iter
        self.min_variance = min_variance
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    def _factors(self) -> int:
        return check_int("n_factors", self.n_factors, minimum=0)

    def _fit(self, R):
        K = check_int("n_components", self.n_components, minimum=1)
        q = self._factors()
        lam = check_float("loading_strength", self.loading_strength, minimum=0.0)
        z, prior, min_variance = normalize_with_prior(self, R, lam)
        tol = check_float("tol", self.tol, minimum=0.0)
        max_iter = check_int("max_iter", self.max_iter, minimum=1)
        seeds = seed_list(self.seeds, self.n_init, self.random_state)
        ratings = mfa.both_ways(R.indptr, R.indices, z, R.n_items)

        with numba_threads(self.n_threads):
            best, _ = em.fit_best(lambda seed: random_start(prior, K, q, seed),
                                  lambda p: e_step(ratings, p, prior),
                                  lambda s, p: m_step(s, p, prior, min_variance), seeds,
                                  converged=em.relative_tolerance(tol), max_iter=max_iter,
                                  on_fit=self._fit_printer())
            p = best.params
            self.resp_, self.factor_means_, _ = mfa.posteriors(R.indptr, R.indices, z, p.means_t, p.loadings,
                                                               p.noise, p.log_weights())
        self.weights_ = p.weights
        self.means_ = np.ascontiguousarray(p.means_t.T)
        self.variances_ = np.ascontiguousarray(p.noise.T)
        self.loadings_ = np.ascontiguousarray(p.loadings.transpose(1, 0, 2))
        self.prior_means_, self.prior_variance_ = prior.m0, prior.v0
        self.log_posterior_ = best.bound
        self.log_likelihood_ = float(best.log_likelihood_history[-1])
        self.history_ = best.history
        self.n_iter_ = best.n_iter
        self.converged_ = best.converged
        self.best_seed_ = best.seed

    def _fit_printer(self):
        if self.verbose < 1:
            return None
        return lambda f: print(f"{type(self).__name__} K={self.n_components} seed {f.seed}: bound {f.bound:.4f} "
                               f"after {f.n_iter} iterations, {f.seconds:.2f}s", flush=True)

    def _params(self) -> FactorParams:
        return FactorParams(np.ascontiguousarray(self.means_.T), np.ascontiguousarray(self.loadings_.transpose(1, 0, 2)),
                            np.ascontiguousarray(self.variances_.T), self.weights_)

    def _predict_known(self, users, items):
        p = self._params()
        with numba_threads(self.n_threads):
            z = mfa.predict_pairs(self.resp_, self.factor_means_, p.means_t, p.loadings, users, items)
        return self.shift_user_[users] + self.shift_item_[items] + self.scale_[users] * z

    def n_parameters(self) -> int:
        """Free parameters: K d (means + variances) + K (d q - q (q - 1) / 2) loadings + K - 1 weights."""
        self._check_fitted()
        K, d, q = self.loadings_.shape
        return 2 * K * d + K * (d * q - q * (q - 1) // 2) + K - 1

    def bic(self, R=None) -> float:
        """-2 LL + p ln n_users of the training ratings (normalised units): lower is better."""
        self._check_fitted()
        return bic(self.log_likelihood_, self.n_parameters(), len(self.user_counts_))
