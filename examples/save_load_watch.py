"""Watch a long fit, stop it on a budget, save the model and load it back.

Fits a 12-component MixtureCompleter on a planted Netflix-shaped matrix while ``fastem.em.watch``
prints the log-likelihood and time of every iteration and stops any run after a time budget;
then saves the model (a versioned .npz, no pickle), loads it and checks the predictions are
bit-identical.
"""
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import fastem
from fastem.progress import print_iterations

SMALL = bool(os.environ.get("FASTEM_EXAMPLES_SMALL"))   # the test suite runs every example small
R, _ = fastem.datasets.planted(2000 if SMALL else 20000, 1000 if SMALL else 17770,
                               50_000 if SMALL else 2_000_000, n_components=12, seed=0)
train, test = R.split(0.1, seed=0)
budget, started = 60.0, time.perf_counter()
show = print_iterations()


def watcher(it):
    """Print every 5th iteration; True (stop this run) once the budget is spent."""
    if it.iteration % 5 == 1:
        show(it)
    return time.perf_counter() - started > budget


with fastem.em.watch(watcher):
    model = fastem.MixtureCompleter(12, seeds=range(2), init="k-means++").fit(train)
print(f"best seed {model.best_seed_}: {model.n_iter_} iterations, converged: {model.converged_}")

path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "completer.npz"
model.save(path)
loaded = fastem.load_model(path)
users, items = test.rows(), test.indices
same = np.array_equal(loaded.predict(users, items), model.predict(users, items))
print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB); loaded predictions bit-identical: {same}")
print(f"held-out RMSE {fastem.rmse(loaded.predict(users, items), test.values):.4f}")
