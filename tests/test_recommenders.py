"""The recommender registry and the held-out protocol."""
import numpy as np
import pytest

from fastem import RECOMMENDERS, evaluate, load_ratings, rmse
from fastem.recommenders import holdout


SCORE_KEYS = {"rmse", "mae", "seconds"}


def small_ratings():
    rng = np.random.default_rng(0)
    types = rng.integers(0, 3, 60)
    profile = rng.integers(1, 6, (3, 20)).astype(float)
    X = np.where(rng.random((60, 20)) < 0.7, profile[types], 0.0)
    return load_ratings(X)


def test_every_recommender_fits_and_predicts():
    R = small_ratings()
    train, test = R.split(0.2, seed=1)
    for name, factory in RECOMMENDERS.items():
        scores = evaluate(factory(), train, test)
        assert set(scores) == SCORE_KEYS, name
        assert 0 <= scores["mae"] <= scores["rmse"] < 2.0, (name, scores)


def test_evaluate_scores_the_predictions_of_the_test_part():
    R = small_ratings()
    train, test = R.split(0.2, seed=1)
    model = RECOMMENDERS["course-spherical"]()
    scores = evaluate(model, train, test)
    assert scores["rmse"] == pytest.approx(rmse(model.predict(test.rows(), test.indices), test.values))
    with pytest.raises(ValueError, match="shape"):
        evaluate(model, train, load_ratings(np.ones((3, 3))))
    with pytest.raises(ValueError, match="unknown recommender 'nope'"):
        holdout(R, ["nope"])


def test_registry_holds_every_model_and_baseline():
    assert {"global-mean", "baseline-biases", "course-spherical", "diag-map", "gaussian-plsa", "mfa",
            "vae"} <= set(RECOMMENDERS)
    from fastem.recommenders import DESCRIPTIONS

    assert set(DESCRIPTIONS) == set(RECOMMENDERS)


def test_format_table_and_cli_evaluate(tmp_path, capsys):
    import json

    from fastem.cli import main
    from fastem.recommenders import format_table

    results = {"global-mean": dict(rmse=1.04132, mae=0.87551, seconds=0.25)}
    assert format_table(results, markdown=True).splitlines()[2] == \
        "| `global-mean` | mean training rating (baseline) | 1.0413 | 0.8755 | 0.2 |"
    path = tmp_path / "r.npz"
    small_ratings().save(path)
    assert main(["evaluate", str(path), "--model", "global-mean", "baseline-biases", "--holdout", "0.2",
                 "--seed", "1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    train, test = small_ratings().split(0.2, seed=1)
    assert [r["model"] for r in rows] == ["global-mean", "baseline-biases"]
    assert rows[0]["rmse"] == pytest.approx(rmse(np.full(test.nnz, train.values.mean()), test.values))
    assert main(["evaluate", str(path), "--model", "nope"]) == 2


def test_netflix_holdout_mixture_beats_the_global_mean(reference_dir):
    from fastem.datasets import netflix

    R, _ = netflix()
    train, test = R.split(0.1, seed=0)
    scores = evaluate(RECOMMENDERS["course-spherical"](), train, test)
    global_mean = rmse(np.full(test.nnz, train.values.mean()), test.values)
    assert global_mean == pytest.approx(1.04, abs=0.01)
    assert scores["rmse"] < global_mean - 0.1
    # issue 5's target: the best mixture model beats rank-10 ALS (0.78) and the course model
    assert evaluate(RECOMMENDERS["mfa"](), train, test)["rmse"] <= 0.78
