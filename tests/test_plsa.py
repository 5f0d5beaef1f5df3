"""Gaussian pLSA: the kernel against the naive per-rating posteriors, the MAP M-step, early stopping."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from fastem import load_ratings
from fastem.chunks import balanced_chunks
from fastem.mfa import Prior
from fastem.plsa import GaussianPLSA, e_step, m_step
from fastem._kernels import plsa
from strategies import masked_matrices


def random_state(seed, n, d):
    rng = np.random.default_rng(seed)
    K = rng.integers(1, 4)
    return rng.dirichlet(np.ones(K), n), rng.normal(3, 1, (K, d)), rng.uniform(0.3, 2.0, (K, d))


@settings(max_examples=30, deadline=None)
@given(masked_matrices(), st.integers(0, 2**32 - 1), st.integers(1, 6),
       st.sampled_from([(1.0, 0.0, 0.0), (2.5, 1.5, 3.0)]))
def test_statistics_and_m_step_match_naive(Xm, seed, n_chunks, strengths):
    X, mask = Xm
    n, d = X.shape
    theta, means, variances = random_state(seed, n, d)
    alpha, kappa, nu = strengths
    m0 = np.linspace(2.0, 4.0, d)
    prior = Prior(alpha, kappa, 0.0, nu, m0, 1.2)
    R = load_ratings(X)
    params = (theta, np.ascontiguousarray(means.T), np.ascontiguousarray(variances.T))
    ratings = plsa.by_chunk_and_item(R.indptr, R.indices, R.values, balanced_chunks(R.indptr, n_chunks, 1), d)
    stats, bound, ll = e_step(ratings, params, prior)
    post, ref_ll = naive.plsa_estep(X, mask, theta, means, variances)
    assert ll == pytest.approx(ref_ll, rel=1e-10)
    user_counts, s0, s1, s2 = stats
    np.testing.assert_allclose(user_counts, post.sum(axis=1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s0, post.sum(axis=0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s1, np.einsum("uiz,ui->iz", post, X), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s2, np.einsum("uiz,ui->iz", post, X ** 2), rtol=1e-10, atol=1e-12)
    theta_new, means_t, noise = m_step(stats, params, prior, 1e-3)
    counts = post.sum(axis=1) + alpha - 1
    totals = counts.sum(axis=1, keepdims=True)
    expected = np.where(totals > 0, counts / np.where(totals > 0, totals, 1), 1 / counts.shape[1])
    np.testing.assert_allclose(theta_new, expected, rtol=1e-10, atol=1e-12)
    # the item Gaussians: the same MAP step as the diagonal mixture (naive.mfa_mstep with q = 0)
    K = theta.shape[1]
    if kappa == 0 and (~mask).all(axis=0).any():
        return
    ref_means, _, ref_noise, _ = naive.mfa_mstep(post.sum(axis=0)[..., None, None], np.einsum("uiz,ui->iz", post, X)[..., None],
                                                 np.einsum("uiz,ui->iz", post, X ** 2), np.ones(K), n, 1.0,
                                                 kappa, 0.0, nu, m0, 1.2, 1e-3)
    np.testing.assert_allclose(means_t.T, ref_means, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(noise.T, ref_noise, rtol=1e-9, atol=1e-10)


@settings(max_examples=10, deadline=None)
@given(masked_matrices(max_users=60, max_items=10), st.integers(0, 2**32 - 1))
def test_statistics_do_not_depend_on_thread_count(Xm, seed):
    import numba

    X, _ = Xm
    R = load_ratings(X)
    theta, means, variances = random_state(seed, *X.shape)
    args = (plsa.by_chunk_and_item(R.indptr, R.indices, R.values, balanced_chunks(R.indptr, 8, 1), X.shape[1]),
            np.ascontiguousarray(means.T), np.ascontiguousarray(variances.T), np.log(theta))
    for a, b in zip(plsa.em_statistics(*args, 1), plsa.em_statistics(*args, numba.config.NUMBA_NUM_THREADS)):
        np.testing.assert_array_equal(a, b)


def test_fit_learns_user_profiles_and_stops_early():
    rng = np.random.default_rng(0)
    n, d = 150, 24
    profile = np.where(np.arange(d)[None, :] % 2 == np.arange(2)[:, None], 4.6, 1.6)
    mixing = rng.dirichlet([0.3, 0.3], n)
    X = np.clip(np.round(mixing @ profile + rng.normal(0, 0.3, (n, d))), 1, 5)
    train, test = load_ratings(np.where(rng.random((n, d)) < 0.6, X, 0.0)).split(0.2, seed=0)
    truth = test.values.astype(float)
    m = GaussianPLSA(n_components=2, seeds=[0, 1], patience=3, normalize="none").fit(train)
    curve = m.validation_rmse_
    assert len(curve) >= 1 and m.n_iter_ == int(np.argmin(curve)) + 1
    assert np.all(np.diff(m.history_) >= -1e-9 * np.abs(m.history_[1:]))
    err = np.sqrt(np.mean((m.predict(test.rows(), test.indices) - truth) ** 2))
    assert err < 0.6 * np.sqrt(np.mean((truth - train.values.mean()) ** 2))
    assert m.theta_.shape == (n, 2) and np.allclose(m.theta_.sum(axis=1), 1.0)
    assert m.n_parameters() == n + 2 * 2 * d
    with pytest.raises(ValueError, match="validation"):
        GaussianPLSA(validation=1.0).fit(train)


def test_early_stopping_then_finishing_iterations_on_all_ratings():
    rng = np.random.default_rng(1)
    X = np.where(rng.random((80, 12)) < 0.7, rng.integers(1, 6, (80, 12)), 0).astype(float)
    R = load_ratings(X)
    m = GaussianPLSA(n_components=2, seeds=[0], finish_iter=3, tol=0.0, normalize="none").fit(R)
    assert m.n_iter_ == int(np.argmin(m.validation_rmse_)) + 1
    assert len(m.history_) == 3 and m.log_posterior_ == m.history_[-1]
    with pytest.raises(ValueError, match="finish_iter"):
        GaussianPLSA(finish_iter=0).fit(R)
