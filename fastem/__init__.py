"""fastem: Numba-accelerated EM for Gaussian mixtures, first of all on incomplete rating matrices."""
from . import datasets, em
from .discrete import BernoulliMixture, PoissonMixture
from .ratings import RatingMatrix, load_ratings
from .vae import VAE

__version__ = "0.1.0"

__all__ = ["RatingMatrix", "load_ratings", "datasets", "em", "BernoulliMixture", "PoissonMixture", "VAE"]
