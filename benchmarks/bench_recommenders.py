"""Fit time of every configured recommender on 90% of the Netflix subset, side by side in one run
(the course's spherical model and the baselines are the reference), with its held-out RMSE.

    pytest benchmarks/bench_recommenders.py          (FASTEM_DATA must point at the Netflix files)
"""
import numba
import pytest

from fastem import RECOMMENDERS, evaluate

NAMES = ["baseline-biases", "course-spherical", "diag-map", "mfa", "gaussian-plsa"]


@pytest.fixture(scope="module")
def split(netflix_data):
    R, _ = netflix_data
    return R.split(0.1, seed=0)


@pytest.mark.benchmark(group="recommender fit, Netflix subset 90%")
@pytest.mark.parametrize("name", NAMES)
def test_fit(benchmark, split, name):
    train, test = split
    evaluate(RECOMMENDERS[name](), train, test)  # warm the compiled kernels
    scores = benchmark.pedantic(lambda: evaluate(RECOMMENDERS[name](), train, test), rounds=2, iterations=1)
    benchmark.extra_info.update(threads=numba.get_num_threads(), **scores)
    assert scores["rmse"] < 1.0
