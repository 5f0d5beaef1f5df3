"""Progress reporting: tqdm bars when they can be seen, and a per-iteration printer.

A bar is shown only when tqdm is installed (``pip install fastem[progress]``), standard error
is a terminal and ``$FASTEM_PROGRESS`` is not ``0``; otherwise ``progress_bar`` returns a silent
stand-in with the same methods, so callers never branch.
"""
from __future__ import annotations

import importlib.util
import os
import sys

__all__ = ["progress_bar", "bars_enabled", "print_iterations"]


class SilentBar:
    """The subset of tqdm's interface fastem uses, doing nothing."""

    def update(self, n=1):
        """Nothing (tqdm: advance by n steps)."""

    def set_postfix(self, *args, **kwargs):
        """Nothing (tqdm: show key=value pairs after the bar)."""

    def close(self):
        """Nothing (tqdm: remove the bar)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def bars_enabled(stream=None) -> bool:
    """True when a bar would be visible: tqdm importable, ``stream`` (stderr) a terminal, and
    $FASTEM_PROGRESS not set to 0."""
    if os.environ.get("FASTEM_PROGRESS", "1") == "0":
        return False
    stream = sys.stderr if stream is None else stream
    if importlib.util.find_spec("tqdm") is None:
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def progress_bar(total: int, desc: str):
    """A tqdm bar over ``total`` steps on standard error, or a ``SilentBar`` (see the module docstring)."""
    if not bars_enabled():
        return SilentBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, file=sys.stderr, dynamic_ncols=True)


def print_iterations(file=None):
    """A ``fastem.em.watch`` function printing, per EM iteration, the run's seed, the iteration,
    the log-likelihood and the iteration's wall time. Use: ``with em.watch(print_iterations()): m.fit(R)``."""

    def show(it) -> None:
        print(f"seed {it.seed}  iter {it.iteration:4d}  log-likelihood {it.log_likelihood:.6f}  "
              f"{it.seconds:.3f}s", file=file or sys.stdout, flush=True)
    return show
