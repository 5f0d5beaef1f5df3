"""Model selection: sweep K x seeds and tabulate log-likelihood, BIC and time per K."""
from __future__ import annotations

import time

from .completion import MixtureCompleter
from .metrics import bic, bic_score
from .ratings import load_ratings

MODELS = {"completer": MixtureCompleter}


def select_k(data, ks=range(1, 13), seeds=range(5), model="completer", criterion="bic", **params) -> list[dict]:
    """Fit ``model`` for every K in ``ks`` (best of ``seeds``) and return one row per K.

    Each row: k, best_seed, log_likelihood (of the best run's last E-step, as the course
    reports it), bic (-2 LL + p ln n, lower is better), bic_score (LL - p/2 ln n, the
    course's), n_iter, seconds (all seeds of that K), model (the fitted best model), and
    ``best`` (True on the row that ``criterion`` selects: "bic" or "log_likelihood").
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {model!r}")
    if criterion not in ("bic", "log_likelihood"):
        raise ValueError(f"criterion must be 'bic' or 'log_likelihood', got {criterion!r}")
    ks = list(ks)
    if not ks:
        raise ValueError("ks must not be empty")
    R = load_ratings(data)
    rows = []
    for k in ks:
        start = time.perf_counter()
        fitted = MODELS[model](n_components=k, seeds=list(seeds), **params).fit(R)
        p = fitted.mixture_.n_parameters()
        ll = fitted.log_likelihood_
        rows.append(dict(k=k, best_seed=fitted.best_seed_, log_likelihood=ll, bic=bic(ll, p, R.n_users),
                         bic_score=bic_score(ll, p, R.n_users), n_iter=fitted.n_iter_,
                         seconds=time.perf_counter() - start, model=fitted))
    key = (lambda r: r["bic"]) if criterion == "bic" else (lambda r: -r["log_likelihood"])
    chosen = min(rows, key=key)
    for row in rows:
        row["best"] = row is chosen
    return rows
