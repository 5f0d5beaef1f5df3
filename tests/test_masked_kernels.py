"""The sparse spherical-mixture kernels against the naive dense NumPy references."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

import naive
from fastem import load_ratings
from fastem._base import numba_threads
from fastem.chunks import balanced_chunks, even_chunks
from fastem.completion import SphericalMixture, e_step, m_step
from fastem._kernels import masked, one_pass
from fastem._kernels.common import balanced_parts
from fastem.ratings import CsrBlocks, csr_blocks, e_step_blocks, item_blocks, users_per_block
from strategies import masked_matrices, spherical_mixtures

RTOL = 1e-10


def as_params(means, variances, weights):
    return SphericalMixture(np.ascontiguousarray(means.T), variances, weights)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_responsibilities_match_naive(data):
    X, mask = data.draw(masked_matrices())
    means, variances, weights = data.draw(spherical_mixtures(X.shape[1], max_components=20))
    R = load_ratings(X)
    p = as_params(means, variances, weights)
    L = item_blocks(R, block=data.draw(st.integers(1, R.n_users)))
    resp, user_ll = masked.responsibilities(L, p.means_t, p.log_weights(), p.variances)
    post, ll = naive.estep(X, mask, means, variances, weights)
    np.testing.assert_allclose(resp, post, rtol=RTOL, atol=1e-14)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)
    assert user_ll.sum() == pytest.approx(ll, rel=RTOL)


def statistics(R, p, block, passes):
    """em_statistics of two passes (item blocks) or one (one_pass), blocks of ``block`` users."""
    K = len(p.weights)
    if passes == 2:
        return masked.em_statistics(item_blocks(R, block), p.means_t, p.log_weights(), p.variances,
                                    masked.workspace(R.n_users, K))
    C = csr_blocks(R, block)
    return one_pass.em_statistics(C, p.means_t, p.log_weights(), p.variances, one_pass.workspace(C, K))


@pytest.mark.parametrize("passes", [2, 1])
@settings(max_examples=40, deadline=None)
@given(data=st.data(), min_variance=st.sampled_from([0.0, 0.25]), min_mean_weight=st.sampled_from([0.0, 1.0]))
def test_em_statistics_match_naive_e_and_m_steps(passes, data, min_variance, min_mean_weight):
    X, mask = data.draw(masked_matrices())
    means, variances, weights = data.draw(spherical_mixtures(X.shape[1], max_components=20))
    R = load_ratings(X)
    p = as_params(means, variances, weights)
    block = data.draw(st.integers(1, R.n_users))
    ll, *stats = statistics(R, p, block, passes)
    if block == (users_per_block(*R.shape, R.nnz) if passes == 2 else csr_blocks(R).block):   # e_step's own layout
        assert e_step(R, p, passes=passes)[1] == ll
    post, naive_ll = naive.estep(X, mask, means, variances, weights)
    assert ll == pytest.approx(naive_ll, rel=RTOL)
    np.testing.assert_allclose(stats[0], post.sum(axis=0), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(stats[3], mask.T @ post, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(stats[4], np.where(mask, X, 0.0).T @ post, rtol=RTOL, atol=1e-12)
    try:
        new = m_step(stats, p, R.n_users, min_variance, min_mean_weight)
    except ValueError as e:
        assert "collapsed" in str(e) and min_variance == 0.0
        return
    ref_means, ref_var, ref_w = naive.mstep(X, mask, post, means, variances, min_variance, min_mean_weight)
    np.testing.assert_allclose(new.means, ref_means, rtol=RTOL, atol=1e-10)
    np.testing.assert_allclose(new.variances, ref_var, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(new.weights, ref_w, rtol=RTOL)


@pytest.mark.parametrize("passes", [2, 1])
@settings(max_examples=15, deadline=None)
@given(Xm=masked_matrices(max_users=60, max_items=10), block=st.integers(1, 60), K=st.integers(1, 20))
def test_statistics_do_not_depend_on_threads(passes, Xm, block, K):
    X, _ = Xm
    R = load_ratings(X)
    means, variances, weights = np.linspace(1, 5, K * R.n_items).reshape(K, -1), np.ones(K), np.full(K, 1 / K)
    p = as_params(means, variances, weights)
    out = []
    for threads in (1, 2):
        with numba_threads(threads):
            out.append(statistics(R, p, min(block, R.n_users), passes))
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


def test_an_e_step_alone_lays_nothing_out_and_reads_either_layout_to_the_bit():
    R = load_ratings(np.where(np.arange(600).reshape(40, 15) % 7 == 0, 0, np.arange(600).reshape(40, 15) % 5 + 1))
    p = as_params(np.linspace(1, 5, 3 * 15).reshape(3, 15), np.array([0.5, 1.0, 2.0]), np.array([0.2, 0.3, 0.5]))
    assert isinstance(e_step_blocks(R), CsrBlocks) and R._by_item is None
    before = masked.responsibilities(e_step_blocks(R), p.means_t, p.log_weights(), p.variances)
    L = item_blocks(R)
    assert e_step_blocks(R) is L                # once built, the item blocks (uint16 items) are read
    after = masked.responsibilities(e_step_blocks(R), p.means_t, p.log_weights(), p.variances)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


def test_the_e_steps_means_table_holds_items_by_popularity():
    """ItemBlocks number the items by decreasing count of ratings (ties by index) as rows of the
    E-step's means table, a user's ratings in R's order; CsrBlocks keep R's items."""
    X = np.array([[0, 4, 1, 2], [0, 5, 0, 3], [1, 2, 0, 0]], dtype=float)   # counts 1, 3, 1, 2
    R = load_ratings(X)
    L = item_blocks(R)
    assert list(L.item_order) == [1, 3, 0, 2]
    assert L.indices.dtype == np.uint16 and list(L.indices) == [0, 3, 1, 0, 1, 2, 0]
    assert list(csr_blocks(R).item_order) == [0, 1, 2, 3] and csr_blocks(R).indices is R.indices
    means_t = np.arange(8.0).reshape(4, 2)
    np.testing.assert_array_equal(masked.to_table(means_t, 4, L.item_order).reshape(4, 4)[:, :2], means_t[[1, 3, 0, 2]])


@pytest.mark.parametrize("K", [1, 3, 4, 5, 8, 9, 12, 13, 16, 20, 32])
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_posteriors_eight_users_at_a_time_equal_one_at_a_time_to_the_bit(K, data):
    """posteriors_in_groups (eight users, one per lane) then posteriors_by_rows for the 0-7 left
    give the rows, log-likelihoods and sums of posteriors_by_rows alone, to the bit."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    Kp, m = masked.row_width(K), data.draw(st.integers(1, 30))
    indptr = np.concatenate([[0], np.cumsum(rng.integers(0, 60, m))]).astype(np.int64)
    terms = masked.component_terms(np.log(rng.dirichlet(np.ones(K))), rng.uniform(0.05, 4.0, K), Kp)
    errors = masked.to_table(rng.uniform(0.0, 200.0, (m, K)), Kp)
    W = terms.shape[0] // 3
    (rows, ll, sums), (rows_1, ll_1, sums_1) = [(errors.copy(), np.full(m, np.nan), np.zeros(3 * W)) for _ in range(2)]
    first = masked.posteriors_in_groups(indptr, 0, m, terms, rows, Kp, ll, sums)
    assert first == m // 8 * 8
    masked.posteriors_by_rows(indptr, 0, first, m, terms, rows, Kp, ll, sums)
    masked.posteriors_by_rows(indptr, 0, 0, m, terms, rows_1, Kp, ll_1, sums_1)
    for a, b in ((rows, rows_1), (ll, ll_1), (sums, sums_1)):
        np.testing.assert_array_equal(a, b)
    resp = masked.block_rows(rows, m, K, Kp, m)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)


