"""fastem.KMeans beside scikit-learn's lloyd KMeans from the same starting centres.

Per Lloyd iteration, 2 threads, on 200,000 x 16 (K = 8) and 1,000,000 x 32 (K = 64) points;
``extra_info["ms_per_iter"]`` is the fit's wall time divided by its iterations.
Run: ``pytest benchmarks/bench_kmeans.py --benchmark-columns=mean,rounds``.
"""
import time

import numpy as np
import pytest

import fastem
from fastem.kmeans import initial_centers

ITERATIONS, THREADS = 10, 2
SHAPES = [(200_000, 16, 8), (1_000_000, 32, 64)]


@pytest.fixture(scope="module", params=SHAPES, ids=lambda s: "x".join(map(str, s)))
def problem(request):
    n, d, K = request.param
    rng = np.random.default_rng(0)
    X = rng.normal(scale=3.0, size=(K, d))[rng.integers(K, size=n)] + rng.normal(size=(n, d))
    return X, K, initial_centers(X, K, "course", 0)


def sklearn_fit(X, K, centers):
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    with threadpool_limits(THREADS):
        return KMeans(K, init=centers, n_init=1, max_iter=ITERATIONS, tol=0.0, algorithm="lloyd").fit(X)


def fastem_fit(X, K, centers):
    # The course init with seed 0 picks exactly ``centers``.
    return fastem.KMeans(K, seeds=[0], max_iter=ITERATIONS, tol=0.0, n_threads=THREADS).fit(X)


@pytest.mark.parametrize("impl", ["fastem", "sklearn"])
def test_lloyd_iterations(benchmark, problem, impl):
    X, K, centers = problem
    fit = fastem_fit if impl == "fastem" else sklearn_fit
    fit(X[:5000], K, centers)  # compile / warm up outside the timing
    seconds = []

    def timed():
        t = time.perf_counter()
        model = fit(X, K, centers)
        seconds.append(time.perf_counter() - t)
        return model

    model = benchmark.pedantic(timed, rounds=2, iterations=1)
    benchmark.extra_info.update(impl=impl, shape=X.shape, K=K, threads=THREADS, n_iter=model.n_iter_,
                                ms_per_iter=1000 * min(seconds) / model.n_iter_)
