"""The tutorial notebooks in docs/tutorials/ run end to end on the bundled data, so they never
rot; they are stored without outputs and match their generator (make_notebooks.py). The docs
site publishes them with their outputs: mkdocs-jupyter executes them at build time
(``execute: true`` in mkdocs.yml; tests/test_docs.py checks the pages hold the plots)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

TUTORIALS = Path(__file__).resolve().parents[1] / "docs" / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("*.ipynb"))


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_notebooks", TUTORIALS / "make_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebooks_match_their_generator_and_store_no_outputs() -> None:
    generator = _generator()
    assert sorted(generator.NOTEBOOKS) == [p.name for p in NOTEBOOKS]
    assert len(NOTEBOOKS) >= 2
    for path in NOTEBOOKS:
        text = path.read_text(encoding="utf-8")
        assert text == generator.render(generator.NOTEBOOKS[path.name]), (
            f"{path.name} differs from docs/tutorials/make_notebooks.py: run it"
        )
        for cell in json.loads(text)["cells"]:
            assert not cell.get("outputs") and cell.get("execution_count") is None


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    """Execute every cell in a fresh kernel (the current interpreter's), working in a temp
    folder; any exception in a cell fails the test with the cell's traceback."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "a tutorial shows plots"
