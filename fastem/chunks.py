"""Fixed work chunks, so that parallel reductions do not depend on the thread count.

Kernels accumulate statistics per chunk and sum the chunks in chunk order; the chunk
boundaries depend only on the data, never on how many threads run them, so a fit gives
bit-identical results with 1, 2 or 64 threads.
"""
from __future__ import annotations

import numpy as np


N_CHUNKS = 64
N_USER_CHUNKS = 16
MIN_CHUNK_NNZ = 1 << 16


def even_chunks(n: int, n_chunks: int = N_CHUNKS) -> np.ndarray:
    """(c + 1,) int64 boundaries splitting range(n) into c = min(n_chunks, n) near-equal runs."""
    c = max(1, min(n_chunks, n))
    return np.linspace(0, n, c + 1).round().astype(np.int64)


def balanced_chunks(indptr: np.ndarray, n_chunks: int = N_USER_CHUNKS, min_nnz: int = MIN_CHUNK_NNZ) -> np.ndarray:
    """(c + 1,) int64 user boundaries splitting a CSR matrix into runs of about equal nnz.

    The default is few chunks (16) because in the kernel that uses them (``plsa``) each
    chunk owns a d x K statistics buffer; 16 still keeps up to 16 threads busy.

    Each run holds at least one user and, data permitting, ``min_nnz`` ratings, so that
    small matrices do not pay for many parallel launches; c <= min(n_chunks, n_users).
    """
    n = len(indptr) - 1
    c = max(1, min(n_chunks, n, int(indptr[-1]) // max(min_nnz, 1)))
    targets = np.linspace(0, indptr[-1], c + 1)[1:-1]
    inner = np.searchsorted(indptr, targets, side="left")
    bounds = np.unique(np.concatenate(([0], np.clip(inner, 1, max(n - 1, 1)), [n])))
    return bounds.astype(np.int64)
