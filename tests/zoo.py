"""One small fitted instance of every fastem model, and the outputs that must not change.

``CASES`` maps a case name to (make model, training data, outputs(model) -> dict of arrays).
Persistence and determinism tests run over all of them: the explicit models below plus every
``fastem.RECOMMENDERS`` entry (so a recommender added there is covered automatically).
"""
import numpy as np

import fastem
from fastem.datasets import planted

RATINGS, _ = planted(60, 30, 700, n_components=3, seed=0)
PAIRS = (RATINGS.rows()[::7], RATINGS.indices[::7].astype(np.int64))

_rng = np.random.default_rng(0)
DENSE = np.vstack([_rng.normal(c, 0.7, (40, 3)) for c in (-3.0, 0.0, 3.0)])
DENSE_NAN = DENSE.copy()
DENSE_NAN[_rng.random(DENSE.shape) < 0.1] = np.nan
DENSE_NAN[np.isnan(DENSE_NAN).all(axis=1), 0] = 0.0
BINARY = (_rng.random((80, 12)) < np.repeat([[0.8] * 6 + [0.1] * 6, [0.1] * 6 + [0.8] * 6], 40, axis=0)).astype(float)
COUNTS = _rng.poisson(np.repeat([[1.0] * 5 + [6.0] * 5, [6.0] * 5 + [1.0] * 5], 40, axis=0)).astype(float)


def _ratings_outputs(m):
    return {"predict": m.predict(*PAIRS)}


def _completer_outputs(m):
    return dict(_ratings_outputs(m), proba=m.predict_proba(RATINGS), score=np.array(m.score(RATINGS)),
                fill=m.fill(RATINGS), means=m.means_, variances=m.variances_, weights=m.weights_)


def _gaussian_outputs(m):
    return {"proba": m.predict_proba(DENSE_NAN), "score": m.score_samples(DENSE_NAN),
            "impute": m.impute(DENSE_NAN), "sample": m.sample(7)[0], "means": m.means_,
            "covariances": m.covariances_}


def _discrete_outputs(X):
    return lambda m: {"proba": m.predict_proba(X), "score": np.array(m.score(X)), "means": m.means_}


def _vae_outputs(X):
    return lambda m: {"predict": m.predict(*PAIRS) if m.likelihood == "gaussian" else m.predict([0, 5], [1, 2]),
                      "transform": m.transform(X), "sample": m.sample(3, random_state=1)}


CASES = {
    "completer": (lambda: fastem.MixtureCompleter(3, seeds=[0, 1], init="k-means++"), RATINGS, _completer_outputs),
    "completer-course": (lambda: fastem.MixtureCompleter(2, seeds=[3]), RATINGS, _completer_outputs),
    **{f"gmm-{kind}": (lambda kind=kind: fastem.GaussianMixture(3, covariance_type=kind, n_init=2, random_state=0),
                       DENSE_NAN, _gaussian_outputs) for kind in ("full", "tied", "diag", "spherical")},
    "kmeans": (lambda: fastem.KMeans(3, seeds=[0, 1], init="k-means++"), DENSE_NAN,
               lambda m: {"predict": m.predict(DENSE_NAN), "centers": m.cluster_centers_,
                          "mixture": np.concatenate([np.ravel(a) for a in m.mixture_])}),
    "bernoulli": (lambda: fastem.BernoulliMixture(2, seeds=[0, 1]), BINARY, _discrete_outputs(BINARY)),
    "poisson": (lambda: fastem.PoissonMixture(2, seeds=[0, 1]), COUNTS, _discrete_outputs(COUNTS)),
    "vae": (lambda: fastem.VAE(latent_dim=2, hidden_dim=8, epochs=3, random_state=0), RATINGS, _vae_outputs(RATINGS)),
    "vae-bernoulli": (lambda: fastem.VAE(latent_dim=2, hidden_dim=8, epochs=3, likelihood="bernoulli",
                                         random_state=0), BINARY, _vae_outputs(BINARY)),
    **{f"recommender-{name}": (factory, RATINGS, _ratings_outputs) for name, factory in fastem.RECOMMENDERS.items()},
}


def fit_case(name):
    """(fitted model, its outputs) of case ``name``."""
    make, data, outputs = CASES[name]
    model = make().fit(data)
    return model, outputs(model)
