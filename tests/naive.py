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


def full_covariances(covariances, covariance_type, K, d):
    """(K, d, d) covariance matrices from scikit-learn's per-type shapes."""
    if covariance_type == "full":
        return np.array(covariances, dtype=float)
    if covariance_type == "tied":
        return np.array([covariances] * K, dtype=float)
    if covariance_type == "diag":
        return np.array([np.diag(c) for c in covariances])
    return np.array([c * np.eye(d) for c in covariances])


def gaussian_mixture_estep(X, weights, means, covariances):
    """E-step and Ghahramani-Jordan statistics of a Gaussian mixture on X (n, d) with NaN missing.

    covariances (K, d, d). Returns resp (n, K), sample_ll (n,) (log density of each row's observed
    entries), nk (K,), first (K, d), second (K, d, d) about ``means``: the missing block of a row
    is replaced by its conditional mean given the observed block and component k, and its
    conditional covariance is added to second. Also imputed (n, d): NaN -> sum_k r_k E[x_m | x_o, k].
    """
    n, d = X.shape
    K = len(weights)
    log_joint = np.empty((n, K))
    for u in range(n):
        o = ~np.isnan(X[u])
        for k in range(K):
            S = covariances[k][np.ix_(o, o)]
            r = X[u, o] - means[k, o]
            log_joint[u, k] = (np.log(weights[k]) - 0.5 * (o.sum() * np.log(2 * np.pi) + np.linalg.slogdet(S)[1]
                                                           + r @ np.linalg.solve(S, r)))
    sample_ll = logsumexp(log_joint, axis=1)
    resp = np.exp(log_joint - sample_ll[:, None])
    first = np.zeros((K, d))
    second = np.zeros((K, d, d))
    imputed = X.copy()
    for u in range(n):
        o = ~np.isnan(X[u])
        m = ~o
        imputed[u, m] = 0.0
        for k in range(K):
            S = covariances[k]
            dev = np.zeros(d)
            dev[o] = X[u, o] - means[k, o]
            gain = S[np.ix_(m, o)] @ np.linalg.inv(S[np.ix_(o, o)])
            dev[m] = gain @ dev[o]
            cond = np.zeros((d, d))
            cond[np.ix_(m, m)] = S[np.ix_(m, m)] - gain @ S[np.ix_(o, m)]
            first[k] += resp[u, k] * dev
            second[k] += resp[u, k] * (np.outer(dev, dev) + cond)
            imputed[u, m] += resp[u, k] * (means[k, m] + dev[m])
    return resp, sample_ll, resp.sum(axis=0), first, second, imputed


def kmeans_course(X, centers, tol=1e-6, max_iter=300):
    """The course's k-means loop with NaN-masked distances and means.

    Returns (centers (K, d), labels (n,), cost, history): assign to the nearest centre (lowest
    index on ties), move each centre to the mean of its cluster's observed values (kept when
    none), cost = squared error w.r.t. the moved centres; stop when the cost falls by <= tol.
    """
    obs = ~np.isnan(X)
    Xz = np.where(obs, X, 0.0)
    history = []
    for _ in range(max_iter):
        dist = np.stack([(((Xz - c) * obs) ** 2).sum(axis=1) for c in centers], axis=1)
        labels = dist.argmin(axis=1)
        new = centers.copy()
        for k in range(len(centers)):
            members = labels == k
            count = obs[members].sum(axis=0)
            total = Xz[members].sum(axis=0)
            new[k] = np.where(count > 0, total / np.maximum(count, 1), centers[k])
        centers = new
        cost = float((((Xz - centers[labels]) * obs) ** 2).sum())
        done = bool(history) and history[-1] - cost <= tol
        history.append(cost)
        if done:
            break
    return centers, labels, history[-1], np.array(history)


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


# ------------------------------------------------------------ issue 5: recommenders (baselines, MFA / diagonal, pLSA)


def mfa_estep(X, mask, means, loadings, noise, weights):
    """Mixture of factor analysers with missing data, by the covariance form (no Woodbury).

    means (K, d), loadings (K, d, q), noise (K, d). Returns (resp (n, K), factor means (n, K, q),
    factor covariances (n, K, q, q), total log-likelihood).
    """
    n = X.shape[0]
    K, d, q = loadings.shape
    log_joint = np.empty((n, K))
    fmean = np.zeros((n, K, q))
    fcov = np.zeros((n, K, q, q))
    for u in range(n):
        O = mask[u]
        for j in range(K):
            W = loadings[j][O]
            C = W @ W.T + np.diag(noise[j][O])
            r = X[u, O] - means[j][O]
            sign, logdet = np.linalg.slogdet(C)
            with np.errstate(divide="ignore"):
                log_joint[u, j] = np.log(weights[j]) - 0.5 * (O.sum() * np.log(2 * np.pi) + logdet
                                                              + r @ np.linalg.solve(C, r))
            fmean[u, j] = W.T @ np.linalg.solve(C, r)
            fcov[u, j] = np.eye(q) - W.T @ np.linalg.solve(C, W)
    total = logsumexp(log_joint, axis=1)
    return np.exp(log_joint - total[:, None]), fmean, fcov, total.sum()


