"""Baselines, rating normalisation and the fallback for unseen users and items."""
import numpy as np
import pytest
from hypothesis import assume, given, settings

import naive
from fastem import load_ratings
from fastem.baselines import BiasBaseline, GlobalMean, fit_biases
from fastem.normalization import fit_normalization, normalize, denormalize
from strategies import masked_matrices


@settings(max_examples=30, deadline=None)
@given(masked_matrices(max_users=12, max_items=8))
def test_biases_reach_the_exact_ridge_solution(Xm):
    X, mask = Xm
    assume(mask.any())
    R = load_ratings(X)
    mu, bu, bi = fit_biases(R, 2.0, 3.0, n_iter=2000)
    ref_mu, ref_bu, ref_bi = naive.ridge_biases(X, mask, 2.0, 3.0)
    assert mu == pytest.approx(ref_mu, rel=1e-12)
    np.testing.assert_allclose(bu, ref_bu, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(bi, ref_bi, rtol=1e-8, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(masked_matrices())
def test_user_normalization_matches_hofmann_and_inverts(Xm):
    X, mask = Xm
    assume(mask.any())
    R = load_ratings(X)
    shift_user, shift_item, scale = fit_normalization(R, "user", 5.0)
    ref_shift, ref_scale = naive.user_normalization(X, mask, 5.0)
    np.testing.assert_allclose(shift_user, ref_shift, rtol=1e-12)
    np.testing.assert_allclose(scale, ref_scale, rtol=1e-12)
    assert not shift_item.any()
    for kind in ("none", "user", "biases"):
        params = fit_normalization(R, kind, 5.0)
        z = normalize(R, *params)
        np.testing.assert_allclose(denormalize(z, R.rows(), R.indices, *params), R.values, rtol=1e-12)


def test_bias_residual_spread_is_shrunk_toward_the_global_one():
    X = np.array([[5.0, 1.0, 0.0], [3.0, 3.0, 3.0], [0.0, 0.0, 4.0]])
    R = load_ratings(X)
    mu, bu, bi = fit_biases(R)
    shift_user, shift_item, scale = fit_normalization(R, "biases", 5.0)
    e = R.values - mu - bu[R.rows()] - bi[R.indices]
    counts = R.user_counts()
    expected = np.sqrt((np.bincount(R.rows(), weights=e ** 2) + 5.0 * np.mean(e ** 2)) / (counts + 5.0))
    np.testing.assert_allclose(scale, expected, rtol=1e-12)
    np.testing.assert_allclose(shift_user, mu + bu)
    np.testing.assert_allclose(shift_item, bi)


def test_fallback_for_unseen_users_and_items_and_id_checks():
    X = np.array([[5.0, 1.0, 0.0, 0.0], [3.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    m = BiasBaseline().fit(X)
    # user 2 has no rating: item means; item 3 has no rating: the global mean
    np.testing.assert_allclose(m.predict([2, 2, 2, 0], [0, 1, 3, 3]), [4.0, 1.0, 11 / 4, 11 / 4])
    known = m.predict([0], [2])[0]
    assert known == pytest.approx(m.mean_ + m.user_bias_[0] + m.item_bias_[2])
    assert GlobalMean().fit(X).predict([0, 1], [1, 2]).tolist() == [11 / 4, 11 / 4]
    with pytest.raises(ValueError, match="user index 3"):
        m.predict([3], [0])
    with pytest.raises(ValueError, match="item index -1"):
        m.predict([0], [-1])
    with pytest.raises(ValueError, match="not fitted"):
        BiasBaseline().predict([0], [0])
    with pytest.raises(ValueError, match="reg_user"):
        BiasBaseline(reg_user=-1.0).fit(X)
