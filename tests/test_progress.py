"""Per-iteration watchers of the EM driver, the verbose printer and the progress bars."""
import io

import numpy as np
import pytest

import fastem
from fastem import em, progress
from fastem.mixture import ConvergenceWarning

from zoo import RATINGS


def test_watch_sees_every_iteration_of_every_model_and_can_stop_it():
    seen = []
    with em.watch(seen.append):
        m = fastem.MixtureCompleter(2, seeds=[0, 1], tol=0).fit(RATINGS.to_scipy())
    seeds = [it.seed for it in seen]
    assert set(seeds) == {0, 1} and seeds == sorted(seeds)
    last = [it for it in seen if it.seed == m.best_seed_]
    np.testing.assert_array_equal([it.log_likelihood for it in last], m.history_)
    assert [it.iteration for it in last] == list(range(1, m.n_iter_ + 1))
    walls = [it.seconds for it in seen]
    assert all(w >= 0 for w in walls)
    with em.watch(lambda it: it.iteration == 3), pytest.warns(ConvergenceWarning):
        g = fastem.GaussianMixture(2, tol=0, max_iter=50, random_state=0).fit(np.random.default_rng(0).normal(size=(50, 2)))
    assert g.n_iter_ == 3 and not g.converged_
    assert not em._WATCHERS


def test_print_iterations_prints_log_likelihood_and_time():
    out = io.StringIO()
    with em.watch(progress.print_iterations(out)):
        m = fastem.PoissonMixture(2, seeds=[4], max_iter=3, tol=0).fit(np.arange(20.0).reshape(10, 2))
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and lines[0].startswith("seed 4  iter    1  log-likelihood ")
    assert lines[2].split()[5] == f"{m.history_[2]:.6f}" and lines[2].endswith("s")


def test_bars_are_silent_off_a_terminal(monkeypatch):
    assert not progress.bars_enabled(io.StringIO())
    assert isinstance(progress.progress_bar(3, "x"), progress.SilentBar)   # pytest captures stderr

    class Tty(io.StringIO):
        def isatty(self):
            return True
    assert progress.bars_enabled(Tty())
    monkeypatch.setenv("FASTEM_PROGRESS", "0")
    assert not progress.bars_enabled(Tty())


def test_a_visible_bar_counts_the_seeds(monkeypatch, capsys):
    monkeypatch.setattr(progress, "bars_enabled", lambda stream=None: True)
    fastem.BernoulliMixture(2, seeds=[0, 1, 2], max_iter=5).fit(np.eye(6)[[0, 1, 2, 0, 1, 2]])
    err = capsys.readouterr().err
    assert err.startswith("\rEM runs:   0%") and "0/3 [" in err   # tqdm refreshes at most every 0.1 s
