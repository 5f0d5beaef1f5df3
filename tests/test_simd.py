"""The 8- and 4-lane vector helpers every hot kernel is built on, against NumPy."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numba import njit

from fastem._kernels.common import normalize_log
from fastem._kernels.simd import (WIDTH, pad_columns, padded, unpad_columns, vadd, vbroadcast_as, vdiv, vexp_normal, vflush,
                                  vhigh, vload, vload_as, vload_partial, vlow, vmax, vmax_lanes, vmul, vstore,
                                  vstore_partial, vsub, vsum, vtranspose8, vtranspose_quads, vuntranspose_quads, vzero, vzero4)


@njit
def partial_copy(src, dst, offset, count, fill):
    vstore_partial(dst, offset, count, vadd(vload_partial(src, offset, count, fill), vmul(vload_partial(src, offset, count, fill), vload_partial(src, offset, count, 0.0))))


@njit
def lane_sum(x):
    return vsum(vload(x, 0))


@pytest.mark.parametrize("count", [0, 1, 3, 4, 5, 8, 12])   # masked; 4: one 4-lane load and store; >= 8: whole vectors
def test_partial_loads_and_stores_touch_only_their_lanes(count):
    src = np.arange(1.0, 17.0)
    dst = np.full(16, -7.0)
    partial_copy(src, dst, 4, count, 2.0)  # lanes >= count read as 2.0 and 0.0, and are not stored
    expected = np.full(16, -7.0)
    lanes = min(count, WIDTH)
    expected[4:4 + lanes] = src[4:4 + lanes] + src[4:4 + lanes] ** 2
    np.testing.assert_array_equal(dst, expected)


@njit
def transposed(a):
    """(vtranspose8 of a's 8 rows of 8, vtranspose_quads of its first 32 values, those undone, vlow/vhigh of its first 8)."""
    t8, tq, back, halves = np.empty(64), np.empty(32), np.empty(32), np.empty(8)
    columns = vtranspose8((vload(a, 0), vload(a, 8), vload(a, 16), vload(a, 24), vload(a, 32), vload(a, 40),
                           vload(a, 48), vload(a, 56)))
    lanes = vtranspose_quads((vload(a, 0), vload(a, 8), vload(a, 16), vload(a, 24)))
    rows = vuntranspose_quads(lanes)
    for j in range(8):
        vstore(t8, 8 * j, columns[j])
    for k in range(4):
        vstore(tq, 8 * k, lanes[k])
        vstore(back, 8 * k, rows[k])
    vstore(halves, 0, vhigh(vload(a, 0)))
    vstore(halves, 4, vlow(vload(a, 0)))
    return t8, tq, back, halves


def test_transposes_move_lanes_like_numpy():
    a = np.random.default_rng(3).normal(size=64)
    t8, tq, back, halves = transposed(a)
    np.testing.assert_array_equal(t8, a.reshape(8, 8).T.ravel())
    np.testing.assert_array_equal(tq, a[:32].reshape(8, 4).T.ravel())   # 8 rows of 4 lanes, two to a vector
    np.testing.assert_array_equal(back, a[:32])
    np.testing.assert_array_equal(halves, np.concatenate([a[4:8], a[:4]]))


@njit
def lane_quotient(a, b):
    out = np.empty(8)
    vstore(out, 0, vdiv(vload(a, 0), vload(b, 0)))
    return out


def test_lane_division_rounds_like_scalars():
    a, b = np.random.default_rng(4).normal(size=(2, 8))
    np.testing.assert_array_equal(lane_quotient(a, b), a / b)


def test_lane_sum_adds_in_lane_order():
    x = np.array([1e16, 1.0, -1e16, 1.0, 0.0, 0.0, 0.0, 0.5])
    assert lane_sum(x) == ((((1e16 + 1.0) - 1e16) + 1.0) + 0.5)


@njit
def update_as(zero, a, b, x, at):
    """a[at : at + lanes] <- 0 + (x - b[at : at + lanes]) * b[at : at + lanes], lanes those of zero."""
    vstore(a, at, vadd(zero, vmul(vsub(vbroadcast_as(zero, x), vload_as(zero, b, at)), vload_as(zero, b, at))))


@njit
def update4(a, b, x, at):
    update_as(vzero4(), a, b, x, at)


@njit
def update8(a, b, x, at):
    update_as(vzero(), a, b, x, at)


@pytest.mark.parametrize("update, lanes", [(update4, 4), (update8, 8)])
def test_vectors_as_wide_as_a_template_touch_their_lanes_and_round_like_scalars(update, lanes):
    a = np.full(16, -7.0)
    b = np.random.default_rng(0).normal(size=16)
    update(a, b, 0.3, 5)
    expected = np.full(16, -7.0)
    expected[5:5 + lanes] = (0.3 - b[5:5 + lanes]) * b[5:5 + lanes]
    np.testing.assert_array_equal(a, expected)


def test_rows_padded_to_a_given_width_round_trip():
    a = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(pad_columns(a, -1.0, 4).reshape(4, 4), np.c_[a, np.full(4, -1.0)])
    np.testing.assert_array_equal(unpad_columns(pad_columns(a, 0.0, 4), 3, 4), a)


def test_padding_round_trip():
    a = np.arange(15.0).reshape(3, 5)
    flat = pad_columns(a)
    assert padded(5) == 8 and padded(8) == 8 and padded(9) == 16 and flat.shape == (24,)
    np.testing.assert_array_equal(flat.reshape(3, 8)[:, 5:], 0.0)
    np.testing.assert_array_equal(unpad_columns(flat, 5), a)
    filled = pad_columns(a, -np.inf)
    assert np.all(filled.reshape(3, 8)[:, 5:] == -np.inf) and np.array_equal(unpad_columns(filled, 5), a)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 21), elements=st.floats(-1e4, 1e4)))
