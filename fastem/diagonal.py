"""The diagonal-covariance mixture over users' observed ratings: a variance per component and item,
with normalisation and MAP priors (a mixture of factor analysers with no factor)."""
from __future__ import annotations

from .mfa import FactorMixture


class DiagonalMixture(FactorMixture):
    """K Gaussians with diagonal covariances over normalised ratings, fitted by MAP EM.

    Parameters and attributes as ``FactorMixture`` without factors (loadings_ is (K, d, 0)).
    """

    def __init__(self, n_components=8, normalize="user", shrinkage=5.0, weight_concentration=2.0,
                 mean_strength=1.0, variance_strength=2.0, n_init=1, seeds=None, tol=1e-5, max_iter=200,
                 min_variance=1e-3, n_threads=None, random_state=None, verbose=0):
        super().__init__(n_components=n_components, n_factors=0, normalize=normalize, shrinkage=shrinkage,
                         weight_concentration=weight_concentration, mean_strength=mean_strength,
                         loading_strength=0.0, variance_strength=variance_strength, n_init=n_init, seeds=seeds,
                         tol=tol, max_iter=max_iter, min_variance=min_variance, n_threads=n_threads,
                         random_state=random_state, verbose=verbose)
