"""The course reproduction run, fastem beside the dense NumPy reference in the same session.

    pytest benchmarks/bench_course.py          (FASTEM_DATA must point at the Netflix files)
"""
import os
import subprocess
import sys
import tempfile
import time

import numba
import pytest

import dense_reference
from fastem import MixtureCompleter
from fastem._kernels.masked import workspace as new_workspace
from fastem.completion import course_start, e_step, m_step

KS, SEEDS = (1, 12), range(5)


def fastem_run(R):
    return [MixtureCompleter(k, seeds=SEEDS).fit(R).log_likelihood_ for k in KS]


def reference_run(D):
    return [dense_reference.best_of_seeds(D, k, SEEDS)[0] for k in KS]


@pytest.mark.benchmark(group="reproduction K in {1,12} x seeds 0-4")
def test_reproduction_fastem(benchmark, netflix_data):
    R, _ = netflix_data
    fastem_run(R)  # warm the compiled kernels
    lls = benchmark.pedantic(fastem_run, args=(R,), rounds=3, iterations=1)
    benchmark.extra_info.update(threads=numba.get_num_threads(), log_likelihoods=lls)
    assert lls[1] == pytest.approx(-1390234.4223, abs=5e-5)


@pytest.mark.benchmark(group="reproduction K in {1,12} x seeds 0-4")
def test_reproduction_dense_numpy(benchmark, netflix_data):
    R, _ = netflix_data
    D = dense_reference.Dense(R.to_dense())
    lls = benchmark.pedantic(reference_run, args=(D,), rounds=3, iterations=1)
    benchmark.extra_info.update(log_likelihoods=lls)
    assert lls[1] == pytest.approx(-1390234.4223, abs=5e-5)


@pytest.mark.benchmark(group="one EM iteration, K=12")
def test_iteration_fastem(benchmark, netflix_data):
    R, _ = netflix_data
    params, workspace = course_start(R, 12, 1), new_workspace(R.n_users, 12)

    def iteration():
        stats, _ = e_step(R, params, workspace)
        return m_step(stats, params, R.n_users, 0.25, 1.0)

    iteration()
    benchmark(iteration)
    benchmark.extra_info["threads"] = numba.get_num_threads()


@pytest.mark.benchmark(group="one EM iteration, K=12")
def test_iteration_dense_numpy(benchmark, netflix_data):
    R, _ = netflix_data
    D = dense_reference.Dense(R.to_dense())
    params = dense_reference.course_init(D, 12, 1)

    def iteration():
        post, _ = dense_reference.e_step(D, *params)
        return dense_reference.m_step(D, post, params[0])

    benchmark(iteration)


@pytest.mark.benchmark(group="first run, compilation included")
def test_first_run_with_compilation(benchmark, netflix_data):
    """A fresh process with an empty Numba cache: what a new user waits for the first time."""
    code = ("import fastem; R, _ = fastem.datasets.netflix(); "
            "[fastem.MixtureCompleter(k, seeds=range(5)).fit(R) for k in (1, 12)]")

    def cold():
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=env, check=True)
            return time.perf_counter() - start

    seconds = benchmark.pedantic(cold, rounds=1, iterations=1)
    benchmark.extra_info["seconds"] = seconds
