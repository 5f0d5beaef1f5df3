"""The ``fastem`` command: fit mixtures over K x seeds, evaluate recommenders, fetch the reference data."""
from __future__ import annotations

import argparse
import json
import sys


from . import datasets
from .completion import MixtureCompleter
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
    """``fastem fit``: best of seeds for every K, as a table (or JSON) with BIC and, given gold, RMSE."""
    R, gold = _load(args.data)
    if args.gold is not None:
        gold = _load(args.gold)[1] if args.gold in NAMED else load_ratings(args.gold).to_dense()
    if gold is not None and gold.shape != R.shape:
        raise ValueError(f"--gold has shape {gold.shape}, the data has {R.shape}")
    params = dict(init=args.init, covariance=args.covariance, n_threads=args.threads, tol=args.tol, passes=args.passes)
    rows = select_k(R, ks=args.k, seeds=args.seeds, n_jobs=args.jobs, results=args.results, **params)
    out = []
    for row in rows:
        model = row.pop("model")
        if model is None and gold is not None:  # its fit was read from --results: refit that seed to score it
            model = MixtureCompleter(row["k"], seeds=[row["best_seed"]], **params).fit(R)
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


def cmd_evaluate(args) -> int:
    """``fastem evaluate``: held-out RMSE, MAE and fit time of the named recommenders on one split."""
    from ._base import numba_threads
    from .recommenders import RECOMMENDERS, format_table, holdout

    names = list(RECOMMENDERS) if "all" in args.model else args.model
    R, _ = _load(args.data)
    with numba_threads(args.threads):
        results = holdout(R, names, fraction=args.holdout, seed=args.seed)
    if args.json:
        print(json.dumps([dict(model=name, **r) for name, r in results.items()], indent=1))
    else:
        if not args.markdown:
            print(f"{R!r}; R.split({args.holdout}, seed={args.seed})")
        print(format_table(results, markdown=args.markdown))
    return 0


def cmd_bench(args) -> int:
    """``fastem bench``: seconds per EM iteration on the given data for each K, thread count and passes."""
    from . import speed

    R, _ = _load(args.data)
    rows = speed.report(R, args.k, args.threads, args.iterations, args.passes)
    print(json.dumps(rows, indent=1) if args.json else speed.format_report(rows))
    return 0


def cmd_data_fetch(args) -> int:
    """``fastem data fetch``: download the reference files and check their SHA-256 sums."""
    datasets.fetch(args.dest, args.url)
    print(f"reference data ready in {args.dest}")
    return 0


