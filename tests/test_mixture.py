"""fastem.GaussianMixture: kernels against tests/naive.py, the fit against scikit-learn, missing values."""
import warnings

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from fastem import GaussianMixture
from fastem.mixture import ILL_DEFINED, GaussianParams, MixtureData, precision_cholesky

KINDS = ["full", "tied", "diag", "spherical"]


def blobs(n=600, d=3, K=3, seed=0):
    """Correlated Gaussian clusters and their true (means (K, d), covariances (K, d, d))."""
    rng = np.random.default_rng(seed)
    means = 4.0 * rng.normal(size=(K, d))
    mixing = [rng.normal(size=(d, d)) * 0.5 + np.eye(d) for _ in range(K)]
    labels = np.arange(n) % K
    X = means[labels] + np.einsum("nd,nde->ne", rng.normal(size=(n, d)), np.array(mixing)[labels])
    return X, means, np.array([m.T @ m for m in mixing])


def random_params(rng, kind, K, d):
    """Random well-conditioned parameters of the covariance type."""
    weights = rng.random(K) + 0.2
    A = rng.normal(size=(K, d, d)) * 0.4 + np.eye(d)
    full = A @ np.swapaxes(A, 1, 2)
    cov = {"full": full, "tied": full[0], "diag": rng.uniform(0.3, 3.0, (K, d)), "spherical": rng.uniform(0.3, 3.0, K)}[kind]
    return GaussianParams(weights / weights.sum(), rng.normal(size=(K, d)) * 2, cov, precision_cholesky(cov, kind))


def shared_start(X, kind, K):
    """Identical starting parameters for fastem and scikit-learn."""
    d = X.shape[1]
    precisions = {"full": np.stack([np.eye(d) * 0.5] * K), "tied": np.eye(d) * 0.5, "diag": np.full((K, d), 0.5),
                  "spherical": np.full(K, 0.5)}[kind]
    return dict(n_components=K, covariance_type=kind, weights_init=np.full(K, 1.0 / K),
                means_init=X[np.linspace(0, len(X) - 1, K).astype(int)], precisions_init=precisions)


