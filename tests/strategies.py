"""Hypothesis strategies shared by the tests: random incomplete rating matrices."""
import numpy as np
from hypothesis import strategies as st


@st.composite
def masked_matrices(draw, max_users=25, max_items=15, integer=None):
    """(X (n, d) float64 with 0 where missing, mask (n, d) bool); every user and item may be empty."""
    n = draw(st.integers(1, max_users))
    d = draw(st.integers(1, max_items))
    seed = draw(st.integers(0, 2**32 - 1))
    density = draw(st.floats(0.1, 1.0))
    rng = np.random.default_rng(seed)
    mask = rng.random((n, d)) < density
    if integer is None:
        integer = draw(st.booleans())
    values = rng.integers(1, 6, (n, d)).astype(float) if integer else rng.normal(3.0, 1.5, (n, d))
    values[values == 0] = 0.5
    return np.where(mask, values, 0.0), mask


@st.composite
def spherical_mixtures(draw, d, max_components=5):
    """(means (K, d), variances (K,), weights (K,)) with K >= 1."""
    K = draw(st.integers(1, max_components))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = rng.random(K) + 0.05
    return rng.normal(3.0, 1.0, (K, d)), rng.uniform(0.3, 3.0, K), weights / weights.sum()
