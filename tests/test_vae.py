"""The VAE: its ELBO and hand-written gradients against tests/naive.py, training, sampling, errors."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import fastem
from fastem import VAE
from fastem._kernels.vae import adam_ascent
from fastem.metrics import rmse
from fastem.ratings import from_dense
from fastem.vae import csr_rows, decode, elbo_and_gradients, flatten, init_network, network_layout, unflatten
import naive

LIKELIHOODS = ["gaussian", "bernoulli"]


def random_minibatch(likelihood, seed, B, d, H, L):
    """(layout, theta, x_in, target, mask, eps): a perturbed random network and a minibatch."""
    rng = np.random.default_rng(seed)
    layout = network_layout(d, H, L)
    theta = init_network(layout, rng.normal(0.0, 0.5), rng)
    theta += rng.normal(0.0, 0.3, theta.shape)
    if likelihood == "gaussian":
        target, mask = rng.normal(0.0, 1.0, (B, d)), (rng.random((B, d)) < 0.7).astype(float)
    else:
        target, mask = (rng.random((B, d)) < 0.4).astype(float), np.ones((B, d))
    return layout, theta, rng.normal(0.0, 1.0, (B, d)), target, mask, rng.normal(0.0, 1.0, (B, L))


def low_rank_ratings(seed, n=150, d=40, density=0.6):
    """An (n, d) array of ratings 1..5 from a rank-2 model, 0 = missing."""
    rng = np.random.default_rng(seed)
    full = 3.0 + rng.normal(0, 1, (n, 2)) @ rng.normal(0, 0.8, (2, d)) + rng.normal(0, 0.3, (n, d))
    return np.where(rng.random((n, d)) < density, np.clip(np.round(full), 1, 5), 0.0)


dims = dict(seed=st.integers(0, 2**31), B=st.integers(1, 4), d=st.integers(1, 5), H=st.integers(1, 4),
            L=st.integers(1, 3))


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
@settings(max_examples=25, deadline=None)
@given(**dims)
def test_elbo_matches_naive(likelihood, seed, B, d, H, L):
    layout, theta, x_in, target, mask, eps = random_minibatch(likelihood, seed, B, d, H, L)
    net = unflatten(theta, layout)
    elbo, _ = elbo_and_gradients(net, likelihood, x_in, target, mask, eps)
    np.testing.assert_allclose(elbo, naive.vae_elbo(net, likelihood, x_in, target, mask, eps), rtol=1e-10)


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
@settings(max_examples=20, deadline=None)
@given(**dims)
def test_gradients_match_central_differences(likelihood, seed, B, d, H, L):
    layout, theta, x_in, target, mask, eps = random_minibatch(likelihood, seed, B, d, H, L)

    def total_elbo(flat):
        return elbo_and_gradients(unflatten(flat, layout), likelihood, x_in, target, mask, eps)[0].sum()

    _, grads = elbo_and_gradients(unflatten(theta, layout), likelihood, x_in, target, mask, eps)
    analytic = flatten(grads, layout)
    numeric = naive.central_differences(total_elbo, theta)
    assert np.max(np.abs(analytic - numeric)) <= 1e-6 * np.max(np.abs(numeric))
    if likelihood == "bernoulli":
        assert analytic[-1] == 0.0   # the noise variance is not a bernoulli parameter


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), p=st.integers(1, 40), steps=st.integers(1, 5),
       learning_rate=st.sampled_from([1e-3, 0.1]))
def test_adam_kernel_matches_textbook_adam(seed, p, steps, learning_rate):
    rng = np.random.default_rng(seed)
    theta0 = rng.normal(0, 1, p)
    grads = [rng.normal(0, 10, p) for _ in range(steps)]
    theta, m, v = theta0.copy(), np.zeros(p), np.zeros(p)
    for t, g in enumerate(grads, start=1):
        adam_ascent(theta, 4.0 * g, m, v, 0.25, learning_rate, 0.9, 0.999, 1e-8, t)
    np.testing.assert_allclose(theta, naive.adam_ascent(theta0, grads, learning_rate), rtol=1e-12, atol=1e-14)


def test_csr_rows_and_item_means_match_the_dense_matrix():
    X = low_rank_ratings(0, n=30, d=12)
    X[:, 3] = 0.0
    R = from_dense(X)
    users = np.array([5, 0, 29, 5, 17])
    values, mask = csr_rows(R, R.values.astype(float), users)
    np.testing.assert_array_equal(values, X[users])
    np.testing.assert_array_equal(mask, (X[users] != 0).astype(float))
    want = [X[X[:, j] != 0, j].mean() if np.any(X[:, j]) else X[X != 0].mean() for j in range(12)]
    np.testing.assert_allclose(VAE(latent_dim=1, hidden_dim=2, epochs=1).fit(R).item_means_, want, rtol=1e-12)


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
def test_elbo_rises_over_training(likelihood):
    X = low_rank_ratings(1)
    if likelihood == "bernoulli":
        X = (X >= 3).astype(np.uint8)
    v = VAE(latent_dim=4, hidden_dim=32, likelihood=likelihood, epochs=30, batch_size=32,
            learning_rate=3e-3, random_state=0).fit(X)
    h = v.elbo_history_
    assert h.shape == (30,) and np.all(np.isfinite(h))
    assert h[-5:].mean() > h[:5].mean() + 0.05 * abs(h[:5].mean())
    assert np.sum(np.diff(h) > 0) >= 0.6 * (len(h) - 1)


def test_bernoulli_samples_are_binary_with_the_data_frequencies():
    rng = np.random.default_rng(2)
    p = np.linspace(0.05, 0.95, 12)
    X = (rng.random((500, 12)) < p).astype(float)
    v = VAE(latent_dim=2, hidden_dim=16, likelihood="bernoulli", epochs=40, batch_size=50,
            learning_rate=1e-2, dropout=0.0, random_state=0).fit(X)
    S = v.sample(4000, random_state=1)
    assert S.shape == (4000, 12)
    assert set(np.unique(S)) <= {0.0, 1.0}
    np.testing.assert_allclose(S.mean(axis=0), X.mean(axis=0), atol=0.06)


def test_gaussian_samples_have_the_data_moments():
    rng = np.random.default_rng(3)
    means = np.linspace(2.0, 4.0, 8)
    X = means + rng.normal(0.0, 0.5, (600, 8))
    v = VAE(latent_dim=2, hidden_dim=16, epochs=40, batch_size=50, learning_rate=1e-2, dropout=0.0,
            random_state=0).fit(X)
    S = v.sample(5000, random_state=1)
    assert S.shape == (5000, 8)
    np.testing.assert_allclose(S.mean(axis=0), X.mean(axis=0), atol=0.05)
    np.testing.assert_allclose(S.std(axis=0), X.std(axis=0), rtol=0.15)
    assert v.noise_variance_ == pytest.approx(0.25, rel=0.2)


def test_predict_and_transform_agree_and_check_ids():
    X = low_rank_ratings(4)
    X[7] = 0.0   # a user without ratings is predicted from the encoder's empty-row code
    v = VAE(latent_dim=3, hidden_dim=16, epochs=3, random_state=0).fit(X)
    Z = v.transform(X)
    assert Z.shape == (150, 3)
    users, items = np.array([0, 7, 7, 149]), np.array([39, 0, 5, 12])
    _, out = decode(v.params_, Z[users])
    want = np.clip(out[np.arange(4), items] + v.item_means_[items], 1.0, 5.0)
    np.testing.assert_allclose(v.predict(users, items), want, rtol=1e-12)
    assert v.predict(np.array([], dtype=int), np.array([], dtype=int)).shape == (0,)
    for bad in [(150, 0), (0, 40), (-1, 0)]:
        with pytest.raises(ValueError, match="outside"):
            v.predict([bad[0]], [bad[1]])
    with pytest.raises(ValueError, match="columns"):
        v.transform(X[:, :10])


def test_fit_is_reproducible_and_leaves_input_alone():
    X = low_rank_ratings(5)
    X[0, 0] = np.nan
    before = X.copy()
    a = VAE(latent_dim=2, hidden_dim=8, epochs=2, random_state=7).fit(X)
    b = VAE(latent_dim=2, hidden_dim=8, epochs=2, random_state=7).fit(sp.csr_matrix(np.nan_to_num(X)))
    np.testing.assert_array_equal(X, before)
    np.testing.assert_array_equal(a.elbo_history_, b.elbo_history_)
    assert a.get_params()["random_state"] == 7
    assert a.set_params(latent_dim=5).latent_dim == 5


@pytest.mark.parametrize("params, X, match", [
    (dict(likelihood="bernoulli"), np.array([[0, 1], [2, 0]]), "likelihood=.bernoulli. needs X to be binary"),
    (dict(likelihood="bernoulli"), sp.csr_matrix(np.eye(3)), r"X \(likelihood='bernoulli'\): sparse"),
    (dict(likelihood="bernoulli"), from_dense(np.eye(3)), r"X \(likelihood='bernoulli'\): a RatingMatrix"),
    (dict(likelihood="poisson"), np.eye(3), "likelihood"),
    (dict(latent_dim=0), np.eye(3), "latent_dim"),
    (dict(hidden_dim=0), np.eye(3), "hidden_dim"),
    (dict(epochs=0), np.eye(3), "epochs"),
    (dict(batch_size=0), np.eye(3), "batch_size"),
    (dict(learning_rate=0.0), np.eye(3), "learning_rate"),
    (dict(dropout=1.0), np.eye(3), "dropout"),
    (dict(), np.zeros((3, 3)), "no observed ratings"),
])
def test_bad_input_raises(params, X, match):
    with pytest.raises(ValueError, match=match):
        VAE(**params).fit(X)


def test_use_before_fit_raises():
    with pytest.raises(ValueError, match="not fitted"):
        VAE().predict([0], [0])
    with pytest.raises(ValueError, match="n_samples"):
        VAE(latent_dim=1, hidden_dim=2, epochs=1).fit(np.eye(3) + 1).sample(0)


def test_netflix_holdout_rmse_beats_the_global_mean(reference_dir):
    R, _ = fastem.datasets.netflix()
    train, test = R.split(0.1, seed=0)
    v = VAE(epochs=10, random_state=0).fit(train)   # an eighth of the default epochs, to keep the test short
    vae_rmse = rmse(v.predict(test.rows(), test.indices), test.values)
    global_rmse = rmse(np.full(test.nnz, train.values.mean()), test.values)
    assert global_rmse > 1.0
    assert vae_rmse < 0.85 < global_rmse - 0.15
    assert v.elbo_history_[-1] > v.elbo_history_[0]
