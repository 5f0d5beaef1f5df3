"""A VAE recommender on the Netflix subset: train on 90% of the ratings, score the hidden 10%.

Needs the course data (``fastem data fetch`` or $FASTEM_DATA). Prints the held-out RMSE of the
VAE next to the global-mean baseline, the time per epoch and the ELBO at the start and the end.
"""
import os
import time

import numpy as np

import fastem
from fastem.metrics import rmse

SMALL = bool(os.environ.get("FASTEM_EXAMPLES_SMALL"))   # the test suite runs every example small
R, _ = fastem.datasets.netflix()
train, test = R.split(0.1, seed=0)
users, items = test.rows(), test.indices

start = time.perf_counter()
vae = fastem.VAE(random_state=0, epochs=1 if SMALL else 80).fit(train)
seconds = time.perf_counter() - start

print(f"{vae!r}")
print(f"held-out RMSE: VAE {rmse(vae.predict(users, items), test.values):.4f}, "
      f"global mean {rmse(np.full(test.nnz, train.values.mean()), test.values):.4f}")
print(f"{seconds / vae.epochs:.2f} s per epoch over {train.n_users} users ({vae.epochs} epochs)")
print(f"ELBO per user: {vae.elbo_history_[0]:.1f} (epoch 1) -> {vae.elbo_history_[-1]:.1f} (epoch {vae.epochs})")
print(f"noise sd of the ratings given the latent code: {np.sqrt(vae.noise_variance_):.3f}")
