"""Model selection: sweep K x seeds, run the fits concurrently, stream each to a JSON-lines file,
resume an interrupted sweep, and tabulate log-likelihood, BIC and held-out error per K."""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from ._validation import check_choice, check_int, seed_list
from .completion import MixtureCompleter
from .metrics import bic, bic_score, rmse
from .ratings import RatingMatrix, load_ratings

MODELS = {"completer": MixtureCompleter}
CRITERIA = ("bic", "log_likelihood", "heldout_rmse")
HOLDOUT = dict(fraction=0.1, seed=0)
_NO_EFFECT = ("n_threads", "verbose")   # parameters that do not change a fit's result


def _model_class(model):
    if isinstance(model, str):
        return MODELS[check_choice("model", model, MODELS)]
    if isinstance(model, type):
        return model
    raise ValueError(f"model must be one of {sorted(MODELS)} or an estimator class, got {model!r}")


def _fit_one(cls, k: int, seed: int, params: dict, train: RatingMatrix, test: RatingMatrix | None) -> dict:
    """Fit one (K, seed); the record streamed to the results file, with the fitted model under "model"."""
    start = time.perf_counter()
    fitted = cls(n_components=k, seeds=[seed], **params).fit(train)
    n_iter = getattr(fitted, "n_iter_", None)
    record = dict(k=k, seed=seed, log_likelihood=float(fitted.log_likelihood_),
                  n_parameters=int(fitted.n_parameters()), n_iter=None if n_iter is None else int(n_iter),
                  seconds=time.perf_counter() - start)
    if test is not None:
        record["heldout_rmse"] = rmse(fitted.predict(test.rows(), test.indices), test.values)
    record["model"] = fitted
    return record


def _sweep_key(cls, params: dict, R: RatingMatrix, criterion: str) -> dict:
    """What a results file must agree on to be resumed: the model, its parameters and the data's size."""
    params = {k: v for k, v in params.items() if k not in _NO_EFFECT}
    return dict(model=f"{cls.__module__}.{cls.__qualname__}", params=repr(sorted(params.items())),
                shape=list(R.shape), nnz=R.nnz, holdout=criterion == "heldout_rmse")


def _read_results(path: Path, sweep: dict) -> dict:
    """Finished fits of this sweep in a JSON-lines results file: {(k, seed): record}.

    A last line cut off by an interruption is dropped from the file; a line of another sweep is an error.
    """
    if not path.exists():
        return {}
    text = path.read_text()
    lines = text.split("\n")
    if not text.endswith("\n") and lines:
        path.write_text("\n".join(lines[:-1]) + ("\n" if len(lines) > 1 else ""))
        lines = lines[:-1]
    done = {}
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            key = (int(record["k"]), int(record["seed"]))
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{path}:{lineno}: not a select_k results line: {line[:60]!r}") from None
        if record.get("sweep") != sweep:
            raise ValueError(f"{path}:{lineno}: written by another sweep ({record.get('sweep')}), not {sweep}; "
                             "use another results file")
        done[key] = record
    return done


def _run_fits(todo, cls, params, train, test, n_jobs: int, client):
    """Yield the record of every (k, seed) in ``todo`` as it finishes: Dask tasks on ``client``,
    else ``n_jobs`` threads (1: one after another in this thread)."""
    if client is not None:
        from dask.distributed import as_completed as dask_completed

        data = [None if part is None else client.scatter(part, broadcast=True) for part in (train, test)]
        futures = [client.submit(_fit_one, cls, k, s, params, *data, pure=False) for k, s in todo]
        for future in dask_completed(futures):
            yield future.result()
        return
    if n_jobs == 1:
        for k, s in todo:
            yield _fit_one(cls, k, s, params, train, test)
        return
    with ThreadPoolExecutor(n_jobs) as pool:
        futures = [pool.submit(_fit_one, cls, k, s, params, train, test) for k, s in todo]
        for future in as_completed(futures):
            yield future.result()


