"""A variational autoencoder in NumPy: MLP encoder and decoder, hand-written backward pass, Adam.

Model (one row x of d coordinates, latent z of L dimensions, H hidden units):

    encoder   h = tanh(x_in W_enc + b_enc),  mu = h W_mu + b_mu,  logvar = h W_lv + b_lv
    q(z|x)    = N(mu, diag(exp(logvar))),     z = mu + exp(logvar / 2) * eps,  eps ~ N(0, I)
    decoder   g = tanh(z W_dec + b_dec),      out = g W_out + b_out
    p(z)      = N(0, I)
    gaussian  p(x_i|z) = N(out_i, sigma^2) over the observed entries only (ratings, centred by
              item means; sigma^2 = exp(log_noise) is learned)
    bernoulli p(x_i|z) = Bernoulli(sigmoid(out_i)) over every entry (binary data)

    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)),  estimated with one eps per row.

Training maximises the mean ELBO of minibatches with Adam. As in Liang et al. (2018),
"Variational autoencoders for collaborative filtering", the encoder sees a denoised input:
each observed entry is dropped with probability ``dropout`` (the rest scaled by
1 / (1 - dropout)), while the likelihood scores every observed entry, so the decoder learns to
predict ratings the encoder did not see.

The dense matrix products are NumPy's (BLAS); minibatches of rows are dense, the full
n x d matrix never is.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._base import Estimator
from ._kernels.vae import adam_ascent
from ._validation import check_choice, check_float, check_int, check_pairs, check_samples
from .discrete import check_binary
from .ratings import RatingMatrix, item_means, load_ratings

__all__ = ["VAE"]

LIKELIHOODS = ("gaussian", "bernoulli")
LOG_2PI = np.log(2.0 * np.pi)
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
PREDICT_BLOCK = 1024


# ---------------------------------------------------------------- the network

def network_layout(d: int, hidden_dim: int, latent_dim: int) -> dict:
    """Name -> shape of every parameter array, in the order of the flat parameter vector."""
    return {
        "enc_w": (d, hidden_dim), "enc_b": (hidden_dim,),
        "mu_w": (hidden_dim, latent_dim), "mu_b": (latent_dim,),
        "logvar_w": (hidden_dim, latent_dim), "logvar_b": (latent_dim,),
        "dec_w": (latent_dim, hidden_dim), "dec_b": (hidden_dim,),
        "out_w": (hidden_dim, d), "out_b": (d,),
        "log_noise": (1,),
    }


def unflatten(theta: np.ndarray, layout: dict) -> dict:
    """Name -> view of the flat vector theta (p,) with the layout's shape."""
    net, start = {}, 0
    for name, shape in layout.items():
        size = int(np.prod(shape))
        net[name] = theta[start:start + size].reshape(shape)
        start += size
    return net


def flatten(arrays: dict, layout: dict) -> np.ndarray:
    """(p,) concatenation of the arrays in the layout's order."""
    return np.concatenate([np.ravel(arrays[name]) for name in layout])


def init_network(layout: dict, log_noise: float, rng: np.random.Generator) -> np.ndarray:
    """(p,) flat parameters: Glorot-uniform weights, zero biases, the given log noise variance."""
    net = unflatten(np.zeros(sum(int(np.prod(s)) for s in layout.values())), layout)
    for name, shape in layout.items():
        if name.endswith("_w"):
            limit = np.sqrt(6.0 / (shape[0] + shape[1]))
            net[name][:] = rng.uniform(-limit, limit, shape)
    net["log_noise"][:] = log_noise
    return flatten(net, layout)


def encode(net: dict, x_in: np.ndarray):
    """(h (B, H), mu (B, L), logvar (B, L)) of the encoder input x_in (B, d)."""
    h = np.tanh(x_in @ net["enc_w"] + net["enc_b"])
    return h, h @ net["mu_w"] + net["mu_b"], h @ net["logvar_w"] + net["logvar_b"]


def decode(net: dict, z: np.ndarray):
    """(g (B, H), out (B, d)): hidden layer and output (means or logits) of latent codes z (B, L)."""
    g = np.tanh(z @ net["dec_w"] + net["dec_b"])
    return g, g @ net["out_w"] + net["out_b"]


