"""select_k: concurrent fits equal sequential ones, JSON-lines streaming and resume, any estimator
class, held-out RMSE, Dask tasks."""
import json

import numpy as np
import pytest

from fastem import MixtureCompleter, select_k
from fastem.datasets import planted
from fastem.metrics import bic, rmse

KS, SEEDS = [1, 2, 3], [0, 1]


class Counted(MixtureCompleter):
    """A MixtureCompleter that records every (K, seed) it fits."""

    calls: list = []

    def fit(self, R):
        Counted.calls.append((self.n_components, self.seeds[0]))
        return super().fit(R)


@pytest.fixture(scope="module")
def R():
    return planted(300, 40, 4000, 2, seed=9)[0]


@pytest.fixture(scope="module")
def sequential(R):
    return select_k(R, KS, SEEDS, tol=1e-4)


def summary(rows):
    return [(r["k"], r["best_seed"], r["log_likelihood"], r["bic"], r["n_iter"], r["best"]) for r in rows]


def test_rows_are_the_best_of_seeds_of_each_k(R, sequential):
    for row in sequential:
        whole = MixtureCompleter(row["k"], seeds=SEEDS, tol=1e-4).fit(R)
        assert (row["best_seed"], row["log_likelihood"], row["n_iter"]) == \
            (whole.best_seed_, whole.log_likelihood_, whole.n_iter_)
        assert row["bic"] == bic(whole.log_likelihood_, whole.n_parameters(), R.n_users)
        assert whole.n_parameters() == row["k"] * (R.n_items + 2) - 1
        np.testing.assert_array_equal(row["model"].means_, whole.means_)
    assert [r["best"] for r in sequential] == [r["bic"] == min(x["bic"] for x in sequential) for r in sequential]


def test_threads_give_the_sequential_rows(R, sequential):
    assert summary(select_k(R, KS, SEEDS, n_jobs=2, tol=1e-4)) == summary(sequential)


def test_results_stream_to_json_lines_and_a_sweep_resumes(R, sequential, tmp_path):
    path = tmp_path / "fits.jsonl"
    Counted.calls.clear()
    first = select_k(R, KS, SEEDS, model=Counted, results=path, tol=1e-4)
    assert summary(first) == summary(sequential)
    lines = path.read_text().splitlines()
    assert sorted((json.loads(x)["k"], json.loads(x)["seed"]) for x in lines) == sorted(Counted.calls)
    assert len(lines) == len(KS) * len(SEEDS)
    # interrupted: the last two fits are missing and the line being written was cut off
    path.write_text("\n".join(lines[:-2]) + "\n" + lines[-2][:25])
    missing = {(json.loads(x)["k"], json.loads(x)["seed"]) for x in lines[-2:]}
    Counted.calls.clear()
    resumed = select_k(R, KS, SEEDS, model=Counted, results=path, tol=1e-4)
    assert set(Counted.calls) == missing and len(Counted.calls) == 2
    assert summary(resumed) == summary(sequential)
    assert len(path.read_text().splitlines()) == len(KS) * len(SEEDS)
    fitted_now = {row["k"] for row in resumed if row["model"] is not None}
    assert fitted_now == {row["k"] for row in resumed if (row["k"], row["best_seed"]) in missing}
    Counted.calls.clear()
    assert summary(select_k(R, KS, SEEDS, model=Counted, results=path, tol=1e-4)) == summary(sequential)
    assert Counted.calls == []


def test_a_results_file_of_another_sweep_is_refused(R, tmp_path):
    path = tmp_path / "fits.jsonl"
    select_k(R, [1], [0], results=path, tol=1e-4)
    with pytest.raises(ValueError, match="fits.jsonl:1: written by another sweep"):
        select_k(R, [1], [0], results=path, tol=1e-3)
    path.write_text("not json\n")
    with pytest.raises(ValueError, match="fits.jsonl:1: not a select_k results line"):
        select_k(R, [1], [0], results=path, tol=1e-4)


def test_heldout_rmse_scores_the_hidden_ratings(R):
    rows = select_k(R, [1, 2], [0], criterion="heldout_rmse", tol=1e-4, init="k-means++")
    train, test = R.split(0.1, seed=0)
    for row in rows:
        model = MixtureCompleter(row["k"], seeds=[0], tol=1e-4, init="k-means++").fit(train)
        assert row["log_likelihood"] == model.log_likelihood_
        assert row["heldout_rmse"] == rmse(model.predict(test.rows(), test.indices), test.values)
    assert [r["best"] for r in rows] == [r["heldout_rmse"] == min(x["heldout_rmse"] for x in rows) for r in rows]
    assert rows[1]["heldout_rmse"] < rows[0]["heldout_rmse"] - 0.03   # the two planted types help prediction


def test_bad_arguments(R):
    with pytest.raises(ValueError, match="model must be one of"):
        select_k(R, model="nope")
    with pytest.raises(ValueError, match="model must be one of .* or an estimator class"):
        select_k(R, model=3)
    with pytest.raises(ValueError, match="criterion must be one of"):
        select_k(R, criterion="aic")
    with pytest.raises(ValueError, match="n_jobs must be >= 1"):
        select_k(R, n_jobs=0)


def test_dask_tasks_give_the_sequential_rows(R, sequential):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as c, \
            distributed.Client(c) as client:
        assert summary(select_k(R, KS, SEEDS, client=client, tol=1e-4)) == summary(sequential)


def test_cli_results_file_resumes_and_scores_fits_read_back(R, tmp_path, capsys):
    from fastem.cli import main

    X = R.to_dense()
    np.savetxt(tmp_path / "x.txt", X, fmt="%d")
    np.savetxt(tmp_path / "gold.txt", np.where(X == 0, 3, X), fmt="%d")
    args = ["fit", str(tmp_path / "x.txt"), "-k", "1", "2", "--seeds", "0-1", "--json", "--tol", "1e-4",
            "--gold", str(tmp_path / "gold.txt"), "--results", str(tmp_path / "r.jsonl")]
    assert main(args + ["--jobs", "2"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 4
    assert main(args + ["--threads", "1"]) == 0   # every fit read back; the best seeds refit for --gold
    again = json.loads(capsys.readouterr().out)
    for a, b in zip(first, again):
        untimed = [{k: row[k] for k in row if k != "seconds"} for row in (a, b)]
        assert untimed[0] == untimed[1]
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 4