def test_normalize_log_is_softmax_and_logsumexp(log_joint):
    from scipy.special import logsumexp, softmax

    K = log_joint.shape[0]
    values = np.full(K + 6, 9.0)
    values[3:3 + K] = log_joint
    total = normalize_log(values, 3, K)   # any offset and count: the lanes around are not touched
    assert total == pytest.approx(logsumexp(log_joint), rel=1e-14, abs=1e-12)
    np.testing.assert_allclose(values[3:3 + K], softmax(log_joint), rtol=1e-13, atol=1e-300)
    assert values[3:3 + K].sum() == pytest.approx(1.0, rel=1e-14)
    assert np.all(values[:3] == 9.0) and np.all(values[3 + K:] == 9.0)


@njit
def exp_normal_all(x, out):
    for i in range(0, x.shape[0], WIDTH):
        vstore(out, i, vexp_normal(vload(x, i)))


def test_vexp_normal_is_within_two_ulp_and_forms_no_subnormal():
    rng = np.random.default_rng(1)
    tiny = np.finfo(np.float64).tiny
    x = np.concatenate([-rng.exponential(40.0, 400_000), rng.uniform(-0.35, 0.0, 100_000),
                        np.linspace(-709.0, -707.0, 4000),
                        [0.0, -0.0, -np.inf, -1e300, -1e-300, -5e-324, np.log(tiny), np.nextafter(np.log(tiny), 0.0),
                         np.nextafter(np.log(tiny), -1.0), -745.2, -1000.0, -0.5]])
    x = np.concatenate([x, np.zeros(-len(x) % WIDTH)])
    out = np.empty_like(x)
    exp_normal_all(x, out)
    ref = np.exp(x)
    normal = ref >= tiny
    assert np.all(out[~normal] == 0.0) and np.all(out[normal] >= tiny)
    assert np.max(np.abs(out[normal] - ref[normal]) / np.spacing(ref[normal])) <= 2.0


@njit
def max_and_flush(x, threshold, out):
    top = vmax(vload(x, 0), vload(x, WIDTH))
    vstore(out, 0, vflush(vload(x, 0), threshold))
    return vmax_lanes(top)


def test_lane_max_and_flush():
    rng = np.random.default_rng(2)
    for _ in range(50):
        x = rng.normal(size=2 * WIDTH) * 10.0 ** rng.integers(-5, 5, 2 * WIDTH)
        x[rng.integers(0, 2 * WIDTH)] = -np.inf
        out = np.empty(WIDTH)
        assert max_and_flush(x, 0.1, out) == x.max()
        np.testing.assert_array_equal(out, np.where(x[:WIDTH] < 0.1, 0.0, x[:WIDTH]))
