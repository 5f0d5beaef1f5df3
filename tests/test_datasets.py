"""Finding and fetching the reference data (no network: a file:// copy stands in for the web)."""
import shutil

import numpy as np
import pytest

from fastem import datasets
from fastem.cli import main


def test_fetch_verifies_checksums_and_keeps_good_files(reference_dir, tmp_path, monkeypatch):
    logs = []
    dest = datasets.fetch(tmp_path / "data", base_url=reference_dir.resolve().as_uri(), log=logs.append)
    assert sorted(p.name for p in dest.iterdir()) == sorted(datasets.CHECKSUMS)
    assert all("downloading" in line for line in logs)
    logs.clear()
    datasets.fetch(tmp_path / "data", base_url="file:///nowhere", log=logs.append)
    assert all("checksum ok" in line for line in logs)
    monkeypatch.setenv("FASTEM_DATA", str(tmp_path / "data"))
    R, gold = datasets.netflix()
    assert R.shape == gold.shape == (1200, 1200) and datasets.toy().shape == (250, 2)


def test_fetch_rejects_a_wrong_file(reference_dir, tmp_path):
    source = tmp_path / "mirror"
    shutil.copytree(reference_dir, source)
    (source / "toy_data.txt").chmod(0o644)
    (source / "toy_data.txt").write_text("1 2\n")
    with pytest.raises(ValueError, match="toy_data.txt: SHA-256 .* does not match"):
        datasets.fetch(tmp_path / "data", base_url=source.as_uri(), log=lambda _: None)
    assert not (tmp_path / "data" / "toy_data.txt").exists()
    assert not list((tmp_path / "data").glob("*.part"))


def test_missing_data_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FASTEM_DATA", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="fastem data fetch"):
        datasets.netflix()
    assert main(["fit", "netflix"]) == 2
    assert "fastem data fetch" in capsys.readouterr().err
    assert main(["data", "fetch", "--dest", str(tmp_path / "d"), "--url", "file:///nowhere"]) == 2
    assert "could not download" in capsys.readouterr().err


def test_netflix_gold_agrees_with_observed_ratings(reference_dir):
    R, gold = datasets.netflix()
    np.testing.assert_array_equal(gold[R.rows(), R.indices], R.values)


def test_package_checksums_equal_the_data_folder_list():
    from pathlib import Path

    listed = dict(line.split()[::-1] for line in (Path(__file__).parents[1] / "data" / "SHA256SUMS").read_text().splitlines())
    assert listed == datasets.CHECKSUMS
