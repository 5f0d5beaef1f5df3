"""Pictures of models and runs, written as PNG files (``pip install fastem[plot]``: matplotlib).

Every function draws on its own ``matplotlib.figure.Figure`` with the Agg canvas (no pyplot,
no display needed, no global state) and writes ``out_png``; it returns the path written.

- ``mixture_2d``: the course's toy-data picture: each point a small pie of its responsibilities,
  each component a circle of radius sigma around its mean;
- ``criteria``: BIC and AIC (or any other per-K column) against K;
- ``history``: log-likelihood (or bound, or ELBO) against iteration, for one or several runs;
- ``scaling``: seconds per EM iteration against the number of ratings, fastem beside the
  SciPy reference, from the benchmark's JSON rows.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["mixture_2d", "criteria", "history", "scaling"]

DPI = 100


def _figure(width: float = 6.4, height: float = 4.8):
    """A new (figure, axes) on the Agg canvas; ValueError saying how to install matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ValueError("plots need matplotlib: pip install 'fastem[plot]'") from None
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _save(fig, out_png) -> Path:
    out = Path(out_png)
    fig.tight_layout()
    fig.savefig(out, format="png")
    return out


def _colors(K: int):
    from matplotlib import colormaps

    cmap = colormaps["tab10" if K <= 10 else "tab20"]
    return [cmap(k % cmap.N) for k in range(K)]


def mixture_2d(X, resp, means, variances, out_png, title: str = "") -> Path:
    """The course's picture of a 2-D mixture.

    X (n, 2) points; resp (n, K) responsibilities; means (K, 2); variances (K,) spherical
    variances sigma_k^2. Each point is a pie whose arcs are its responsibilities, each component
    a circle of radius sigma_k around its mean, in the component's colour.
    """
    from matplotlib.patches import Arc, Circle

    X, resp, means = np.asarray(X, float), np.asarray(resp, float), np.asarray(means, float)
    variances = np.asarray(variances, float)
    K = resp.shape[1] if resp.ndim == 2 else -1
    if X.ndim != 2 or X.shape[1] != 2 or resp.shape != (X.shape[0], K) or means.shape != (K, 2) \
            or variances.shape != (K,):
        raise ValueError(f"need X (n, 2), resp (n, K), means (K, 2), variances (K,); got {X.shape}, "
                         f"{resp.shape}, {means.shape}, {variances.shape}")
    fig, ax = _figure(6.4, 6.4)
    colors = _colors(K)
    span = np.ptp(np.vstack([X, means]), axis=0).max() or 1.0
    radius = span / 80
    for x, r in zip(X, resp):
        start = 0.0
        for k in range(K):
            arc = 360.0 * r[k]
            if arc > 0:
                ax.add_patch(Arc(x, 2 * radius, 2 * radius, theta1=start, theta2=start + arc,
                                 color=colors[k], linewidth=3))
            start += arc
    for k in range(K):
        sigma = np.sqrt(variances[k])
        ax.add_patch(Circle(means[k], sigma, fill=False, color=colors[k], linewidth=1.5))
        ax.plot(*means[k], "+", color=colors[k], markersize=10)
    low = np.minimum(X.min(axis=0), (means - np.sqrt(variances)[:, None]).min(axis=0))
    high = np.maximum(X.max(axis=0), (means + np.sqrt(variances)[:, None]).max(axis=0))
    pad = 0.05 * (high - low).max()
    ax.set_xlim(low[0] - pad, high[0] + pad)
    ax.set_ylim(low[1] - pad, high[1] + pad)
    ax.set_aspect("equal")
    ax.set_title(title or f"{K} components: points as pies of responsibilities, circles of radius sigma")
    return _save(fig, out_png)


