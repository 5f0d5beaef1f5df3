"""The general EM driver on a model small enough to check by hand."""
import warnings

import numpy as np
import pytest

from fastem import em


def halving_model(start=8.0):
    """Params x; each M-step halves x; the bound is -(1 + x^2) (rises towards -1)."""
    return (lambda seed: start + seed, lambda x: (x, -1 - x * x), lambda stats, x: stats / 2)


def test_run_records_bounds_and_stops_on_relative_change():
    initialize, e_step, m_step = halving_model()
    fit = em.run(initialize(0), e_step, m_step, converged=em.relative_tolerance(1e-3), max_iter=100)
    np.testing.assert_allclose(fit.history[:3], [-65.0, -17.0, -5.0])
    # stops at the first n with 3 x_n^2 <= 1e-3 (1 + x_n^2), x_n = 8 / 2^(n-1): n = 10
    assert fit.converged and fit.n_iter == len(fit.history) == 10
    np.testing.assert_array_equal(fit.log_likelihood_history, fit.history)
    assert fit.params == pytest.approx(8.0 / 2 ** fit.n_iter)


def test_fit_best_keeps_the_highest_bound_and_log_likelihood_is_recorded():
    initialize, _, m_step = halving_model()
    seen = []
    best, fits = em.fit_best(initialize, lambda x: (x, -1 - x * x, -2 - 2 * x * x), m_step, seeds=[3, 0, 5],
                             converged=em.absolute_tolerance(1e-3), max_iter=2, on_fit=seen.append)
    assert best.seed == 0 and best.bound == -17.0 and [f.seed for f in fits] == [3, 0, 5] and seen == fits
    np.testing.assert_allclose(best.log_likelihood_history, 2 * best.history)


def test_callback_stops_and_decrease_warns():
    initialize, e_step, m_step = halving_model()
    fit = em.run(initialize(0), e_step, m_step, converged=em.relative_tolerance(0), max_iter=100,
                 callback=lambda it, bound, params: it == 3)
    assert fit.n_iter == 3 and not fit.converged
    with pytest.warns(em.BoundDecreaseWarning):
        em.run(1.0, lambda x: (x, x), lambda s, x: x - 1, converged=em.relative_tolerance(0), max_iter=3)
    with pytest.raises(ValueError, match="bound became nan"):
        em.run(1.0, lambda x: (x, np.nan), lambda s, x: x, converged=em.relative_tolerance(0), max_iter=3)


def test_initial_bound_lets_a_warm_start_converge_at_once():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = em.run(0.0, lambda x: (x, -1.0), lambda s, x: x, converged=em.absolute_tolerance(1e-3),
                     max_iter=10, initial_bound=-1.0)
    assert fit.n_iter == 1 and fit.converged
