"""fastem.distributed on a LocalCluster of 2 worker processes: the single-machine result, from every source,
even when a worker is killed mid-fit; clear errors for bad sources and clusters."""
import os
import signal

import numpy as np
import pytest

from fastem import MixtureCompleter
from fastem.datasets import planted

distributed = pytest.importorskip("distributed")
from fastem import distributed as fd  # noqa: E402

SEEDS = [0, 1]
FIT = dict(seeds=SEEDS, tol=1e-4)   # a short fit: the test is equality, not convergence


def local_cluster(processes: bool):
    return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=":0")


@pytest.fixture(scope="module")
def client():
    """Two workers as threads of this process: quick, and every block still moves through Dask."""
    with local_cluster(processes=False) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def ratings():
    R, _ = planted(1200, 150, 30_000, 3, seed=5)
    return R


@pytest.fixture(scope="module")
def single(ratings):
    return {init: MixtureCompleter(3, init=init, **FIT).fit(ratings) for init in ("course", "random")}


def assert_same_fit(got, want):
    assert got.log_likelihood_ == pytest.approx(want.log_likelihood_, rel=1e-9)
    assert (got.n_iter_, got.best_seed_, got.converged_) == (want.n_iter_, want.best_seed_, want.converged_)
    np.testing.assert_allclose(got.history_, want.history_, rtol=1e-9)
    np.testing.assert_allclose(got.means_, want.means_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.variances_, want.variances_, rtol=1e-9)
    np.testing.assert_allclose(got.weights_, want.weights_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got.resp_, want.resp_, rtol=1e-9, atol=1e-9)


def test_in_memory_source_equals_the_single_machine_fit(client, ratings, single):
    got = fd.fit(client, ratings, 3, **FIT, n_blocks=5)
    assert_same_fit(got, single["course"])
    users, items = np.array([0, 7, 1199]), np.array([3, 0, 149])
    np.testing.assert_allclose(got.predict(users, items), single["course"].predict(users, items), rtol=1e-9)


def test_one_pass_blocks_equal_the_single_machine_fit(client, ratings, single):
    """Workers that sweep their blocks once (passes=1) reach the two-pass single-machine fit."""
    got = fd.fit(client, ratings, 3, **FIT, n_blocks=3, passes=1)
    assert_same_fit(got, single["course"])
    assert got.passes == 1
    with pytest.raises(ValueError, match="passes must be one of"):
        fd.fit(client, ratings, 3, passes=3)


def test_saved_file_and_block_files_equal_the_single_machine_fit(client, ratings, single, tmp_path):
    ratings.save(tmp_path / "all.npz")
    assert_same_fit(fd.fit(client, tmp_path / "all.npz", 3, **FIT, init="random"), single["random"])
    paths = []
    for k, (lo, hi) in enumerate([(0, 500), (500, 501), (501, 1200)]):
        a, b = ratings.indptr[lo], ratings.indptr[hi]
        part = type(ratings)(ratings.indptr[lo:hi + 1] - a, ratings.indices[a:b], ratings.values[a:b],
                             (hi - lo, ratings.n_items))
        part.save(tmp_path / f"block{k}.npz")
        paths.append(tmp_path / f"block{k}.npz")
    assert_same_fit(fd.fit(client, paths, 3, **FIT), single["course"])


def test_a_worker_killed_mid_fit_loses_nothing(ratings, single):
    with local_cluster(processes=True) as cluster, distributed.Client(cluster) as client:
        kill_a_worker_mid_fit(client, ratings, single)


def kill_a_worker_mid_fit(client, ratings, single):
    killed = []

    def kill_a_worker(iteration, log_likelihood, params):
        if iteration == 3 and not killed:
            pid = next(iter(client.run(os.getpid).values()))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    got = fd.fit(client, ratings, 3, **FIT, n_blocks=4, callback=kill_a_worker)
    assert killed
    assert_same_fit(got, single["course"])
    client.wait_for_workers(2, timeout=60)
    assert killed[0] not in client.run(os.getpid).values()   # the worker was really replaced


def test_bad_sources_and_parameters(client, ratings, tmp_path):
    ratings.save(tmp_path / "a.npz")
    type(ratings)([0, 1], [0], [4.0], (1, 7)).save(tmp_path / "narrow.npz")
    with pytest.raises(ValueError, match="narrow.npz has 7 items, but block .*a.npz has 150"):
        fd.fit(client, [tmp_path / "a.npz", tmp_path / "narrow.npz"], 3)
    data = (tmp_path / "a.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) - 100])
    with pytest.raises(ValueError, match="cut.npz: truncated or corrupt"):
        fd.fit(client, tmp_path / "cut.npz", 3)
    with pytest.raises(ValueError, match="init must be one of"):
        fd.fit(client, ratings, 3, init="k-means++")
    with pytest.raises(ValueError, match="n_components=2000 exceeds"):
        fd.fit(client, ratings, 2000)


def test_a_client_without_workers():
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as empty:
        with pytest.raises(ValueError, match="no workers"):
            fd.fit(empty, np.eye(3) + 1, 1)
