"""The ``fastem`` command: fit mixtures over K x seeds, fetch the reference data."""
from __future__ import annotations

import argparse
import json
import sys


from . import datasets
from .metrics import rmse
from .ratings import load_ratings
from .selection import select_k

NAMED = {"netflix": "the course's 1200 x 1200 Netflix subset (its complete matrix is the default --gold)",
         "toy": "the course's 250 x 2 toy points"}


def parse_seeds(text: str) -> list[int]:
    """'0-4' -> [0, 1, 2, 3, 4]; '1,3,7' -> [1, 3, 7]; '5' -> [5]."""
    seeds = []
    try:
        for part in text.split(","):
            lo, _, hi = part.partition("-")
            seeds.extend(range(int(lo), int(hi) + 1) if hi else [int(lo)])
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must look like 0-4 or 1,3,7, got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"seeds must be non-negative, got {text!r}")
    return seeds


def _load(source: str):
    """(ratings, default gold matrix or None) for a named dataset or a file."""
    if source == "netflix":
        return datasets.netflix()
    if source == "toy":
        return load_ratings(datasets.toy()), None
    return load_ratings(source), None


def _format_table(rows: list[dict]) -> str:
    has_rmse = any("rmse" in r for r in rows)
    header = f"{'K':>4} {'seed':>5} {'log-likelihood':>16} {'BIC':>16} {'BIC score':>16}"
    header += f" {'RMSE':>12}" if has_rmse else ""
    header += f" {'iters':>6} {'seconds':>8}"
    lines = [header]
    for r in rows:
        line = f"{r['k']:>4} {r['best_seed']:>5} {r['log_likelihood']:>16.4f} {r['bic']:>16.4f} {r['bic_score']:>16.4f}"
        line += f" {r['rmse']:>12.10f}" if has_rmse else ""
        line += f" {r['n_iter']:>6} {r['seconds']:>8.2f}"
        lines.append(line)
    best = next(r for r in rows if r["best"])
    lines.append(f"best K by BIC: {best['k']}")
    return "\n".join(lines)


def cmd_fit(args) -> int:
    R, gold = _load(args.data)
    if args.gold is not None:
        gold = _load(args.gold)[1] if args.gold in NAMED else load_ratings(args.gold).to_dense()
    if gold is not None and gold.shape != R.shape:
        raise ValueError(f"--gold has shape {gold.shape}, the data has {R.shape}")
    rows = select_k(R, ks=args.k, seeds=args.seeds, init=args.init, covariance=args.covariance,
                    n_threads=args.threads, tol=args.tol)
    out = []
    for row in rows:
        model = row.pop("model")
        if gold is not None:
            row["rmse"] = rmse(model.fill(R), gold)
        out.append(row)
    if args.json:
        keys = ["k", "best_seed", "log_likelihood", "bic", "bic_score", "n_iter", "seconds", "rmse"]
        print(json.dumps([{k: r[k] for k in keys if k in r} for r in out], indent=1))
    else:
        print(f"{R!r}; K in {args.k}, seeds {args.seeds}")
        print(_format_table(out))
    return 0


def cmd_data_fetch(args) -> int:
    datasets.fetch(args.dest, args.url)
    print(f"reference data ready in {args.dest}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fastem", description="Numba-accelerated EM for Gaussian mixtures.")
    sub = parser.add_subparsers(dest="command", required=True)

    fit = sub.add_parser("fit", help="fit mixtures for several K (best of seeds) and print the table")
    fit.add_argument("data", help="ratings file (.txt dense, .csv/.tsv triplets, .npz) or " + ", ".join(NAMED))
    fit.add_argument("-k", type=int, nargs="+", default=[1, 12], help="numbers of components (default: 1 12)")
    fit.add_argument("--seeds", type=parse_seeds, default=list(range(5)), help="e.g. 0-4 (default) or 1,3,7")
    fit.add_argument("--init", default="course", choices=["course", "k-means++", "random"])
    fit.add_argument("--covariance", default="spherical", choices=["spherical"])
    fit.add_argument("--tol", type=float, default=1e-6, help="relative tolerance (default 1e-6)")
    fit.add_argument("--gold", help="complete matrix to score the filled matrix against (RMSE over all entries)")
    fit.add_argument("--json", action="store_true", help="print one JSON array, an object per K")
    fit.add_argument("--threads", type=int, default=None, help="Numba threads (default: all cores)")
    fit.set_defaults(run=cmd_fit)

    data = sub.add_parser("data", help="reference data")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    fetch = data_sub.add_parser("fetch", help="download the course's files and verify their SHA-256 sums")
    fetch.add_argument("--dest", default="data", help="folder to write into (default: ./data)")
    fetch.add_argument("--url", default=None, help="base URL of the files (default: a public copy; $FASTEM_DATA_URL)")
    fetch.set_defaults(run=cmd_data_fetch)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, OSError) as e:
        print(f"fastem: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
