"""fastem.datasets.planted: exact size, valid CSR, deterministic for every thread count, recoverable types."""
import itertools

import numba
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fastem import MixtureCompleter, RatingMatrix
from fastem._kernels import planted as kernels
from fastem.datasets import planted


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 40), st.integers(1, 30), st.floats(0.0, 1.0), st.integers(1, 5), st.integers(0, 2**40))
def test_exact_size_valid_csr_and_ratings_one_to_five(n, d, fill, K, seed):
    nnz = int(fill * n * d)
    R, labels = planted(n, d, nnz, K, seed)
    RatingMatrix(R.indptr, R.indices, R.values, R.shape)  # every entry checked: range, strictly increasing
    assert R.shape == (n, d) and R.nnz == nnz
    assert R.indices.dtype == np.int32 and R.values.dtype == np.uint8
    assert set(np.unique(R.values)) <= {1, 2, 3, 4, 5}
    assert labels.shape == (n,) and labels.min() >= 0 and labels.max() < K
    assert R.user_counts().max(initial=0) <= d


def test_same_seed_same_matrix_for_every_thread_count():
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one, labels_one = planted(3000, 400, 90_000, 6, seed=7)
        numba.set_num_threads(previous)
        many, labels_many = planted(3000, 400, 90_000, 6, seed=7)
    finally:
        numba.set_num_threads(previous)
    for name in ("indptr", "indices", "values"):
        np.testing.assert_array_equal(getattr(one, name), getattr(many, name))
    np.testing.assert_array_equal(labels_one, labels_many)
    other, _ = planted(3000, 400, 90_000, 6, seed=8)
    assert not np.array_equal(other.indices, one.indices)


def test_heavy_users_and_a_full_matrix():
    R, _ = planted(5, 50, 250, 2, seed=1)  # every user rates every item: the exponential-keys path
    np.testing.assert_array_equal(R.user_counts(), [50] * 5)
    np.testing.assert_array_equal(R.indices, np.tile(np.arange(50), 5))


def test_popular_items_and_active_users_are_skewed():
    R, _ = planted(20_000, 1000, 400_000, 4, seed=2)
    per_item = np.sort(np.bincount(R.indices, minlength=1000))[::-1]
    per_user = np.sort(R.user_counts())[::-1]
    assert per_item[:10].mean() > 10 * per_item[-100:].mean()   # Zipf-like popularity
    assert per_user[:200].mean() > 5 * np.median(per_user)      # log-normal activity


def test_a_mixture_fit_recovers_the_planted_types():
    R, labels = planted(1500, 300, 60_000, 3, seed=4)
    m = MixtureCompleter(3, seeds=range(3), init="k-means++").fit(R)
    active = R.user_counts() >= 20   # a user with a handful of ratings can honestly be ambiguous
    found, truth = m.resp_.argmax(axis=1)[active], labels[active]
    agreement = max(np.mean(np.array(perm)[found] == truth) for perm in itertools.permutations(range(3)))
    assert active.sum() > 500 and agreement > 0.98


def test_alias_table_draws_follow_the_weights():
    weights = np.array([1.0, 2.0, 3.0, 4.0, 0.5])
    prob, alias = kernels.alias_table(weights)
    # the table's exact probability of each outcome: (prob_i + sum over j aliased to i of 1 - prob_j) / d
    exact = prob.copy()
    np.add.at(exact, alias, 1.0 - prob)
    np.testing.assert_allclose(exact / len(weights), weights / weights.sum(), rtol=1e-12)


def test_sampler_uniform_is_in_the_open_unit_interval_and_deterministic():
    state = np.zeros(1, dtype=np.uint64)
    kernels.user_stream(5, 11, state)
    draws = np.array([kernels.uniform(state) for _ in range(20_000)])
    assert 0.0 < draws.min() and draws.max() < 1.0
    assert abs(draws.mean() - 0.5) < 0.01
    kernels.user_stream(5, 11, state)
    assert kernels.uniform(state) == draws[0]


@pytest.mark.parametrize("args, message", [
    ((0, 5, 0), "n_users"), ((5, 0, 0), "n_items"), ((2, 3, 7), "n_ratings must be <= 6"),
    ((2, 3, -1), "n_ratings"),
])
def test_bad_sizes(args, message):
    with pytest.raises(ValueError, match=message):
        planted(*args)


@pytest.mark.parametrize("d", [4, 9])   # 2 of 4 items: exponential keys; 2 of 9: rejection of repeats
def test_items_are_drawn_one_after_another_without_replacement(d):
    weights = np.arange(1.0, d + 1.0)
    prob, alias = kernels.alias_table(weights)
    state, marked, out = np.zeros(1, dtype=np.uint64), np.zeros(d, dtype=np.bool_), np.empty(2, dtype=np.int64)
    n_draws = 20_000
    counts = np.zeros((d, d))
    for u in range(n_draws):
        kernels.user_stream(3, u, state)
        kernels.choose_items(prob, alias, weights, 2, state, marked, out)
        counts[out[0], out[1]] += 1
    assert not marked.any()
    W = weights.sum()
    for i in range(d):
        for j in range(i + 1, d):
            exact = weights[i] / W * weights[j] / (W - weights[i]) + weights[j] / W * weights[i] / (W - weights[j])
            sd = np.sqrt(exact * (1 - exact) / n_draws)
            assert abs(counts[i, j] / n_draws - exact) < 5 * sd + 1e-12
    assert np.triu(counts, 1).sum() == n_draws   # sorted, distinct
