"""Summaries of the observed ratings in one pass, without a float64 copy of the values."""
import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, error_model="numpy")
def column_moments(indices, values, chunks, d):
    """(sums (d,), counts (d,), sum of squares) of the ratings per item column.

    Accumulated per fixed chunk of entries (``chunks``: (c + 1,) boundaries) and added in
    chunk order, so the result does not depend on the thread count.
    """
    n_chunks = chunks.shape[0] - 1
    part_sums = np.zeros((n_chunks, d))
    part_counts = np.zeros((n_chunks, d))
    part_sq = np.zeros(n_chunks)
    for c in prange(n_chunks):
        sq = 0.0
        for p in range(chunks[c], chunks[c + 1]):
            x = np.float64(values[p])
            part_sums[c, indices[p]] += x
            part_counts[c, indices[p]] += 1.0
            sq += x * x
        part_sq[c] = sq
    sums = np.zeros(d)
    counts = np.zeros(d)
    total_sq = 0.0
    for c in range(n_chunks):
        sums += part_sums[c]
        counts += part_counts[c]
        total_sq += part_sq[c]
    return sums, counts, total_sq
