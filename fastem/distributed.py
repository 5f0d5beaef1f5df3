"""MixtureCompleter fits on a Dask cluster: the same E-step kernel per user block on the workers.

Users are split into contiguous blocks. Each block is a Dask task that builds it from its
source (a slice of an in-memory RatingMatrix, or of a saved .npz memory-mapped on the worker,
or one saved block file), so a worker that dies loses nothing: the scheduler rebuilds its
blocks from their source and the fit goes on with the same numbers. Every iteration sends the
parameters to the blocks, sums their statistics on the driver in block order and runs the
M-step there, through ``fastem.em`` like ``MixtureCompleter.fit``; with the same data the
log-likelihood agrees with the single-machine fit to rounding (about 1e-12 relative).

Needs the ``dask`` extra: ``pip install 'fastem[dask]'``.
"""
from __future__ import annotations

import os
from functools import reduce
from pathlib import Path

import numpy as np

from . import completion, em
from ._base import numba_threads
from ._validation import check_choice, check_float, check_int, check_threads, seed_list
from .chunks import balanced_chunks
from .completion import MixtureCompleter
from .ratings import RatingMatrix, column_moments, load_ratings

__all__ = ["fit", "user_blocks"]

INITS = ("course", "random")


# ---------------------------------------------------------------- on the workers

def _block_from_arrays(indptr, indices, values, n_items):
    """The block's RatingMatrix from CSR slices (indptr rebased to 0)."""
    return RatingMatrix(indptr, indices, values, (len(indptr) - 1, n_items), check_entries=False)


def _block_from_file(path, lo, hi):
    """Users lo..hi-1 of a saved .npz, memory-mapped (nothing is read until a kernel touches it)."""
    R = load_ratings(path, mmap=True)
    a, b = R.indptr[lo], R.indptr[hi]
    return _block_from_arrays(R.indptr[lo:hi + 1] - a, R.indices[a:b], R.values[a:b], R.n_items)


def _block_file(path):
    """A whole saved block file, memory-mapped."""
    return load_ratings(path, mmap=True)


def _block_statistics(block, params, n_threads, passes):
    with numba_threads(n_threads):
        stats, ll = completion.e_step(block, params, passes=passes)
    return tuple(stats), float(ll)


def _block_moments(block):
    return column_moments(block)


def _user_row(block, u):
    """(items, ratings) of block-local user u, copied."""
    lo, hi = block.indptr[u], block.indptr[u + 1]
    return np.array(block.indices[lo:hi]), np.array(block.values[lo:hi])


def _block_responsibilities(block, model):
    return model.predict_proba(block)


# ---------------------------------------------------------------- on the driver

def user_blocks(indptr: np.ndarray, n_blocks: int) -> np.ndarray:
    """(b + 1,) user boundaries of at most ``n_blocks`` contiguous blocks of about equal nnz."""
    return balanced_chunks(indptr, n_chunks=n_blocks, min_nnz=1)


def _check_client(client) -> int:
    workers = client.scheduler_info().get("workers", {})
    if not workers:
        raise ValueError("the Dask client has no workers: start some (e.g. LocalCluster(n_workers=2)) "
                         "or wait for them with client.wait_for_workers(n)")
    return len(workers)


def _submit_blocks(client, source, n_blocks: int):
    """(block futures, users per block (b,), n_items) for a RatingMatrix, a saved .npz or a list of block files."""
    if isinstance(source, (list, tuple)):
        shapes = [_saved_shape(p) for p in source]
        n_items = shapes[0][1]
        for path, shape in zip(source, shapes):
            if shape[1] != n_items:
                raise ValueError(f"block {path} has {shape[1]} items, but block {source[0]} has {n_items}")
        futures = [client.submit(_block_file, os.fspath(p), pure=False) for p in source]
        return futures, np.array([s[0] for s in shapes], dtype=np.int64), n_items
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(Path(source).resolve())
        R = load_ratings(path, mmap=True)
        bounds = user_blocks(R.indptr, n_blocks)
        futures = [client.submit(_block_from_file, path, int(lo), int(hi), pure=False)
                   for lo, hi in zip(bounds[:-1], bounds[1:])]
        return futures, np.diff(bounds), R.n_items
    R = load_ratings(source)
    bounds = user_blocks(R.indptr, n_blocks)
    futures = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        a, b = R.indptr[lo], R.indptr[hi]
        futures.append(client.submit(_block_from_arrays, R.indptr[lo:hi + 1] - a, R.indices[a:b],
                                     R.values[a:b], R.n_items, pure=False))
    return futures, np.diff(bounds), R.n_items


def _saved_shape(path) -> tuple[int, int]:
    """(n_users, n_items) of a saved RatingMatrix, checked for format, version and truncation."""
    return load_ratings(path, mmap=True).shape


def _add(a, b):
    """Elementwise sum of two statistics tuples."""
    return tuple(x + y for x, y in zip(a, b))


