"""Write the four pictures of fastem.plot into a folder (default ./plots; needs fastem[plot]).

toy.png      the course's toy picture (its toy data when $FASTEM_DATA has it, else synthetic points)
bic.png      BIC and AIC of MixtureCompleter against K on a planted rating matrix
history.png  log-likelihood per EM iteration of each seed (collected with fastem.em.watch)
scaling.png  seconds per EM iteration against ratings, from benchmarks/results/scale.json if present
"""
import os
import sys
from pathlib import Path

import numpy as np

import fastem
from fastem import plot
from fastem.metrics import aic

SMALL = bool(os.environ.get("FASTEM_EXAMPLES_SMALL"))   # the test suite runs every example small
out = Path(sys.argv[1] if len(sys.argv) > 1 else "plots")
out.mkdir(parents=True, exist_ok=True)

try:
    X = fastem.datasets.toy()
except FileNotFoundError:
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 1.0, (80, 2)) for c in ([-2, 0], [3, 1], [0, 4])])
g = fastem.GaussianMixture(3, covariance_type="spherical", n_init=2 if SMALL else 5, random_state=0).fit(X)
print("wrote", plot.mixture_2d(X, g.predict_proba(X), g.means_, g.covariances_, out / "toy.png"))

R, _ = fastem.datasets.planted(300 if SMALL else 3000, 200 if SMALL else 1000, 6000 if SMALL else 150_000,
                               n_components=4, seed=0)
rows = fastem.select_k(R, ks=range(1, 4 if SMALL else 9), seeds=range(1 if SMALL else 5), init="k-means++")
for row in rows:
    row["aic"] = aic(row["log_likelihood"], row.pop("model").mixture_.n_parameters())
print("wrote", plot.criteria(rows, out / "bic.png"))

runs = {}
with fastem.em.watch(lambda it: runs.setdefault(f"seed {it.seed}", []).append(it.log_likelihood)):
    fastem.MixtureCompleter(4, seeds=range(2 if SMALL else 3), init="random").fit(R)
print("wrote", plot.history(runs, out / "history.png"))

results = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "scale.json"
if results.is_file():
    print("wrote", plot.scaling(results, out / "scaling.png"))
