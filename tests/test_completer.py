"""MixtureCompleter's public behaviour: parameters, bad input, predictions, EM invariants."""
import json

import numpy as np
import pytest
from hypothesis import assume, given, settings

import naive
from fastem import MixtureCompleter, load_ratings, select_k
from fastem.cli import main, parse_seeds
from strategies import masked_matrices


def ratings(seed=0, n=40, d=12, density=0.6):
    rng = np.random.default_rng(seed)
    return np.where(rng.random((n, d)) < density, rng.integers(1, 6, (n, d)), 0).astype(float)


@settings(max_examples=25, deadline=None)
@given(masked_matrices(max_users=30, max_items=10, integer=True))
def test_fit_matches_the_naive_course_run(Xm):
    """The course's loop, except min_mean_weight: the course's 1 sits exactly on the weight of a
    user with one rating and a certain responsibility, where a 1e-16 difference in summation
    order flips which means move (the golden tests check 1 on the real data)."""
    X, mask = Xm
    assume(mask.any())
    K = min(3, X.shape[0])
    model = MixtureCompleter(K, seeds=[0], max_iter=50, min_mean_weight=0.7).fit(X)
    means, variances, weights = naive.course_init(X, K, 0)
    ref = naive.em_run(X, mask, means, np.maximum(variances, 0.25), weights, min_mean_weight=0.7, max_iter=50)
    assert model.n_iter_ == ref[4]
    assert model.log_likelihood_ == pytest.approx(ref[3], rel=1e-10)
    np.testing.assert_allclose(model.means_, ref[0], rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(model.variances_, ref[1], rtol=1e-8)
    history = model.history_
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[1:]))
    resp = model.predict_proba(X)
    assert np.all(np.isfinite(resp)) and np.allclose(resp.sum(axis=1), 1.0)


@pytest.mark.parametrize("init", ["course", "k-means++", "random"])
def test_every_init_fits_and_is_reproducible(init):
    X = ratings()
    a = MixtureCompleter(3, init=init, n_init=2, random_state=7).fit(X)
    b = MixtureCompleter(3, init=init, n_init=2, random_state=7).fit(X)
    assert a.best_seed_ in (7, 8)
    np.testing.assert_array_equal(a.means_, b.means_)
    assert a.log_likelihood_ == b.log_likelihood_
    assert np.isfinite(a.log_likelihood_) and a.means_.shape == (3, 12)
    assert np.all(a.variances_ >= 0.25) and a.weights_.sum() == pytest.approx(1.0)


def test_best_of_seeds_is_the_highest_log_likelihood():
    X = ratings(1)
    runs = [MixtureCompleter(4, seeds=[s]).fit(X).log_likelihood_ for s in range(4)]
    best = MixtureCompleter(4, seeds=range(4)).fit(X)
    assert best.log_likelihood_ == max(runs) and best.best_seed_ == int(np.argmax(runs))


def test_fill_predict_and_scores_agree():
    X = ratings(2)
    X[5] = 0.0  # a user with no rating is legal
    model = MixtureCompleter(3, seeds=[0]).fit(X)
    filled = model.fill(X)
    observed = X != 0
    np.testing.assert_array_equal(filled[observed], X[observed])
    users, items = np.nonzero(~observed)
    np.testing.assert_allclose(model.predict(users, items), filled[users, items], rtol=1e-12)
    np.testing.assert_allclose(model.predict([5, 5], [0, 3]), (model.weights_ @ model.means_)[[0, 3]], rtol=1e-12)
    score = model.score(X)
    p = 3 * 12 + 3 + 2
    assert model.bic(X) == pytest.approx(-2 * score + p * np.log(40))
    assert model.bic_score(X) == pytest.approx(score - p / 2 * np.log(40))
    np.testing.assert_array_equal(model.predict_proba(X), model.resp_)


@pytest.mark.parametrize("params, message", [
    (dict(n_components=0), "n_components must be >= 1"),
    (dict(n_components=41), "exceeds the number of users"),
    (dict(n_components=2.5), "n_components must be an integer"),
    (dict(init="kmeans"), "init must be one of"),
    (dict(covariance="full"), "covariance must be one of"),
    (dict(tol=-1.0), "tol must be >= 0"),
    (dict(min_variance=float("nan")), "min_variance must be finite"),
    (dict(max_iter=0), "max_iter must be >= 1"),
    (dict(n_init=0), "n_init must be >= 1"),
    (dict(seeds=[]), "seeds must not be empty"),
    (dict(seeds=[-1]), "seed must be >= 0"),
    (dict(n_threads=0), "n_threads must be >= 1"),
])
def test_bad_parameters_raise(params, message):
    with pytest.raises(ValueError, match=message):
        MixtureCompleter(**params).fit(ratings())


def test_bad_use_after_fit():
    X = ratings()
    with pytest.raises(ValueError, match="not fitted"):
        MixtureCompleter(2).predict([0], [0])
    model = MixtureCompleter(2, seeds=[0]).fit(X)
    with pytest.raises(ValueError, match="item index 12 is outside 0..11"):
        model.predict([0], [12])
    with pytest.raises(ValueError, match="user index -1"):
        model.predict([-1], [0])
    with pytest.raises(ValueError, match="fitted on 12 items"):
        model.fill(X[:, :5])
    with pytest.raises(ValueError, match="variance 0"):
        MixtureCompleter(2, seeds=[0], min_variance=0.0, min_mean_weight=0.0).fit(np.array([[1.0, 2], [1, 2], [1, 2]]))


