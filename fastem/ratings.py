"""RatingMatrix, an incomplete user x item matrix stored as CSR by user, and its loaders.

Every fit path reads ratings through ``indptr``/``indices``/``values``; no dense
n_users x n_items array is built except by the explicit ``to_dense``.
"""
from __future__ import annotations

import os
import zipfile
from typing import NamedTuple
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ._kernels import by_item, summaries
from .chunks import even_chunks

FORMAT_NAME = "fastem.RatingMatrix"
FORMAT_VERSION = 1
_MAX_ID = 2**62


def compact_values(values: np.ndarray) -> np.ndarray:
    """Smallest lossless dtype for ratings: uint8 for integers 0..255, else float32 if exact, else float64."""
    values = np.asarray(values, dtype=np.float64)
    if values.size and values.min() >= 0 and values.max() <= 255 and np.all(values == np.round(values)):
        return values.astype(np.uint8)
    as32 = values.astype(np.float32)
    if np.array_equal(as32.astype(np.float64), values):
        return as32
    return values


class RatingMatrix:
    """Observed ratings of an ``n_users x n_items`` matrix, CSR by user.

    Attributes
    ----------
    indptr : (n_users + 1,) int64, row pointers.
    indices : (nnz,) int32, item of each rating, strictly increasing within a user.
    values : (nnz,) uint8, float32 or float64 (the smallest lossless type; sums are float64).
    user_ids, item_ids : (n_users,), (n_items,) int64 or None, original ids of triplet files.
    """

    __slots__ = ("indptr", "indices", "values", "shape", "user_ids", "item_ids", "_moments", "_by_item")

    def __init__(self, indptr, indices, values, shape, user_ids=None, item_ids=None, *, check_entries=True):
        """``check_entries=False`` checks the layout only (O(n_users), for memory-mapped files and
        generated matrices): every entry's range, order and finiteness are then the caller's promise."""
        n_users, n_items = (int(s) for s in shape)
        if n_users < 0 or n_items < 0 or n_items > np.iinfo(np.int32).max:
            raise ValueError(f"invalid shape {shape}")
        indptr = np.asarray(indptr, dtype=np.int64)
        indices = np.asarray(indices, dtype=np.int32)
        values = np.asarray(values)
        if values.dtype not in (np.uint8, np.float32, np.float64):
            values = compact_values(values)
        _check_layout(indptr, indices, values, n_users)
        if check_entries:
            _check_entries(indptr, indices, values, n_items)
        self.indptr, self.indices, self.values = (_readonly(a) for a in (indptr, indices, values))
        self.shape = (n_users, n_items)
        self._moments = None
        self._by_item = None
        self.user_ids = None if user_ids is None else _readonly(np.asarray(user_ids, dtype=np.int64))
        self.item_ids = None if item_ids is None else _readonly(np.asarray(item_ids, dtype=np.int64))
        for name, ids, n in (("user_ids", self.user_ids, n_users), ("item_ids", self.item_ids, n_items)):
            if ids is not None and ids.shape != (n,):
                raise ValueError(f"{name} has shape {ids.shape}, expected ({n},)")

    @property
    def n_users(self) -> int:
        """Number of rows (users)."""
        return self.shape[0]

    @property
    def n_items(self) -> int:
        """Number of columns (items)."""
        return self.shape[1]

    @property
    def nnz(self) -> int:
        """Number of observed ratings."""
        return int(self.indices.shape[0])

    def __repr__(self) -> str:
        return f"RatingMatrix({self.n_users} users x {self.n_items} items, {self.nnz} ratings, {self.values.dtype})"

    def user_counts(self) -> np.ndarray:
        """(n_users,) int64: number of observed ratings of each user."""
        return np.diff(self.indptr)

    def rows(self) -> np.ndarray:
        """(nnz,) int64: the user of each stored rating."""
        return np.repeat(np.arange(self.n_users, dtype=np.int64), self.user_counts())

    def to_dense(self, missing: float = 0.0) -> np.ndarray:
        """(n_users, n_items) float64 array, ``missing`` where nothing was observed."""
        out = np.full(self.shape, missing, dtype=np.float64)
        out[self.rows(), self.indices] = self.values
        return out

    def to_scipy(self) -> sp.csr_matrix:
        """(n_users, n_items) scipy.sparse.csr_matrix holding copies of the ratings."""
        return sp.csr_matrix((self.values.copy(), self.indices.copy(), self.indptr.copy()), shape=self.shape)

    def _subset(self, keep: np.ndarray) -> "RatingMatrix":
        counts = np.bincount(self.rows()[keep], minlength=self.n_users)
        indptr = np.concatenate(([0], np.cumsum(counts)))
        return RatingMatrix(indptr, self.indices[keep], self.values[keep], self.shape, self.user_ids, self.item_ids)

    def split(self, fraction: float = 0.1, seed: int = 0) -> tuple["RatingMatrix", "RatingMatrix"]:
        """Hide a random ``fraction`` of the observed ratings: returns (train, test), same shape."""
        fraction = float(fraction)
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"fraction must be in (0, 1), got {fraction}")
        n_test = int(round(fraction * self.nnz))
        if n_test == 0 or n_test == self.nnz:
            raise ValueError(f"fraction {fraction} of {self.nnz} ratings leaves an empty train or test part")
        hidden = np.zeros(self.nnz, dtype=bool)
        hidden[np.random.default_rng(seed).choice(self.nnz, n_test, replace=False)] = True
        return self._subset(~hidden), self._subset(hidden)

    def save(self, path) -> None:
        """Write a versioned, uncompressed .npz (no pickle), readable by ``load_ratings``."""
        arrays = dict(
            format=np.array(FORMAT_NAME), version=np.array(FORMAT_VERSION),
            shape=np.array(self.shape, dtype=np.int64),
            indptr=self.indptr, indices=self.indices, values=self.values,
        )
        if self.user_ids is not None:
            arrays["user_ids"] = self.user_ids
        if self.item_ids is not None:
            arrays["item_ids"] = self.item_ids
        with open(path, "wb") as f:
            np.savez(f, **arrays)