def select_k(data, ks=range(1, 13), seeds=range(5), model="completer", criterion="bic", *, n_jobs: int = 1,
             client=None, results=None, **params) -> list[dict]:
    """Fit ``model`` for every K in ``ks`` and seed in ``seeds``; one row per K (its best seed).

    model : a name in ``MODELS`` or an estimator class taking ``n_components`` and ``seeds`` whose
        fitted instances expose ``log_likelihood_`` and ``n_parameters()`` (and ``predict`` for
        "heldout_rmse").
    criterion : which row is marked ``best``: "bic" (lowest), "log_likelihood" (highest) or
        "heldout_rmse" (lowest RMSE on a random 10% of the ratings, ``R.split(0.1, seed=0)``,
        hidden from every fit, which then sees the other 90% only).
    n_jobs : fits run at once in threads of this process (they overlap only where the model's
        kernels release the GIL); ``client`` (a dask.distributed Client) runs them as Dask tasks
        instead, each on a worker.
    results : path of a JSON-lines file; each finished fit is appended as one line (k, seed,
        log_likelihood, n_parameters, n_iter, seconds, heldout_rmse, sweep). Fits already in the
        file are not redone, so an interrupted sweep resumes where it stopped.

    Each row: k, best_seed, log_likelihood (of the best seed's run, as the course reports it),
    bic (-2 LL + p ln n, lower is better), bic_score (LL - p/2 ln n, the course's), n_iter,
    seconds (the K's fits, summed), heldout_rmse (with that criterion), model (the best seed's
    fitted model; None when that fit was read from ``results``), best (the selected row).
    """
    cls = _model_class(model)
    check_choice("criterion", criterion, CRITERIA)
    ks = [check_int("n_components", k, minimum=1) for k in ks]
    if not ks:
        raise ValueError("ks must not be empty")
    seeds = seed_list(seeds, 1, None)
    n_jobs = check_int("n_jobs", n_jobs, minimum=1)
    R = load_ratings(data)
    train, test = R.split(**HOLDOUT) if criterion == "heldout_rmse" else (R, None)
    sweep = _sweep_key(cls, params, R, criterion)
    path = None if results is None else Path(os.fspath(results))
    done = {} if path is None else _read_results(path, sweep)
    todo = [(k, s) for k in ks for s in seeds if (k, s) not in done]
    fits = dict(done)
    stream = None if path is None else open(path, "a")
    try:
        for record in _run_fits(todo, cls, params, train, test, n_jobs, client):
            fits[(record["k"], record["seed"])] = record
            if stream is not None:
                stream.write(json.dumps({**{k: v for k, v in record.items() if k != "model"}, "sweep": sweep}) + "\n")
                stream.flush()
    finally:
        if stream is not None:
            stream.close()
    return _rows(ks, seeds, fits, train.n_users, criterion)


def _rows(ks, seeds, fits: dict, n_users: int, criterion: str) -> list[dict]:
    """One row per K from the per-(k, seed) records: the seed with the highest log-likelihood (first on ties)."""
    rows = []
    for k in ks:
        runs = [fits[(k, s)] for s in seeds]
        best = max(runs, key=lambda r: r["log_likelihood"])
        ll, p = best["log_likelihood"], best["n_parameters"]
        row = dict(k=k, best_seed=best["seed"], log_likelihood=ll, bic=bic(ll, p, n_users),
                   bic_score=bic_score(ll, p, n_users), n_iter=best["n_iter"],
                   seconds=sum(r["seconds"] for r in runs), model=best.get("model"))
        if criterion == "heldout_rmse":
            row["heldout_rmse"] = best["heldout_rmse"]
        rows.append(row)
    key = {"bic": lambda r: r["bic"], "log_likelihood": lambda r: -r["log_likelihood"],
           "heldout_rmse": lambda r: r["heldout_rmse"]}[criterion]
    chosen = min(rows, key=key)
    for row in rows:
        row["best"] = row is chosen
    return rows
