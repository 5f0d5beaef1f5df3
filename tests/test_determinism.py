"""The same seeds give bit-identical results run after run, and the same results (1e-10
relative) with 1, 2 and 4 Numba threads, for every model in tests/zoo.py.

The machine may have fewer cores than 4: the 4-thread fits run in a subprocess started with
NUMBA_NUM_THREADS=4 (Numba then runs 4 threads whatever the core count).
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fastem._base import numba_threads

from zoo import CASES, fit_case

HERE = Path(__file__).parent


def outputs_with_threads(n_threads: int) -> dict:
    """case -> outputs of the case fitted and evaluated with ``n_threads`` Numba threads."""
    with numba_threads(n_threads):
        return {case: fit_case(case)[1] for case in sorted(CASES)}


@pytest.fixture(scope="module")
def one_thread():
    return outputs_with_threads(1)


def assert_close(got: dict, want: dict, rtol: float, label: str):
    for case in want:
        for key in want[case]:
            w, g = np.asarray(want[case][key]), np.asarray(got[case][key])
            scale = max(float(np.max(np.abs(w), initial=0.0)), 1e-300)
            assert g.shape == w.shape, f"{case}.{key} {label}"
            assert np.max(np.abs(g - w), initial=0.0) <= rtol * scale, f"{case}.{key} differs {label}"


def test_same_seeds_give_bit_identical_results(one_thread):
    again = outputs_with_threads(1)
    for case, outputs in one_thread.items():
        for key, value in outputs.items():
            assert np.asarray(again[case][key]).tobytes() == np.asarray(value).tobytes(), f"{case}.{key}"


def test_two_threads_match_one_thread(one_thread):
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba is limited to one thread")
    assert_close(outputs_with_threads(2), one_thread, 1e-10, "with 2 threads")


def test_four_threads_match_one_thread(one_thread, tmp_path):
    out = tmp_path / "four.npz"
    script = ("import sys, numpy as np; sys.path.insert(0, sys.argv[1]); import test_determinism as t;"
              "o = t.outputs_with_threads(4);"
              "np.savez(sys.argv[2], **{f'{c}|{k}': np.asarray(v) for c in o for k, v in o[c].items()})")
    env = dict(os.environ, NUMBA_NUM_THREADS="4")
    subprocess.run([sys.executable, "-c", script, str(HERE), str(out)], env=env, check=True, timeout=300)
    four: dict = {}
    with np.load(out) as z:
        for name in z.files:
            case, key = name.split("|")
            four.setdefault(case, {})[key] = z[name]
    assert four.keys() == one_thread.keys()
    assert_close(four, one_thread, 1e-10, "with 4 threads")
