"""The diagonal-covariance mixture (FactorMixture with no factor): kernels, MAP fit, normalisation."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from fastem import load_ratings
from fastem.diagonal import DiagonalMixture
from fastem.mfa import FactorParams
from fastem._kernels import mfa
from strategies import masked_matrices


@settings(max_examples=30, deadline=None)
@given(masked_matrices(), st.integers(0, 2**32 - 1))
def test_diagonal_posteriors_match_scipy_densities(Xm, seed):
    X, mask = Xm
    rng = np.random.default_rng(seed)
    K, d = rng.integers(1, 4), X.shape[1]
    means, variances = rng.normal(3, 1, (K, d)), rng.uniform(0.3, 2.0, (K, d))
    weights = rng.random(K) + 0.1
    weights /= weights.sum()
    R = load_ratings(X)
    p = FactorParams(np.ascontiguousarray(means.T), np.zeros((d, K, 0)), np.ascontiguousarray(variances.T), weights)
    resp, _, user_ll = mfa.posteriors(R.indptr, R.indices, R.values, p.means_t, p.loadings, p.noise, p.log_weights())
    ref_resp, ref_ll = naive.diagonal_estep(X, mask, means, variances, weights)
    np.testing.assert_allclose(resp, ref_resp, rtol=1e-9, atol=1e-12)
    assert user_ll.sum() == pytest.approx(ref_ll, rel=1e-10)


def typed_users(n=120, d=25, seed=0):
    """Three user types, each rating a third of the items high and the rest low, with item-dependent noise."""
    rng = np.random.default_rng(seed)
    types = rng.integers(0, 3, n)
    profile = np.where(np.arange(d)[None, :] % 3 == np.arange(3)[:, None], 4.5, 1.8)
    X = np.clip(np.round(profile[types] + rng.normal(0, 0.2 + 0.04 * np.arange(d), (n, d))), 1, 5)
    return load_ratings(np.where(rng.random((n, d)) < 0.6, X, 0.0)), types, profile


def test_fit_recovers_user_types_and_predicts_held_out_ratings():
    R, types, profile = typed_users()
    train, test = R.split(0.2, seed=0)
    m = DiagonalMixture(n_components=3, normalize="none", seeds=[0, 1, 2]).fit(train)
    labels = m.resp_.argmax(axis=1)
    assert all(len(set(labels[types == t])) == 1 for t in range(3))
    assert np.all(np.diff(m.history_) >= -1e-9 * np.abs(m.history_[1:]))
    truth = test.values.astype(float)
    err = np.sqrt(np.mean((m.predict(test.rows(), test.indices) - truth) ** 2))
    oracle = np.sqrt(np.mean((profile[types[test.rows()], test.indices] - truth) ** 2))
    assert err < 1.05 * oracle
    assert m.loadings_.shape == (3, 25, 0) and m.variances_.shape == (3, 25)
    assert m.n_parameters() == 2 * 3 * 25 + 2
    assert "n_factors" not in m.get_params()


def test_map_prior_keeps_large_k_from_overfitting():
    R, _, _ = typed_users(60, 25, seed=3)
    train, test = R.split(0.2, seed=0)
    truth = test.values.astype(float)

    def err(**kw):
        m = DiagonalMixture(n_components=20, seeds=[0], normalize="none", **kw).fit(train)
        return np.sqrt(np.mean((m.predict(test.rows(), test.indices) - truth) ** 2))

    ml = err(weight_concentration=1.0, mean_strength=0.0, variance_strength=0.0)
    map_ = err(weight_concentration=2.0, mean_strength=2.0, variance_strength=4.0)
    assert map_ < ml
