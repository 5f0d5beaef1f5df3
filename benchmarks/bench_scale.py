"""Scaling: one EM iteration of MixtureCompleter (completion.e_step + m_step), in two passes (the
default) and in one (passes=1), beside the SciPy-sparse reference (benchmarks/scipy_reference.py),
on planted Netflix-Prize-shaped matrices.

    python benchmarks/bench_scale.py --sizes 1e6 1e7 1e8 --ks 4 12 32 --threads 1 2
        each case in fresh subprocesses (median seconds per iteration; below 50M ratings the median of
        3 rounds of fastem, fastem in one pass, then SciPy, --rounds; peak RSS of the processes);
        rows merged into benchmarks/results/scale.json, a chart beside it where matplotlib is present
    python benchmarks/bench_scale.py --gather-floor --sizes 1e7 1e8 --ks 4 12 32 --threads 1 2
        the E-step and the M-step of fastem timed apart, beside a loop that only gathers and adds
        the means' row of each rating as the E-step does (the floor of any kernel that reads one
        row per rating in this layout) -> benchmarks/results/gather_floor.json
    python benchmarks/bench_scale.py --dask
        distributed.fit on a LocalCluster of 2 worker processes against the single-machine fit
        (1M ratings, K = 12): seconds per iteration of each -> benchmarks/results/dask.json
    pytest benchmarks/bench_scale.py
        the 1M-rating, K = 12 iteration of all three, side by side in one pytest-benchmark session

Rows of scale.json: n_ratings, k, threads, fastem_seconds, one_pass_seconds, scipy_seconds,
fastem_peak_rss, one_pass_peak_rss, scipy_peak_rss (bytes), read_bandwidth (bytes per second this
machine streams with the case's threads, measured by ``read_bandwidth`` just before the case),
bandwidth_floor_seconds (one read of the stored ratings at that rate), plus n_users, n_items,
data_bytes. Planted matrices are generated
once and kept in $FASTEM_BENCH_DIR (default /tmp/fastem-bench).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from numba import njit, prange

sys.path.insert(0, str(Path(__file__).parent))

import scipy_reference  # noqa: E402
from fastem import datasets, load_ratings  # noqa: E402
from fastem._base import numba_threads  # noqa: E402
from fastem._kernels import masked  # noqa: E402
from fastem._kernels.simd import NARROW, WIDTH, aligned_zeros, fetch, vadd, vload_as, vstore, vzero, vzero4  # noqa: E402
from fastem.ratings import item_blocks  # noqa: E402
from fastem.completion import course_start, e_step, m_step, new_workspace  # noqa: E402

NETFLIX = dict(n_users=480_189, n_items=17_770, n_ratings=100_480_507)
RESULTS = Path(__file__).parent / "results"
DATA_DIR = Path(os.environ.get("FASTEM_BENCH_DIR", "/tmp/fastem-bench"))


def netflix_shape(n_ratings: int) -> tuple[int, int]:
    """(n_users, n_items): the Netflix Prize's items and its ratings per user, scaled to ``n_ratings``."""
    return max(1, round(NETFLIX["n_users"] * n_ratings / NETFLIX["n_ratings"])), NETFLIX["n_items"]


def dataset(n_ratings: int) -> Path:
    """The saved planted matrix of ``n_ratings`` (generated on first use)."""
    path = DATA_DIR / f"planted-{n_ratings}.npz"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        R, _ = datasets.planted(*netflix_shape(n_ratings), n_ratings, n_components=12, seed=0)
        R.save(path.with_suffix(".part"))
        path.with_suffix(".part").rename(path)
    return path


def data_bytes(R) -> int:
    return R.indptr.nbytes + R.indices.nbytes + R.values.nbytes


@njit(parallel=True, cache=True)
def _total(a):
    s = 0
    for i in prange(a.shape[0]):
        s += a[i]
    return s


