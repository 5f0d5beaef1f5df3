"""Hostile but legal input: random shapes and masks for every model (EM never goes down by more
than 1e-9 relative, responsibilities are finite and sum to 1, nothing is NaN), extreme values,
and a heavy user over 17,770 items with tiny variances (log domain: no underflow or overflow)."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastem
from fastem import em
from fastem._kernels import masked
from fastem.ratings import item_blocks

import naive
from strategies import masked_matrices

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_monotone(history, increasing=True):
    """Each step of ``history`` moves the right way, up to 1e-9 relative (absolute within 1 of 0)."""
    h = np.asarray(history, dtype=float) * (1 if increasing else -1)
    assert np.all(np.isfinite(h))
    assert np.all(np.diff(h) >= -1e-9 * np.maximum(np.abs(h[:-1]), 1.0)), h


def assert_responsibilities(resp, n, K):
    assert resp.shape == (n, K) and np.all(np.isfinite(resp)) and np.all(resp >= 0)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)


@pytest.fixture(autouse=True)
def bound_decrease_is_an_error():
    with warnings.catch_warnings():
        warnings.simplefilter("error", em.BoundDecreaseWarning)
        warnings.simplefilter("ignore", fastem.mixture.ConvergenceWarning)
        yield


# ------------------------------------------------------------ random shapes and masks, every model

@SETTINGS
@given(masked_matrices(), st.integers(1, 4), st.sampled_from(["course", "k-means++", "random"]),
       st.integers(0, 2**31 - 1))
def test_completer_on_random_masks(data, K, init, seed):
    X, mask = data
    R = fastem.load_ratings(X)
    model = fastem.MixtureCompleter(K, init=init, seeds=[seed], max_iter=60)
    if K > R.n_users or R.nnz == 0:
        with pytest.raises(ValueError):
            model.fit(R)
        return
    model.fit(R)
    assert_monotone(model.history_)
    assert_responsibilities(model.predict_proba(R), R.n_users, K)
    assert np.isfinite(model.score(R)) and np.all(np.isfinite(model.fill(R)))
    assert np.all(model.variances_ >= 0.25) and np.all(np.isfinite(model.means_))


@SETTINGS
@given(masked_matrices(max_users=30, max_items=5, integer=False), st.integers(1, 3),
       st.sampled_from(["full", "tied", "diag", "spherical"]), st.integers(0, 2**31 - 1))
def test_gaussian_mixture_on_random_masks(data, K, kind, seed):
    """reg_covar=0: exact EM (a covariance floor added after the M-step can lower the
    likelihood, e.g. a column observed once, whose variance EM shrinks while the floor grows it)."""
    X, mask = data
    X = np.where(mask, X, np.nan)
    X = X[mask.any(axis=1)]
    model = fastem.GaussianMixture(K, covariance_type=kind, reg_covar=0.0, max_iter=40, random_state=seed)
    if X.shape[0] < max(K, 2):
        with pytest.raises(ValueError):
            model.fit(X)
        return
    try:
        with warnings.catch_warnings():   # decreases are judged below, where the covariances are not singular
            warnings.simplefilter("ignore", em.BoundDecreaseWarning)
            model.fit(X)
    except ValueError as e:   # a component or a column with too few observations to estimate
        assert any(m in str(e) for m in ("ill-defined", "infs or NaNs", "has no observed value")), e
        return
    covariances = model.covariances_.reshape(-1, X.shape[1], X.shape[1]) if kind in ("full", "tied") else None
    if covariances is None or max(np.linalg.cond(c) for c in covariances) < 1e8:
        # A (nearly) singular covariance, e.g. 3 points in 3 dimensions, has an unbounded
        # likelihood whose iterates are rounding noise: monotonicity is checked where it means something.
        assert_monotone(model.lower_bounds_)
    assert_responsibilities(model.predict_proba(X), X.shape[0], K)
    assert np.all(np.isfinite(model.score_samples(X))) and np.all(np.isfinite(model.impute(X)))


@SETTINGS
@given(masked_matrices(max_users=30, max_items=6), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_kmeans_on_random_masks(data, K, seed):
    X, mask = data
    X = np.where(mask, X, np.nan)[mask.any(axis=1)]
    model = fastem.KMeans(K, seeds=[seed], init="k-means++")
    if X.shape[0] < K:
        with pytest.raises(ValueError):
            model.fit(X)
        return
    model.fit(X)
    assert_monotone(model.history_, increasing=False)
    assert np.isfinite(model.inertia_) and all(np.all(np.isfinite(a)) for a in model.mixture_)
    np.testing.assert_allclose(model.mixture_[2].sum(), 1.0)


@SETTINGS
@given(st.integers(1, 30), st.integers(1, 8), st.integers(1, 4), st.floats(0.0, 1.0), st.integers(0, 2**31 - 1))
def test_discrete_mixtures_on_random_data(n, d, K, p, seed):
    rng = np.random.default_rng(seed)
    data = {fastem.BernoulliMixture: (rng.random((n, d)) < p).astype(float),
            fastem.PoissonMixture: rng.poisson(10 * p, (n, d)).astype(float)}
    for cls, X in data.items():
        model = cls(K, seeds=[seed], max_iter=50)
        if K > n:
            with pytest.raises(ValueError):
                model.fit(X)
            continue
        model.fit(X)
        assert_monotone(model.history_)
        assert_responsibilities(model.predict_proba(X), n, K)
        assert np.isfinite(model.score(X))


def recommenders(K, seed):
    """The EM recommenders with K components, run to convergence (pLSA without early stopping)."""
    return [fastem.DiagonalMixture(K, seeds=[seed], max_iter=60),
            fastem.FactorMixture(K, n_factors=2, seeds=[seed], max_iter=60),
            fastem.GaussianPLSA(K, validation=0.0, seeds=[seed], max_iter=60)]


@SETTINGS
@given(masked_matrices(max_users=20, max_items=8), st.integers(1, 3), st.integers(0, 2**31 - 1))
def test_recommenders_on_random_masks(data, K, seed):
    """MAP EM: the log posterior (history_) never falls; posteriors finite and summing to 1;
    every prediction finite. K may exceed the number of users (the priors keep empty components
    defined); no rating at all is an error."""
    X, mask = data
    R = fastem.load_ratings(X)
    for model in recommenders(K, seed):
        if R.nnz == 0:
            with pytest.raises(ValueError):
                model.fit(R)
            continue
        model.fit(R)
        assert_monotone(model.history_)
        weights = model.theta_ if isinstance(model, fastem.GaussianPLSA) else model.resp_
        assert_responsibilities(weights, R.n_users, K)
        users, items = np.nonzero(np.ones(R.shape))
        assert np.all(np.isfinite(model.predict(users, items))), type(model).__name__


@settings(max_examples=10, deadline=None)
@given(masked_matrices(max_users=20, max_items=8), st.integers(0, 2**31 - 1))
def test_vae_on_random_masks(data, seed):
    X, mask = data
    R = fastem.load_ratings(X)
    model = fastem.VAE(latent_dim=2, hidden_dim=4, epochs=2, batch_size=8, random_state=seed)
    if R.nnz == 0:
        with pytest.raises(ValueError, match="no observed ratings"):
            model.fit(R)
        return
    model.fit(R)
    assert np.all(np.isfinite(model.elbo_history_))
    users, items = np.nonzero(np.ones(R.shape))
    predicted = model.predict(users, items)
    assert np.all(np.isfinite(predicted))
    assert predicted.min() >= R.values.min() and predicted.max() <= R.values.max()


# ------------------------------------------------------------ extreme but legal input

def fit_everything(X):
    """Fit every model that takes X (n, d) (0 = missing for the rating models); return the models."""
    R = fastem.load_ratings(X)
    dense = np.where(X == 0, np.nan, X)
    K = min(2, R.n_users)
    models = [fastem.MixtureCompleter(K, seeds=[0], max_iter=50).fit(R),
              fastem.MixtureCompleter(R.n_users, seeds=[0], init="k-means++", max_iter=50).fit(R),
              fastem.KMeans(K, seeds=[0]).fit(dense),
              fastem.VAE(latent_dim=2, hidden_dim=4, epochs=2, random_state=0).fit(R)]
    if R.n_users >= 2:
        models.append(fastem.GaussianMixture(K, covariance_type="diag", random_state=0).fit(dense))
    models += [model.fit(R) for model in recommenders(K, 0)]
    return R, models


def check_sensible(R, models):
    users, items = R.rows(), R.indices
    for m in models:
        for value in m._fitted_state().values():
            for a in value if isinstance(value, tuple) else [value]:
                if isinstance(a, np.ndarray) and a.dtype.kind == "f":
                    assert np.all(np.isfinite(a)), type(m).__name__
        if hasattr(m, "predict") and not isinstance(m, (fastem.KMeans, fastem.GaussianMixture)):
            predicted = m.predict(users, items)
            assert np.all(np.isfinite(predicted))
            lo, hi = R.values.min(), R.values.max()
            assert np.all(predicted >= lo - 1e-9 * abs(lo)) and np.all(predicted <= hi + 1e-9 * abs(hi))


@pytest.mark.parametrize("name, X", [
    ("all ratings equal", np.full((12, 6), 3.0)),
    ("a single user", np.array([[1.0, 0.0, 5.0, 4.0]])),
    ("a single item", np.arange(1.0, 9.0).reshape(8, 1)),
    ("ratings around 1e6", 1e6 + np.random.default_rng(0).normal(0, 1, (15, 5))),
    ("float32 ratings", np.random.default_rng(1).uniform(1, 5, (15, 5)).astype(np.float32)),
])
def test_extreme_but_legal_inputs_give_finite_sensible_results(name, X):
    R, models = fit_everything(X)
    check_sensible(R, models)
    completer = models[0]
    if name == "all ratings equal":
        np.testing.assert_allclose(completer.predict([0, 5], [1, 2]), 3.0)
        assert completer.variances_.tolist() == [0.25] * len(completer.variances_)
    if name == "ratings around 1e6":
        np.testing.assert_allclose(completer.predict(R.rows(), R.indices), R.values, rtol=1e-5)
    if name == "float32 ratings":
        assert R.values.dtype == np.float32 and completer.means_.dtype == np.float64


def test_k_equal_to_the_number_of_users_gives_each_user_its_own_component():
    X = np.random.default_rng(2).integers(1, 6, (6, 40)).astype(float)
    model = fastem.MixtureCompleter(6, seeds=[0], min_variance=1e-3).fit(X)
    resp = model.predict_proba(X)
    assert sorted(resp.argmax(axis=1)) == list(range(6))
    np.testing.assert_allclose(resp.max(axis=1), 1.0)
    np.testing.assert_allclose(model.fill(X), X, atol=1e-6)


# ------------------------------------------------------------ numerical stability

def test_heavy_user_over_17770_items_with_tiny_variances():
    """A user with 5000 ratings, components whose variances are 1e-6: log-likelihoods of order
    -1e9 and posteriors of exactly 0 and 1 must come out finite and equal to the log-domain
    NumPy reference (the plain-domain density would be exp(-1e9) = 0 for every component)."""
    d, rng = 17770, np.random.default_rng(3)
    X = np.zeros((4, d))
    X[0, rng.choice(d, 5000, replace=False)] = rng.integers(1, 6, 5000)
    for u in range(1, 4):
        X[u, rng.choice(d, 30, replace=False)] = rng.integers(1, 6, 30)
    mask = X != 0
    means = rng.uniform(1, 5, (3, d))
    variances = np.array([1e-6, 2e-6, 1e-4])
    weights = np.array([0.2, 0.3, 0.5])
    R = fastem.load_ratings(X)
    resp, ll = masked.responsibilities(item_blocks(R), np.ascontiguousarray(means.T), np.log(weights), variances)
    want_resp, want_ll = naive.estep(X, mask, means, variances, weights)
    assert np.all(np.isfinite(resp)) and np.all(np.isfinite(ll)) and np.exp(ll[0]) == 0.0
    np.testing.assert_allclose(ll.sum(), want_ll, rtol=1e-10)
    np.testing.assert_allclose(resp, want_resp, rtol=1e-10, atol=1e-300)
    model = fastem.MixtureCompleter(3, seeds=[0], min_variance=1e-6, max_iter=30).fit(R)
    assert_monotone(model.history_)
    assert_responsibilities(model.predict_proba(R), 4, 3)
    assert np.isfinite(model.score(R)) and np.all(np.isfinite(model.means_))
