"""Gaussian pLSA (Hofmann 2004, "Collaborative filtering via Gaussian probabilistic latent semantic
analysis"): user-specific class weights P(z | u), a Gaussian N(v; mu_iz, psi_iz) per item and
class, EM over (user, item, rating) triplets on normalised ratings, stopped early on a held-out
part of the training ratings and finished on all of them. The item Gaussians take the MAP step and priors of
``fastem.mfa`` (with no factor); P(z | u) has a symmetric Dirichlet prior.
"""
from __future__ import annotations

import numba
import numpy as np

from . import em
from ._base import numba_threads
from ._kernels import mfa as mfa_kernels
from ._kernels import plsa
from ._validation import check_float, check_int, seed_list
from .baselines import RatingModel
from .chunks import balanced_chunks
from .metrics import bic, rmse
from .mfa import Prior, dirichlet_log_prior, dirichlet_weights, item_log_prior, item_m_step, normalize_with_prior
from .normalization import normalize


def e_step(ratings: plsa.ChunkRatings, params, prior: Prior):
    """((user_counts, s0, s1, s2), log posterior bound, log-likelihood) of ``ratings``
    (``plsa.by_chunk_and_item``); params = (theta, means_t, noise)."""
    theta, means_t, noise = params
    with np.errstate(divide="ignore"):
        log_theta = np.log(theta)
    ll, *stats = plsa.em_statistics(ratings, means_t, noise, log_theta, numba.get_num_threads())
    empty = np.zeros(means_t.shape + (0,))
    bound = ll + item_log_prior(means_t, empty, noise, prior) + dirichlet_log_prior(log_theta, prior.alpha)
    return stats, bound, ll


def m_step(stats, params, prior: Prior, min_variance: float):
    """MAP (theta, means_t, noise) from the statistics of ``plsa.em_statistics``."""
    user_counts, s0, s1, s2 = stats
    _, means_t, noise = params
    means_t, _, noise = item_m_step(s0[..., None, None], s1[..., None], s2, means_t, np.zeros(means_t.shape + (0,)),
                                    noise, prior, min_variance)
    return dirichlet_weights(user_counts, prior.alpha), means_t, noise


def class_means(theta, means_t, users, items) -> np.ndarray:
    """(m,) sum_z theta[u, z] mu_iz of the pairs: the factor-free case of ``mfa.predict_pairs``."""
    empty = np.zeros(means_t.shape + (0,))
    return mfa_kernels.predict_pairs(theta, np.zeros(theta.shape + (0,)), means_t, empty, users, items)


def random_start(n_users: int, prior: Prior, K: int, seed: int):
    """theta ~ Dirichlet(1, ..., 1) per user, means the prior's plus noise of its spread, noise v0."""
    rng = np.random.RandomState(seed)
    d = len(prior.m0)
    theta = rng.dirichlet(np.ones(K), n_users)
    means_t = prior.m0[:, None] + np.sqrt(prior.v0) * rng.standard_normal((d, K))
    return theta, means_t, np.full((d, K), prior.v0)


