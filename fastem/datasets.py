"""The course's reference data (Netflix subset, toy points) and where to find or fetch it.

Files are looked up in ``$FASTEM_DATA``, then ``./data``; ``fastem data fetch`` downloads
them from a public copy of the course project and checks their SHA-256 sums.
"""
from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path

import numpy as np

from .ratings import RatingMatrix, load_ratings

#: SHA-256 of each reference file (the same sums as data/SHA256SUMS).
CHECKSUMS = {
    "netflix_complete.txt": "30c27318115235e50d6124ecbead6241d2376fc7c2116106834bf558d175dc35",
    "netflix_incomplete.txt": "7a81ae26f41725a5deeec079dceec27d06949e1b82795803d42ec68c0e00408c",
    "test_complete.txt": "0a5c494e5faf287544bae4af069d7557f50953116e64b39a80ec4be200e1772e",
    "test_incomplete.txt": "bef9922ca72b321f270c1c8e25e9b54bdac16102d8f1fdb8fd0539c732c3c37f",
    "test_solutions.txt": "14ddb974dc3610dbdc50610f84d1c8534c32de5ac4d36816a463e63943a2234b",
    "toy_data.txt": "a558ed25342d216d432fc8fa80870ef5fca43f45aeebd9350c32529b39d492d7",
}

#: A public copy of the course project's files (override with $FASTEM_DATA_URL).
DEFAULT_URL = "https://raw.githubusercontent.com/Samanngh/netflix-em-collaborative-filtering/main/"

HOW_TO_GET = ("run `fastem data fetch` to download them into ./data, "
              "or point $FASTEM_DATA at a folder that holds them")


def data_dir(files=("netflix_incomplete.txt",)) -> Path:
    """The first of $FASTEM_DATA and ./data that holds every name in ``files``."""
    candidates = [Path(p) for p in (os.environ.get("FASTEM_DATA"), "data") if p]
    for folder in candidates:
        if all((folder / f).is_file() for f in files):
            return folder
    looked = ", ".join(str(c.resolve()) for c in candidates)
    raise FileNotFoundError(f"reference data {list(files)} not found (looked in {looked}); {HOW_TO_GET}")


def netflix() -> tuple[RatingMatrix, np.ndarray]:
    """The 1200 x 1200 Netflix subset: (incomplete ratings, complete (1200, 1200) gold matrix)."""
    folder = data_dir(["netflix_incomplete.txt", "netflix_complete.txt"])
    return load_ratings(folder / "netflix_incomplete.txt"), load_ratings(folder / "netflix_complete.txt").to_dense()


def toy() -> np.ndarray:
    """The course's (250, 2) toy points."""
    folder = data_dir(["toy_data.txt"])
    return np.loadtxt(folder / "toy_data.txt", ndmin=2)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(dest="data", base_url: str | None = None, log=print) -> Path:
    """Download every reference file into ``dest``, verifying each SHA-256 sum.

    A file already present with the right sum is kept; a download with a wrong sum is
    deleted and raises ValueError.
    """
    base_url = base_url or os.environ.get("FASTEM_DATA_URL", DEFAULT_URL)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name, expected in CHECKSUMS.items():
        target = dest / name
        if target.is_file() and sha256(target) == expected:
            log(f"{name}: present, checksum ok")
            continue
        url = base_url.rstrip("/") + "/" + name
        log(f"{name}: downloading {url}")
        tmp = target.with_suffix(".part")
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
                out.write(response.read())
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise OSError(f"could not download {url}: {e}") from None
        got = sha256(tmp)
        if got != expected:
            tmp.unlink()
            raise ValueError(f"{url}: SHA-256 {got} does not match the expected {expected}")
        tmp.replace(target)
    return dest
