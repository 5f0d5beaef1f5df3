"""Kernels that generate planted rating matrices straight into CSR arrays.

Every user draws from its own counter-based random stream (SplitMix64 seeded by the global
seed and the user index), so the matrix depends only on the seed, never on the thread count
or on how users are split into chunks.
"""
import numpy as np
from numba import njit, prange

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, error_model="numpy")
def splitmix_next(state):
    """Advance state (1,) uint64 and return the next 64 random bits (SplitMix64)."""
    state[0] += _GOLDEN
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, error_model="numpy")
def uniform(state):
    """A float64 in (0, 1), never 0, from the stream ``state``."""
    return (np.float64(splitmix_next(state) >> np.uint64(11)) + 0.5) * _TO_UNIT


@njit(cache=True, error_model="numpy")
def standard_normal(state):
    """One N(0, 1) draw (Box-Muller) from the stream ``state``."""
    return np.sqrt(-2.0 * np.log(uniform(state))) * np.cos(2.0 * np.pi * uniform(state))


@njit(cache=True, error_model="numpy")
def user_stream(seed, u, state):
    """Seed ``state`` (1,) uint64 for user u of the matrix generated with ``seed``."""
    state[0] = np.uint64(seed) * _MIX1 + np.uint64(u) * _GOLDEN
    splitmix_next(state)


@njit(cache=True, error_model="numpy")
def alias_table(weights):
    """Walker/Vose alias table of a (d,) positive weight vector: (prob (d,) float64, alias (d,) int64)."""
    d = weights.shape[0]
    scaled = weights * (d / weights.sum())
    prob = np.ones(d)
    alias = np.arange(d)
    small = np.empty(d, dtype=np.int64)
    large = np.empty(d, dtype=np.int64)
    n_small = n_large = 0
    for i in range(d):
        if scaled[i] < 1.0:
            small[n_small] = i
            n_small += 1
        else:
            large[n_large] = i
            n_large += 1
    while n_small > 0 and n_large > 0:
        n_small -= 1
        s = small[n_small]
        g = large[n_large - 1]
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = scaled[g] + scaled[s] - 1.0
        if scaled[g] < 1.0:
            n_large -= 1
            small[n_small] = g
            n_small += 1
    return prob, alias


@njit(cache=True, error_model="numpy")
def draw_alias(prob, alias, state):
    """One item index drawn from the alias table."""
    i = min(np.int64(uniform(state) * prob.shape[0]), prob.shape[0] - 1)
    return i if uniform(state) < prob[i] else alias[i]


@njit(cache=True, error_model="numpy")
def choose_items(prob, alias, weights, n_u, state, marked, out):
    """out (n_u,) <- n_u distinct items drawn one after another with probability proportional to
    ``weights`` among those not yet drawn, sorted. ``marked`` (d,) bool is all False on entry and exit.

    Rejection of repeats for light users; exponential keys -log(U)/w (the same distribution)
    when the user rates more than a quarter of the items.
    """
    d = weights.shape[0]
    if 4 * n_u > d:
        keys = np.empty(d)
        for i in range(d):
            keys[i] = -np.log(uniform(state)) / weights[i]
        out[:] = np.sort(np.argsort(keys)[:n_u])
        return
    count = 0
    while count < n_u:
        i = draw_alias(prob, alias, state)
        if not marked[i]:
            marked[i] = True
            out[count] = i
            count += 1
    for c in range(n_u):
        marked[out[c]] = False
    out[:] = np.sort(out)


@njit(cache=True, error_model="numpy")
def rating(mean, noise_sd, state):
    """mean + N(0, noise_sd^2), rounded and clipped to 1..5."""
    x = np.rint(mean + noise_sd * standard_normal(state))
    return np.uint8(min(max(x, 1.0), 5.0))


@njit(parallel=True, cache=True, error_model="numpy")
def fill_planted(indptr, chunks, labels, item_weights, type_means, noise_sd, seed, indices, values):
    """Fill indices (nnz,) int32 and values (nnz,) uint8 of a CSR matrix with given indptr.

    User u rates indptr[u+1] - indptr[u] distinct items drawn by popularity ``item_weights`` (d,),
    each rating type_means[labels[u], item] plus Gaussian noise, rounded to 1..5.
    """
    d = item_weights.shape[0]
    prob, alias = alias_table(item_weights)
    for c in prange(chunks.shape[0] - 1):
        state = np.empty(1, dtype=np.uint64)
        marked = np.zeros(d, dtype=np.bool_)
        out = np.empty(d, dtype=np.int64)
        for u in range(chunks[c], chunks[c + 1]):
            lo, hi = indptr[u], indptr[u + 1]
            n_u = hi - lo
            user_stream(seed, u, state)
            choose_items(prob, alias, item_weights, n_u, state, marked, out[:n_u])
            k = labels[u]
            for p in range(n_u):
                i = out[p]
                indices[lo + p] = i
                values[lo + p] = rating(type_means[k, i], noise_sd, state)