def reconstruction(likelihood: str, out, target, mask, log_noise: float):
    """log p(x|z) per row (B,) and its derivatives with respect to out (B, d) and log_noise.

    target, mask : (B, d); mask is 1 where the entry is scored (observed), else 0.
    """
    if likelihood == "gaussian":
        resid = target - out
        precision = np.exp(-log_noise)
        log_p = -0.5 * (LOG_2PI + log_noise) - 0.5 * precision * resid * resid
        d_log_noise = 0.5 * (mask * (precision * resid * resid - 1.0)).sum()
        return (mask * log_p).sum(axis=1), mask * resid * precision, d_log_noise
    log_p = target * out - np.logaddexp(0.0, out)
    return (mask * log_p).sum(axis=1), mask * (target - expit(out)), 0.0


def kl_to_prior(mu, logvar):
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per row (B,)."""
    return 0.5 * (np.exp(logvar) + mu * mu - 1.0 - logvar).sum(axis=1)


def expit(a):
    """Logistic sigmoid 1 / (1 + exp(-a)), without overflow."""
    return np.exp(-np.logaddexp(0.0, -a))


def elbo_and_gradients(net: dict, likelihood: str, x_in, target, mask, eps):
    """The ELBO of a minibatch with fixed noise, and its gradient (the hand-written backward pass).

    Parameters
    ----------
    net : dict of parameters (see ``init_network``).
    x_in : (B, d) encoder input; target, mask : (B, d); eps : (B, L) standard normal noise.

    Returns
    -------
    elbo : (B,) per-row ELBO, log p(x|z) - KL, at z = mu + exp(logvar / 2) eps.
    grads : dict like ``net``, the gradient of elbo.sum().
    """
    h, mu, logvar = encode(net, x_in)
    std = np.exp(0.5 * logvar)
    z = mu + std * eps
    g, out = decode(net, z)
    log_lik, d_out, d_log_noise = reconstruction(likelihood, out, target, mask, net["log_noise"][0])
    elbo = log_lik - kl_to_prior(mu, logvar)

    grads = {"out_w": g.T @ d_out, "out_b": d_out.sum(axis=0), "log_noise": d_log_noise}
    d_dec = (d_out @ net["out_w"].T) * (1.0 - g * g)
    grads["dec_w"] = z.T @ d_dec
    grads["dec_b"] = d_dec.sum(axis=0)
    d_z = d_dec @ net["dec_w"].T
    d_mu = d_z - mu
    d_logvar = 0.5 * (d_z * std * eps - np.exp(logvar) + 1.0)
    grads["mu_w"], grads["mu_b"] = h.T @ d_mu, d_mu.sum(axis=0)
    grads["logvar_w"], grads["logvar_b"] = h.T @ d_logvar, d_logvar.sum(axis=0)
    d_enc = (d_mu @ net["mu_w"].T + d_logvar @ net["logvar_w"].T) * (1.0 - h * h)
    grads["enc_w"] = x_in.T @ d_enc
    grads["enc_b"] = d_enc.sum(axis=0)
    return elbo, grads


# ---------------------------------------------------------------- data

def csr_rows(R: RatingMatrix, values: np.ndarray, users: np.ndarray):
    """(values (B, d), mask (B, d)) dense rows of ``users``: values (nnz,) where observed, else 0."""
    starts, counts = R.indptr[users], R.indptr[users + 1] - R.indptr[users]
    rows = np.repeat(np.arange(len(users)), counts)
    pos = np.arange(counts.sum()) + np.repeat(starts - (np.cumsum(counts) - counts), counts)
    dense = np.zeros((len(users), R.n_items))
    mask = np.zeros((len(users), R.n_items))
    dense[rows, R.indices[pos]] = values[pos]
    mask[rows, R.indices[pos]] = 1.0
    return dense, mask


@dataclass
class AdamState:
    """Adam's running first and second moments (p,) and the number of steps taken."""

    m: np.ndarray
    v: np.ndarray
    step: int = 0


