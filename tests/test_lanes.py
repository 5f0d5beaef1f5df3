"""Lane helpers of the dense kernels (common.normalize_log on padded rows, simd.vfind) against NumPy and SciPy."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numba import njit

from fastem._kernels.common import SMALLEST_NORMAL, normalize_log
from fastem._kernels.simd import WIDTH, aligned_zeros, padded, vfind, vload


@njit
def first_equal(a, x):
    return vfind(vload(a, 0), x)


def test_vfind_returns_the_first_equal_lane_or_width():
    a = np.array([3.0, 1.0, 2.0, 1.0, np.nan, 6.0, -0.0, 8.0])
    assert [first_equal(a, x) for x in (3.0, 1.0, 2.0, 6.0, 0.0, 8.0)] == [0, 1, 2, 5, 6, 7]
    assert first_equal(a, 5.0) == WIDTH and first_equal(a, np.nan) == WIDTH


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 21), elements=st.floats(-1e4, 1e4)), st.integers(0, 2))
def test_normalize_log_on_padded_rows_is_softmax_and_logsumexp(log_joint, row):
    from scipy.special import logsumexp, softmax

    K = log_joint.shape[0]
    Kp = padded(K)
    joint = aligned_zeros(3 * Kp)
    joint[:] = 7.0
    joint[row * Kp:(row + 1) * Kp] = -np.inf
    joint[row * Kp:row * Kp + K] = log_joint
    total = normalize_log(joint, row * Kp, Kp)
    assert total == pytest.approx(logsumexp(log_joint), rel=1e-14, abs=1e-12)
    expected = softmax(log_joint)
    expected[expected < SMALLEST_NORMAL] = 0.0
    np.testing.assert_allclose(joint[row * Kp:row * Kp + K], expected, rtol=1e-13, atol=1e-300)
    np.testing.assert_array_equal(joint[row * Kp + K:(row + 1) * Kp], 0.0)
    np.testing.assert_array_equal(np.delete(joint, np.arange(row * Kp, (row + 1) * Kp)), 7.0)
