"""The ratings re-sorted for the spherical EM kernels: item by item within blocks of users,
and within an item by rating value.

Users go in blocks of ``block`` consecutive users (at most 65536, so a user is a uint16 offset
within its block). Segment s = b * d + i holds the ratings of item i by block b's users, as runs
of equal value: runs ``segments[s]`` to ``segments[s + 1] - 1``; run r holds the value
``run_values[r]`` given by the users ``users[runs[r]:runs[r + 1]]`` (increasing). A kernel that
walks an item's segments block after block keeps the per-user rows of one block in cache, and
one that walks a run meets a single value: (x - mu)^2 is computed once per run, not per rating.
"""
import numpy as np
from numba import njit, prange


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

    indptr (n + 1,), indices (nnz,), values (nnz,): CSR by user, items increasing per user.
    B = ceil(n / block) blocks, block <= 65536; each block is sorted by its own thread.
    """
    n = indptr.shape[0] - 1
    d = n_items
    n_blocks = -(-n // block)
    starts = np.zeros(n_blocks * d + 1, np.int64)
    for b in prange(n_blocks):
        for u in range(b * block, min(n, (b + 1) * block)):
            for p in range(indptr[u], indptr[u + 1]):
                starts[b * d + indices[p] + 1] += 1
    for s in range(n_blocks * d):
        starts[s + 1] += starts[s]
    users = np.empty(indices.shape[0], np.uint16)
    sorted_values = np.empty_like(values)
    segments = np.zeros(n_blocks * d + 1, np.int64)
    for b in prange(n_blocks):
        fill = starts[b * d:(b + 1) * d].copy()
        for u in range(b * block, min(n, (b + 1) * block)):
            for p in range(indptr[u], indptr[u + 1]):
                at = fill[indices[p]]
                users[at] = u - b * block
                sorted_values[at] = values[p]
                fill[indices[p]] = at + 1
        for s in range(b * d, (b + 1) * d):
            lo, hi = starts[s], starts[s + 1]
            if hi - lo > 1:
                order = np.argsort(sorted_values[lo:hi], kind="mergesort")
                users[lo:hi] = users[lo:hi][order]
                sorted_values[lo:hi] = sorted_values[lo:hi][order]
            segments[s + 1] = count_runs(sorted_values[lo:hi])
    for s in range(n_blocks * d):
        segments[s + 1] += segments[s]
    runs = np.empty(segments[-1] + 1, np.int64)
    runs[-1] = indices.shape[0]
    run_values = np.empty(segments[-1], values.dtype)
    for b in prange(n_blocks):
        for s in range(b * d, (b + 1) * d):
            r = segments[s]
            for p in range(starts[s], starts[s + 1]):
                if p == starts[s] or sorted_values[p] != sorted_values[p - 1]:
                    runs[r] = p
                    run_values[r] = sorted_values[p]
                    r += 1
    return segments, runs, run_values, users
