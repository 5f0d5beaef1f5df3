"""Ratings re-sorted item by item within chunks of users: the layout of every kernel that sums
over an item's ratings (the spherical, factor-analyser and pLSA models).

``sort_by_item`` is the one counting sort: chunk c (users bounds[c] .. bounds[c + 1] - 1) holds
its ratings of item i at entries starts[c (d + 1) + i] .. starts[c (d + 1) + i + 1] - 1, users as
offsets within the chunk, increasing. One chunk of all users is the plain transpose (CSC).

``item_blocks`` adds, for the spherical kernels, runs of equal value within each (block, item)
segment: blocks of ``block`` users (at most 65536, so a user is a uint16 offset); segment
s = b * d + i holds runs ``segments[s]`` to ``segments[s + 1] - 1``; run r holds the value
``run_values[r]`` given by the users ``users[runs[r]:runs[r + 1]]`` (increasing). A kernel that
walks an item's segments block after block keeps the per-user rows of one block in cache, and
one that walks a run meets a single value: (x - mu)^2 is computed once per run, not per rating.
"""
import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, error_model="numpy")
def sort_by_item(indptr, indices, values, bounds, n_items, users):
    """(starts (C (d + 1),) int64, sorted values (nnz,) of values' dtype) of the layout above, by a
    counting sort of each chunk's ratings, one chunk per thread; users (nnz,) (any integer dtype
    wide enough for a chunk) is filled with the entries' user offsets within their chunk.

    indptr (n + 1,), indices (nnz,), values (nnz,): CSR by user; bounds (C + 1,) user boundaries.
    """
    d = n_items
    n_chunks = bounds.shape[0] - 1
    starts = np.zeros(n_chunks * (d + 1), np.int64)
    sorted_values = np.empty_like(values)
    for c in prange(n_chunks):
        base = c * (d + 1)
        starts[base] = indptr[bounds[c]]
        for p in range(indptr[bounds[c]], indptr[bounds[c + 1]]):
            starts[base + indices[p] + 1] += 1
        for i in range(d):
            starts[base + i + 1] += starts[base + i]
        fill = starts[base:base + d].copy()
        for u in range(bounds[c], bounds[c + 1]):
            for p in range(indptr[u], indptr[u + 1]):
                at = fill[indices[p]]
                users[at] = u - bounds[c]
                sorted_values[at] = values[p]
                fill[indices[p]] = at + 1
    return starts, sorted_values


@njit(cache=True, error_model="numpy")
def count_runs(values):
    """Number of runs of equal consecutive values in a sorted segment."""
    runs = 0
    for p in range(values.shape[0]):
        if p == 0 or values[p] != values[p - 1]:
            runs += 1
    return runs


@njit(parallel=True, cache=True, error_model="numpy")
def item_blocks(indptr, indices, values, n_items, block):
    """(segments (B d + 1,) int64, runs (n_runs + 1,) int64, run_values (n_runs,), users (nnz,) uint16).

    indptr (n + 1,), indices (nnz,), values (nnz,): CSR by user, items increasing per user;
    B = ceil(n / block) blocks, block <= 65536; each block's segments are sorted by its own thread.
    """
    n = indptr.shape[0] - 1
    d = n_items
    n_blocks = -(-n // block)
    bounds = np.minimum(np.arange(n_blocks + 1) * block, n)
    users = np.empty(indices.shape[0], np.uint16)
    starts, sorted_values = sort_by_item(indptr, indices, values, bounds, n_items, users)
    segments = np.zeros(n_blocks * d + 1, np.int64)
    for b in prange(n_blocks):
        for i in range(d):
            lo, hi = starts[b * (d + 1) + i], starts[b * (d + 1) + i + 1]
            if hi - lo > 1:
                order = np.argsort(sorted_values[lo:hi], kind="mergesort")
                users[lo:hi] = users[lo:hi][order]
                sorted_values[lo:hi] = sorted_values[lo:hi][order]
            segments[b * d + i + 1] = count_runs(sorted_values[lo:hi])
    for s in range(n_blocks * d):
        segments[s + 1] += segments[s]
    runs = np.empty(segments[-1] + 1, np.int64)
    runs[-1] = indices.shape[0]
    run_values = np.empty(segments[-1], values.dtype)
    for b in prange(n_blocks):
        for i in range(d):
            r = segments[b * d + i]
            lo, hi = starts[b * (d + 1) + i], starts[b * (d + 1) + i + 1]
            for p in range(lo, hi):
                if p == lo or sorted_values[p] != sorted_values[p - 1]:
                    runs[r] = p
                    run_values[r] = sorted_values[p]
                    r += 1
    return segments, runs, run_values, users
