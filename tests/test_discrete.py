"""Bernoulli and Poisson mixtures (EM plug-ins) against the NumPy references in tests/naive.py."""
import warnings

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastem import em
from fastem.discrete import BernoulliMixture, DiscreteMixtureParams, PoissonMixture
from naive import bernoulli_mixture_estep, discrete_mixture_em, poisson_mixture_estep

CASES = {
    "bernoulli": (BernoulliMixture, bernoulli_mixture_estep),
    "poisson": (PoissonMixture, poisson_mixture_estep),
}


def random_problem(kind, seed, n, d, K):
    """Random data and parameters (weights (K,), means (K, d)) of one family."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(K))
    if kind == "bernoulli":
        X = (rng.random((n, d)) < 0.4).astype(np.float64)
        means = rng.uniform(0.02, 0.98, (K, d))
    else:
        X = rng.poisson(rng.uniform(0.0, 6.0, d), (n, d)).astype(np.float64)
        means = rng.uniform(0.05, 8.0, (K, d))
    return X, weights, means


def planted(kind, seed, n=600, d=30, K=3):
    """(X, labels) drawn from K well-separated components."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, K, n)
    if kind == "bernoulli":
        centres = np.where(rng.random((K, d)) < 0.5, 0.85, 0.15)
        return (rng.random((n, d)) < centres[labels]).astype(np.uint8), labels
    centres = rng.choice([0.5, 6.0], (K, d))
    return rng.poisson(centres[labels]), labels


def assert_same_partition(labels, truth):
    """Up to a relabelling, at least 99% of the rows are in their true cluster."""
    table = np.zeros((labels.max() + 1, truth.max() + 1), dtype=int)
    np.add.at(table, (labels, truth), 1)
    assert table.max(axis=0).sum() >= 0.99 * len(truth)
    assert table.max(axis=1).sum() >= 0.99 * len(truth)


@pytest.mark.parametrize("kind", CASES)
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 25), d=st.integers(1, 7), K=st.integers(1, 4))
def test_estep_kernel_matches_naive(kind, seed, n, d, K):
    cls, naive_estep = CASES[kind]
    X, weights, means = random_problem(kind, seed, n, d, K)
    model = cls()
    resp = np.empty((n, K))
    ll, resp_sum, weighted = model._statistics(X, model._row_const(X), np.array([0, n // 2, n]),
                                               DiscreteMixtureParams(weights, means), resp)
    want_ll, want_resp, want_sum, want_weighted = naive_estep(X, weights, means)
    np.testing.assert_allclose(ll, want_ll, rtol=1e-10)
    np.testing.assert_allclose(resp, want_resp, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(resp_sum, want_sum, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weighted, want_weighted, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("kind", CASES)
def test_fit_follows_naive_em_from_the_same_start(kind):
    cls, naive_estep = CASES[kind]
    X, _, _ = random_problem(kind, 1, 80, 6, 3)
    model = cls(n_components=3, seeds=[4], tol=0.0, max_iter=6).fit(X)
    start = model._initialize(X, 3, 4)
    weights, means, history = discrete_mixture_em(X, start.weights, start.means, naive_estep, 6,
                                                  hi=1.0 if kind == "bernoulli" else np.inf)
    np.testing.assert_allclose(model.history_, history, rtol=1e-10)
    np.testing.assert_allclose(model.weights_, weights, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(model.means_, means, rtol=1e-8, atol=1e-12)
    assert model.n_iter_ == 6 and not model.converged_


@pytest.mark.parametrize("kind", CASES)
def test_fit_recovers_planted_components_monotonically(kind):
    X, labels = planted(kind, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", em.BoundDecreaseWarning)
        fitted = CASES[kind][0](n_components=3, seeds=range(3)).fit(X)
    assert fitted.converged_
    assert np.all(np.diff(fitted.history_) >= -1e-9 * np.abs(fitted.history_[1:]))
    assert_same_partition(fitted.predict(X), labels)
    np.testing.assert_allclose(fitted.predict_proba(X).sum(axis=1), 1.0)
    assert fitted.score(X) >= fitted.log_likelihood_
    assert fitted.bic(X) == pytest.approx(-2 * fitted.score(X) + (3 * 30 + 2) * np.log(600))


@pytest.mark.parametrize("kind", CASES)
def test_results_do_not_depend_on_thread_count(kind):
    X, _ = planted(kind, 2, n=300)
    cls = CASES[kind][0]
    one = cls(n_components=3, seeds=[0], n_threads=1).fit(X)
    two = cls(n_components=3, seeds=[0], n_threads=min(2, numba.config.NUMBA_NUM_THREADS)).fit(X)
    assert np.array_equal(one.history_, two.history_)
    assert np.array_equal(one.means_, two.means_)


def test_input_is_not_modified():
    X, _ = planted("poisson", 3, n=50)
    before = X.copy()
    PoissonMixture(n_components=2, seeds=[0]).fit(X)
    assert np.array_equal(X, before)


@pytest.mark.parametrize("cls, X, match", [
    (BernoulliMixture, np.array([[0, 1], [2, 0]]), "binary"),
    (BernoulliMixture, np.array([[0, 1], [np.nan, 0]]), "binary"),
    (PoissonMixture, np.array([[0, 1], [-1, 0]]), "non-negative integer"),
    (PoissonMixture, np.array([[0, 1.5], [1, 0]]), "non-negative integer"),
    (PoissonMixture, np.zeros(4), "2-d"),
    (PoissonMixture, np.array([["a", "b"]]), "numeric"),
])
def test_bad_data_raises(cls, X, match):
    with pytest.raises(ValueError, match=match):
        cls(n_components=1, seeds=[0]).fit(X)


@pytest.mark.parametrize("params, match", [
    (dict(n_components=0), "n_components"),
    (dict(n_components=5), "n_components=5 exceeds"),
    (dict(tol=-1.0), "tol"),
    (dict(max_iter=0), "max_iter"),
    (dict(seeds=[]), "seeds"),
])
def test_bad_parameters_raise(params, match):
    with pytest.raises(ValueError, match=match):
        BernoulliMixture(**params).fit(np.eye(4))


def test_predict_checks_fitted_and_width():
    with pytest.raises(ValueError, match="not fitted"):
        PoissonMixture().predict(np.ones((2, 2)))
    model = PoissonMixture(n_components=1, seeds=[0]).fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match="features"):
        model.predict(np.ones((2, 3)))