def test_rows_are_whole_four_lane_groups():
    assert [masked.row_width(K) for K in (1, 4, 5, 8, 9, 12, 16, 17, 20, 21)] == [4, 4, 8, 8, 12, 12, 16, 20, 20, 24]
    assert masked.workspace(10, 3).shape == (40,) and masked.workspace(10, 5).shape == (80,)
    assert masked.workspace(10, 3).ctypes.data % 64 == 0


@njit
def ratings_as_float64(values):
    out = np.empty(values.shape[0])
    for p in range(values.shape[0]):
        out[p] = masked.rating(values, p)
    return out


@pytest.mark.parametrize("values", [np.arange(256).astype(np.uint8)[::-1].copy(),          # by the table
                                    np.array([0.5, 3.25, 1e30, -2.0], np.float32), np.array([0.1, 7.0, -1e300])])
def test_every_stored_rating_reads_as_its_float64(values):
    result = ratings_as_float64(values)
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, values.astype(np.float64))


@pytest.mark.parametrize("K", [1, 4, 5, 8, 9, 12, 13, 16, 20, 28])
def test_tables_of_rows_keep_their_last_four_lanes_apart(K):
    """A table of m rows of Kp lanes: every row's whole 8-lane vectors as rows of Kp // 8 * 8
    lanes, then, when Kp is an odd multiple of 4, every row's last 4 lanes; padding lanes 0, every
    vector on a multiple of its own size; a workspace of blocks holds each block's table."""
    Kp, m = masked.row_width(K), 7
    wide = Kp // 8 * 8
    a = np.arange(1.0, m * K + 1.0).reshape(m, K)
    padded = np.zeros((m, Kp))
    padded[:, :K] = a
    flat = masked.to_table(a, Kp)
    assert flat.shape == (m * Kp,) and flat.ctypes.data % 64 == 0
    np.testing.assert_array_equal(flat, np.concatenate([padded[:, :wide].ravel(), padded[:, wide:].ravel()]))
    assert all(masked.wide_offset(Kp, i, lane) % 8 == 0 for i in range(m) for lane in range(0, wide, 8))
    assert all(masked.tail_offset(m, Kp, i) % 4 == 0 for i in range(m))
    out = np.full((m, K), np.nan)
    masked.from_table(flat, m, K, Kp, out)
    np.testing.assert_array_equal(out, a)
    rows = np.concatenate([masked.to_table(a[lo:lo + 3], Kp) for lo in range(0, m, 3)])   # blocks of 3, 3, 1 rows
    np.testing.assert_array_equal(masked.block_rows(rows, m, K, Kp, 3), a)


