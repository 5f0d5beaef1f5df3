"""Configured recommenders and the held-out evaluation protocol.

Every entry of ``RECOMMENDERS`` is a zero-argument factory of a model with ``fit(R)`` and
``predict(users, items)``; ``evaluate`` fits on one part of a split and scores the other.
"""
from __future__ import annotations

import time

from .baselines import BiasBaseline, GlobalMean
from .completion import MixtureCompleter
from .diagonal import DiagonalMixture
from .metrics import mae, rmse
from .mfa import FactorMixture
from .plsa import GaussianPLSA
from .ratings import RatingMatrix, load_ratings
from .vae import VAE

RECOMMENDERS = {
    "global-mean": GlobalMean,
    "baseline-biases": BiasBaseline,
    "course-spherical": lambda: MixtureCompleter(n_components=12, seeds=range(5)),
    "diag-map": lambda: DiagonalMixture(n_components=12, weight_concentration=5.0, mean_strength=5.0,
                                        variance_strength=10.0, seeds=[0]),
    "gaussian-plsa": lambda: GaussianPLSA(n_components=20, patience=5, max_iter=100, seeds=[0]),
    "mfa": lambda: FactorMixture(n_components=1, n_factors=20, tol=1e-4, seeds=[0]),
    "vae": lambda: VAE(random_state=0),
}

DESCRIPTIONS = {
    "global-mean": "mean training rating (baseline)",
    "baseline-biases": "mu + b_u + b_i, ridge 5 / 10 (baseline)",
    "course-spherical": "course model, K = 12, best of seeds 0-4",
    "diag-map": "diagonal covariances, user-normalised, MAP EM, K = 12",
    "gaussian-plsa": "Gaussian pLSA (Hofmann 2004), user-normalised, K = 20, early stopping",
    "mfa": "factor analyser / PPCA with missing data, K = 1, q = 20, user-normalised, MAP EM",
    "vae": "VAE, latent 16, hidden 256",
}


def evaluate(model, train, test) -> dict:
    """Fit ``model`` on ``train`` and score its predictions of ``test``'s ratings.

    ``train`` and ``test`` share one shape (``R.split`` makes such a pair). Returns
    dict(rmse, mae, seconds) with ``seconds`` the fit time.
    """
    train, test = load_ratings(train), load_ratings(test)
    if train.shape != test.shape:
        raise ValueError(f"train has shape {train.shape}, test {test.shape}: use R.split to make them")
    if test.nnz == 0:
        raise ValueError("test holds no rating to predict")
    start = time.perf_counter()
    model.fit(train)
    seconds = time.perf_counter() - start
    predicted = model.predict(test.rows(), test.indices)
    truth = test.values.astype(float)
    return dict(rmse=rmse(predicted, truth), mae=mae(predicted, truth), seconds=seconds)


def holdout(R: RatingMatrix, names=None, fraction: float = 0.1, seed: int = 0) -> dict[str, dict]:
    """evaluate() of each named recommender on one ``R.split(fraction, seed)``."""
    names = list(RECOMMENDERS) if names is None else list(names)
    unknown = [n for n in names if n not in RECOMMENDERS]
    if unknown:
        raise ValueError(f"unknown recommender {unknown[0]!r}; known: {sorted(RECOMMENDERS)}")
    train, test = load_ratings(R).split(fraction, seed)
    return {name: evaluate(RECOMMENDERS[name](), train, test) for name in names}


def format_table(results: dict[str, dict], markdown: bool = False) -> str:
    """The rows of ``holdout``: name, RMSE, MAE, fit seconds; a Markdown table when ``markdown``."""
    if markdown:
        lines = ["| model | what | RMSE | MAE | fit seconds |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| `{name}` | {DESCRIPTIONS.get(name, '')} | {r['rmse']:.4f} | {r['mae']:.4f} | {r['seconds']:.1f} |"
                  for name, r in results.items()]
    else:
        lines = [f"{'model':<18} {'RMSE':>8} {'MAE':>8} {'seconds':>8}"]
        lines += [f"{name:<18} {r['rmse']:>8.4f} {r['mae']:>8.4f} {r['seconds']:>8.2f}" for name, r in results.items()]
    return "\n".join(lines)
