"""What every fastem estimator shares: scikit-learn style parameters and thread control."""
from __future__ import annotations

import inspect
from contextlib import contextmanager

import numba

from ._validation import check_threads


class Estimator:
    """get_params / set_params from the constructor's signature (scikit-learn's convention)."""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD]

    def get_params(self, deep: bool = True) -> dict:
        """Constructor parameter name -> current value (``deep`` is accepted for scikit-learn)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor parameters by name; ValueError naming an unknown one. Returns self."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; valid: {valid}")
            setattr(self, name, value)
        return self

    def _fitted_state(self) -> dict:
        """Learned attribute name -> value (public names ending in ``_``): what ``save`` writes.

        Values must be arrays, NumPy or Python scalars, strings, None, or lists, tuples and
        dicts of those; a model with other state overrides this and ``_restore_state``.
        """
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def _restore_state(self, state: dict) -> None:
        """Set the learned attributes of ``_fitted_state`` (the inverse of it)."""
        for name, value in state.items():
            setattr(self, name, value)

    def save(self, path) -> None:
        """Write the fitted model to ``path`` as a versioned .npz (no pickle); ``fastem.load_model``
        reads it back with bit-identical predictions."""
        from .persistence import save_model

        save_model(self, path)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


@contextmanager
def numba_threads(n_threads):
    """Run the block with ``n_threads`` Numba threads (None: leave the current setting)."""
    n_threads = check_threads(n_threads)
    if n_threads is None:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)
