"""fastem: Numba-accelerated EM for Gaussian mixtures, first of all on incomplete rating matrices."""
from . import _kernel_cache  # noqa: F401  (first: clears a kernel cache built from other sources)
from . import datasets, distributed, em
from .baselines import BiasBaseline, GlobalMean
from .diagonal import DiagonalMixture
from .discrete import BernoulliMixture, PoissonMixture
from .completion import MixtureCompleter
from .metrics import mae, rmse
from .kmeans import KMeans
from .mixture import GaussianMixture
from .mfa import FactorMixture
from .persistence import load_model
from .plsa import GaussianPLSA
from .ratings import RatingMatrix, load_ratings
from .recommenders import RECOMMENDERS, evaluate
from .selection import select_k
from .vae import VAE

__version__ = "0.1.0"

__all__ = ["RatingMatrix", "load_ratings", "datasets", "distributed", "em", "MixtureCompleter", "rmse", "mae", "select_k", "RECOMMENDERS", "evaluate", "BernoulliMixture", "PoissonMixture", "VAE", "KMeans", "GaussianMixture", "load_model", "GlobalMean", "BiasBaseline", "DiagonalMixture", "FactorMixture", "GaussianPLSA"]
