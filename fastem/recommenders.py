"""Configured recommenders and the held-out evaluation protocol.

Every entry of ``RECOMMENDERS`` is a zero-argument factory of a model with ``fit(R)`` and
``predict(users, items)``; ``evaluate`` fits on one part of a split and scores the other.
"""
from __future__ import annotations

import time

from .completion import MixtureCompleter
from .metrics import mae, rmse
from .ratings import RatingMatrix, load_ratings
from .vae import VAE

RECOMMENDERS = {
    "course-spherical": lambda: MixtureCompleter(n_components=12, seeds=range(5)),
    "vae": lambda: VAE(random_state=0),
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
