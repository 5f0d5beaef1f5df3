"""Checks at the public boundary: each raises ValueError naming the offending value."""
from __future__ import annotations

import numbers

import numpy as np


def check_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise ValueError naming ``name`` and the bound it breaks."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_float(name: str, value, minimum: float | None = None, exclusive: bool = False) -> float:
    """Return ``value`` as a finite float >= (or > when ``exclusive``) ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and (value <= minimum if exclusive else value < minimum):
        raise ValueError(f"{name} must be {'>' if exclusive else '>='} {minimum}, got {value}")
    return value


def check_choice(name: str, value, choices) -> str:
    """``value`` if it is one of ``choices``; ValueError naming ``name`` and the choices otherwise."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def seed_list(seeds, n_init: int, random_state) -> list[int]:
    """The seeds of a multi-start fit: ``seeds`` if given, else ``n_init`` consecutive seeds
    starting at ``random_state`` (or at a fresh random integer when it is None)."""
    if seeds is not None:
        out = [check_int("seed", s, minimum=0) for s in seeds]
        if not out:
            raise ValueError("seeds must not be empty")
        return out
    n_init = check_int("n_init", n_init, minimum=1)
    if random_state is None:
        start = int(np.random.SeedSequence().generate_state(1)[0] >> 1)
    else:
        start = check_int("random_state", random_state, minimum=0)
    return list(range(start, start + n_init))


def check_threads(n_threads) -> int | None:
    """None (use Numba's default) or an int in 1..NUMBA_NUM_THREADS."""
    if n_threads is None:
        return None
    import numba

    return check_int("n_threads", n_threads, minimum=1, maximum=numba.config.NUMBA_NUM_THREADS)


def check_samples(X, name="X", min_samples=1, copy=True, every_feature_observed=False) -> np.ndarray:
    """X as a C-contiguous float64 (n, d) array, new unless ``copy=False`` (then X itself when it
    already is one; for callers that only read it); NaN allowed (missing), inf and all-NaN rows not,
    nor, with ``every_feature_observed``, an all-NaN column. Without NaN or inf it takes one pass."""
    from .ratings import RatingMatrix

    if isinstance(X, RatingMatrix):
        raise ValueError(f"{name}: a RatingMatrix is sparse input, pass a dense (n, d) array (NaN = missing)")
    if hasattr(X, "tocsr") or hasattr(X, "todense"):
        raise ValueError(f"{name}: sparse input is not supported, pass a dense array (NaN = missing)")
    if np.iscomplexobj(X):
        raise ValueError(f"{name}: Complex data not supported")
    try:
        X = np.array(X, dtype=np.float64, order="C", copy=True if copy else None)
    except ValueError as e:
        raise ValueError(f"{name} must be a numeric array: {e}") from None
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-d (n_samples, n_features), got shape {X.shape}. Reshape your data "
                         "with X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample")
    if X.shape[1] < 1:
        raise ValueError(f"0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
    if X.shape[0] < min_samples:
        raise ValueError(f"{name} has n_samples={X.shape[0]}, at least {min_samples} required")
    with np.errstate(over="ignore", invalid="ignore"):
        total = X.sum()
    if np.isfinite(total):   # one pass: no inf and no NaN (else look closer; also after an overflow)
        return X
    if np.isinf(X).any():
        raise ValueError(f"{name} contains infinite values (NaN marks a missing value, inf is invalid)")
    empty = np.isnan(X).all(axis=1)
    if empty.any():
        raise ValueError(f"{name} has {int(empty.sum())} row(s) with every entry missing (NaN), "
                         f"first at row {int(np.argmax(empty))}: drop them")
    unobserved = np.flatnonzero(np.isnan(X).all(axis=0)) if every_feature_observed else []
    if len(unobserved):
        raise ValueError(f"{name}: feature {unobserved[0]} has no observed value (all NaN); drop it before fitting")
    return X


def check_features(model, X: np.ndarray):
    """ValueError unless ``model`` is fitted and X has as many columns as the data it was fitted on."""
    if not hasattr(model, "n_features_in_"):
        raise ValueError(f"this {type(model).__name__} is not fitted yet: call fit first")
    if X.shape[1] != model.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(model).__name__} is expecting "
                         f"{model.n_features_in_} features as input")


def check_pairs(users, items, n_users: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Validated (m,) int64 arrays of user and item indices within the fitted matrix."""
    users = np.atleast_1d(np.asarray(users))
    items = np.atleast_1d(np.asarray(items))
    if users.shape != items.shape or users.ndim != 1:
        raise ValueError(f"users and items must be 1-D of one length, got {users.shape} and {items.shape}")
    for name, ids, n in (("user", users, n_users), ("item", items, n_items)):
        if ids.size and ids.dtype.kind not in "iu":
            raise ValueError(f"{name} indices must be integers, got dtype {ids.dtype}")
        bad = np.flatnonzero((ids < 0) | (ids >= n))
        if bad.size:
            raise ValueError(f"{name} index {ids[bad[0]]} is outside 0..{n - 1}")
    return users.astype(np.int64), items.astype(np.int64)