def criteria(rows, out_png, keys=("bic", "aic"), title: str = "") -> Path:
    """``keys`` columns of per-K ``rows`` (dicts with "k", e.g. ``fastem.select_k``'s) against K;
    columns a row lacks are skipped; the minimum of each is marked."""
    rows = sorted(rows, key=lambda r: r["k"])
    present = [key for key in keys if rows and all(key in r for r in rows)]
    if not present:
        raise ValueError(f"no row has all of the columns {list(keys)}")
    fig, ax = _figure()
    ks = np.array([r["k"] for r in rows])
    for key in present:
        values = np.array([r[key] for r in rows], float)
        line, = ax.plot(ks, values, "o-", label=key.upper())
        best = int(np.argmin(values))
        ax.plot(ks[best], values[best], "*", markersize=16, color=line.get_color())
    ax.set_xlabel("K (number of components)")
    ax.set_ylabel("criterion (lower is better)")
    ax.legend()
    ax.set_title(title or " and ".join(k.upper() for k in present) + " against K")
    return _save(fig, out_png)


def history(histories, out_png, ylabel: str = "log-likelihood", title: str = "") -> Path:
    """Per-iteration values against iteration (1, 2, ...): ``histories`` is one array (n_iter,),
    or a dict label -> array, e.g. {f"seed {s}": fit.history for ...}."""
    if not isinstance(histories, dict):
        histories = {"": histories}
    fig, ax = _figure()
    for label, values in histories.items():
        values = np.asarray(values, float)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"history {label!r} must be a non-empty 1-D array, got shape {values.shape}")
        ax.plot(np.arange(1, values.size + 1), values, ".-", label=label or None)
    if any(histories):
        ax.legend()
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"{ylabel} per EM iteration")
    return _save(fig, out_png)


def scaling(results_json_path, out_png, title: str = "") -> Path:
    """Seconds per EM iteration against the number of ratings (log-log), one line per (K, threads)
    for fastem (solid), fastem in one pass (dotted, where rows have one_pass_seconds) and the SciPy
    reference (dashed), from the benchmark's JSON list of rows {n_ratings, k, threads,
    fastem_seconds, scipy_seconds, ...}; peak memory on a second panel when the rows have
    fastem_peak_rss (one pass dotted)."""
    path = Path(results_json_path)
    try:
        rows = json.loads(path.read_text())
        groups: dict = {}
        for r in rows:
            groups.setdefault((int(r["k"]), int(r["threads"])), []).append(
                (float(r["n_ratings"]), float(r["fastem_seconds"]), float(r.get("scipy_seconds", np.nan)),
                 float(r.get("fastem_peak_rss", np.nan)), float(r.get("one_pass_seconds", np.nan)),
                 float(r.get("one_pass_peak_rss", np.nan))))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a list of scaling rows with n_ratings, k, threads, fastem_seconds "
                         f"({type(e).__name__}: {e})") from None
    if not groups:
        raise ValueError(f"{path}: no rows")
    memory = any(np.isfinite(p[3]) for pts in groups.values() for p in pts)
    fig, ax = _figure(11.0 if memory else 6.4, 4.8)
    if memory:
        ax.remove()
        ax, ax_mem = fig.subplots(1, 2)
    colors = _colors(len(groups))
    for color, ((k, threads), points) in zip(colors, sorted(groups.items())):
        n, fast, ref, rss, one, one_rss = np.array(sorted(points)).T
        ax.loglog(n, fast, "o-", color=color, label=f"fastem K={k}, {threads} thr")
        if np.isfinite(one).any():
            ax.loglog(n, one, "^:", color=color, label=f"fastem 1 pass K={k}, {threads} thr")
        if np.isfinite(ref).any():
            ax.loglog(n, ref, "s--", color=color, alpha=0.7, label=f"scipy K={k}, {threads} thr")
        if memory:
            ax_mem.semilogx(n, rss / 2**20, "o-", color=color, label=f"K={k}, {threads} thr")
            if np.isfinite(one_rss).any():
                ax_mem.semilogx(n, one_rss / 2**20, "^:", color=color, label=f"1 pass K={k}, {threads} thr")
    ax.set_xlabel("observed ratings")
    ax.set_ylabel("seconds per EM iteration")
    ax.legend(fontsize="small")
    ax.set_title(title or "EM iteration time against data size")
    if memory:
        ax_mem.set_xlabel("observed ratings")
        ax_mem.set_ylabel("fastem peak RSS (MiB)")
        ax_mem.set_title("memory")
    return _save(fig, out_png)