def read_bandwidth(threads: int, n_bytes: int = 1 << 30, repeats: int = 5) -> float:
    """Bytes per second ``threads`` threads stream from memory: the best of ``repeats`` parallel
    integer sums over ``n_bytes`` (far beyond the caches; integer, so the sum is not a chain of
    floating-point latencies)."""
    a = np.ones(n_bytes // 8, dtype=np.int64)
    with numba_threads(threads):
        _total(a)
        best = np.inf
        for _ in range(repeats):
            start = time.perf_counter()
            _total(a)
            best = min(best, time.perf_counter() - start)
    return a.nbytes / best


# ---------------------------------------------------------------- one iteration of each implementation

def fastem_iteration(R, K: int, passes: int = 2):
    """A closure running one MixtureCompleter iteration from the course's start (its workspace
    allocated once, as ``fit`` does)."""
    params, workspace = course_start(R, K, 0), new_workspace(R, K, passes)

    def iteration():
        stats, _ = e_step(R, params, workspace, passes)
        return m_step(stats, params, R.n_users, 0.25, 1.0)
    return iteration


def scipy_iteration(R, K: int):
    S = scipy_reference.Sparse(R)
    start = course_start(R, K, 0)
    params = (start.means, start.variances, start.weights)

    def iteration():
        post, _ = scipy_reference.e_step(S, *params)
        return scipy_reference.m_step(S, post, params[0])
    return iteration


def one_pass_iteration(R, K: int):
    """``fastem_iteration`` of MixtureCompleter(passes=1)."""
    return fastem_iteration(R, K, passes=1)


IMPLEMENTATIONS = {"fastem": fastem_iteration, "one_pass": one_pass_iteration, "scipy": scipy_iteration}


def median_seconds(run, repeats: int) -> float:
    """Median wall seconds of ``repeats`` calls of ``run`` after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_case(impl: str, path: str, K: int, n_iter: int) -> dict:
    """In this process: median seconds of ``n_iter`` iterations after a warm-up, and the peak RSS."""
    R = load_ratings(path, mmap=True)
    return dict(seconds=median_seconds(IMPLEMENTATIONS[impl](R, K), n_iter), peak_rss=peak_rss())


def peak_rss() -> int:
    """Bytes: this process's peak resident set (VmHWM; unlike ru_maxrss, not inherited through exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def case_in_subprocess(impl: str, path: Path, K: int, threads: int, n_iter: int) -> dict:
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, __file__, "--case", impl, str(path), str(K), str(n_iter)],
                         env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def save_row(out: Path, rows: list[dict], row: dict) -> list[dict]:
    """rows with ``row`` in place of any row of the same (n_ratings, k, threads), sorted, written to
    ``out`` as JSON (so a partial rerun keeps the other cases); the row is printed too."""
    print(json.dumps(row), flush=True)
    key = (row["n_ratings"], row["k"], row["threads"])
    rows = sorted([r for r in rows if (r["n_ratings"], r["k"], r["threads"]) != key] + [row],
                  key=lambda r: (r["n_ratings"], r["k"], r["threads"]))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1) + "\n")
    return rows


def alternating_cases(path: Path, K: int, threads: int, n_iter: int, rounds: int) -> dict:
    """impl -> (median seconds over ``rounds`` rounds, peak RSS): each round runs fastem, fastem in
    one pass and then SciPy in fresh processes, so a minute of a busy host weighs on all alike."""
    runs = {impl: [] for impl in IMPLEMENTATIONS}
    for _ in range(rounds):
        for impl in IMPLEMENTATIONS:
            runs[impl].append(case_in_subprocess(impl, path, K, threads, n_iter))
    return {impl: (statistics.median(r["seconds"] for r in cases), max(r["peak_rss"] for r in cases))
            for impl, cases in runs.items()}


def scale(sizes, ks, threads, out: Path, rounds: int = 3) -> list[dict]:
    rows = json.loads(out.read_text()) if out.exists() else []
    for n_ratings in sizes:
        path = dataset(n_ratings)
        R = load_ratings(path, mmap=True)
        large = n_ratings >= 50_000_000
        n_iter = 3 if large else 5
        for K in ks:
            for t in threads:
                bandwidth = read_bandwidth(t)   # just before the case: a busy host's share changes by the minute
                cases = alternating_cases(path, K, t, n_iter, 1 if large else rounds)
                (fast, fast_rss), (one, one_rss), (ref, ref_rss) = (cases[i] for i in ("fastem", "one_pass", "scipy"))
                row = dict(n_ratings=R.nnz, k=K, threads=t, fastem_seconds=fast, one_pass_seconds=one,
                           scipy_seconds=ref, fastem_peak_rss=fast_rss, one_pass_peak_rss=one_rss,
                           scipy_peak_rss=ref_rss, read_bandwidth=bandwidth,
                           bandwidth_floor_seconds=data_bytes(R) / bandwidth,
                           n_users=R.n_users, n_items=R.n_items, data_bytes=data_bytes(R))
                rows = save_row(out, rows, row)
    try:
        from fastem.plot import scaling
    except ImportError:
        return rows
    try:
        scaling(out, out.with_suffix(".png"))
    except ImportError:   # matplotlib absent
        pass
    return rows