def mfa_statistics(X, mask, resp, fmean, fcov):
    """(gram (d, K, q+1, q+1), cross (d, K, q+1), sq (d, K)) with zt = (z, 1), full matrices."""
    n, d = X.shape
    K, q = fmean.shape[1], fmean.shape[2]
    gram = np.zeros((d, K, q + 1, q + 1))
    cross = np.zeros((d, K, q + 1))
    sq = np.zeros((d, K))
    for u in range(n):
        for j in range(K):
            m = np.append(fmean[u, j], 1.0)
            E = np.outer(m, m)
            E[:q, :q] += fcov[u, j]
            for i in np.flatnonzero(mask[u]):
                gram[i, j] += resp[u, j] * E
                cross[i, j] += resp[u, j] * X[u, i] * m
                sq[i, j] += resp[u, j] * X[u, i] ** 2
    return gram, cross, sq


def mfa_mstep(gram, cross, sq, resp_sum, n_users, alpha, kappa, lam, nu, m0, v0, min_variance):
    """MAP M-step, one (item, component) at a time: (means (K, d), loadings (K, d, q), noise (K, d), weights)."""
    d, K, q1 = cross.shape
    q = q1 - 1
    means, loadings, noise = np.empty((K, d)), np.empty((K, d, q)), np.empty((K, d))
    P = np.diag([lam] * q + [kappa])
    for i in range(d):
        for j in range(K):
            t = cross[i, j].copy()
            t[q] += kappa * m0[i]
            c = np.linalg.solve(gram[i, j] + P, t)
            W, mu = c[:q], c[q]
            expected_sq = sq[i, j] - 2 * c @ cross[i, j] + c @ gram[i, j] @ c
            Q = expected_sq + lam * W @ W + kappa * (mu - m0[i]) ** 2 + nu * v0
            means[j, i], loadings[j, i] = mu, W
            noise[j, i] = max(Q / (gram[i, j, q, q] + nu), min_variance)
    weights = (resp_sum + alpha - 1) / (n_users + K * (alpha - 1))
    return means, loadings, noise, weights


def mfa_log_prior(means, loadings, noise, weights, alpha, kappa, lam, nu, m0, v0):
    """(alpha - 1) sum log w + sum_ij [-(nu/2) log psi - (lam |W|^2 + kappa (mu - m0)^2 + nu v0) / (2 psi)]."""
    total = (alpha - 1) * np.log(weights).sum()
    K, d, q = loadings.shape
    for j in range(K):
        for i in range(d):
            pen = lam * loadings[j, i] @ loadings[j, i] + kappa * (means[j, i] - m0[i]) ** 2 + nu * v0
            total += -0.5 * nu * np.log(noise[j, i]) - pen / (2 * noise[j, i])
    return total


def user_normalization(X, mask, q):
    """Hofmann's shrunk user mean and spread (1 where it is 0): (shift (n,), scale (n,))."""
    x = X[mask]
    g, var = x.mean(), x.var()
    shift, scale = np.empty(X.shape[0]), np.empty(X.shape[0])
    for u in range(X.shape[0]):
        v = X[u, mask[u]]
        shift[u] = (v.sum() + q * g) / (len(v) + q)
        scale[u] = np.sqrt((((v - shift[u]) ** 2).sum() + q * var) / (len(v) + q)) or 1.0
    return shift, scale


def ridge_biases(X, mask, reg_user, reg_item):
    """The exact minimiser of sum (x - mu - b_u - b_i)^2 + reg_user |b_u|^2 + reg_item |b_i|^2, mu the mean,
    by one linear solve: (mu, b_user (n,), b_item (d,))."""
    n, d = X.shape
    users, items = np.nonzero(mask)
    A = np.zeros((len(users), n + d))
    A[np.arange(len(users)), users] = 1
    A[np.arange(len(users)), n + items] = 1
    mu = X[mask].mean()
    H = A.T @ A + np.diag([reg_user] * n + [reg_item] * d)
    b = np.linalg.solve(H, A.T @ (X[users, items] - mu))
    return mu, b[:n], b[n:]


def diagonal_estep(X, mask, means, variances, weights):
    """Diagonal-covariance mixture over observed entries: (resp (n, K), total log-likelihood)."""
    from scipy.stats import norm

    log_joint = np.log(weights) + np.array([[norm.logpdf(X[u, mask[u]], means[j, mask[u]],
                                                         np.sqrt(variances[j, mask[u]])).sum()
                                             for j in range(len(weights))] for u in range(X.shape[0])])
    total = logsumexp(log_joint, axis=1)
    return np.exp(log_joint - total[:, None]), total.sum()


def plsa_estep(X, mask, theta, means, variances):
    """Gaussian pLSA: per-rating posteriors q (n, d, K) (0 where missing) and the total log-likelihood.
    theta (n, K) = P(z | u); means, variances (K, d)."""
    from scipy.stats import norm

    n, d = X.shape
    post = np.zeros((n, d, theta.shape[1]))
    total = 0.0
    for u, i in zip(*np.nonzero(mask)):
        joint = theta[u] * norm.pdf(X[u, i], means[:, i], np.sqrt(variances[:, i]))
        total += np.log(joint.sum())
        post[u, i] = joint / joint.sum()
    return post, total