class GaussianPLSA(RatingModel):
    """Gaussian pLSA with user-specific mixing weights, early stopping on held-out training ratings.

    Parameters
    ----------
    n_components : K classes. normalize, shrinkage : as in FactorMixture (Hofmann: "user", q = 5).
    weight_concentration : Dirichlet alpha >= 1 on each P(z | u). mean_strength, variance_strength:
        kappa and nu of the item Gaussians' prior (``fastem.mfa``).
    validation : fraction of the training ratings held out for early stopping (0: none, EM on all
        ratings runs to ``tol``): EM runs on the rest, and the parameters of the iteration with the
        best held-out RMSE then take ``finish_iter`` more iterations on all the training ratings
        (as good as refitting from scratch for that many iterations, on a split of the Netflix
        training part over 6 seeds, at about half the iterations). patience : iterations without
        a better held-out RMSE before stopping.
    n_init, seeds, random_state : the runs; the one with the best held-out RMSE (or bound) is kept.

    Attributes
    ----------
    theta_ (n, K) P(z | u); means_ (K, d), variances_ (K, d) (normalised units); shift_user_, shift_item_,
    scale_; validation_rmse_ (per iteration of the chosen run, empty without validation);
    log_likelihood_, log_posterior_, history_ (of the final run on all ratings), converged_, best_seed_;
    n_iter_ (with validation: the iterations chosen by early stopping, before the finishing ones).
    """

    def __init__(self, n_components=20, normalize="user", shrinkage=5.0, weight_concentration=1.0,
                 mean_strength=1.0, variance_strength=2.0, validation=0.1, patience=3, finish_iter=10, n_init=1,
                 seeds=None, tol=1e-5, max_iter=200, min_variance=1e-3, n_threads=None, random_state=None):
        self.n_components = n_components
        self.normalize = normalize
        self.shrinkage = shrinkage
        self.weight_concentration = weight_concentration
        self.mean_strength = mean_strength
        self.variance_strength = variance_strength
        self.validation = validation
        self.patience = patience
        self.finish_iter = finish_iter
        self.n_init = n_init
        self.seeds = seeds
        self.tol = tol
        self.max_iter = max_iter
        self.min_variance = min_variance
        self.n_threads = n_threads
        self.random_state = random_state

    def _fit(self, R):
        K = check_int("n_components", self.n_components, minimum=1)
        validation = check_float("validation", self.validation, minimum=0.0)
        if validation >= 1.0:
            raise ValueError(f"validation must be < 1, got {validation}")
        patience = check_int("patience", self.patience, minimum=1)
        finish_iter = check_int("finish_iter", self.finish_iter, minimum=1)
        tol = check_float("tol", self.tol, minimum=0.0)
        max_iter = check_int("max_iter", self.max_iter, minimum=1)
        seeds = seed_list(self.seeds, self.n_init, self.random_state)
        _, prior, min_variance = normalize_with_prior(self, R, 0.0)
        norm = (self.shift_user_, self.shift_item_, self.scale_)

        def by_chunk_and_item(M) -> plsa.ChunkRatings:
            return plsa.by_chunk_and_item(M.indptr, M.indices, normalize(M, *norm), balanced_chunks(M.indptr),
                                          M.n_items)

        def run(ratings, seed, n_iter, start=None, callback=None) -> em.EMFit:
            start = random_start(R.n_users, prior, K, seed) if start is None else start
            return em.run(start, lambda p: e_step(ratings, p, prior), lambda s, p: m_step(s, p, prior, min_variance),
                          converged=em.relative_tolerance(tol), max_iter=n_iter, callback=callback, seed=seed)

        with numba_threads(self.n_threads):
            everything = by_chunk_and_item(R)
            if validation > 0:
                part, held = R.split(validation, seed=seeds[0])
                part_ratings = by_chunk_and_item(part)
                seed, start, self.validation_rmse_ = self._early_stopped(
                    held, seeds, patience, lambda seed, callback: run(part_ratings, seed, max_iter, callback=callback))
                best = run(everything, seed, finish_iter, start=start)
                n_iter = int(np.argmin(self.validation_rmse_)) + 1
            else:
                self.validation_rmse_ = np.zeros(0)
                best = max((run(everything, seed, max_iter) for seed in seeds), key=lambda f: f.bound)
                n_iter = best.n_iter
        self.theta_, means_t, noise = best.params
        self.means_ = np.ascontiguousarray(means_t.T)
        self.variances_ = np.ascontiguousarray(noise.T)
        self.log_posterior_ = best.bound
        self.log_likelihood_ = float(best.log_likelihood_history[-1])
        self.history_ = best.history
        self.n_iter_ = n_iter
        self.converged_ = best.converged
        self.best_seed_ = best.seed

    def _early_stopped(self, held, seeds, patience: int, run_part):
        """Early stopping: ``run_part(seed, callback)`` runs EM on the training part for each seed,
        stopped once the RMSE of the held-out ratings ``held`` has not improved for ``patience``
        iterations. Returns (seed, parameters, RMSE per iteration) of the run whose best iteration
        has the lowest RMSE (the first on ties), with the parameters of that iteration."""
        users, items, truth = held.rows(), held.indices, held.values.astype(np.float64)
        best = None
        for seed in seeds:
            curve, kept = [], []

            def callback(iteration, bound, params):
                curve.append(rmse(self._predictions(params[0], params[1], users, items), truth))
                if curve[-1] < min(curve[:-1], default=np.inf):
                    kept[:] = [params]
                return len(curve) - 1 - int(np.argmin(curve)) >= patience

            run_part(seed, callback)
            if best is None or min(curve) < min(best[2]):
                best = (seed, kept[0], np.asarray(curve))
        return best

    def _predictions(self, theta, means_t, users, items):
        """(m,) predicted ratings of the pairs (users[k], items[k]) under P(z | u) = theta (n, K) and
        item means means_t (d, K) (normalised units)."""
        z = class_means(theta, means_t, users, items)
        return self.shift_user_[users] + self.shift_item_[items] + self.scale_[users] * z

    def _predict_known(self, users, items):
        with numba_threads(self.n_threads):
            return self._predictions(self.theta_, np.ascontiguousarray(self.means_.T), users, items)

    def n_parameters(self) -> int:
        """n (K - 1) user weights + 2 K d item means and variances."""
        self._check_fitted()
        (n, K), d = self.theta_.shape, self.means_.shape[1]
        return n * (K - 1) + 2 * K * d

    def bic(self, R=None) -> float:
        """-2 LL + p ln(number of training ratings): lower is better (the data are triplets)."""
        self._check_fitted()
        return bic(self.log_likelihood_, self.n_parameters(), int(self.user_counts_.sum()))
