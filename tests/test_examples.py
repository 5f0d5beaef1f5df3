"""Every script in examples/ runs to the end at small sizes (FASTEM_EXAMPLES_SMALL=1) and prints.

Scripts run in this process (runpy), so they share the already compiled kernels."""
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path, monkeypatch, capsys, request):
    text = script.read_text()
    if "datasets.netflix()" in text:
        monkeypatch.setenv("FASTEM_DATA", str(request.getfixturevalue("reference_dir").resolve()))
    if "fastem import plot" in text:
        pytest.importorskip("matplotlib")
    monkeypatch.setenv("FASTEM_EXAMPLES_SMALL", "1")
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path / "out")])
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(script), run_name="__main__")
    assert capsys.readouterr().out.strip(), "the example printed nothing"
