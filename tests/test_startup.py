"""Start-up stays light (issue 17.4): ``materiel --help`` imports no heavy library, and
``materiel simulate`` imports neither Dask nor the optimiser's libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "xarray",
    "netCDF4",
    "linopy",
    "polars",
    "dask",
    "distributed",
    "plotly",
    "networkx",
    "matplotlib",
)

PROBE = """
import sys
from materiel.cli import app
try:
    app({args!r})
except SystemExit:
    pass
heavy = {heavy!r}
print("HEAVY:" + " ".join(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["simulate", "--help"],
        ["plan", "--help"],
        ["sweep", "--help"],
        ["gap", "--help"],
        ["data", "--help"],
        ["data", "list"],
        ["users", "--help"],
        ["serve", "--help"],
        ["--version"],
    ],
)
def test_help_imports_no_heavy_library(args: list[str]) -> None:
    code = PROBE.format(args=args, heavy=HEAVY)
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    marker = [line for line in run.stdout.splitlines() if line.startswith("HEAVY:")]
    assert marker, run.stdout + run.stderr
    loaded = marker[-1].removeprefix("HEAVY:").split()
    assert loaded == [], f"materiel {' '.join(args)} imported {', '.join(loaded)}"


def _loaded(code: str, heavy: tuple[str, ...], cwd: Path | None = None) -> list[str]:
    """Run ``code`` in a fresh interpreter; the modules of ``heavy`` it has imported at exit."""
    probe = (
        code
        + f"\nheavy = {heavy!r}\n"
        + 'print("HEAVY:" + " ".join(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))'
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=cwd
    )
    marker = [line for line in run.stdout.splitlines() if line.startswith("HEAVY:")]
    assert run.returncode == 0 and marker, run.stdout + run.stderr
    return marker[-1].removeprefix("HEAVY:").split()


def test_module_help_imports_no_heavy_library() -> None:
    """``python -m materiel --help``, the way the benchmark runs it."""
    code = (
        "import runpy, sys\nsys.argv = ['materiel', '--help']\n"
        "try:\n    runpy.run_module('materiel', run_name='__main__')\n"
        "except SystemExit:\n    pass"
    )
    assert _loaded(code, HEAVY) == []


def test_simulate_imports_neither_dask_nor_the_optimiser(tmp_path: Path) -> None:
    """Dask is installed (CI installs everything) but a simulation run in-process never
    imports it: xarray's Dask probes are deferred (materiel.nodask)."""
    args = ["simulate", "imposed-deal", "--draws", "20", "--months", "4", "--json"]
    code = (
        "import sys\nfrom materiel.cli import app\n"
        f"try:\n    app({[*args, '--out', str(tmp_path / 'r.nc')]!r})\n"
        "except SystemExit as e:\n    assert not e.code, e.code"
    )
    loaded = _loaded(code, ("dask", "distributed", "linopy", "networkx", "plotly"), tmp_path)
    assert loaded == []
    assert (tmp_path / "r.nc").exists()


def test_deferred_dask_checks_still_see_dask_arrays() -> None:
    """After :func:`defer_dask`, xarray answers as before once Dask is imported."""
    code = """
import sys
import numpy as np
from materiel.nodask import defer_dask_on_import
defer_dask_on_import()
import xarray as xr
from xarray.namedarray.utils import is_duck_dask_array
xr.Variable(("x",), np.arange(3))
assert "dask" not in sys.modules
import dask.array as da
a = xr.DataArray(da.arange(6, chunks=2), dims="x")
assert is_duck_dask_array(a.data) and not is_duck_dask_array(np.arange(3))
assert a.chunks == ((2, 2, 2),) and float(a.sum()) == 15.0
assert xr.Dataset({"v": ("x", np.arange(4.0))}).chunk(x=2)["v"].chunks == ((2, 2),)
"""
    assert _loaded(code, ("networkx",)) == []
