"""Slow, obvious NumPy versions of every fastem kernel: the truth the kernels are tested against.

Each function works on dense arrays (NaN or a boolean mask marks missing entries) and is
written for clarity, not speed.
"""
import numpy as np
from scipy.special import logsumexp

# ------------------------------------------------------------ incomplete-matrix mixtures (core)


def course_init(X, K, seed):
    """The course's common.init on a dense matrix X (0 = missing): (means (K, d), variances (K,), weights (K,))."""
    rng = np.random.RandomState(seed)
    means = X[rng.choice(X.shape[0], K, replace=False)].astype(float)
    variances = np.array([((X - means[j]) ** 2).mean() for j in range(K)])
    return means, variances, np.full(K, 1.0 / K)


def estep(X, mask, means, variances, weights):
    """Posterior (n, K) and total log-likelihood over the observed entries (mask True)."""
    n_obs = mask.sum(axis=1)
    log_joint = np.empty((X.shape[0], len(weights)))
    for j in range(len(weights)):
        sq = (((X - means[j]) * mask) ** 2).sum(axis=1)
        with np.errstate(divide="ignore"):
            log_w = np.log(weights[j])
        log_joint[:, j] = log_w - n_obs / 2 * np.log(2 * np.pi * variances[j]) - sq / (2 * variances[j])
    total = logsumexp(log_joint, axis=1)
    return np.exp(log_joint - total[:, None]), total.sum()


def mstep(X, mask, post, old_means, old_variances, min_variance=0.25, min_mean_weight=1.0):
    """The course's M-step: a mean moves only where sum_u post * observed >= min_mean_weight."""
    n, d = X.shape
    K = post.shape[1]
    means = old_means.astype(float).copy()
    variances = np.empty(K)
    for j in range(K):
        sse = weight = 0.0
        for i in range(d):
            observed = mask[:, i]
            total = post[observed, j].sum()
            if total >= min_mean_weight and total > 0:
                means[j, i] = X[observed, i] @ post[observed, j] / total
            sse += ((means[j, i] - X[observed, i]) ** 2) @ post[observed, j]
            weight += total
        variances[j] = max(sse / weight, min_variance) if weight > 0 else max(old_variances[j], min_variance)
    return means, variances, post.sum(axis=0) / n


def fill(X, mask, post, means):
    """Observed entries kept, missing ones post @ means."""
    return np.where(mask, X, post @ means)


def em_run(X, mask, means, variances, weights, tol=1e-6, min_variance=0.25, min_mean_weight=1.0, max_iter=1000):
    """The course's run loop: E, M, stop when new - old <= tol |new|. Returns (means, variances, weights, ll, n_iter)."""
    old = None
    for it in range(1, max_iter + 1):
        post, ll = estep(X, mask, means, variances, weights)
        means, variances, weights = mstep(X, mask, post, means, variances, min_variance, min_mean_weight)
        if old is not None and ll - old <= tol * abs(ll):
            break
        old = ll
    return means, variances, weights, ll, it

# ------------------------------------------------------------ dense Gaussian mixtures and k-means

# ------------------------------------------------------------ general EM plug-ins and VAE

def _posterior(log_joint):
    """(total log-likelihood, responsibilities (n, K)) from the (n, K) log joint."""
    row_ll = logsumexp(log_joint, axis=1)
    return row_ll.sum(), np.exp(log_joint - row_ll[:, None])


def bernoulli_mixture_estep(X, weights, probs):
    """(log-likelihood, resp (n, K), resp_sum (K,), resp.T @ X (K, d)) of a Bernoulli mixture."""
    n, K = X.shape[0], len(weights)
    log_joint = np.empty((n, K))
    for i in range(n):
        for k in range(K):
            log_pmf = X[i] * np.log(probs[k]) + (1 - X[i]) * np.log(1 - probs[k])
            log_joint[i, k] = np.log(weights[k]) + log_pmf.sum()
    ll, resp = _posterior(log_joint)
    return ll, resp, resp.sum(axis=0), resp.T @ X


def poisson_mixture_estep(X, weights, rates):
    """(log-likelihood, resp (n, K), resp_sum (K,), resp.T @ X (K, d)) of a Poisson mixture."""
    from scipy.stats import poisson

    n, K = X.shape[0], len(weights)
    log_joint = np.empty((n, K))
    for i in range(n):
        for k in range(K):
            log_joint[i, k] = np.log(weights[k]) + poisson.logpmf(X[i], rates[k]).sum()
    ll, resp = _posterior(log_joint)
    return ll, resp, resp.sum(axis=0), resp.T @ X


def discrete_mixture_em(X, weights, means, estep, n_iter, lo=1e-10, hi=np.inf):
    """n_iter plain EM iterations; returns (weights, means, log-likelihood of every E-step)."""
    history = []
    for _ in range(n_iter):
        ll, resp, resp_sum, weighted = estep(X, weights, means)
        history.append(ll)
        weights = resp_sum / len(X)
        means = np.clip(weighted / resp_sum[:, None], lo, hi - lo)
    return weights, means, np.array(history)


def vae_elbo(net, likelihood, x_in, target, mask, eps):
    """(B,) ELBO of each row, one row and one entry at a time, densities from scipy.stats."""
    from scipy.stats import bernoulli, norm

    elbo = np.empty(len(x_in))
    for b in range(len(x_in)):
        h = np.tanh(net["enc_w"].T @ x_in[b] + net["enc_b"])
        mu = net["mu_w"].T @ h + net["mu_b"]
        sd = np.sqrt(np.exp(net["logvar_w"].T @ h + net["logvar_b"]))
        z = mu + sd * eps[b]
        out = net["out_w"].T @ np.tanh(net["dec_w"].T @ z + net["dec_b"]) + net["out_b"]
        log_lik = 0.0
        for i in range(len(out)):
            if mask[b, i]:
                if likelihood == "gaussian":
                    log_lik += norm.logpdf(target[b, i], out[i], np.sqrt(np.exp(net["log_noise"][0])))
                else:
                    log_lik += bernoulli.logpmf(target[b, i], 1.0 / (1.0 + np.exp(-out[i])))
        kl = np.sum(np.log(1.0 / sd) + (sd ** 2 + mu ** 2) / 2.0 - 0.5)   # KL(N(mu, sd^2) || N(0, 1))
        elbo[b] = log_lik - kl
    return elbo


def central_differences(f, theta, step=1e-5):
    """(p,) numerical gradient of the scalar function f at the flat vector theta."""
    grad = np.empty_like(theta)
    for i in range(len(theta)):
        up, down = theta.copy(), theta.copy()
        up[i] += step
        down[i] -= step
        grad[i] = (f(up) - f(down)) / (2.0 * step)
    return grad


def adam_ascent(theta, grads, learning_rate, beta1=0.9, beta2=0.999, eps=1e-8):
    """Textbook Adam (Kingma & Ba 2015, Algorithm 1) going up the gradients in ``grads`` in turn."""
    theta = theta.copy()
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        theta = theta + learning_rate * m_hat / (np.sqrt(v_hat) + eps)
    return theta
