"""Start-up stays light: ``materiel --help`` imports no heavy library (issue 17.4)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pandas", "xarray", "linopy", "dask", "distributed", "plotly", "networkx", "matplotlib")

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
    [["--help"], ["simulate", "--help"], ["plan", "--help"], ["sweep", "--help"], ["--version"]],
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
