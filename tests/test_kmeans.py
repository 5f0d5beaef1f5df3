"""fastem.KMeans: the course's loop and figures, NaN-masked Lloyd against tests/naive.py."""
import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from fastem import KMeans
from fastem.kmeans import initial_centers, initial_rows

#: The course's best-of-seeds-0..4 cost on toy_data.txt for K = 1..4.
COURSE_COSTS = {1: 5462.2975, 2: 1684.9080, 3: 1329.5949, 4: 1035.4998}


def points(n=300, d=2, K=3, seed=0):
    rng = np.random.default_rng(seed)
    return (5 * rng.normal(size=(K, d)))[np.arange(n) % K] + rng.normal(size=(n, d))


@pytest.mark.parametrize("K", sorted(COURSE_COSTS))
def test_course_costs_on_toy_data(reference_dir, K):
    X = np.loadtxt(reference_dir / "toy_data.txt", ndmin=2)
    km = KMeans(K, seeds=range(5)).fit(X)
    assert round(km.inertia_, 4) == COURSE_COSTS[K]
    best = min(range(5), key=lambda s: naive.kmeans_course(X, initial_centers(X, K, "course", s))[2])
    assert km.best_seed_ == best


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), d=st.integers(1, 5), K=st.integers(1, 5), missing=st.sampled_from([0.0, 0.25]),
       init=st.sampled_from(["course", "k-means++", "random"]), seed=st.integers(0, 2**31))
def test_lloyd_matches_naive(n, d, K, missing, init, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * 3  # continuous: no exactly equidistant points (see the module doc on ties)
    X[1:][rng.random((n - 1, d)) < missing] = np.nan  # row 0 complete: every column observed
    X[np.isnan(X).all(axis=1), 0] = 0.5
    K = min(K, n)
    km = KMeans(K, seeds=[seed % 1000], init=init).fit(X)
    centers, labels, cost, history = naive.kmeans_course(X, initial_centers(X, K, init, seed % 1000))
    np.testing.assert_allclose(km.cluster_centers_, centers, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(km.labels_, labels)
    assert km.inertia_ == pytest.approx(cost, rel=1e-10, abs=1e-10)
    np.testing.assert_allclose(km.history_, history, rtol=1e-10, atol=1e-10)
    assert km.n_iter_ == len(history)
    np.testing.assert_array_equal(km.predict(X), km.labels_ if len(history) < 300 else km.predict(X))


@pytest.mark.parametrize("missing", [0.0, 0.1])
def test_lloyd_matches_naive_beyond_one_vector(missing):
    """K = 19 centres (three 8-lane blocks, the last partial) and d = 11 coordinates."""
    rng = np.random.default_rng(5)
    n, d, K = 600, 11, 19
    X = (4 * rng.normal(size=(K, d)))[rng.integers(K, size=n)] + rng.normal(size=(n, d))
    X[1:][rng.random((n - 1, d)) < missing] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.5
    km = KMeans(K, seeds=[3], init="k-means++").fit(X)
    centers, labels, cost, history = naive.kmeans_course(X, initial_centers(X, K, "k-means++", 3))
    np.testing.assert_allclose(km.cluster_centers_, centers, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(km.labels_, labels)
    assert km.inertia_ == pytest.approx(cost, rel=1e-10)
    np.testing.assert_allclose(km.history_, history, rtol=1e-10)


def test_mixture_is_the_spherical_gaussians_of_the_clusters():
    X = points(seed=1)
    km = KMeans(3, seeds=[0]).fit(X)
    means, variances, weights = km.mixture_
    for k in range(3):
        members = X[km.labels_ == k]
        assert weights[k] == len(members) / len(X)
        np.testing.assert_allclose(means[k], members.mean(axis=0), rtol=1e-12)
        assert variances[k] == pytest.approx(((members - means[k]) ** 2).sum() / (2 * len(members)), rel=1e-12)
    assert km.inertia_ == pytest.approx(sum(((X[km.labels_ == k] - means[k]) ** 2).sum() for k in range(3)))


def test_seeds_override_n_init_and_keep_the_lowest_cost():
    X = points(K=5, seed=2)
    fits = [KMeans(5, seeds=[s]).fit(X) for s in range(6)]
    best = KMeans(5, seeds=range(6), n_init=1, random_state=99).fit(X)
    assert best.inertia_ == min(f.inertia_ for f in fits)
    assert best.best_seed_ == int(np.argmin([f.inertia_ for f in fits]))
    assert KMeans(5, n_init=3, random_state=4).fit(X).best_seed_ in (4, 5, 6)


def test_bit_identical_across_thread_counts():
    X = points(n=20000, d=4, K=6, seed=3)
    X[::5, 2] = np.nan
    before = numba.get_num_threads()
    a, b = (KMeans(6, init="k-means++", seeds=[1], n_threads=t).fit(X) for t in (1, 2))
    assert numba.get_num_threads() == before
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.history_, b.history_)


def test_empty_cluster_keeps_its_centre():
    """Both starting centres at 0: every point goes to centre 0 (ties -> lowest index) and the
    empty centre 1 stays at 0, which later wins the zeros."""
    X = np.array([[0.0], [0.0], [0.0], [5.0]])
    seed = next(s for s in range(100) if set(initial_rows(X, 2, "course", s)) <= {0, 1, 2})
    km = KMeans(2, seeds=[seed]).fit(X)
    assert km.history_[0] == 3 * 1.25 ** 2 + 3.75 ** 2
    assert km.inertia_ == 0.0
    np.testing.assert_array_equal(np.sort(km.cluster_centers_[:, 0]), [0.0, 5.0])


def test_kmeans_plus_plus_picks_distinct_rows():
    X = points(n=50, K=4, seed=4)
    rows = initial_rows(X, 10, "k-means++", 0)
    assert len(set(rows.tolist())) == 10


@pytest.mark.parametrize("model, X, match", [
    (KMeans(5), np.zeros((3, 2)), "n_samples=3 must be >= n_clusters=5"),
    (KMeans(2), np.array([[1.0, np.inf], [0.0, 1.0]]), "infinite"),
    (KMeans(2), np.array([[np.nan, np.nan], [0.0, 1.0], [1.0, 1.0]]), "every entry missing"),
    (KMeans(2, init="forgy"), np.zeros((3, 2)), "init must be one of"),
    (KMeans(2, seeds=[]), np.zeros((3, 2)), "seeds must not be empty"),
    (KMeans(0), np.zeros((3, 2)), "n_clusters must be >= 1"),
])
def test_bad_input_raises_value_error(model, X, match):
    with pytest.raises(ValueError, match=match):
        model.fit(X)
