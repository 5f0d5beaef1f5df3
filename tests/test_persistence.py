"""model.save / fastem.load_model: bit-identical round trips, and clear errors for bad files."""
import io
import json
import zipfile

import numpy as np
import pytest

import fastem
from fastem.persistence import FORMAT_VERSION, HEADER, model_classes

from zoo import CASES, RATINGS, fit_case


def assert_bit_identical(got: dict, want: dict):
    assert got.keys() == want.keys()
    for key in want:
        g, w = np.asarray(got[key]), np.asarray(want[key])
        assert g.dtype == w.dtype and g.shape == w.shape, key
        assert g.tobytes() == w.tobytes(), f"{key} differs after the round trip"


@pytest.mark.parametrize("case", sorted(CASES))
def test_round_trip_is_bit_identical(case, tmp_path):
    model, outputs = fit_case(case)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = fastem.load_model(path)
    assert type(loaded) is type(model)
    assert repr(loaded.get_params()) == repr(model.get_params())
    assert loaded._fitted_state().keys() == model._fitted_state().keys()
    assert_bit_identical(CASES[case][2](loaded), outputs)
    with np.load(path, allow_pickle=False) as z:   # readable without pickle
        assert json.loads(str(z[HEADER]))["version"] == FORMAT_VERSION


def test_every_public_model_class_is_registered():
    names = {cls.__name__ for cls in model_classes().values()}
    assert {"MixtureCompleter", "GaussianMixture", "KMeans", "BernoulliMixture", "PoissonMixture", "VAE"} <= names


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(path of a saved small MixtureCompleter, its bytes)."""
    path = tmp_path_factory.mktemp("saved") / "m.npz"
    fastem.MixtureCompleter(2, seeds=[0]).fit(RATINGS).save(path)
    return path, path.read_bytes()


def rewrite_header(src, dst, **changes):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == HEADER + ".npy":
                buf = np.load(io.BytesIO(data))
                header = dict(json.loads(str(buf)), **changes)
                out = io.BytesIO()
                np.save(out, np.array(json.dumps(header)))
                data = out.getvalue()
            zout.writestr(item, data)


def test_truncated_corrupt_and_foreign_files_raise_value_error_saying_which(saved, tmp_path):
    path, raw = saved
    bad = tmp_path / "bad.npz"
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"bad\.npz: truncated"):
        fastem.load_model(bad)
    flipped = bytearray(raw)
    middle = len(raw) // 3    # inside an array's data: the zip CRC no longer matches
    flipped[middle] ^= 0xFF
    bad.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match=r"bad\.npz: corrupt"):
        fastem.load_model(bad)
    rewrite_header(path, bad, version=FORMAT_VERSION + 1)
    with pytest.raises(ValueError, match=rf"format version {FORMAT_VERSION + 1}, this fastem reads version"):
        fastem.load_model(bad)
    rewrite_header(path, bad, **{"class": "os.system"})
    with pytest.raises(ValueError, match="unknown model class 'os.system'"):
        fastem.load_model(bad)
    rewrite_header(path, bad, format="something.else")
    with pytest.raises(ValueError, match="not a saved fastem model"):
        fastem.load_model(bad)
    RATINGS.save(bad)
    with pytest.raises(ValueError, match="no __header__ entry"):
        fastem.load_model(bad)
    for content in (b"", b"\x00" * 100, "ünïcode text\n".encode()):
        bad.write_bytes(content)
        with pytest.raises(ValueError, match=r"bad\.npz: truncated file, or not an \.npz"):
            fastem.load_model(bad)
    with pytest.raises(ValueError, match="no such file"):
        fastem.load_model(tmp_path / "missing.npz")


def test_unfitted_or_unsaveable_models_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not fitted yet"):
        fastem.KMeans(2).save(tmp_path / "k.npz")
    model = fastem.KMeans(2, seeds=[0]).fit(np.arange(10.0).reshape(5, 2))
    model.extra_ = object()
    with pytest.raises(ValueError, match="cannot save state.extra_: a object"):
        model.save(tmp_path / "k.npz")
    assert not (tmp_path / "k.npz").exists()
