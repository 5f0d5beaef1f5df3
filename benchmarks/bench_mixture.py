"""fastem.GaussianMixture beside scikit-learn's, from the same start, per covariance type.

n = 200,000, d = 16, K = 8, 20 EM iterations (tol=0), 2 threads. Both estimators get the same
weights_init / means_init / precisions_init; ``extra_info["ms_per_iter"]`` is the fit's wall time
divided by its iterations (the fit also validates the input and runs one final E-step).
Run: ``pytest benchmarks/bench_mixture.py --benchmark-columns=mean,rounds``.
"""
import time
import warnings

import numpy as np
import pytest

import fastem

N, D, K, ITERATIONS, THREADS = 200_000, 16, 8, 20, 2
KINDS = ["spherical", "diag", "tied", "full"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=3.0, size=(K, D))
    X = centers[rng.integers(K, size=N)] + rng.normal(size=(N, D)) @ (0.3 * rng.normal(size=(D, D)) + np.eye(D))
    return X


def start(X, kind):
    """The shared starting parameters: uniform weights, K data rows as means, unit precisions."""
    precisions = {"full": np.stack([np.eye(D)] * K), "tied": np.eye(D), "diag": np.ones((K, D)),
                  "spherical": np.ones(K)}[kind]
    return dict(n_components=K, covariance_type=kind, max_iter=ITERATIONS, tol=0.0, weights_init=np.full(K, 1.0 / K),
                means_init=X[np.linspace(0, len(X) - 1, K).astype(int)], precisions_init=precisions)


def sklearn_fit(X, kind):
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    with threadpool_limits(THREADS), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GaussianMixture(init_params="random_from_data", random_state=0, **start(X, kind)).fit(X)


def fastem_fit(X, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fastem.GaussianMixture(n_threads=THREADS, **start(X, kind)).fit(X)


@pytest.mark.parametrize("impl", ["fastem", "sklearn"])
@pytest.mark.parametrize("kind", KINDS)
def test_em_iterations(benchmark, data, kind, impl):
    fit = fastem_fit if impl == "fastem" else sklearn_fit
    fit(data[:2000], kind) if impl == "fastem" else None  # compile outside the timing
    seconds = []

    def timed():
        t = time.perf_counter()
        model = fit(data, kind)
        seconds.append(time.perf_counter() - t)
        return model

    model = benchmark.pedantic(timed, rounds=2, iterations=1)
    assert model.n_iter_ == ITERATIONS
    benchmark.extra_info.update(impl=impl, kind=kind, threads=THREADS, n_iter=model.n_iter_,
                                ms_per_iter=1000 * min(seconds) / model.n_iter_)
