"""``mypy --strict`` passes on the package (configured in pyproject.toml), and a notebook-style
script using the public API type-checks against it, so the API stays typed for its users."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

USER_CODE = """\
import pandas as pd
import xarray as xr

import materiel

model: materiel.Model = materiel.load_model()
scenario: materiel.Scenario = materiel.with_events(
    "imposed-deal", {"type": "us_supply_stops", "month": 3}
)
result: xr.Dataset = materiel.simulate(model, scenario, draws=10, seed=1)
table: pd.DataFrame = materiel.summarize(result)
best: materiel.PlanResult = materiel.plan(model, [scenario], budget=20e9)
replay: xr.Dataset = materiel.simulate(model, scenario, draws=10, plan=best)
gaps: pd.DataFrame = materiel.gap(model, scenario, draws=10)
choke: pd.DataFrame = materiel.chokepoints(model, "imposed-deal", duals=False)
report: materiel.Report = materiel.report(model, "imposed-deal", draws=10)
"""


def test_mypy_strict(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    user = tmp_path / "user_code.py"
    user.write_text(USER_CODE, encoding="utf-8")
    # mypy's cache stays in .mypy_cache (git-ignored): the first run takes ~30 s, later ~5 s
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "src/materiel", str(user)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