def assert_expectation_matches_naive(X, params, kind):
    """Responsibilities, log-likelihoods, M-step statistics and imputations of the kernel for
    ``kind`` against tests/naive.py."""
    K, d = params.means.shape
    data = MixtureData(X, kind)
    nk, first, second = data.expectation(params)
    covs = naive.full_covariances(params.covariances, kind, K, d)
    resp, ll, nk0, first0, second0, imputed0 = naive.gaussian_mixture_estep(X, params.weights, params.means, covs)
    np.testing.assert_allclose(data.resp, resp, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(data.sample_ll, ll, rtol=1e-10)
    np.testing.assert_allclose(nk, nk0, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(first, first0, rtol=1e-9, atol=1e-9)
    diagonal = np.diagonal(second0, axis1=1, axis2=2)
    expected = {"full": second0, "tied": second0.sum(axis=0), "diag": diagonal, "spherical": diagonal}[kind]
    np.testing.assert_allclose(second, expected, rtol=1e-9, atol=1e-8)
    if kind != "tied" or not np.isnan(X).any():
        np.testing.assert_allclose(data.imputed_values(params), imputed0, rtol=1e-9, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(KINDS), n=st.integers(1, 40), d=st.integers(1, 5), K=st.integers(1, 4),
       missing=st.sampled_from([0.0, 0.3]), seed=st.integers(0, 2**31))
def test_expectation_matches_naive(kind, n, d, K, missing, seed):
    """Responsibilities, log-likelihoods, M-step statistics and imputations of every kernel."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * 2
    X[rng.random((n, d)) < missing] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 1.0
    assert_expectation_matches_naive(X, random_params(rng, kind, K, d), kind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("missing", [0.0, 0.2])
def test_expectation_matches_naive_beyond_one_vector(kind, missing):
    """K = 11 and d = 10: components span two 8-lane blocks, features two blocks of a tied factor's
    rows, and 300 rows several tiles of a chunk."""
    rng = np.random.default_rng(11)
    n, d, K = 300, 10, 11
    X = rng.normal(size=(n, d)) * 2
    X[rng.random((n, d)) < missing] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 1.0
    assert_expectation_matches_naive(X, random_params(rng, kind, K, d), kind)


@pytest.mark.parametrize("kind", KINDS)
def test_matches_sklearn_from_identical_start(kind):
    from sklearn.mixture import GaussianMixture as Reference

    X, _, _ = blobs(n=900, d=4, K=3, seed=1)
    params = dict(shared_start(X, kind, 3), max_iter=40, tol=1e-9, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, ref = GaussianMixture(**params).fit(X), Reference(**params).fit(X)
    assert ours.n_iter_ == ref.n_iter_ and ours.converged_ == ref.converged_
    np.testing.assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=1e-8)
    assert ours.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-8)
    for name in ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]:
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-6, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(ours.score_samples(X), ref.score_samples(X), rtol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-8)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    assert ours.bic(X) == pytest.approx(ref.bic(X), rel=1e-8)
    assert ours.aic(X) == pytest.approx(ref.aic(X), rel=1e-8)
    np.testing.assert_allclose(ours.sample(50)[0], ref.sample(50)[0], rtol=1e-6)


@pytest.mark.parametrize("init", ["random", "random_from_data"])
def test_random_inits_match_sklearn(init):
    """With the same integer random_state the first start draws the same responsibilities."""
    from sklearn.mixture import GaussianMixture as Reference

    X, _, _ = blobs(seed=2)
    params = dict(n_components=3, covariance_type="diag", init_params=init, random_state=7, max_iter=200)
    ours, ref = GaussianMixture(**params).fit(X), Reference(**params).fit(X)
    np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-6, atol=1e-6)
    assert ours.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-8)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("init", ["kmeans", "k-means++"])
def test_kmeans_inits_find_the_clusters(kind, init):
    X, means, _ = blobs(n=900, seed=3)
    g = GaussianMixture(3, covariance_type=kind, init_params=init, random_state=0, n_init=2).fit(X)
    assert g.converged_ and len(g.lower_bounds_) == g.n_iter_
    order = np.argsort(g.means_[:, 0])
    np.testing.assert_allclose(g.means_[order], means[np.argsort(means[:, 0])], atol=0.3)
    np.testing.assert_array_equal(g.fit_predict(X), g.predict(X))


@pytest.mark.parametrize("kind", ["full", "diag"])
def test_missing_values_beat_mean_imputation(kind):
    """20% MAR entries: exact EM recovers means and covariances better than sklearn on mean-imputed data."""
    from sklearn.mixture import GaussianMixture as Reference

    X, means, covs = blobs(n=3000, d=4, K=3, seed=4)
    holes = X.copy()
    holes[np.random.default_rng(5).random(X.shape) < 0.2] = np.nan
    holes[np.isnan(holes).all(axis=1), 0] = X[np.isnan(holes).all(axis=1), 0]
    start = dict(shared_start(X, kind, 3), means_init=means + 0.5, tol=1e-6, max_iter=500)
    ours = GaussianMixture(**start).fit(holes)
    filled = np.where(np.isnan(holes), np.nanmean(holes, axis=0), holes)
    ref = Reference(**start).fit(filled)

    def errors(model):
        order = [int(np.argmin(((model.means_ - m) ** 2).sum(axis=1))) for m in means]
        fitted = naive.full_covariances(model.covariances_, kind, 3, 4)[order]
        target = covs if kind == "full" else np.array([np.diag(np.diag(c)) for c in covs])
        return np.abs(model.means_[order] - means).max(), np.abs(fitted - target).max()

    (mean_err, cov_err), (ref_mean_err, ref_cov_err) = errors(ours), errors(ref)
    assert mean_err < ref_mean_err and cov_err < ref_cov_err
    assert mean_err < 0.25 and cov_err < 0.5
    imputed = ours.impute(holes)
    missing = np.isnan(holes)
    assert not np.isnan(imputed).any() and np.array_equal(imputed[~missing], holes[~missing])
    assert np.sqrt(((imputed - X)[missing] ** 2).mean()) < np.sqrt(((filled - X)[missing] ** 2).mean())


@pytest.mark.parametrize("kind", KINDS)
def test_bit_identical_across_thread_counts(kind):
    X, _, _ = blobs(n=2000, d=3, seed=6)
    X[::7, 1] = np.nan
    before = numba.get_num_threads()
    fits = [GaussianMixture(3, covariance_type=kind, random_state=0, max_iter=5, tol=0, n_threads=t).fit(X)
            for t in (1, 2)]
    assert numba.get_num_threads() == before
    for name in ["means_", "covariances_", "weights_", "lower_bounds_"]:
        np.testing.assert_array_equal(getattr(fits[0], name), getattr(fits[1], name))


@pytest.mark.parametrize("kind", KINDS)
def test_sample_reproduces_fitted_moments(kind):
    X, _, _ = blobs(seed=7)
    g = GaussianMixture(3, covariance_type=kind, random_state=0).fit(X)
    S, labels = g.sample(60000)
    covs = naive.full_covariances(g.covariances_, kind, 3, 3)
    for k in range(3):
        part = S[labels == k]
        assert len(part) / len(S) == pytest.approx(g.weights_[k], abs=0.01)
        np.testing.assert_allclose(part.mean(axis=0), g.means_[k], atol=0.05 * np.sqrt(covs[k].max()) + 0.02)
        np.testing.assert_allclose(np.cov(part.T).reshape(3, 3), covs[k], atol=0.08 * np.abs(covs[k]).max())


def test_float32_input_equals_float64_of_the_same_values():
    X, _, _ = blobs(seed=8)
    X32 = X.astype(np.float32)
    a = GaussianMixture(3, random_state=0).fit(X32)
    b = GaussianMixture(3, random_state=0).fit(X32.astype(np.float64))
    np.testing.assert_array_equal(a.means_, b.means_)
    assert X32.dtype == np.float32 and a.means_.dtype == np.float64


def test_warm_start_continues_from_the_last_fit():
    X, _, _ = blobs(seed=9)
    g = GaussianMixture(3, covariance_type="diag", random_state=0, max_iter=3, tol=0, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = g.fit(X).lower_bounds_
        second = g.fit(X).lower_bounds_
        straight = GaussianMixture(3, covariance_type="diag", random_state=0, max_iter=6, tol=0).fit(X).lower_bounds_
    np.testing.assert_allclose(first + second, straight, rtol=1e-12)


def test_warm_start_of_a_converged_fit_stops_after_one_iteration():
    X, _, _ = blobs(seed=9)
    g = GaussianMixture(3, covariance_type="full", random_state=0, max_iter=500, tol=1e-3, warm_start=True).fit(X)
    assert g.converged_ and g.n_iter_ > 1
    previous = g.lower_bound_
    g.fit(X)
    assert g.converged_ and g.n_iter_ == 1
    assert abs(g.lower_bound_ - previous) < 1e-3


def test_params_and_clone():
    from sklearn.base import clone

    g = GaussianMixture(4, covariance_type="tied", reg_covar=1e-3)
    assert g.get_params()["covariance_type"] == "tied"
    assert g.set_params(n_components=2).n_components == 2
    assert clone(g).get_params() == g.get_params()
    with pytest.raises(ValueError, match="invalid parameter 'colour'"):
        g.set_params(colour=1)


@pytest.mark.parametrize("make, match", [
    (lambda X: (GaussianMixture(2), np.where(np.arange(X.size).reshape(X.shape) == 4, np.inf, X)), "infinite"),
    (lambda X: (GaussianMixture(5), X[:4]), "n_samples >= n_components"),
    (lambda X: (GaussianMixture(2, means_init=np.zeros((3, 3))), X), r"means_init must have shape \(2, 3\)"),
    (lambda X: (GaussianMixture(2, weights_init=[0.2, 0.2]), X), "weights_init must sum to 1"),
    (lambda X: (GaussianMixture(2, covariance_type="diag", precisions_init=np.ones((2, 2))), X),
     r"precisions_init for covariance_type='diag' must have shape \(2, 3\)"),
    (lambda X: (GaussianMixture(2, precisions_init=np.stack([np.eye(3), -np.eye(3)])), X),
     r"precisions_init \(component 1\) must be symmetric, positive-definite"),
    (lambda X: (GaussianMixture(2, covariance_type="spherical", precisions_init=[1.0, 0.0]), X), "must be positive"),
    (lambda X: (GaussianMixture(2), np.vstack([X, np.full(3, np.nan)])), "every entry missing"),
    (lambda X: (GaussianMixture(2), X[:, 0]), "must be 2-d"),
    (lambda X: (GaussianMixture(2, covariance_type="box"), X), "covariance_type must be one of"),
    (lambda X: (GaussianMixture(2, reg_covar=-1.0), X), "reg_covar must be >= 0"),
])
def test_bad_input_raises_value_error(make, match):
    X, _, _ = blobs(n=30, seed=10)
    model, data = make(X)
    with pytest.raises(ValueError, match=match):
        model.fit(data)


@pytest.mark.parametrize("kind", ["full", "diag", "spherical"])
def test_collapsed_component_raises_ill_defined(kind):
    X = np.vstack([np.zeros((20, 2)), np.random.default_rng(0).normal(size=(20, 2)) + 10])
    means = np.array([[0.0, 0.0], [10.0, 10.0]])
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(2, covariance_type=kind, reg_covar=0.0, means_init=means).fit(X)
    assert "increase reg_covar" in ILL_DEFINED


def test_predict_checks_features_and_fit():
    X, _, _ = blobs(seed=11)
    with pytest.raises(ValueError, match="not fitted"):
        GaussianMixture(2).predict(X)
    g = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="expecting 3 features"):
        g.predict(X[:, :2])
    assert g.score(X) == pytest.approx(g.score_samples(X).mean())


def sklearn_tagged():
    """GaussianMixture with scikit-learn's tags (module level, so instances pickle)."""
    global SklearnTaggedGaussianMixture
    from sklearn.base import BaseEstimator, DensityMixin

    class SklearnTaggedGaussianMixture(GaussianMixture, DensityMixin, BaseEstimator):
        pass

    SklearnTaggedGaussianMixture.__qualname__ = "SklearnTaggedGaussianMixture"
    return SklearnTaggedGaussianMixture


def test_check_estimator_where_it_applies():
    """scikit-learn's estimator checks, on a subclass that adds scikit-learn's tags machinery."""
    from sklearn.utils.estimator_checks import check_estimator

    expected = {"check_estimators_nan_inf": "NaN marks a missing value, by design",
                "check_estimators_unfitted": "raises ValueError, not scikit-learn's NotFittedError (no runtime sklearn)"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(sklearn_tagged()(2, random_state=0), on_fail=None, expected_failed_checks=expected)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert failed == [] and len(results) > 30


def test_a_feature_never_observed_is_rejected_by_name():
    X = np.random.default_rng(0).normal(size=(20, 3))
    X[:, 1] = np.nan
    with pytest.raises(ValueError, match="feature 1 has no observed value"):
        GaussianMixture(2, covariance_type="full").fit(X)
