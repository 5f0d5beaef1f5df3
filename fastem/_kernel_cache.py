"""Keeps Numba's on-disk cache of the kernels in step with their sources.

Numba checks the source file of each cached function, not the files of the functions it calls or
inlines (numba/numba#8396): after an edit of ``_kernels/simd.py`` alone, a cached E-step would
still run the old vector code, and the tests would test it. So on import, when the digest of the
kernels' sources differs from the one the cache was built from, the kernels' cache is cleared
(``fastem/__init__`` imports this module first, before any kernel can run).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

KERNELS = Path(__file__).parent / "_kernels"
STAMP = "fastem-kernel-sources.sha256"


def sources_digest(folder: Path = KERNELS) -> str:
    """sha256 over the names and bytes of the folder's .py files, in name order."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def clear_if_changed(cache_dir: Path, digest: str) -> bool:
    """Delete cache_dir's Numba index (.nbi) and object (.nbc) files unless its stamp says they
    were built from sources of this digest, then stamp it. True when files were deleted.
    Another process may do the same at once: missing files are only cache misses to Numba."""
    stamp = cache_dir / STAMP
    if stamp.is_file() and stamp.read_text().strip() == digest:
        return False
    stale = list(cache_dir.glob("*.nb[ic]")) if cache_dir.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache_dir / f"{STAMP}.{os.getpid()}"
    partial.write_text(digest + "\n")
    partial.replace(stamp)
    return bool(stale)


def keep_cache_current() -> None:
    """``clear_if_changed`` on the directory Numba caches the kernels in (the folder's
    __pycache__, or under NUMBA_CACHE_DIR); nothing when it cannot be written (Numba then
    caches nothing there either)."""
    from ._kernels.simd import padded   # any cached kernel: all of them share one directory

    try:
        clear_if_changed(Path(padded.stats.cache_path), sources_digest())
    except OSError:
        pass


keep_cache_current()
