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
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; valid: {valid}")
            setattr(self, name, value)
        return self

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
