"""fastem: Numba-accelerated EM for Gaussian mixtures, first of all on incomplete rating matrices."""
from . import datasets, em
from .ratings import RatingMatrix, load_ratings

__version__ = "0.1.0"

__all__ = ["RatingMatrix", "load_ratings", "datasets", "em"]
