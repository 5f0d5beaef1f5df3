"""Golden tests: the course's published values, to the digits it prints."""
import numpy as np
import pytest

import course_solutions
from fastem import load_ratings, rmse
from fastem._base import numba_threads
from fastem._kernels import masked
from fastem.completion import MixtureCompleter, course_start, e_step, m_step
from fastem.datasets import netflix, toy
from fastem.ratings import item_blocks
from fastem.selection import select_k


@pytest.fixture(scope="module")
def solutions(reference_dir):
    return course_solutions.parse(reference_dir / "test_solutions.txt")


@pytest.fixture(scope="module")
def tiny(reference_dir):
    return load_ratings(reference_dir / "test_incomplete.txt"), np.loadtxt(reference_dir / "test_complete.txt")


def assert_printed(actual, printed):
    """Equal to the 8 decimals the course prints."""
    np.testing.assert_allclose(actual, printed, rtol=0, atol=6e-9)


def test_tiny_case_first_e_and_m_step(tiny, solutions):
    R, _ = tiny
    start = course_start(R, 4, seed=0)
    np.testing.assert_array_equal(R.to_dense(), solutions["Input"]["X"])
    np.testing.assert_array_equal(start.means, solutions["Input"]["Mu"])
    assert_printed(start.variances, solutions["Input"]["Var"])
    assert_printed(start.weights, solutions["Input"]["P"])

    model = MixtureCompleter(4, seeds=[0], max_iter=1).fit(R)
    assert model.log_likelihood_ == pytest.approx(-152.16319226209848, rel=1e-13)
    assert model.log_likelihood_ == pytest.approx(solutions["After first E-step"]["LL"], rel=1e-13)
    stats, _ = e_step(R, start)
    post, _ = masked.responsibilities(item_blocks(R), start.means_t, start.log_weights(), start.variances)
    assert_printed(post, solutions["After first E-step"]["post"])
    after = solutions["After first M-step"]
    assert_printed(model.means_, after["Mu"])
    assert_printed(model.variances_, after["Var"])
    assert_printed(model.weights_, after["P"])
    np.testing.assert_array_equal(m_step(stats, start, R.n_users, 0.25, 1.0).means, model.means_)


def test_tiny_case_converged_run_and_fill(tiny, solutions):
    R, gold = tiny
    run = solutions["After a run"]
    model = MixtureCompleter(4, seeds=[0]).fit(R)
    assert model.log_likelihood_ == pytest.approx(-84.98451993042474, rel=1e-12)
    assert model.converged_
    assert_printed(model.means_, run["Mu"])
    assert_printed(model.variances_, run["Var"])
    assert_printed(model.weights_, run["P"])
    # The run's posterior is its last E-step's, taken under the mixture one M-step earlier.
    before_last = MixtureCompleter(4, seeds=[0], max_iter=model.n_iter_ - 1).fit(R)
    assert_printed(before_last.predict_proba(R), run["post"])
    filled = model.fill(R)
    assert_printed(filled, run["X_pred"])
    np.testing.assert_array_equal(gold, run["X_gold"])
    assert rmse(filled, gold) == pytest.approx(0.3152301205749675, rel=1e-12)


def test_toy_em_log_likelihoods_and_bic(reference_dir):
    rows = select_k(toy(), ks=range(1, 5), seeds=range(5), min_variance=0.0, min_mean_weight=0.0)
    np.testing.assert_allclose([r["log_likelihood"] for r in rows],
                               [-1307.2234, -1175.7146, -1138.8909, -1138.6012], atol=5e-5)
    best = [r for r in rows if r["best"]]
    assert len(best) == 1 and best[0]["k"] == 3
    assert best[0]["bic_score"] == pytest.approx(-1169.2589, abs=5e-5)
    assert max(rows, key=lambda r: r["bic_score"])["k"] == 3


@pytest.fixture(scope="module")
def netflix_data(reference_dir):
    return netflix()


def test_netflix_reproduction(netflix_data):
    R, gold = netflix_data
    assert (R.n_users, R.n_items, R.nnz) == (1200, 1200, 1111768)
    k1 = MixtureCompleter(1, seeds=range(5)).fit(R)
    assert k1.log_likelihood_ == pytest.approx(-1521060.9540, abs=5e-5)
    k12 = MixtureCompleter(12, seeds=range(5)).fit(R)
    assert k12.best_seed_ == 1
    assert k12.log_likelihood_ == pytest.approx(-1390234.4223, abs=5e-5)
    assert rmse(k12.fill(R), gold) == pytest.approx(0.4804908505, abs=5e-11)


def test_netflix_same_fit_with_one_and_two_threads(netflix_data):
    R, _ = netflix_data
    one = MixtureCompleter(12, seeds=[1], n_threads=1).fit(R)
    two = MixtureCompleter(12, seeds=[1], n_threads=2).fit(R)
    np.testing.assert_array_equal(one.history_, two.history_)
    np.testing.assert_array_equal(one.means_, two.means_)
    np.testing.assert_array_equal(one.variances_, two.variances_)
    np.testing.assert_allclose(one.predict_proba(R), two.predict_proba(R), rtol=1e-10, atol=1e-300)


def test_netflix_reproduction_in_one_pass(netflix_data):
    """The one-sweep pass (passes=1) reaches the course's K = 12 fit too, whatever the threads."""
    R, gold = netflix_data
    k12 = MixtureCompleter(12, seeds=[1], passes=1).fit(R)
    assert k12.log_likelihood_ == pytest.approx(-1390234.4223, abs=5e-5)
    assert rmse(k12.fill(R), gold) == pytest.approx(0.4804908505, abs=5e-11)
    with numba_threads(1):
        stats, ll = e_step(R, k12.mixture_, passes=1)
    with numba_threads(2):
        assert e_step(R, k12.mixture_, passes=1)[1] == ll
