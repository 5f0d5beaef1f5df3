"""Fixed work chunks, so that parallel reductions do not depend on the thread count.

Kernels accumulate statistics per chunk and sum the chunks in chunk order; the chunk
boundaries depend only on the data, never on how many threads run them, so a fit gives
bit-identical results with 1, 2 or 64 threads.
"""
from __future__ import annotations

import numpy as np

from ._kernels.simd import padded

N_CHUNKS = 64
N_USER_CHUNKS = 16
MIN_CHUNK_NNZ = 1 << 16


def even_chunks(n: int, n_chunks: int = N_CHUNKS) -> np.ndarray:
    """(c + 1,) int64 boundaries splitting range(n) into c = min(n_chunks, n) near-equal runs."""
    c = max(1, min(n_chunks, n))
    return np.linspace(0, n, c + 1).round().astype(np.int64)


def balanced_chunks(indptr: np.ndarray, n_chunks: int = N_USER_CHUNKS, min_nnz: int = MIN_CHUNK_NNZ) -> np.ndarray:
    """(c + 1,) int64 user boundaries splitting a CSR matrix into runs of about equal nnz.

    The default is few chunks (16) because each chunk owns a d x K statistics buffer in
    ``masked.em_statistics``; 16 still keeps up to 16 threads busy.

    Each run holds at least one user and, data permitting, ``min_nnz`` ratings, so that
    small matrices do not pay for many parallel launches; c <= min(n_chunks, n_users).
    """
    n = len(indptr) - 1
    c = max(1, min(n_chunks, n, int(indptr[-1]) // max(min_nnz, 1)))
    targets = np.linspace(0, indptr[-1], c + 1)[1:-1]
    inner = np.searchsorted(indptr, targets, side="left")
    bounds = np.unique(np.concatenate(([0], np.clip(inner, 1, max(n - 1, 1)), [n])))
    return bounds.astype(np.int64)


#: Each chunk's statistics buffer holds 2 d Kp floats: give a chunk at least this many ratings per item.
RATINGS_PER_ITEM = 8
#: Bytes of s0 and s1 rows one item tile may occupy (most of a 48 KiB L1 data cache).
TILE_BYTES = 32 * 1024
#: Fewest ratings per user and tile, on average, for tiling to pay for its bookkeeping.
MIN_TILE_RATINGS = 128
#: Times a group's ratings should revisit each row of a tile, on average; and the group's bounds.
ROW_REUSE, MIN_GROUP, MAX_GROUP = 8, 32, 4096


def statistics_chunks(indptr: np.ndarray, n_items: int) -> np.ndarray:
    """``balanced_chunks`` for ``masked.em_statistics``: few enough that zeroing and summing the
    chunks' d x K buffers stays small beside the chunks' own work."""
    return balanced_chunks(indptr, min_nnz=max(MIN_CHUNK_NNZ, RATINGS_PER_ITEM * n_items))


def cache_blocking(indptr: np.ndarray, n_items: int, n_components: int) -> tuple[np.ndarray, int]:
    """(tiles (t + 1,) int64 item boundaries, group) for the cache blocking of ``masked.em_statistics``.

    Tiles are as narrow as TILE_BYTES allows for two float64 rows of Kp = padded(K) components
    per item, but no more numerous than the data's density pays for (MIN_TILE_RATINGS ratings
    per user and tile on average): dense matrices get L1-sized tiles, very sparse ones one tile.
    A group is enough users that their ratings in a tile revisit each of its rows ROW_REUSE
    times on average.
    """
    per_tile = max(1, TILE_BYTES // (2 * 8 * padded(n_components)))
    per_user = int(indptr[-1]) / max(len(indptr) - 1, 1)
    t = max(1, min(-(-n_items // per_tile), int(per_user // MIN_TILE_RATINGS)))
    group = int(np.clip(np.ceil(ROW_REUSE * n_items / max(per_user, 1.0)), MIN_GROUP, MAX_GROUP))
    return np.linspace(0, n_items, t + 1).round().astype(np.int64), group
