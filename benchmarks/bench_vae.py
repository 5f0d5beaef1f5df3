"""Speed of the VAE: one training epoch over the Netflix subset's 90% training part.

Target: at most 1 s per epoch on 2 cores. Run with
``FASTEM_DATA=... pytest benchmarks/bench_vae.py --benchmark-only``.
"""
import pytest

import fastem


@pytest.fixture(scope="module")
def netflix_train():
    try:
        R, _ = fastem.datasets.netflix()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    return R.split(0.1, seed=0)[0]


def one_epoch(train):
    return fastem.VAE(epochs=1, random_state=0).fit(train)


def test_vae_epoch_netflix(benchmark, netflix_train):
    one_epoch(netflix_train)   # compile the Adam kernel outside the timing
    fitted = benchmark.pedantic(one_epoch, args=(netflix_train,), rounds=5, iterations=1)
    assert fitted.elbo_history_.shape == (1,)