class VAE(Estimator):
    """Variational autoencoder for rating matrices (gaussian) or binary data (bernoulli).

    Parameters
    ----------
    latent_dim : int >= 1, L.
    hidden_dim : int >= 1, H, units of the encoder's and the decoder's hidden layer.
    likelihood : "gaussian" (ratings: RatingMatrix, scipy.sparse or array with 0/NaN missing;
        only observed entries are scored) or "bernoulli" (dense (n, d) array of 0/1).
    epochs : int >= 1, passes over the rows.
    batch_size : int >= 1, rows per Adam step.
    learning_rate : float > 0, Adam's step size.
    dropout : float in [0, 1), probability that the encoder does not see an observed entry.
    random_state : int or None, seeds the weights, the row order and the noise.

    Attributes
    ----------
    params_ : dict of the network's arrays (see the module docstring).
    item_means_ : (d,) what the gaussian likelihood centres each item by (zeros for bernoulli).
    noise_variance_ : float, sigma^2 of the gaussian likelihood.
    rating_range_ : (min, max) of the training ratings, the range gaussian predictions are clipped to.
    elbo_history_ : (epochs,) mean ELBO per row over each epoch's minibatches (the training
        objective: noise and input dropout included).
    latent_means_ : (n_users, L) posterior means E_q[z | x_u] of the training rows, what
        ``predict`` decodes.
    n_users_, n_items_ : shape of the fitted matrix.
    """

    def __init__(self, latent_dim=16, hidden_dim=256, likelihood="gaussian", epochs=80, batch_size=64,
                 learning_rate=1e-3, dropout=0.3, random_state=None):
        self.latent_dim = latent_dim
        self.hidden_dim = hidden_dim
        self.likelihood = likelihood
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.dropout = dropout
        self.random_state = random_state

    # ------------------------------------------------------------ data preparation

    def _binary(self, X) -> np.ndarray:
        """X as an (n, d) float64 array of 0/1, or ValueError naming likelihood."""
        X = check_samples(X, "X (likelihood='bernoulli')")
        check_binary(X, "likelihood='bernoulli'")
        return X

    def _ratings(self, X) -> RatingMatrix:
        R = load_ratings(X)
        if R.nnz == 0:
            raise ValueError("the rating matrix has no observed ratings")
        return R

    def _read(self, X):
        """(data, n rows, d columns); data is what ``_batch`` reads: the 0/1 array (bernoulli) or
        (RatingMatrix, its values centred by ``item_means_``) (gaussian)."""
        if self.likelihood == "bernoulli":
            X = self._binary(X)
            return X, X.shape[0], X.shape[1]
        R = self._ratings(X)
        return (R, R.values.astype(np.float64) - self.item_means_[R.indices]), R.n_users, R.n_items

    def _batch(self, data, users):
        """(values (B, d) centred where observed, mask (B, d)) of rows ``users`` of ``data``."""
        if self.likelihood == "bernoulli":
            return data[users], np.ones((len(users), data.shape[1]))
        R, centred = data
        return csr_rows(R, centred, users)

    def _encoder_input(self, values, keep):
        """(B, d) training input of the encoder: the entries of values (B, d) in ``keep`` (B, d, bool)
        scaled by 1 / (1 - dropout), the others 0."""
        return values * keep * (1.0 / (1.0 - self.dropout))

    def _check_params(self):
        check_int("latent_dim", self.latent_dim, minimum=1)
        check_int("hidden_dim", self.hidden_dim, minimum=1)
        check_choice("likelihood", self.likelihood, LIKELIHOODS)
        check_int("epochs", self.epochs, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        check_float("learning_rate", self.learning_rate, minimum=0.0, exclusive=True)
        if check_float("dropout", self.dropout, minimum=0.0) >= 1.0:
            raise ValueError(f"dropout must be < 1, got {self.dropout}")

    # ------------------------------------------------------------ fit

    def fit(self, X):
        """Train on X: a rating matrix (gaussian) or a dense binary (n, d) array (bernoulli)."""
        self._check_params()
        rng = np.random.default_rng(self.random_state)
        if self.likelihood == "gaussian":
            R = self._ratings(X)
            self.item_means_ = item_means(R)[0]
            self.rating_range_ = (float(R.values.min()), float(R.values.max()))
            data, n, d = self._read(R)
            log_noise = np.log(max(np.var(data[1]), 1e-6))
        else:
            data, n, d = self._read(X)
            self.item_means_ = np.zeros(d)
            log_noise = 0.0
        layout = network_layout(d, self.hidden_dim, self.latent_dim)
        theta = init_network(layout, log_noise, rng)
        adam = AdamState(np.zeros_like(theta), np.zeros_like(theta))
        history = [self._train_epoch(data, n, theta, layout, adam, rng) for _ in range(self.epochs)]
        if not np.all(np.isfinite(history)):
            raise ValueError(f"training diverged (ELBO {history[-1]}); lower learning_rate={self.learning_rate}")
        self.params_ = unflatten(theta, layout)
        self.elbo_history_ = np.array(history)
        self.noise_variance_ = float(np.exp(self.params_["log_noise"][0]))
        self.n_users_, self.n_items_ = n, d
        self.latent_means_ = self._posterior_means(data, np.arange(n))
        return self

    def _train_epoch(self, data, n, theta, layout, adam, rng) -> float:
        """One pass over the rows in random minibatches, Adam steps in place on theta (p,) and
        ``adam``; returns the mean ELBO per row."""
        net = unflatten(theta, layout)
        total = 0.0
        order = rng.permutation(n)
        for start in range(0, n, self.batch_size):
            users = order[start:start + self.batch_size]
            values, mask = self._batch(data, users)
            keep = rng.random(values.shape) >= self.dropout
            eps = rng.standard_normal((len(users), self.latent_dim))
            elbo, grads = elbo_and_gradients(net, self.likelihood, self._encoder_input(values, keep),
                                             values, mask, eps)
            adam.step += 1
            adam_ascent(theta, flatten(grads, layout), adam.m, adam.v, 1.0 / len(users), self.learning_rate,
                        *ADAM_BETAS, ADAM_EPS, adam.step)
            total += elbo.sum()
        return total / n

    # ------------------------------------------------------------ use

    def _check_fitted(self):
        if not hasattr(self, "params_"):
            raise ValueError("this VAE is not fitted yet; call fit first")

    def _posterior_means(self, data, users) -> np.ndarray:
        """(len(users), L) mean of q(z|x) for rows ``users`` of prepared data, in blocks."""
        blocks = [encode(self.params_, self._batch(data, users[s:s + PREDICT_BLOCK])[0])[1]
                  for s in range(0, len(users), PREDICT_BLOCK)]
        return np.vstack(blocks) if blocks else np.empty((0, self.params_["mu_b"].shape[0]))

    def transform(self, X) -> np.ndarray:
        """(n, L) posterior means E_q[z | x] of the rows of X (same columns as the fitted data)."""
        self._check_fitted()
        data, n, d = self._read(X)
        if d != self.n_items_:
            raise ValueError(f"X has {d} columns, the VAE was fitted on {self.n_items_}")
        return self._posterior_means(data, np.arange(n))

    def predict(self, users, items) -> np.ndarray:
        """(m,) predictions for (user, item) index pairs of the fitted matrix, decoded from E_q[z|x_u].

        gaussian: ratings (item mean + decoder output, clipped to the training ratings' range);
        bernoulli: probabilities that the entry is 1.
        """
        self._check_fitted()
        users, items = check_pairs(users, items, self.n_users_, self.n_items_)
        unique, inverse = np.unique(users, return_inverse=True)
        _, out = decode(self.params_, self.latent_means_[unique])
        picked = out[inverse, items]
        if self.likelihood == "bernoulli":
            return expit(picked)
        return np.clip(picked + self.item_means_[items], *self.rating_range_)

    def sample(self, n_samples: int = 1, random_state=None) -> np.ndarray:
        """(n_samples, d) draws from the generative model: z ~ N(0, I), then x ~ p(x|z).

        gaussian: real-valued ratings, item mean + decoder output + N(0, sigma^2) noise;
        bernoulli: 0/1 draws.
        """
        self._check_fitted()
        n_samples = check_int("n_samples", n_samples, minimum=1)
        rng = np.random.default_rng(random_state)
        _, out = decode(self.params_, rng.standard_normal((n_samples, self.params_["mu_b"].shape[0])))
        if self.likelihood == "bernoulli":
            return (rng.random(out.shape) < expit(out)).astype(np.float64)
        return self.item_means_ + out + np.sqrt(self.noise_variance_) * rng.standard_normal(out.shape)
