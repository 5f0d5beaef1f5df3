"""Plots render headless (Agg) into PNGs that are not blank and show what they should."""
import json
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from matplotlib import colormaps  # noqa: E402
from matplotlib.image import imread  # noqa: E402

import fastem  # noqa: E402
from fastem import cli, plot  # noqa: E402


def pixels(path):
    """(h, w, 3) RGB in [0, 1] of a PNG, after checking it is a real, non-blank picture."""
    rgb = imread(path)[..., :3]
    ink = (rgb < 0.9).any(axis=2).mean()
    assert 0.01 < ink < 0.6, f"{path}: {ink:.1%} of the pixels are not white"
    assert len(np.unique((rgb * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 20
    return rgb


def share_of_color(rgb, color, tol=0.06):
    return (np.abs(rgb - np.asarray(color[:3])).max(axis=2) < tol).mean()


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.5, (60, 2)) for c in ([0, 0], [4, 0], [2, 3])])
    g = fastem.GaussianMixture(3, covariance_type="spherical", random_state=0).fit(X)
    return X, g


def test_mixture_2d_draws_every_component(toy, tmp_path):
    X, g = toy
    out = plot.mixture_2d(X, g.predict_proba(X), g.means_, g.covariances_, tmp_path / "toy.png")
    rgb = pixels(out)
    assert rgb.shape == (640, 640, 3)
    for k in range(3):   # each component's colour (pie arcs and circle) covers part of the picture
        assert share_of_color(rgb, colormaps["tab10"](k)) > 0.002
    assert share_of_color(rgb, colormaps["tab10"](3)) == 0.0
    with pytest.raises(ValueError, match="need X"):
        plot.mixture_2d(X[:, :1], g.predict_proba(X), g.means_, g.covariances_, tmp_path / "bad.png")


def test_criteria_history_and_scaling(tmp_path):
    rows = [dict(k=k, bic=100.0 - 10 * k + k * k, aic=90.0 - 8 * k + k * k) for k in range(1, 9)]
    rgb = pixels(plot.criteria(rows, tmp_path / "bic.png"))
    assert share_of_color(rgb, colormaps["tab10"](0)) > 0.001 and share_of_color(rgb, colormaps["tab10"](1)) > 0.001
    with pytest.raises(ValueError, match="no row has all"):
        plot.criteria([dict(k=1)], tmp_path / "x.png")
    pixels(plot.history({"seed 0": -1 / np.arange(1, 30), "seed 1": -2 / np.arange(1, 20)}, tmp_path / "h.png"))
    with pytest.raises(ValueError, match="non-empty 1-D"):
        plot.history(np.empty(0), tmp_path / "x.png")
    results = tmp_path / "scale.json"
    results.write_text(json.dumps([dict(n_ratings=n, k=k, threads=t, fastem_seconds=n * k * 1e-9 / t,
                                        scipy_seconds=n * k * 2e-9, fastem_peak_rss=n * 20 + 1e8)
                                   for n in (1e6, 1e7, 1e8) for k in (4, 12) for t in (1, 2)]))
    rgb = pixels(plot.scaling(results, tmp_path / "scaling.png"))
    assert rgb.shape[1] == 1100
    rows = json.loads(results.read_text())
    for r in rows:
        r.update(one_pass_seconds=2 * r["fastem_seconds"], one_pass_peak_rss=r["fastem_peak_rss"] / 2)
    results.write_text(json.dumps(rows))
    with_one_pass = pixels(plot.scaling(results, tmp_path / "scaling1.png"))
    assert with_one_pass.shape == rgb.shape and not np.array_equal(with_one_pass, rgb)
    results.write_text('[{"k": 4}]')
    with pytest.raises(ValueError, match="not a list of scaling rows"):
        plot.scaling(results, tmp_path / "x.png")


def test_cli_writes_each_png(tmp_path, capsys):
    rng = np.random.default_rng(1)
    toy = tmp_path / "toy.txt"
    np.savetxt(toy, np.vstack([rng.normal(c, 0.4, (30, 2)) for c in (1.0, 5.0)]))
    ratings = tmp_path / "ratings.npz"
    fastem.datasets.planted(80, 40, 1200, n_components=2, seed=0)[0].save(ratings)
    results = tmp_path / "scale.json"
    results.write_text(json.dumps([dict(n_ratings=10 ** e, k=4, threads=1, fastem_seconds=10.0 ** (e - 7))
                                   for e in (5, 6, 7)]))
    commands = {"toy.png": ["toy", "--data", str(toy), "-k", "2", "--seeds", "0"],
                "bic.png": ["bic", str(ratings), "-k", "1", "2", "3", "--seeds", "0-1"],
                "history.png": ["history", str(ratings), "-k", "2", "--seeds", "0-2"],
                "scaling.png": ["scaling", str(results)]}
    for name, argv in commands.items():
        out = tmp_path / name
        assert cli.main(["plot", *argv, "-o", str(out)]) == 0
        assert capsys.readouterr().out.strip() == f"wrote {out}"
        pixels(out)


def test_without_matplotlib_the_error_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ValueError, match=r"pip install 'fastem\[plot\]'"):
        plot.history([1.0, 2.0], tmp_path / "x.png")