def cmd_plot(args) -> int:
    """``fastem plot toy|bic|history|scaling``: fit what the picture needs, write the PNG."""
    from . import em, plot
    from .metrics import aic
    from .mixture import GaussianMixture

    if args.plot_command == "toy":
        X = datasets.toy() if args.data is None else load_ratings(args.data).to_dense()
        g = GaussianMixture(args.k, covariance_type="spherical", n_init=len(args.seeds), random_state=args.seeds[0])
        g.fit(X)
        written = plot.mixture_2d(X, g.predict_proba(X), g.means_, g.covariances_, args.output,
                                  title=f"K = {args.k}: log-likelihood {g.score(X) * len(X):.2f}")
    elif args.plot_command == "bic":
        R, _ = _load(args.data)
        rows = select_k(R, ks=args.k, seeds=args.seeds, n_threads=args.threads)
        for row in rows:
            row["aic"] = aic(row["log_likelihood"], row.pop("model").mixture_.n_parameters())
        written = plot.criteria(rows, args.output)
    elif args.plot_command == "history":
        R, _ = _load(args.data)
        runs: dict = {}
        with em.watch(lambda it: runs.setdefault(f"seed {it.seed}", []).append(it.log_likelihood)):
            MixtureCompleter(args.k[0], seeds=args.seeds, n_threads=args.threads).fit(R)
        written = plot.history(runs, args.output, title=f"K = {args.k[0]}: log-likelihood per EM iteration")
    else:
        written = plot.scaling(args.results, args.output)
    print(f"wrote {written}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``fastem`` argument parser with its subcommands."""
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
    fit.add_argument("--jobs", type=int, default=1, help="fits run at once, in threads (default 1)")
    fit.add_argument("--passes", type=int, default=2, choices=[1, 2],
                     help="sweeps over the ratings per iteration: 2 (default, faster) or 1 (nothing laid out, least memory)")
    fit.add_argument("--results", help="JSON-lines file: each finished fit is appended; fits already in it are "
                                       "not redone, so an interrupted run resumes")
    fit.set_defaults(run=cmd_fit)

    evaluate = sub.add_parser("evaluate", help="held-out RMSE / MAE / fit time of the configured recommenders")
    evaluate.add_argument("data", help="ratings file (.txt dense, .csv/.tsv triplets, .npz) or " + ", ".join(NAMED))
    evaluate.add_argument("--model", nargs="+", default=["all"],
                          help="names in fastem.RECOMMENDERS, or all (default)")
    evaluate.add_argument("--holdout", type=float, default=0.1, help="fraction of ratings hidden (default 0.1)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON array, an object per model")
    evaluate.add_argument("--markdown", action="store_true", help="print the README's Markdown table")
    evaluate.add_argument("--threads", type=int, default=None, help="Numba threads (default: all cores)")
    evaluate.set_defaults(run=cmd_evaluate)

    plots = sub.add_parser("plot", help="write a PNG: toy mixture, BIC/AIC against K, log-likelihood per "
                                        "iteration, scaling chart (needs fastem[plot])")
    plot_sub = plots.add_subparsers(dest="plot_command", required=True)
    defaults = {"toy": (3, "toy.png"), "bic": (list(range(1, 13)), "bic.png"), "history": (12, "history.png")}
    for name, help_text in (("toy", "the course's toy points as pies of responsibilities, circles of radius sigma"),
                            ("bic", "BIC and AIC of the best of the seeds against K"),
                            ("history", "log-likelihood per EM iteration of each seed")):
        k, out = defaults[name]
        p = plot_sub.add_parser(name, help=help_text)
        if name == "toy":
            p.add_argument("--data", default=None, help="a 2-column text file instead of the course's toy data")
            p.add_argument("-k", type=int, default=k, help=f"components (default {k})")
        else:
            p.add_argument("data", help="ratings file or " + ", ".join(NAMED))
            p.add_argument("-k", type=int, nargs="+", default=k if isinstance(k, list) else [k],
                           help="numbers of components" if name == "bic" else f"components (default {k})")
            p.add_argument("--threads", type=int, default=None, help="Numba threads")
        p.add_argument("--seeds", type=parse_seeds, default=list(range(5)), help="e.g. 0-4 (default)")
        p.add_argument("-o", "--output", default=out, help=f"PNG to write (default {out})")
        p.set_defaults(run=cmd_plot)
    p = plot_sub.add_parser("scaling", help="seconds per iteration against ratings from the scaling benchmark")
    p.add_argument("results", nargs="?", default="benchmarks/results/scale.json", help="rows JSON")
    p.add_argument("-o", "--output", default="scaling.png", help="PNG to write (default scaling.png)")
    p.set_defaults(run=cmd_plot)

    bench = sub.add_parser("bench", help="speed report: seconds per EM iteration on your data, per K and threads")
    bench.add_argument("data", help="ratings file (.txt dense, .csv/.tsv triplets, .npz) or " + ", ".join(NAMED))
    bench.add_argument("-k", type=int, nargs="+", default=[12], help="numbers of components (default: 12)")
    bench.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="Numba thread counts (default: 1 2)")
    bench.add_argument("--passes", type=int, nargs="+", default=[2], choices=[1, 2],
                       help="sweeps over the ratings per iteration to time (default: 2)")
    bench.add_argument("--iterations", type=int, default=10, help="timed EM iterations per case (default 10)")
    bench.add_argument("--json", action="store_true", help="print one JSON array, an object per case")
    bench.set_defaults(run=cmd_bench)

    data = sub.add_parser("data", help="reference data")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    fetch = data_sub.add_parser("fetch", help="download the course's files and verify their SHA-256 sums")
    fetch.add_argument("--dest", default="data", help="folder to write into (default: ./data)")
    fetch.add_argument("--url", default=None, help="base URL of the files (default: a public copy; $FASTEM_DATA_URL)")
    fetch.set_defaults(run=cmd_data_fetch)
    return parser


def main(argv=None) -> int:
    """Entry point: run one subcommand; a ValueError or missing file prints one line and returns 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, OSError) as e:
        print(f"fastem: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