def dask_overhead(n_ratings: int, K: int, n_iter: int, out: Path) -> dict:
    """Median seconds per iteration of distributed.fit (2 worker processes, 1 Numba thread each) and of
    the same iterations on this machine through fastem.em with 2 threads; same data and start."""
    from dask.distributed import Client, LocalCluster

    from fastem import distributed, em

    path = dataset(n_ratings)
    R = load_ratings(path, mmap=True)

    def per_iteration(fit):
        stamps = [time.perf_counter()]
        fit(lambda *_: stamps.append(time.perf_counter()))
        return statistics.median(np.diff(stamps)[1:])   # the first includes loading and compilation

    with numba_threads(2):
        workspace = new_workspace(R, K)
        single = per_iteration(lambda cb: em.run(course_start(R, K, 0), lambda p: e_step(R, p, workspace),
                                                 lambda s, p: m_step(s, p, R.n_users, 0.25, 1.0),
                                                 converged=lambda old, new: False, max_iter=n_iter, callback=cb))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        dist = per_iteration(lambda cb: distributed.fit(client, path, K, seeds=[0], tol=0.0, max_iter=n_iter,
                                                        callback=cb))
    row = dict(n_ratings=R.nnz, k=K, workers=2, threads_per_worker=1, single_threads=2,
               single_seconds=single, dask_seconds=dist, overhead_seconds=dist - single)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(row, indent=1) + "\n")
    return row


# ---------------------------------------------------------------- the gather floor

@njit(cache=True)
def add_row(a, b, indices, p, table, d, Kp, lane):
    """(a, b) + rating p's item row of table, lanes lane.. (a's width) and lane + 8.. (b's; none
    when b is None)."""
    i = np.intp(fetch(indices, p))
    row_a = vadd(a, vload_as(a, table, masked.vector_at(a, d, Kp, i, lane)))
    if b is None:
        return row_a, b
    return row_a, vadd(b, vload_as(b, table, masked.vector_at(b, d, Kp, i, lane + WIDTH)))


@njit(cache=True, inline="always")
def gather_vectors(zero_a, zero_b, indptr, indices, table, Kp, lo, hi, lanes, out):
    """out[u Kp + lane ..] <- for users lo..hi-1 and lane groups lanes[0], lanes[0] + 16, .. <
    lanes[1], the sums of table's lanes lane.. (table (d * Kp,) as the E-step reads the means,
    ``masked.vector_at``; one vector as wide as zero_a, then one as wide as zero_b, or none when
    zero_b is None) over the user's items, one walk per user and group, as four partial sums
    (ratings p = 0, 1, 2, 3 mod 4): with one, each addition waits on the one before (a 256-item
    table, in L1, took no less time than all 17,770 items), so the loop measured the adder's latency."""
    d = table.shape[0] // Kp
    for u in range(lo, hi):
        for lane in range(lanes[0], lanes[1], 2 * WIDTH):
            a0, b0, a1, b1, a2, b2, a3, b3 = zero_a, zero_b, zero_a, zero_b, zero_a, zero_b, zero_a, zero_b
            p, end = indptr[u], indptr[u + 1]
            while p + 3 < end:
                a0, b0 = add_row(a0, b0, indices, p, table, d, Kp, lane)
                a1, b1 = add_row(a1, b1, indices, p + 1, table, d, Kp, lane)
                a2, b2 = add_row(a2, b2, indices, p + 2, table, d, Kp, lane)
                a3, b3 = add_row(a3, b3, indices, p + 3, table, d, Kp, lane)
                p += 4
            while p < end:
                a0, b0 = add_row(a0, b0, indices, p, table, d, Kp, lane)
                p += 1
            vstore(out, u * Kp + lane, vadd(vadd(a0, a1), vadd(a2, a3)))
            if zero_b is not None:
                vstore(out, u * Kp + lane + WIDTH, vadd(vadd(b0, b1), vadd(b2, b3)))


