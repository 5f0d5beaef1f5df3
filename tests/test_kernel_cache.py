"""The kernels' Numba cache is cleared when any kernel source changes (Numba itself checks only
the file of the function it loads)."""
from pathlib import Path

from fastem import _kernel_cache
from fastem._kernel_cache import STAMP, clear_if_changed, sources_digest
from fastem._kernels.simd import padded


def fake_cache(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / "masked.estep_blocks-140.py311.nbi", folder / "masked.estep_blocks-140.py311.1.nbc"]
    for path in files:
        path.write_bytes(b"compiled")
    return files


def test_a_cache_from_other_sources_is_cleared_and_stamped(tmp_path):
    files = fake_cache(tmp_path)
    keep = tmp_path / "simd.cpython-311.pyc"
    keep.write_bytes(b"bytecode")
    assert clear_if_changed(tmp_path, "aaa") is True          # no stamp yet: built from unknown sources
    assert not any(path.exists() for path in files)
    assert keep.exists()
    assert (tmp_path / STAMP).read_text().strip() == "aaa"
    files = fake_cache(tmp_path)
    assert clear_if_changed(tmp_path, "aaa") is False         # same sources: the cache is kept
    assert all(path.exists() for path in files)
    assert clear_if_changed(tmp_path, "bbb") is True          # a source changed
    assert not any(path.exists() for path in files)
    assert (tmp_path / STAMP).read_text().strip() == "bbb"


def test_a_missing_cache_directory_is_created_with_its_stamp(tmp_path):
    assert clear_if_changed(tmp_path / "absent", "aaa") is False
    assert (tmp_path / "absent" / STAMP).read_text().strip() == "aaa"


def test_the_digest_follows_every_source_file(tmp_path):
    (tmp_path / "simd.py").write_text("WIDTH = 8\n")
    (tmp_path / "masked.py").write_text("from .simd import WIDTH\n")
    (tmp_path / "notes.txt").write_text("not a source")
    before = sources_digest(tmp_path)
    (tmp_path / "notes.txt").write_text("still not a source")
    assert sources_digest(tmp_path) == before
    (tmp_path / "simd.py").write_text("WIDTH = 4\n")
    assert sources_digest(tmp_path) != before


def test_the_installed_kernels_cache_is_stamped_with_their_sources():
    stamp = Path(padded.stats.cache_path) / STAMP
    assert stamp.read_text().strip() == sources_digest(_kernel_cache.KERNELS)