def test_input_is_not_modified_and_params_round_trip():
    X = ratings()
    before = X.copy()
    model = MixtureCompleter(2, seeds=[0]).fit(X)
    np.testing.assert_array_equal(X, before)
    assert model.get_params()["n_components"] == 2
    model.set_params(n_components=3, tol=1e-4)
    assert model.get_params()["n_components"] == 3
    with pytest.raises(ValueError, match="invalid parameter"):
        model.set_params(colour="red")


def test_callback_can_stop_and_verbose_prints(capsys):
    X = ratings()
    model = MixtureCompleter(2, seeds=[0], verbose=2).fit(X)
    out = capsys.readouterr().out
    assert "iter    1" in out and "seed 0" in out and model.n_iter_ > 1


def test_select_k_rows():
    rows = select_k(ratings(), ks=[1, 2, 3], seeds=[0, 1])
    assert [r["k"] for r in rows] == [1, 2, 3]
    assert sum(r["best"] for r in rows) == 1
    best = min(rows, key=lambda r: r["bic"])
    assert best["best"] and best["bic"] == pytest.approx(-2 * best["bic_score"])
    with pytest.raises(ValueError, match="model must be one of"):
        select_k(ratings(), model="nope")


JSON_KEYS = {"k", "best_seed", "log_likelihood", "bic", "bic_score", "n_iter", "seconds", "rmse"}


def test_cli_fit_json_with_gold(tmp_path, capsys):
    X = ratings(3)
    np.savetxt(tmp_path / "x.txt", X, fmt="%d")
    gold = np.where(X == 0, 3, X)
    np.savetxt(tmp_path / "gold.txt", gold, fmt="%d")
    assert main(["fit", str(tmp_path / "x.txt"), "-k", "1", "2", "--seeds", "0-2", "--json",
                 "--gold", str(tmp_path / "gold.txt"), "--threads", "1"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["k"] for r in rows] == [1, 2]
    assert set(rows[0]) == JSON_KEYS
    expected = select_k(X, ks=[1, 2], seeds=[0, 1, 2])
    assert rows[1]["log_likelihood"] == pytest.approx(expected[1]["log_likelihood"], rel=1e-12)
    assert 0 < rows[1]["rmse"] < 2
    assert main(["fit", str(tmp_path / "x.txt"), "-k", "2", "--seeds", "0"]) == 0
    assert "best K by BIC: 2" in capsys.readouterr().out
    assert main(["fit", str(tmp_path / "x.txt"), "-k", "2", "--seeds", "0-2", "--passes", "1", "--json"]) == 0
    one_pass = json.loads(capsys.readouterr().out)[0]
    assert one_pass["log_likelihood"] == pytest.approx(expected[1]["log_likelihood"], rel=1e-12)


def test_cli_errors(tmp_path, capsys):
    assert main(["fit", str(tmp_path / "missing.txt")]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "bad.txt").write_text("1 2\n3\n")
    assert main(["fit", str(tmp_path / "bad.txt")]) == 2
    assert "bad.txt:2" in capsys.readouterr().err
    np.savetxt(tmp_path / "ok.txt", ratings(), fmt="%d")
    assert main(["fit", str(tmp_path / "ok.txt"), "-k", "0"]) == 2
    assert "n_components must be >= 1, got 0" in capsys.readouterr().err
    assert main(["fit", str(tmp_path / "ok.txt"), "-k", "41"]) == 2
    assert "exceeds the number of users (40)" in capsys.readouterr().err
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4] and parse_seeds("1,3,7") == [1, 3, 7]
    with pytest.raises(SystemExit):
        main(["fit", "x.txt", "--seeds", "a-b"])


def test_cli_bench_reports_every_case(tmp_path, capsys):
    np.savetxt(tmp_path / "x.txt", ratings(), fmt="%d")
    assert main(["bench", str(tmp_path / "x.txt"), "-k", "1", "3", "--threads", "1", "2", "--iterations", "2",
                 "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["k"], r["threads"]) for r in rows] == [(1, 1), (1, 2), (3, 1), (3, 2)]
    R = load_ratings(ratings())
    for r in rows:
        assert (r["n_users"], r["n_items"], r["nnz"]) == (R.n_users, R.n_items, R.nnz)
        fastest, median = r["min_seconds"], r["median_seconds"]
        assert 0 < fastest <= median and r["ns_per_rating"] == pytest.approx(1e9 * median / R.nnz)
    assert main(["bench", str(tmp_path / "x.txt"), "--threads", "1"]) == 0
    assert "ms/iter" in capsys.readouterr().out
    assert main(["bench", str(tmp_path / "x.txt"), "-k", "3", "--threads", "1", "--passes", "2", "1",
                 "--iterations", "2", "--json"]) == 0
    assert [(r["k"], r["passes"]) for r in json.loads(capsys.readouterr().out)] == [(3, 2), (3, 1)]
    assert main(["bench", str(tmp_path / "x.txt"), "--threads", "1", "--passes", "1", "--iterations", "2"]) == 0
    assert "layout" not in capsys.readouterr().out   # one pass lays nothing out
    assert main(["bench", str(tmp_path / "x.txt"), "-k", "41"]) == 2
    assert "K must be in 1..40" in capsys.readouterr().err
    assert main(["bench", str(tmp_path / "x.txt"), "--iterations", "0"]) == 2
    assert "iterations must be >= 1" in capsys.readouterr().err