def _readonly(a: np.ndarray) -> np.ndarray:
    """A read-only view of ``a`` (contiguous); the caller's own array keeps its flags."""
    view = np.ascontiguousarray(a).view()
    view.flags.writeable = False
    return view


def _check_layout(indptr, indices, values, n_users) -> None:
    if indptr.shape != (n_users + 1,) or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
        raise ValueError("indptr must be non-decreasing, start at 0 and have n_users + 1 entries")
    nnz = int(indptr[-1])
    if indices.shape != (nnz,) or values.shape != (nnz,):
        raise ValueError(f"indptr ends at {nnz} but there are {indices.shape[0]} indices and {values.shape[0]} values")


def _check_entries(indptr, indices, values, n_items) -> None:
    nnz = indices.shape[0]
    if nnz and (indices.min() < 0 or indices.max() >= n_items):
        raise ValueError(f"item index out of range 0..{n_items - 1}")
    if nnz > 1:
        step = np.diff(indices.astype(np.int64))
        row_start = np.zeros(nnz, dtype=bool)
        row_start[indptr[1:-1][indptr[1:-1] < nnz]] = True
        bad = np.flatnonzero((step <= 0) & ~row_start[1:])
        if bad.size:
            user = int(np.searchsorted(indptr, bad[0] + 1, side="right") - 1)
            item = int(indices[bad[0] + 1])
            raise ValueError(f"items of user {user} are not strictly increasing: item {item} is stored twice "
                             "or out of order")
    if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
        raise ValueError("ratings must be finite")


# ---------------------------------------------------------------- summaries