@njit(parallel=True, cache=True)
def gather_rows(indptr, indices, table, Kp, block, out):
    """out (n * Kp,) <- per user, the sum of table's (d * Kp,) rows of the user's items: the
    E-step's walks and loads (``masked.user_errors``: 16 lanes, then 12, 8 or 4) without its
    arithmetic."""
    n = indptr.shape[0] - 1
    lane = Kp // (2 * WIDTH) * (2 * WIDTH)
    for b in prange(-(-n // block)):
        lo, hi = b * block, min(n, (b + 1) * block)
        if lane > 0:
            gather_vectors(vzero(), vzero(), indptr, indices, table, Kp, lo, hi, (0, lane), out)
        if Kp - lane == WIDTH + NARROW:
            gather_vectors(vzero(), vzero4(), indptr, indices, table, Kp, lo, hi, (lane, Kp), out)
        elif Kp - lane == WIDTH:
            gather_vectors(vzero(), None, indptr, indices, table, Kp, lo, hi, (lane, Kp), out)
        elif Kp - lane == NARROW:
            gather_vectors(vzero4(), None, indptr, indices, table, Kp, lo, hi, (lane, Kp), out)


def gather_floor(sizes, ks, threads, out: Path) -> list[dict]:
    """Rows (n_ratings, k, threads, gather_seconds, estep_seconds, mstep_seconds): median seconds
    of ``gather_rows``, of fastem's E-step (``masked.estep_blocks``) and of its M-step sums
    (``masked.item_sums``), one process, from the course's start after one iteration."""
    rows = json.loads(out.read_text()) if out.exists() else []
    for n_ratings in sizes:
        R = load_ratings(dataset(n_ratings))
        L = item_blocks(R)
        for K in ks:
            params = course_start(R, K, 0)
            resp_p = masked.workspace(R.n_users, K)
            params = m_step(e_step(R, params, resp_p)[0], params, R.n_users, 0.25, 1.0)
            Kp = masked.row_width(K)
            table, sums = masked.to_table(params.means_t, Kp, L.item_order), aligned_zeros(R.n_users * Kp)
            for t in threads:
                with numba_threads(t):
                    row = dict(n_ratings=R.nnz, k=K, threads=t,
                               gather_seconds=median_seconds(lambda: gather_rows(L.indptr, L.indices, table, Kp, L.block, sums), 7),
                               estep_seconds=median_seconds(lambda: masked.estep_blocks(
                                   L, params.means_t, params.log_weights(), params.variances, resp_p), 7),
                               mstep_seconds=median_seconds(lambda: masked.item_sums(L, resp_p, K, t), 7))
                rows = save_row(out, rows, row)
    return rows


# ---------------------------------------------------------------- pytest-benchmark: 1M ratings, K = 12

@pytest.fixture(scope="module")
def million():
    return load_ratings(dataset(1_000_000), mmap=True)


@pytest.mark.benchmark(group="one EM iteration, 1M planted ratings, K=12")
def test_iteration_fastem_1m(benchmark, million):
    iteration = fastem_iteration(million, 12)
    iteration()
    benchmark(iteration)


@pytest.mark.benchmark(group="one EM iteration, 1M planted ratings, K=12")
def test_iteration_fastem_one_pass_1m(benchmark, million):
    iteration = one_pass_iteration(million, 12)
    iteration()
    benchmark(iteration)


@pytest.mark.benchmark(group="one EM iteration, 1M planted ratings, K=12")
def test_iteration_scipy_1m(benchmark, million):
    iteration = scipy_iteration(million, 12)
    iteration()
    benchmark(iteration)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--ks", type=int, nargs="+", default=[4, 12, 32])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/scale.json, "
                        "gather_floor.json with --gather-floor, dask.json with --dask)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating fastem/SciPy rounds per case below 50M ratings")
    parser.add_argument("--dask", action="store_true", help="measure the Dask overhead instead")
    parser.add_argument("--gather-floor", action="store_true", help="time the E- and M-steps beside the gather floor")
    parser.add_argument("--case", nargs=4, metavar=("IMPL", "PATH", "K", "N_ITER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        impl, path, K, n_iter = args.case
        print(json.dumps(run_case(impl, path, int(K), int(n_iter))))
    elif args.dask:
        print(json.dumps(dask_overhead(1_000_000, 12, 12, args.out or RESULTS / "dask.json")))
    elif args.gather_floor:
        gather_floor([int(s) for s in args.sizes], args.ks, args.threads, args.out or RESULTS / "gather_floor.json")
    else:
        scale([int(s) for s in args.sizes], args.ks, args.threads, args.out or RESULTS / "scale.json", args.rounds)


if __name__ == "__main__":
    main()
