"""Speed report of the spherical EM on the user's own data (``fastem bench``): the one-time cost of
laying out the ratings and the seconds per EM iteration for each K and thread count.

The comparisons with the reference implementations (dense NumPy, SciPy sparse, scikit-learn)
live in the repository's ``benchmarks/``; this report needs nothing but fastem itself.
"""
from __future__ import annotations

import statistics
import time

from . import completion
from ._base import numba_threads
from ._validation import check_int
from .ratings import RatingMatrix, item_blocks


def layout_seconds(R: RatingMatrix) -> float:
    """Seconds to build R's ``ItemBlocks`` (0 when already built: they are kept on R)."""
    start = time.perf_counter()
    item_blocks(R)
    return time.perf_counter() - start


def iteration_seconds(R: RatingMatrix, K: int, n_iter: int, seed: int = 0, passes: int = 2) -> list[float]:
    """Wall seconds of ``n_iter`` EM iterations (statistics pass(es) and M-step) from the course's start."""
    params = completion.floor_variances(completion.course_start(R, K, seed), 0.25)
    workspace = completion.new_workspace(R, K, passes)
    completion.e_step(R, params, workspace, passes)   # compiled and warm before the clock starts
    seconds = []
    for _ in range(n_iter):
        start = time.perf_counter()
        stats, _ = completion.e_step(R, params, workspace, passes)
        params = completion.m_step(stats, params, R.n_users, 0.25, 1.0)
        seconds.append(time.perf_counter() - start)
    return seconds


def report(R: RatingMatrix, ks, threads, n_iter: int = 10, passes=(2,)) -> list[dict]:
    """One row per (K, threads, passes): k, threads, passes, median and min seconds per iteration, ns
    per rating (median seconds / nnz), plus the layout's one-time seconds (of 2 passes; 0 when only
    1 is timed), n_users, n_items, nnz."""
    n_iter = check_int("iterations", n_iter, minimum=1)
    passes = [completion.check_passes(p) for p in passes]
    layout = layout_seconds(R) if 2 in passes else 0.0
    rows = []
    for K in ks:
        if not 1 <= K <= R.n_users:
            raise ValueError(f"K must be in 1..{R.n_users} (the number of users), got {K}")
        for n_threads, n_passes in ((t, p) for t in threads for p in passes):
            with numba_threads(n_threads):
                seconds = iteration_seconds(R, K, n_iter, passes=n_passes)
            median = statistics.median(seconds)
            rows.append(dict(k=K, threads=n_threads, passes=n_passes, median_seconds=median, min_seconds=min(seconds),
                             ns_per_rating=1e9 * median / max(R.nnz, 1), layout_seconds=layout,
                             n_users=R.n_users, n_items=R.n_items, nnz=R.nnz))
    return rows


def format_report(rows: list[dict]) -> str:
    """The report as a text table."""
    first = rows[0]
    layout = (f"; layout of two passes built once in {first['layout_seconds']:.3f} s"
              if any(r["passes"] == 2 for r in rows) else "")
    lines = [f"{first['n_users']} users x {first['n_items']} items, {first['nnz']} ratings{layout}",
             f"{'K':>4} {'threads':>7} {'passes':>6} {'ms/iter':>9} {'min ms':>9} {'ns/rating':>10}"]
    for r in rows:
        lines.append(f"{r['k']:>4} {r['threads']:>7} {r['passes']:>6} {1e3 * r['median_seconds']:>9.2f} "
                     f"{1e3 * r['min_seconds']:>9.2f} {r['ns_per_rating']:>10.2f}")
    return "\n".join(lines)