def _start_sketch(client, futures, users_per_block, n_items, moments, K, seed) -> RatingMatrix:
    """A RatingMatrix with the whole matrix's shape and column moments that holds only the rows
    the course's start reads (K random users drawn as ``completion.course_start`` draws them), so
    ``completion``'s starting points run on it unchanged and no worker ships its block."""
    n_users = int(users_per_block.sum())
    offsets = np.concatenate(([0], np.cumsum(users_per_block)))
    chosen = np.sort(np.random.RandomState(seed).choice(n_users, K, replace=False))
    owner = np.searchsorted(offsets, chosen, side="right") - 1
    rows = client.gather([client.submit(_user_row, futures[b], int(u - offsets[b])) for u, b in zip(chosen, owner)])
    counts = np.zeros(n_users, dtype=np.int64)
    counts[chosen] = [len(items) for items, _ in rows]
    indptr = np.concatenate(([0], np.cumsum(counts)))
    sketch = RatingMatrix(indptr, np.concatenate([r[0] for r in rows]), np.concatenate([r[1] for r in rows]),
                          (n_users, n_items))
    sketch._moments = moments
    return sketch


def fit(client, source, n_components: int = 12, seeds=(0,), *, init: str = "course", tol: float = 1e-6,
        max_iter: int = 1000, min_variance: float = 0.25, min_mean_weight: float = 1.0,
        n_blocks: int | None = None, n_threads: int | None = 1, passes: int = 2, callback=None) -> MixtureCompleter:
    """Fit a spherical MixtureCompleter on a Dask cluster; returns it fitted.

    Parameters
    ----------
    client : dask.distributed.Client with at least one worker.
    source : a RatingMatrix (or anything ``load_ratings`` reads; its blocks are built from slices
        kept by the scheduler), the path of a ``RatingMatrix.save`` .npz (each worker maps its
        users' slice of the file), or a list of such files, one per block (users stacked in order;
        every block must have the same number of items).
    n_components, seeds, init ("course" or "random"), tol, max_iter, min_variance,
    min_mean_weight : as in MixtureCompleter (best of ``seeds``).
    n_blocks : user blocks (default: 2 per worker); ignored for a list of block files.
    n_threads : Numba threads per block task (default 1: the workers' threads run blocks side by side;
        None leaves each worker's Numba setting).
    passes : sweeps over a block's ratings per iteration, as in MixtureCompleter (1: a worker lays
        nothing out, so it holds only its blocks' own arrays).
    callback : ``callback(iteration, log_likelihood, params)`` after each iteration (``fastem.em.run``).

    The returned model has every fitted attribute of ``MixtureCompleter.fit`` (``resp_`` gathered
    from the blocks) and predicts locally.
    """
    n_workers = _check_client(client)
    K = check_int("n_components", n_components, minimum=1)
    start = completion.STARTS[check_choice("init", init, INITS)]
    tol = check_float("tol", tol, minimum=0.0)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    min_variance = check_float("min_variance", min_variance, minimum=0.0)
    min_mean_weight = check_float("min_mean_weight", min_mean_weight, minimum=0.0)
    seeds = seed_list(seeds, 1, None)
    n_threads = check_threads(n_threads)
    passes = completion.check_passes(passes)
    n_blocks = check_int("n_blocks", 2 * n_workers if n_blocks is None else n_blocks, minimum=1)
    futures, users_per_block, n_items = _submit_blocks(client, source, n_blocks)
    n_users = int(users_per_block.sum())
    if K > n_users:
        raise ValueError(f"n_components={K} exceeds the number of users ({n_users})")
    moments = reduce(_add, client.gather([client.submit(_block_moments, f) for f in futures]))

    def initialize(seed):
        sketch = _start_sketch(client, futures, users_per_block, n_items, moments, K, seed)
        return completion.floor_variances(start(sketch, K, seed), min_variance)

    def e_step(params):
        parts = client.gather([client.submit(_block_statistics, f, params, n_threads, passes, pure=False) for f in futures])
        stats = reduce(_add, (p[0] for p in parts))
        return stats, sum(p[1] for p in parts)

    def m_step(stats, params):
        return completion.m_step(stats, params, n_users, min_variance, min_mean_weight)

    best, _ = em.fit_best(initialize, e_step, m_step, seeds, converged=em.relative_tolerance(tol),
                          max_iter=max_iter, callback=callback)
    model = MixtureCompleter(n_components=K, seeds=seeds, init=init, tol=tol, max_iter=max_iter,
                             min_variance=min_variance, min_mean_weight=min_mean_weight, passes=passes)
    model.mixture_ = best.params
    model.n_users_, model.n_items_ = n_users, n_items
    model.resp_ = np.concatenate(client.gather([client.submit(_block_responsibilities, f, model)
                                                for f in futures]))
    model.log_likelihood_ = best.bound
    model.history_ = best.history
    model.n_iter_ = best.n_iter
    model.converged_ = best.converged
    model.best_seed_ = best.seed
    client.cancel(futures)
    return model