def column_moments(R: RatingMatrix) -> tuple[np.ndarray, np.ndarray, float]:
    """(column sums (d,), column counts (d,), sum of squares) of the observed ratings.

    Computed once per matrix (its arrays are read-only) and kept: every seed's start uses them.
    """
    if R._moments is not None:
        return R._moments
    sums, counts, total_sq = summaries.column_moments(R.indices, R.values, even_chunks(R.nnz), R.n_items)
    R._moments = (_readonly(sums), _readonly(counts), float(total_sq))
    return R._moments


class ItemBlocks(NamedTuple):
    """R's ratings as ``_kernels.by_item`` lays them out for the spherical EM kernels.

    block: users per block; indptr (n + 1,), values (nnz,): R's own CSR arrays (not copies),
    read user by user; indices (nnz,), item_order (d,): each rating's row in the E-step's table
    of the means, and the item whose means fill each row (``table_items``: a uint16 copy, the
    items by popularity, when d <= 65536, else R's own int32 array and the identity);
    segments (B d + 1,), runs (n_runs + 1,) int64; run_values (n_runs,); users (nnz,) uint16;
    column_ends (d + 1,) int64 cumulative ratings per item.
    """

    block: int
    n_items: int
    indptr: np.ndarray
    indices: np.ndarray
    item_order: np.ndarray
    values: np.ndarray
    segments: np.ndarray
    runs: np.ndarray
    run_values: np.ndarray
    users: np.ndarray
    column_ends: np.ndarray


#: Ratings a block should hold per item on average, so that its runs of equal ratings are long.
RATINGS_PER_SEGMENT = 256
#: Most users per block: their rows of K <= 16 responsibilities take 1 MiB, half of one core's L2
#: here (4096 to 8192 users measured alike at 100M ratings, K = 12; 2048 took 1.08x the time).
MAX_BLOCK = 8192
#: Blocks wanted at least, so the E-step (one block per thread at a time) has work for 4 threads.
MIN_BLOCKS = 4
#: The multiple the number of blocks is rounded up to, so that 2 threads get equal shares of the
#: E-step: the Netflix Prize's 480,189 users in 59 blocks of 8192 gave one of them a block more
#: (60 of 8004: the E-step 0.95x the time). A multiple of 4 cost 10M ratings, K = 4, 1 thread
#: 4% (8 blocks of 5974 users instead of 6: more, shorter runs for the M-step).
BLOCK_MULTIPLE = 2


