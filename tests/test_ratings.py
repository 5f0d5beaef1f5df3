"""RatingMatrix and load_ratings: every source, and every kind of bad input named in the issue."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings

from fastem import RatingMatrix, load_ratings
from fastem.ratings import compact_values, from_triplets
from strategies import masked_matrices

DENSE = np.array([[5, 0, 3], [0, 0, 0], [1, 2, np.nan]])


def write(tmp_path, name, content, mode="w"):
    path = tmp_path / name
    with open(path, mode) as f:
        f.write(content)
    return path


def test_dense_array_zero_and_nan_are_missing():
    R = load_ratings(DENSE)
    assert (R.n_users, R.n_items, R.nnz) == (3, 3, 4)
    assert list(R.indptr) == [0, 2, 2, 4] and list(R.indices) == [0, 2, 0, 1]
    assert R.values.dtype == np.uint8 and list(R.values) == [5, 3, 1, 2]
    assert R.indptr.dtype == np.int64 and R.indices.dtype == np.int32
    np.testing.assert_array_equal(R.to_dense(), np.nan_to_num(DENSE))
    dense_nan = R.to_dense(missing=np.nan)
    assert np.isnan(dense_nan[1]).all() and dense_nan[0, 0] == 5


def test_user_data_is_not_changed_and_matrix_is_read_only():
    X = DENSE.copy()
    R = load_ratings(X)
    np.testing.assert_array_equal(X, DENSE)
    with pytest.raises(ValueError):
        R.values[0] = 1


def test_values_keep_the_smallest_lossless_type():
    assert compact_values([1.0, 5.0]).dtype == np.uint8
    assert compact_values([1.5, 2.25]).dtype == np.float32
    assert compact_values([0.1, 2.0]).dtype == np.float64
    assert compact_values([-1.0, 2.0]).dtype == np.float32
    np.testing.assert_array_equal(compact_values([0.1, 300.0]), [0.1, 300.0])


def test_text_matrix_matches_array(tmp_path):
    path = write(tmp_path, "m.txt", "5 0 3\n\n0 0 0\n1 2 nan\n")
    R = load_ratings(path)
    np.testing.assert_array_equal(R.to_dense(), np.nan_to_num(DENSE))


def test_scipy_sparse_keeps_explicit_zeros():
    M = sp.csr_matrix((np.array([0.0, 4.0]), np.array([1, 0]), np.array([0, 1, 2])), shape=(2, 3))
    R = load_ratings(M)
    assert R.nnz == 2 and list(R.values) == [0, 4]
    assert sp.issparse(R.to_scipy()) and R.to_scipy().shape == (2, 3)


def test_scipy_duplicates_and_nan_rejected():
    duplicated = sp.csr_matrix((np.array([1.0, 2.0]), np.array([1, 1]), np.array([0, 2])), shape=(1, 2))
    duplicated.has_canonical_format = False
    with pytest.raises(ValueError, match="twice"):
        load_ratings(duplicated)
    with pytest.raises(ValueError, match="NaN"):
        load_ratings(sp.csr_matrix(np.array([[np.nan, 1.0]])))


def test_triplets_with_header_ids_remapped(tmp_path):
    path = write(tmp_path, "r.csv", "userId,movieId,rating,timestamp\n10,7,4.0,1\n3,7,5,2\n10,99,1.5,3\n")
    R = load_ratings(path)
    assert R.shape == (2, 2)
    assert list(R.user_ids) == [3, 10] and list(R.item_ids) == [7, 99]
    np.testing.assert_array_equal(R.to_dense(), [[5, 0], [4, 1.5]])
    tsv = write(tmp_path, "r.tsv", "1\t2\t3\n")
    assert load_ratings(tsv).nnz == 1


def test_npz_round_trip(tmp_path):
    R = load_ratings(write(tmp_path, "r.csv", "1,2,3.5\n4,5,1\n"))
    R.save(tmp_path / "r.npz")
    back = load_ratings(tmp_path / "r.npz")
    for name in ("indptr", "indices", "values", "user_ids", "item_ids"):
        np.testing.assert_array_equal(getattr(back, name), getattr(R, name))
        assert getattr(back, name).dtype == getattr(R, name).dtype
    assert back.shape == R.shape


@settings(max_examples=30, deadline=None)
@given(masked_matrices())
def test_every_source_gives_the_same_matrix(Xm):
    X, mask = Xm
    R = load_ratings(X)
    assert R.nnz == mask.sum()
    np.testing.assert_array_equal(R.to_dense(), X)
    np.testing.assert_array_equal(load_ratings(R.to_scipy()).to_dense(), X)
    rows, cols = np.nonzero(mask)
    T = from_triplets(rows[::-1], cols[::-1], X[rows, cols][::-1], shape=X.shape)
    np.testing.assert_array_equal(T.to_dense(), X)


def test_split_hides_a_fraction_and_partitions():
    X = np.arange(1, 101, dtype=float).reshape(10, 10)
    train, test = load_ratings(X).split(0.2, seed=3)
    assert (train.nnz, test.nnz) == (80, 20)
    assert train.shape == test.shape == (10, 10)
    np.testing.assert_array_equal(train.to_dense() + test.to_dense(), X)
    again, _ = load_ratings(X).split(0.2, seed=3)
    np.testing.assert_array_equal(again.indices, train.indices)
    with pytest.raises(ValueError, match="fraction"):
        load_ratings(X).split(1.5)


# ------------------------------------------------------------ bad input: ValueError with file and line

@pytest.mark.parametrize("name, content, message", [
    ("empty.txt", "", "empty"),
    ("blank.txt", "\n  \n", "empty"),
    ("ragged.txt", "1 2 3\n4 5\n", r"ragged.txt:2: 2 values.*ragged"),
    ("text.txt", "1 2 3\n4 five 6\n", r"text.txt:2: 'five' is not a number"),
    ("inf.txt", "1 2\n3 inf\n", r"inf.txt:2: infinite"),
    ("empty.csv", "", "empty"),
    ("neg.csv", "1,2,3\n-4,5,1\n", r"neg.csv:2: user id -4 is outside"),
    ("huge.csv", "1,2,3\n1,99999999999999999999999,1\n", r"huge.csv:2: item id .* is outside"),
    ("frac.csv", "1.5,2,3\n", r"frac.csv:1: user id '1.5' is not an integer"),
    ("rating.csv", "1,2,abc\n", r"rating.csv:1: rating 'abc'"),
    ("nanr.csv", "1,2,nan\n", r"nanr.csv:1: rating 'nan'"),
    ("dup.csv", "1,2,3\n1,2,4\n", r"dup.csv:2: \(user 1, item 2\) was already rated on line 1"),
    ("short.csv", "1,2,3\n1;2;3\n", r"short.csv:2: expected user,item,rating"),
    ("header_mid.csv", "1,2,3\nuser,item,rating\n", r"header_mid.csv:2: user id 'user' is not an integer"),
    ("cols.csv", "1,2,3\n1,3,4,5\n", r"cols.csv:2: 4 columns"),
    ("unicode.csv", "1,2,3\n1,3,★\n", r"unicode.csv:2: rating '★'"),
])
def test_malformed_files_raise_value_error_with_file_and_line(tmp_path, name, content, message):
    with pytest.raises(ValueError, match=message):
        load_ratings(write(tmp_path, name, content))


def test_binary_and_non_utf8_files(tmp_path):
    with pytest.raises(ValueError, match=r"bin.txt:2: binary data"):
        load_ratings(write(tmp_path, "bin.txt", b"1 2\n3\x00\x01\n", "wb"))
    with pytest.raises(ValueError, match=r"latin.csv:1: not UTF-8"):
        load_ratings(write(tmp_path, "latin.csv", "1,2,\xe9\n".encode("latin-1"), "wb"))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        load_ratings(tmp_path / "nope.txt")
    with pytest.raises(ValueError, match="no such file"):
        load_ratings(tmp_path / "nope.npz")
    with pytest.raises(ValueError, match="directory"):
        load_ratings(tmp_path)


def test_corrupt_and_foreign_npz(tmp_path):
    R = load_ratings(DENSE)
    R.save(tmp_path / "ok.npz")
    data = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.npz: truncated or corrupt"):
        load_ratings(tmp_path / "cut.npz")
    np.savez(tmp_path / "other.npz", a=np.arange(3))
    with pytest.raises(ValueError, match="other.npz: not a saved RatingMatrix"):
        load_ratings(tmp_path / "other.npz")
    z = dict(np.load(tmp_path / "ok.npz"))
    z["version"] = np.array(99)
    np.savez(tmp_path / "future.npz", **z)
    with pytest.raises(ValueError, match="future.npz: format version 99"):
        load_ratings(tmp_path / "future.npz")
    z["version"] = np.array(1)
    z["indices"] = z["indices"][:-1]
    np.savez(tmp_path / "bad.npz", **z)
    with pytest.raises(ValueError, match="bad.npz: inconsistent"):
        load_ratings(tmp_path / "bad.npz")


@pytest.mark.parametrize("bad, message", [
    (np.array([1.0, np.inf]).reshape(1, 2), r"infinite rating at \(user 0, item 1\)"),
    (np.ones(3), "2-D"),
    (np.array([["a", "b"]]), "numeric"),
    (object(), "cannot load"),
])
def test_bad_arrays(bad, message):
    with pytest.raises(ValueError, match=message):
        load_ratings(bad)


def test_inconsistent_csr_rejected():
    with pytest.raises(ValueError, match="strictly increasing"):
        RatingMatrix([0, 2], [1, 1], [1.0, 2.0], (1, 3))
    with pytest.raises(ValueError, match="out of range"):
        RatingMatrix([0, 1], [5], [1.0], (1, 3))
    with pytest.raises(ValueError, match="finite"):
        RatingMatrix([0, 1], [0], [np.nan], (1, 3))


def test_the_callers_arrays_keep_their_flags_and_moments_are_cached():
    indptr, indices, values = np.array([0, 2]), np.array([0, 2], dtype=np.int32), np.array([1.0, 4.5])
    R = RatingMatrix(indptr, indices, values, (1, 3))
    assert indptr.flags.writeable and indices.flags.writeable and values.flags.writeable
    from fastem.ratings import column_moments

    sums, counts, total_sq = column_moments(R)
    np.testing.assert_array_equal(sums, [1.0, 0.0, 4.5])
    np.testing.assert_array_equal(counts, [1, 0, 1])
    assert total_sq == 1.0 + 4.5**2
    assert column_moments(R)[0] is sums and not sums.flags.writeable


# ------------------------------------------------------------ memory-mapped loading and column moments

def mapped(a) -> bool:
    """True when ``a`` is a view of a memory-mapped file."""
    while a is not None:
        if isinstance(a, np.memmap):
            return True
        a = getattr(a, "base", None)
    return False


def test_mmap_load_maps_the_file_and_equals_a_full_load(tmp_path):
    R = load_ratings(np.array([[5, 0, 3.5], [0, 0, 0], [1, 2, 4]]))
    R.save(tmp_path / "r.npz")
    M = load_ratings(tmp_path / "r.npz", mmap=True)
    for name in ("indptr", "indices", "values"):
        np.testing.assert_array_equal(getattr(M, name), getattr(R, name))
        assert getattr(M, name).dtype == getattr(R, name).dtype
    assert mapped(M.values) and mapped(M.indices) and not mapped(R.values)
    assert not M.values.flags.writeable
    np.testing.assert_array_equal(M.to_dense(), R.to_dense())


@pytest.mark.parametrize("cut", [0.5, 0.97])
def test_mmap_load_of_a_truncated_file(tmp_path, cut):
    X = np.arange(1, 2001, dtype=float).reshape(40, 50) % 5 + 1
    load_ratings(X).save(tmp_path / "ok.npz")
    data = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(ValueError, match="cut.npz: truncated or corrupt"):
        load_ratings(tmp_path / "cut.npz", mmap=True)


def test_mmap_load_rejects_other_versions_compressed_files_and_text(tmp_path):
    R = load_ratings(DENSE)
    R.save(tmp_path / "ok.npz")
    z = dict(np.load(tmp_path / "ok.npz"))
    z["version"] = np.array(2)
    np.savez(tmp_path / "v2.npz", **z)
    with pytest.raises(ValueError, match="v2.npz: format version 2, this fastem reads 1"):
        load_ratings(tmp_path / "v2.npz", mmap=True)
    z["version"] = np.array(1)
    np.savez_compressed(tmp_path / "zipped.npz", **z)
    with pytest.raises(ValueError, match="zipped.npz: indices is compressed"):
        load_ratings(tmp_path / "zipped.npz", mmap=True)
    np.testing.assert_array_equal(load_ratings(tmp_path / "zipped.npz").values, R.values)
    with pytest.raises(ValueError, match="mmap=True needs a .npz"):
        load_ratings(write(tmp_path, "m.txt", "1 2\n"), mmap=True)


def test_unchecked_entries_still_check_the_layout():
    with pytest.raises(ValueError, match="indptr ends at 3"):
        RatingMatrix([0, 3], [0, 1], [1.0, 2.0], (1, 3), check_entries=False)
    with pytest.raises(ValueError, match="non-decreasing"):
        RatingMatrix([0, 2, 1], [0], [1.0], (2, 3), check_entries=False)


@settings(max_examples=25, deadline=None)
@given(masked_matrices())
def test_column_moments_equal_numpy(Xm):
    from fastem.ratings import column_moments, item_means

    X, mask = Xm
    R = load_ratings(X)
    sums, counts, total_sq = column_moments(R)
    np.testing.assert_allclose(sums, X.sum(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(counts, mask.sum(axis=0))
    assert total_sq == pytest.approx((X**2).sum(), rel=1e-12, abs=1e-12)
    if mask.any():
        item, mean, var = item_means(R)
        assert mean == pytest.approx(X[mask].mean(), rel=1e-12)
        assert var == pytest.approx(max(X[mask].var(), 1e-12), rel=1e-9, abs=1e-12)
        seen = mask.any(axis=0)
        np.testing.assert_allclose(item[seen], X.sum(axis=0)[seen] / mask.sum(axis=0)[seen], rtol=1e-12)
