"""The mixture-of-factor-analysers kernels and M-step against the naive dense references."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from fastem import load_ratings
from fastem.diagonal import DiagonalMixture
from fastem.mfa import FactorMixture, FactorParams, Prior, e_step, m_step
from fastem._kernels import mfa
from strategies import masked_matrices

RTOL = 1e-10


def random_params(seed, d, K, q):
    """(means (K, d), loadings (K, d, q), noise (K, d), weights (K,))."""
    rng = np.random.default_rng(seed)
    w = rng.random(K) + 0.05
    return (rng.normal(3.0, 1.0, (K, d)), rng.normal(0.0, 0.7, (K, d, q)), rng.uniform(0.3, 2.0, (K, d)),
            w / w.sum())


def kernel_params(means, loadings, noise, weights):
    return FactorParams(np.ascontiguousarray(means.T), np.ascontiguousarray(loadings.transpose(1, 0, 2)),
                        np.ascontiguousarray(noise.T), weights)


@st.composite
def problems(draw, max_factors=3):
    X, mask = draw(masked_matrices())
    K = draw(st.integers(1, 3))
    q = draw(st.integers(0, max_factors))
    return X, mask, random_params(draw(st.integers(0, 2**32 - 1)), X.shape[1], K, q)


@settings(max_examples=30, deadline=None)
@given(problems())
def test_posteriors_match_naive(problem):
    X, mask, (means, loadings, noise, weights) = problem
    R = load_ratings(X)
    p = kernel_params(means, loadings, noise, weights)
    resp, fmean, user_ll = mfa.posteriors(R.indptr, R.indices, R.values, p.means_t, p.loadings, p.noise,
                                          p.log_weights())
    ref_resp, ref_mean, _, ref_ll = naive.mfa_estep(X, mask, means, loadings, noise, weights)
    np.testing.assert_allclose(resp, ref_resp, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fmean, ref_mean, rtol=1e-9, atol=1e-10)
    assert user_ll.sum() == pytest.approx(ref_ll, rel=RTOL)


@settings(max_examples=30, deadline=None)
@given(problems(), st.sampled_from([(1.0, 0.0, 0.0, 0.0), (3.0, 2.0, 1.5, 4.0)]))
def test_statistics_and_map_m_step_match_naive(problem, strengths):
    X, mask, (means, loadings, noise, weights) = problem
    R = load_ratings(X)
    d = X.shape[1]
    alpha, kappa, lam, nu = strengths
    m0 = np.linspace(2.0, 4.0, d)
    prior = Prior(alpha, kappa, lam, nu, m0, 1.3)
    p = kernel_params(means, loadings, noise, weights)
    stats, bound, ll = e_step(mfa.both_ways(R.indptr, R.indices, R.values, d), p, prior)
    resp, fmean, fcov, ref_ll = naive.mfa_estep(X, mask, means, loadings, noise, weights)
    gram, cross, sq = naive.mfa_statistics(X, mask, resp, fmean, fcov)
    assert ll == pytest.approx(ref_ll, rel=RTOL)
    assert bound - ll == pytest.approx(naive.mfa_log_prior(means, loadings, noise, weights, alpha, kappa, lam, nu,
                                                           m0, 1.3), rel=RTOL, abs=1e-9)
    np.testing.assert_allclose(stats[0], resp.sum(axis=0), rtol=RTOL)
    np.testing.assert_allclose(np.tril(stats[1]), np.tril(gram), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(stats[2], cross, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(stats[3], sq, rtol=1e-9, atol=1e-10)
    if kappa == 0 and (~mask).all(axis=0).any():
        return  # an unrated item has no ML mean: the kernel keeps it, the naive solve is singular
    new = m_step(stats, p, prior, 1e-3)
    ref = naive.mfa_mstep(gram, cross, sq, resp.sum(axis=0), X.shape[0], alpha, kappa, lam, nu, m0, 1.3, 1e-3)
    got = (new.means_t.T, new.loadings.transpose(1, 0, 2), new.noise.T, new.weights)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-9)


@settings(max_examples=10, deadline=None)
@given(problems(max_factors=2))
def test_statistics_do_not_depend_on_thread_count(problem):
    import numba

    X, _, params = problem
    R = load_ratings(X)
    p = kernel_params(*params)
    args = (mfa.both_ways(R.indptr, R.indices, R.values, X.shape[1]), p.means_t, p.loadings, p.noise, p.log_weights())
    one = mfa.em_statistics(*args, 1)
    many = mfa.em_statistics(*args, numba.config.NUMBA_NUM_THREADS)
    for a, b in zip(one, many):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=20, deadline=None)
@given(problems())
def test_predictions_are_posterior_weighted_conditional_means(problem):
    X, mask, (means, loadings, noise, weights) = problem
    p = kernel_params(means, loadings, noise, weights)
    resp, fmean, _, _ = naive.mfa_estep(X, mask, means, loadings, noise, weights)
    users, items = np.nonzero(np.ones_like(mask))
    got = mfa.predict_pairs(resp, fmean, p.means_t, p.loadings, users, items)
    ref = np.einsum("uj,uji->ui", resp, means[None] + np.einsum("jiq,ujq->uji", loadings, fmean))
    np.testing.assert_allclose(got, ref[users, items], rtol=RTOL, atol=1e-12)


def planted_factors(n=150, d=30, seed=0):
    rng = np.random.default_rng(seed)
    U, V = rng.normal(size=(n, 2)), rng.normal(size=(d, 2))
    X = np.clip(np.round(3.2 + U @ V.T * 0.8 + rng.normal(0, 0.3, (n, d))), 1, 5)
    return load_ratings(np.where(rng.random((n, d)) < 0.6, X, 0.0))


def test_fit_increases_the_log_posterior_and_beats_the_diagonal_model():
    train, test = planted_factors().split(0.2, seed=0)
    m = FactorMixture(n_components=2, n_factors=2, seeds=[0, 1], tol=1e-8, max_iter=300).fit(train)
    assert np.all(np.diff(m.history_) >= -1e-9 * np.abs(m.history_[1:]))
    assert m.log_posterior_ == pytest.approx(m.history_[-1])
    diag = DiagonalMixture(n_components=2, seeds=[0, 1]).fit(train)
    truth = test.values.astype(float)
    err = np.sqrt(np.mean((m.predict(test.rows(), test.indices) - truth) ** 2))
    err_diag = np.sqrt(np.mean((diag.predict(test.rows(), test.indices) - truth) ** 2))
    assert err < err_diag - 0.05
    assert m.n_parameters() == 2 * 2 * 30 + 2 * (30 * 2 - 1) + 1
    assert m.bic() == pytest.approx(-2 * m.log_likelihood_ + m.n_parameters() * np.log(150))


def test_parameters_are_validated_and_the_caller_data_untouched():
    R = planted_factors(40, 10)
    values = R.values.copy()
    for bad, match in [(dict(n_components=0), "n_components"), (dict(n_factors=-1), "n_factors"),
                       (dict(normalize="z"), "normalize"), (dict(weight_concentration=0.5), "weight_concentration"),
                       (dict(min_variance=0.0), "min_variance")]:
        with pytest.raises(ValueError, match=match):
            FactorMixture(**bad).fit(R)
    FactorMixture(n_components=1, n_factors=1, seeds=[0], max_iter=3).fit(R)
    np.testing.assert_array_equal(R.values, values)


def test_statistics_over_several_tiles_and_blocks_match_naive():
    """Large enough (q = 20, K = 2) that the E-step and the M-step each go through several tiles
    of the item table and of the users' moments, and through several blocks of users and items."""
    rng = np.random.default_rng(5)
    n, d, K, q = 150, 300, 2, 20
    mask = rng.random((n, d)) < 0.6
    X = np.where(mask, rng.integers(1, 6, (n, d)), 0).astype(float)
    means, loadings, noise, weights = random_params(7, d, K, q)
    loadings *= 0.2
    R = load_ratings(X)
    p = kernel_params(means, loadings, noise, weights)
    ll, resp_sum, gram, cross, sq = mfa.em_statistics(mfa.both_ways(R.indptr, R.indices, R.values, d), p.means_t,
                                                      p.loadings, p.noise, p.log_weights(), 3)
    resp, fmean, fcov, ref_ll = naive.mfa_estep(X, mask, means, loadings, noise, weights)
    ref_gram, ref_cross, ref_sq = naive.mfa_statistics(X, mask, resp, fmean, fcov)
    assert ll == pytest.approx(ref_ll, rel=RTOL)
    np.testing.assert_allclose(resp_sum, resp.sum(axis=0), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.tril(gram), np.tril(ref_gram), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(cross, ref_cross, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(sq, ref_sq, rtol=1e-8, atol=1e-8)