def test_item_blocks_layout():
    """Segments by (block, item), runs of equal values, users increasing within a run."""
    X = np.array([[5, 0, 3], [5, 2, 3], [1, 2, 0], [5, 0, 3], [0, 0, 1]], dtype=float)
    R = load_ratings(X)
    L = item_blocks(R, block=3)   # users 0-2, then 3-4
    runs = [(L.run_values[r], list(L.users[L.runs[r]:L.runs[r + 1]])) for r in range(len(L.run_values))]
    assert list(L.segments) == [0, 2, 3, 4, 5, 5, 7]
    assert runs == [(1, [2]), (5, [0, 1]), (2, [1, 2]), (3, [0, 1]),   # block 0: item 0, item 1, item 2
                    (5, [0]), (1, [1]), (3, [0])]                      # block 1: item 0, (none), item 2
    assert list(L.column_ends) == [0, 4, 6, 10]
    with pytest.raises(ValueError, match="block"):
        item_blocks(R, block=70000)


@pytest.mark.parametrize("n_items, dtype", [(65536, np.uint16), (70000, np.int32)])
def test_items_are_uint16_where_they_fit(n_items, dtype):
    """The E-step reads items as uint16 up to 65536 items and as R's int32 past them; both agree with naive."""
    rng = np.random.default_rng(1)
    users = np.repeat(np.arange(6), 5)
    items = np.concatenate([rng.choice(n_items - 1, 4, replace=False) for _ in range(6)])
    items = np.insert(items, np.arange(0, 24, 4), n_items - 1)   # every user rates the last item
    X = np.zeros((6, n_items))
    X[users, items] = rng.integers(1, 6, users.size)
    R = load_ratings(X)
    L = item_blocks(R, block=4)
    assert L.indices.dtype == dtype and np.array_equal(L.item_order[L.indices], R.indices)   # rows of the means table
    means, variances, weights = rng.normal(3, 1, (3, n_items)), np.array([0.5, 1.0, 2.0]), np.array([0.2, 0.3, 0.5])
    p = as_params(means, variances, weights)
    ll, resp_sum, obs_weight, sq_weight, s0, s1 = masked.em_statistics(L, p.means_t, p.log_weights(), p.variances,
                                                                      masked.workspace(6, 3))
    post, naive_ll = naive.estep(X, X != 0, means, variances, weights)
    assert ll == pytest.approx(naive_ll, rel=RTOL)
    np.testing.assert_allclose(s1, X.T @ post, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(s0, (X != 0).T @ post, rtol=RTOL, atol=1e-12)


def test_users_per_block_follows_density():
    assert users_per_block(1200, 1200, 1_111_768) == 300           # dense: at least 4 blocks
    assert users_per_block(480_189, 17_770, 100_480_507) == 8004   # Netflix Prize: 60 blocks, rows L2-sized
    assert users_per_block(100_000, 17_770, 2_000_000) == 7144     # 14 blocks, not 13 of 8192
    assert users_per_block(1_000_000, 100, 50_000_000) == 512       # 256 ratings per item and block
    assert users_per_block(5, 3, 10) == 2
    assert users_per_block(477_893, 17_770, 100_000_000) == 7966   # 60 blocks of 7965 users made even


def test_balanced_parts_split_ratings_evenly():
    ends = np.array([0, 10, 10, 50, 60, 100])
    assert list(balanced_parts(ends, 2)) == [0, 3, 5]
    assert list(balanced_parts(ends, 1)) == [0, 5]
    parts = balanced_parts(ends, 8)
    assert parts[0] == 0 and parts[-1] == 5 and np.all(np.diff(parts) >= 0)


def test_squared_errors_and_predict_pairs_match_dense():
    rng = np.random.default_rng(3)
    X = np.where(rng.random((30, 8)) < 0.6, rng.integers(1, 6, (30, 8)), 0).astype(float)
    R = load_ratings(X)
    means_t = rng.normal(3, 1, (8, 4))
    mask = X != 0
    expected = np.stack([(((X - means_t[:, j]) * mask) ** 2).sum(axis=1) for j in range(4)], axis=1)
    for block in (1, 7, 30):
        np.testing.assert_allclose(masked.squared_errors(item_blocks(R, block), means_t), expected, rtol=1e-13)
    resp = rng.dirichlet(np.ones(4), 30)
    users, items = rng.integers(0, 30, 50), rng.integers(0, 8, 50)
    np.testing.assert_allclose(masked.predict_pairs(resp, means_t, users, items),
                               (resp @ means_t.T)[users, items], rtol=1e-13)


def test_user_without_ratings_gets_the_weights():
    X = np.array([[1.0, 2.0], [0.0, 0.0], [4.0, 5.0]])
    R = load_ratings(X)
    weights = np.array([0.3, 0.7])
    p = as_params(np.array([[1.0, 2.0], [4.0, 5.0]]), np.ones(2), weights)
    resp, ll = masked.responsibilities(item_blocks(R), p.means_t, p.log_weights(), p.variances)
    np.testing.assert_allclose(resp[1], weights, rtol=1e-15)
    assert ll[1] == pytest.approx(0.0, abs=1e-15)


def test_chunks_cover_all_users_in_order():
    indptr = np.concatenate(([0], np.cumsum(np.random.default_rng(0).integers(0, 50, 500))))
    for n_chunks in (1, 3, 64, 1000):
        b = balanced_chunks(indptr, n_chunks, min_nnz=1)
        assert b[0] == 0 and b[-1] == 500 and np.all(np.diff(b) > 0) and len(b) - 1 <= n_chunks
        sizes = indptr[b[1:]] - indptr[b[:-1]]
        if n_chunks <= 64:
            assert sizes.max() <= indptr[-1] / n_chunks + 50
    assert len(balanced_chunks(indptr, 64)) == 2  # under MIN_CHUNK_NNZ ratings: one chunk
    assert list(even_chunks(10, 4)) == [0, 2, 5, 8, 10]
