"""The one-sweep EM pass (``MixtureCompleter(passes=1)``) beyond what test_masked_kernels checks
for both passes (the naive E- and M-steps, thread independence): every row shape, the workspace,
the same fit as two passes with nothing laid out, bad values."""
import numpy as np
import pytest

from fastem import MixtureCompleter, load_ratings
from fastem._kernels import masked, one_pass
from fastem.completion import SphericalMixture
from fastem.datasets import planted
from fastem.ratings import CSR_BLOCK_BYTES, csr_blocks, users_per_block
from test_masked_kernels import statistics


@pytest.mark.parametrize("K", [1, 3, 4, 5, 8, 12, 16, 20, 28, 32, 36])
def test_every_row_shape_gives_the_two_pass_statistics(K):
    """Rows of one 4- or 8-lane vector, 8 + 4 lanes, 16-lane pairs and what follows them."""
    R, _ = planted(2000, 12, 12_000, 3, seed=K)
    rng = np.random.default_rng(K)
    p = SphericalMixture(rng.uniform(1, 5, (R.n_items, K)), rng.uniform(0.5, 2.0, K), rng.dirichlet(np.ones(K)))
    assert one_pass.sizes(csr_blocks(R, 16), K)[0] == 8   # 125 blocks in 8 parts of 15 or 16
    one = statistics(R, p, 16, passes=1)
    two = statistics(R, p, 16, passes=2)
    assert one[0] == pytest.approx(two[0], rel=1e-13)
    for a, b in zip(one[1:], two[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


def test_one_pass_fit_is_the_two_pass_fit_and_lays_nothing_out():
    R, _ = planted(2000, 120, 40_000, 4, seed=3)
    one = MixtureCompleter(4, seeds=[0, 1], tol=1e-8, passes=1).fit(R)
    assert R._by_item is None   # no item-major copy was built
    one.predict_proba(R)
    assert R._by_item is None
    np.testing.assert_array_equal(one.predict_proba(R), one.resp_)
    two = MixtureCompleter(4, seeds=[0, 1], tol=1e-8).fit(R)
    assert (one.n_iter_, one.best_seed_) == (two.n_iter_, two.best_seed_)
    np.testing.assert_allclose(one.history_, two.history_, rtol=1e-12)
    np.testing.assert_allclose(one.means_, two.means_, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(one.resp_, two.resp_, rtol=1e-9, atol=1e-12)
    assert one.get_params()["passes"] == 1


def test_parts_follow_the_data_not_the_threads():
    """As many buffers as the ratings' bytes hold, 2 to 8, at most one per block."""
    R, _ = planted(2000, 12, 12_000, 3, seed=0)   # 60,000 bytes of ratings (int32 item, uint8 value)
    C = csr_blocks(R, 16)
    assert one_pass.sizes(C, 4)[0] == 8            # buffers of 12 * 8 float64: 78 fit, 8 at most
    assert one_pass.sizes(C, 128)[0] == 2          # 12 * 256 float64: 2 fit
    assert one_pass.sizes(C, 200)[0] == 2          # 12 * 400 float64: 1 fits, 2 at least
    assert one_pass.sizes(csr_blocks(R, 400), 4)[0] == 5   # 5 blocks
    assert one_pass.sizes(csr_blocks(R, 2000), 4)[0] == 1  # 1 block


def test_csr_blocks_hold_at_most_half_an_l2_of_ratings():
    R = load_ratings(np.ones((400, 1500)))                 # 7,500 bytes per user (int32 item, uint8 value)
    assert users_per_block(R.n_users, R.n_items, R.nnz) == 100
    assert CSR_BLOCK_BYTES // 7500 == 69 and csr_blocks(R).block == 68   # even: tables start on a cache line
    assert csr_blocks(load_ratings(np.ones((400, 15)))).block == 100   # small users: users_per_block's


def test_workspace_layout_and_a_wrong_one():
    R, _ = planted(100, 30, 900, 2, seed=1)
    C = csr_blocks(R, 30)      # 4 blocks, 4500 bytes of ratings: 2 parts
    work = one_pass.workspace(C, 5)             # Kp = 8: 800 rows, then 2 buffers of 30 * 16
    assert work.shape == (800 + 2 * 30 * 16,) and work.ctypes.data % 64 == 0
    assert one_pass.workspace(csr_blocks(R, 7), 3).shape == (100 * 4 + 2 * 30 * 8,)
    p = SphericalMixture(np.full((30, 5), 3.0), np.ones(5), np.full(5, 0.2))
    work[:] = np.nan                            # the sweep must not read what it did not write
    first = one_pass.em_statistics(C, p.means_t, p.log_weights(), p.variances, work)
    again = one_pass.em_statistics(C, p.means_t, p.log_weights(), p.variances, work)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(first[0])
    with pytest.raises(ValueError, match="needs 1760: allocate it by one_pass.workspace"):
        one_pass.em_statistics(C, p.means_t, p.log_weights(), p.variances, masked.workspace(R.n_users, 5))


@pytest.mark.parametrize("passes", [0, 3, True, 1.0, "1", None])
def test_bad_passes_raise(passes):
    with pytest.raises(ValueError, match="passes must be"):
        MixtureCompleter(2, passes=passes).fit(np.array([[1.0, 2.0], [3.0, 0.0], [4.0, 5.0]]))
