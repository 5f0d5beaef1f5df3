"""The general EM driver: every fastem model fits through ``run`` and ``fit_best``.

A model plugs in three callables over its own parameter object ``params``:

- ``initialize(seed) -> params``: the starting point of one run;
- ``e_step(params) -> (stats, bound)`` or ``(stats, bound, log_likelihood)``: expected
  sufficient statistics under ``params`` and the bound (the ELBO; the log-likelihood itself
  for an exact E-step) of the data under ``params``; a model whose E-step is approximate
  also returns the log-likelihood, recorded beside the bound;
- ``m_step(stats, params) -> params``: new parameters from the statistics.

One iteration is an E-step followed by an M-step, so the parameters returned after convergence
have had one more M-step than the E-step whose bound is reported (the course's and
scikit-learn's loop). Convergence is tested on the bound history with a criterion such as
``relative_tolerance(1e-6)`` (the course: new - old <= tol * |new|) or ``absolute_tolerance(1e-3)``
(scikit-learn: |new - old| < tol).

Watching any fit: ``with em.watch(fn):`` calls ``fn(Iteration)`` after every iteration of every
run inside the block, whichever model runs it (``fastem.progress.print_iterations()`` prints
the log-likelihood and time per iteration); ``fn`` returning True stops that run early.
On a terminal, with tqdm installed, ``fit_best`` shows a progress bar over the seeds.
"""
from __future__ import annotations

import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .progress import progress_bar

__all__ = ["EMFit", "Iteration", "BoundDecreaseWarning", "relative_tolerance", "absolute_tolerance", "run",
           "fit_best", "watch"]

DECREASE_TOLERANCE = 1e-9
_WATCHERS: list[Callable] = []


class BoundDecreaseWarning(RuntimeWarning):
    """The bound fell by more than 1e-9 relative in one iteration (1e-9 absolute for bounds
    within 1 of 0, where rounding of the per-row terms dominates): a sign of a wrong E- or M-step."""


@dataclass
class EMFit:
    """One EM run: final parameters, the last E-step's bound, and per iteration the bound
    (``history``) and the log-likelihood (``log_likelihood_history``; equal to the bound
    for an exact E-step)."""

    params: Any
    bound: float
    history: np.ndarray
    n_iter: int
    converged: bool
    seed: int | None = None
    seconds: float = 0.0
    log_likelihood_history: np.ndarray | None = None


@dataclass(frozen=True)
class Iteration:
    """What a watcher sees after one EM iteration: its number (from 1), the bound and the
    log-likelihood of its E-step, its wall time in seconds, the run's seed and the new parameters."""

    iteration: int
    bound: float
    log_likelihood: float
    seconds: float
    seed: int | None
    params: Any


@contextmanager
def watch(fn: Callable[[Iteration], Any]):
    """Call ``fn(Iteration)`` after every EM iteration of every run in the block; a True return
    stops that run (reported as not converged), e.g. for a time budget or custom logging."""
    _WATCHERS.append(fn)
    try:
        yield
    finally:
        _WATCHERS.remove(fn)


def relative_tolerance(tol: float) -> Callable[[float, float], bool]:
    """The course's rule: converged when new - old <= tol * |new|."""
    return lambda old, new: new - old <= tol * abs(new)


def absolute_tolerance(tol: float) -> Callable[[float, float], bool]:
    """scikit-learn's rule: converged when |new - old| < tol."""
    return lambda old, new: abs(new - old) < tol


def run(params, e_step, m_step, *, converged, max_iter: int, callback=None, seed=None,
        initial_bound: float = -np.inf, bar=None) -> EMFit:
    """Iterate E- and M-steps from ``params`` until ``converged(old, new)`` or ``max_iter``.

    ``callback(iteration, bound, params)`` is called after each iteration with the new
    parameters, then every ``watch`` function; a True return from any stops the run
    (reported as not converged). ``initial_bound`` is the bound the first iteration is
    compared with (a warm start passes the last one). ``bar``: a progress bar whose postfix
    shows the iteration and bound.
    """
    start = tick = time.perf_counter()
    history: list[float] = []
    ll_history: list[float] = []
    bound, done = float(initial_bound), False
    for iteration in range(1, max_iter + 1):
        stats, new_bound, *log_likelihood = e_step(params)
        new_bound = float(new_bound)
        ll_history.append(float(log_likelihood[0]) if log_likelihood else new_bound)
        if not np.isfinite(new_bound):
            raise ValueError(f"EM bound became {new_bound} at iteration {iteration}: degenerate data or parameters")
        params = m_step(stats, params)
        history.append(new_bound)
        if new_bound < bound - DECREASE_TOLERANCE * max(abs(bound), 1.0):
            warnings.warn(f"EM bound decreased from {bound!r} to {new_bound!r} at iteration {iteration}",
                          BoundDecreaseWarning, stacklevel=2)
        done = converged(bound, new_bound)
        bound = new_bound
        now = time.perf_counter()
        stop = callback is not None and callback(iteration, bound, params)
        if _WATCHERS:
            record = Iteration(iteration, bound, ll_history[-1], now - tick, seed, params)
            stop = any([bool(fn(record)) for fn in list(_WATCHERS)]) or stop
        if bar is not None:
            bar.set_postfix(seed=seed, iteration=iteration, bound=f"{bound:.6g}", refresh=False)
        tick = time.perf_counter()
        if done or stop:
            break
    return EMFit(params, bound, np.asarray(history), len(history), done, seed, time.perf_counter() - start,
                 np.asarray(ll_history))


def fit_best(initialize, e_step, m_step, seeds, *, converged, max_iter: int, callback=None,
             on_fit=None, initial_bound: float = -np.inf) -> tuple[EMFit, list[EMFit]]:
    """Run EM once per seed and keep the highest bound (the first such on ties).

    ``on_fit(fit)`` is called as each run finishes. Returns (best, all fits in seed order).
    A progress bar over the seeds shows on a terminal when tqdm is installed.
    """
    seeds = list(seeds)
    fits = []
    with progress_bar(len(seeds), "EM runs") as bar:
        for seed in seeds:
            fit = run(initialize(seed), e_step, m_step, converged=converged, max_iter=max_iter,
                      callback=callback, seed=seed, initial_bound=initial_bound, bar=bar)
            fits.append(fit)
            bar.update(1)
            if on_fit is not None:
                on_fit(fit)
    best = max(fits, key=lambda f: f.bound)
    return best, fits