def users_per_block(n_users: int, n_items: int, nnz: int) -> int:
    """About RATINGS_PER_SEGMENT ratings per (block, item) on average and at most MAX_BLOCK users,
    in at least MIN_BLOCKS blocks and a number rounded up to a multiple of BLOCK_MULTIPLE (exactly
    that many when blocks are large; where they are small, a few fewer); an even number of users
    (``even_block``). Depends on the matrix's shape and nnz only."""
    density = nnz / max(n_users * n_items, 1)
    most = min(RATINGS_PER_SEGMENT / max(density, 1e-12), MAX_BLOCK)
    n_blocks = max(MIN_BLOCKS, -(-int(np.ceil(max(n_users, 1) / most)) // BLOCK_MULTIPLE) * BLOCK_MULTIPLE)
    return even_block(-(-n_users // n_blocks))


def even_block(users: int) -> int:
    """users rounded up to an even number (at least 2): a block's rows of Kp float64 (a multiple
    of 4) then take a multiple of 64 bytes, so every block's table in a workspace starts on a cache
    line, as its vectors need to stay within one (7965 users at 100M ratings took 1.17x the time)."""
    return max(2, users + users % 2)


def item_blocks(R: RatingMatrix, block: int | None = None) -> ItemBlocks:
    """R's ratings as ``ItemBlocks``, built once per matrix and kept (per rating 2 bytes for its
    user and, up to 65536 items, 2 for its item; 8 bytes and a value per run of equal ratings). ``block`` overrides
    ``users_per_block`` (tests); such a layout is not kept."""
    if block is not None:
        if not 1 <= block <= 65536:
            raise ValueError(f"block must be in 1..65536 users, got {block}")
        return _item_blocks(R, block)
    if R._by_item is None:
        R._by_item = _item_blocks(R, users_per_block(R.n_users, R.n_items, R.nnz))
    return R._by_item


class CsrBlocks(NamedTuple):
    """R's own CSR arrays (not copies) in blocks of ``block`` users: what the one-sweep EM pass
    (``_kernels.one_pass``) and the E-step alone read. Nothing is laid out: R's items are the rows
    of the E-step's table of the means as they are (item_order (d,), the identity)."""

    block: int
    n_items: int
    indptr: np.ndarray
    indices: np.ndarray
    item_order: np.ndarray
    values: np.ndarray


#: Bytes of ratings a block of ``CsrBlocks`` should hold at most: half of one core's L2 here, so
#: the one-sweep pass reads a block's ratings from memory once and again from cache.
CSR_BLOCK_BYTES = 1 << 19


def csr_blocks(R: RatingMatrix, block: int | None = None) -> CsrBlocks:
    """R as ``CsrBlocks``: ``users_per_block`` users, fewer where their ratings would take more
    than CSR_BLOCK_BYTES (at the Netflix Prize's 209 ratings per user, about 500 users).
    ``block`` overrides that (tests)."""
    if block is None:
        per_user = max(R.nnz, 1) * (R.indices.itemsize + R.values.itemsize) / max(R.n_users, 1)
        fitting = int(CSR_BLOCK_BYTES // per_user)
        block = min(users_per_block(R.n_users, R.n_items, R.nnz), max(2, fitting - fitting % 2))   # even, see even_block
    elif not 1 <= block:
        raise ValueError(f"block must be >= 1 users, got {block}")
    return CsrBlocks(block, R.n_items, R.indptr, R.indices, np.arange(R.n_items), R.values)


def e_step_blocks(R: RatingMatrix) -> ItemBlocks | CsrBlocks:
    """What an E-step alone reads: R's item blocks where they are built already (their uint16
    items are the faster read), else R's CSR arrays; nothing is laid out for it. Either gives the
    same responsibilities to the bit (a user's sums run in item order in both)."""
    return R._by_item if R._by_item is not None else csr_blocks(R)


def _item_blocks(R: RatingMatrix, block: int) -> ItemBlocks:
    arrays = by_item.item_blocks(R.indptr, R.indices, R.values, R.n_items, block)
    return ItemBlocks(block, R.n_items, R.indptr, *table_items(R), R.values,
                      *(_readonly(a) for a in (*arrays, _column_ends(R))))


def table_items(R: RatingMatrix) -> tuple[np.ndarray, np.ndarray]:
    """(rows (nnz,), order (d,) int64): each rating's row in the E-step's table of the means, and
    the item whose means fill each row.

    When every item fits a uint16 (d <= 65536, as the Netflix Prize's 17,770 do), rows are a uint16
    copy of R.indices with the items numbered by decreasing count of ratings (ties by index): the
    E-step streams 3 bytes per rating instead of 5, and the rows read most often share cache lines
    (its walks 0.92x the time at 100M ratings, K = 12, 2 threads). A user's ratings keep R's order,
    so every sum is the same to the bit. Else R.indices itself and the identity."""
    if R.n_items > np.iinfo(np.uint16).max + 1:
        return R.indices, _readonly(np.arange(R.n_items))
    order = np.argsort(-column_moments(R)[1], kind="stable")
    row_of_item = np.empty(R.n_items, np.uint16)
    row_of_item[order] = np.arange(R.n_items)
    return _readonly(row_of_item[R.indices]), _readonly(order)


def _column_ends(R: RatingMatrix) -> np.ndarray:
    """(d + 1,) int64 cumulative ratings per item."""
    ends = np.zeros(R.n_items + 1, np.int64)
    ends[1:] = np.cumsum(column_moments(R)[1]).astype(np.int64)
    return ends


def item_means(R: RatingMatrix) -> tuple[np.ndarray, float, float]:
    """(item means (d,), global mean, global variance) of the observed ratings; unrated items get the global mean."""
    sums, counts, total_sq = column_moments(R)
    nnz = counts.sum()
    mean = sums.sum() / nnz
    var = max(total_sq / nnz - mean * mean, 1e-12)
    item = np.where(counts > 0, sums / np.maximum(counts, 1), mean)
    return item, mean, var


# ---------------------------------------------------------------- constructors

def from_dense(X) -> RatingMatrix:
    """From a 2-D array in which 0 and NaN mark missing entries."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"a rating matrix must be 2-D, got shape {X.shape}")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"a rating matrix must be numeric, got dtype {X.dtype}")
    X = X.astype(np.float64, copy=False)
    inf = np.argwhere(np.isinf(X))
    if inf.size:
        raise ValueError(f"infinite rating at (user {inf[0][0]}, item {inf[0][1]})")
    observed = (X != 0) & ~np.isnan(X)
    rows, cols = np.nonzero(observed)
    indptr = np.concatenate(([0], np.cumsum(observed.sum(axis=1)))).astype(np.int64)
    return RatingMatrix(indptr, cols, compact_values(X[rows, cols]), X.shape)


def from_scipy(M) -> RatingMatrix:
    """From a scipy.sparse matrix: every stored entry (explicit zeros too) is an observed rating."""
    csr = sp.csr_matrix(M)
    if csr.ndim != 2:
        raise ValueError(f"a rating matrix must be 2-D, got shape {csr.shape}")
    if not csr.has_sorted_indices:
        csr = csr.copy()
        csr.sort_indices()
    data = csr.data.astype(np.float64)
    if not np.all(np.isfinite(data)):
        raise ValueError("the sparse matrix stores a NaN or infinite rating; leave missing entries unstored")
    return RatingMatrix(csr.indptr, csr.indices, compact_values(data), csr.shape)


def from_triplets(users, items, ratings, shape=None, user_ids=None, item_ids=None) -> RatingMatrix:
    """From parallel arrays of 0-based user and item indices and ratings (any order, no duplicates)."""
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    ratings = np.asarray(ratings, dtype=np.float64)
    if not (users.shape == items.shape == ratings.shape) or users.ndim != 1:
        raise ValueError("users, items and ratings must be 1-D arrays of one length")
    if shape is None:
        shape = (int(users.max()) + 1 if users.size else 0, int(items.max()) + 1 if items.size else 0)
    if users.size and (users.min() < 0 or users.max() >= shape[0] or items.min() < 0 or items.max() >= shape[1]):
        raise ValueError(f"user or item index outside the shape {shape}")
    order = np.lexsort((items, users))
    users, items, ratings = users[order], items[order], ratings[order]
    dup = np.flatnonzero((np.diff(users) == 0) & (np.diff(items) == 0))
    if dup.size:
        raise ValueError(f"(user {users[dup[0]]}, item {items[dup[0]]}) is rated twice")
    if not np.all(np.isfinite(ratings)):
        raise ValueError("ratings must be finite")
    indptr = np.concatenate(([0], np.cumsum(np.bincount(users, minlength=shape[0]))))
    return RatingMatrix(indptr, items, compact_values(ratings), shape, user_ids, item_ids)


# ---------------------------------------------------------------- files

def _read_text(path: Path) -> str:
    """The file's text; ValueError naming the line of a NUL byte or of invalid UTF-8."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a directory, not a ratings file") from None
    nul = raw.find(b"\0")
    if nul >= 0:
        line = _line_at(raw, nul)
        raise ValueError(f"{path}:{line}: binary data (NUL byte), not a text ratings file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = _line_at(raw, e.start)
        raise ValueError(f"{path}:{line}: not UTF-8 text ({e.reason})") from None
    if not text.strip():
        raise ValueError(f"{path}: file is empty")
    return text


def _line_at(raw: bytes, offset: int) -> int:
    """The line number (from 1, as ``_lines`` counts) of byte ``offset`` of a file's raw bytes."""
    return len(_lines(raw[:offset].decode("latin-1")))


def _lines(text: str) -> list[str]:
    """The lines of ``text`` split at \n, \r\n and \r only, so line numbers match editors'
    (str.splitlines also splits at Unicode separators such as U+2028)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _float_or_none(token: str):
    try:
        return float(token)
    except ValueError:
        return None


def _load_dense_text(path: Path) -> RatingMatrix:
    text = _read_text(path)
    rows, width = [], None
    for lineno, line in enumerate(_lines(text), start=1):
        tokens = line.split()
        if not tokens:
            continue
        if width is None:
            width = len(tokens)
        elif len(tokens) != width:
            raise ValueError(f"{path}:{lineno}: {len(tokens)} values, but earlier rows have {width} (ragged rows)")
        try:
            row = np.array(tokens, dtype=np.float64)
        except ValueError:
            bad = next(t for t in tokens if _float_or_none(t) is None)
            raise ValueError(f"{path}:{lineno}: {bad[:40]!r} is not a number") from None
        if np.isinf(row).any():
            col = int(np.flatnonzero(np.isinf(row))[0])
            raise ValueError(f"{path}:{lineno}: infinite value in column {col + 1}")
        rows.append(row)
    return from_dense(np.vstack(rows))


def _parse_id(token: str, what: str, path: Path, lineno: int) -> int:
    try:
        value = int(token)
    except ValueError:
        f = _float_or_none(token)
        if f is None or not np.isfinite(f) or f != int(f):
            raise ValueError(f"{path}:{lineno}: {what} id {token[:40]!r} is not an integer") from None
        value = int(f)
    if value < 0 or value >= _MAX_ID:
        raise ValueError(f"{path}:{lineno}: {what} id {token[:40]} is outside 0..2^62")
    return value


def _load_triplets(path: Path, delimiter: str) -> RatingMatrix:
    """user, item, rating per line (extra columns such as a timestamp are ignored); an optional header."""
    text = _read_text(path)
    users, items, ratings, seen = [], [], [], {}
    header_allowed, width = True, None
    for lineno, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(delimiter)]
        if len(fields) < 3:
            raise ValueError(f"{path}:{lineno}: expected user{delimiter}item{delimiter}rating, got {line[:60]!r}")
        if header_allowed and all(_float_or_none(f) is None for f in fields[:3]):
            header_allowed, width = False, len(fields)
            continue
        header_allowed = False
        if width is None:
            width = len(fields)
        elif len(fields) != width:
            raise ValueError(f"{path}:{lineno}: {len(fields)} columns, but earlier lines have {width}")
        u = _parse_id(fields[0], "user", path, lineno)
        i = _parse_id(fields[1], "item", path, lineno)
        r = _float_or_none(fields[2])
        if r is None or not np.isfinite(r):
            raise ValueError(f"{path}:{lineno}: rating {fields[2][:40]!r} is not a finite number")
        if (u, i) in seen:
            raise ValueError(f"{path}:{lineno}: (user {u}, item {i}) was already rated on line {seen[(u, i)]}")
        seen[(u, i)] = lineno
        users.append(u)
        items.append(i)
        ratings.append(r)
    if not users:
        raise ValueError(f"{path}: no ratings in file")
    user_ids, u_idx = np.unique(np.array(users, dtype=np.int64), return_inverse=True)
    item_ids, i_idx = np.unique(np.array(items, dtype=np.int64), return_inverse=True)
    return from_triplets(u_idx, i_idx, ratings, (len(user_ids), len(item_ids)), user_ids, item_ids)


_LARGE = ("indices", "values")


def _load_npz(path: Path, mmap: bool = False) -> RatingMatrix:
    """A saved RatingMatrix; with ``mmap`` its indices and values are memory-mapped, not read."""
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: truncated or corrupt .npz file (no zip directory: cut short, or not an .npz)")
    try:
        with np.load(path, allow_pickle=False) as z:
            files = set(z.files)
            needed = {"format", "version", "shape", "indptr", "indices", "values"}
            if not needed <= files:
                raise ValueError(f"{path}: not a saved RatingMatrix (missing {sorted(needed - files)})")
            if str(z["format"]) != FORMAT_NAME:
                raise ValueError(f"{path}: holds {str(z['format'])!r}, not a RatingMatrix")
            if int(z["version"]) != FORMAT_VERSION:
                raise ValueError(f"{path}: format version {int(z['version'])}, this fastem reads {FORMAT_VERSION}")
            arrays = {k: z[k] for k in files if not (mmap and k in _LARGE)}
        if mmap:
            arrays.update(_mapped_members(path, _LARGE))
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise ValueError(f"{path}: truncated or corrupt .npz file ({e})") from None
    try:
        return RatingMatrix(arrays["indptr"], arrays["indices"], arrays["values"], tuple(arrays["shape"]),
                            arrays.get("user_ids"), arrays.get("item_ids"), check_entries=not mmap)
    except ValueError as e:
        raise ValueError(f"{path}: inconsistent saved matrix: {e}") from None


def _mapped_members(path: Path, names) -> dict[str, np.ndarray]:
    """Read-only np.memmap of each named .npy member of an uncompressed .npz (as ``RatingMatrix.save`` writes).

    ValueError when a member is compressed or its data runs past the end of the file (truncated).
    """
    size = path.stat().st_size
    out = {}
    with zipfile.ZipFile(path) as archive, open(path, "rb") as f:
        for name in names:
            info = archive.getinfo(name + ".npy")
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"{path}: {name} is compressed; memory-mapping needs RatingMatrix.save's "
                                 "uncompressed file (load with mmap=False)")
            f.seek(info.header_offset)
            local = f.read(30)
            if len(local) < 30 or local[:4] != b"PK\x03\x04":
                raise ValueError(f"{path}: truncated or corrupt .npz file (bad member header for {name})")
            f.seek(info.header_offset + 30 + int.from_bytes(local[26:28], "little")
                   + int.from_bytes(local[28:30], "little"))
            version = np.lib.format.read_magic(f)
            fmt = np.lib.format
            read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, fortran, dtype = read_header(f)
            offset = f.tell()
            if fortran or offset + int(np.prod(shape)) * dtype.itemsize > size:
                raise ValueError(f"{path}: truncated or corrupt .npz file ({name} runs past the end)")
            out[name] = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)
    return out


def load_ratings(source, mmap: bool = False) -> RatingMatrix:
    """Load ratings from a file, an array or a sparse matrix.

    source : path to a dense text matrix (.txt; whitespace separated; 0 or nan = missing),
        a triplet file (.csv or .tsv: user, item, rating; header optional; ids remapped to
        0..n-1 and kept in ``user_ids``/``item_ids``), a .npz from ``RatingMatrix.save``;
        a NumPy array (0 or NaN = missing); a scipy.sparse matrix (stored entries observed);
        or a RatingMatrix (returned as is).
    mmap : memory-map the items and ratings of a saved .npz instead of reading them: opens a
        100M-rating file at once; checks format, version, lengths and truncation, and trusts
        the entries themselves (range, order) to be as ``save`` wrote them.
    """
    if isinstance(source, RatingMatrix):
        return source
    if sp.issparse(source):
        return from_scipy(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        suffix = path.suffix.lower()
        if suffix == ".npz":
            if not path.exists():
                raise ValueError(f"{path}: no such file")
            return _load_npz(path, mmap)
        if mmap:
            raise ValueError(f"{path}: mmap=True needs a .npz written by RatingMatrix.save")
        if suffix in (".csv", ".tsv"):
            return _load_triplets(path, "," if suffix == ".csv" else "\t")
        return _load_dense_text(path)
    if isinstance(source, (np.ndarray, list, tuple)):
        return from_dense(source)
    raise ValueError(f"cannot load ratings from a {type(source).__name__}")
