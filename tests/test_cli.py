"""End-to-end tests of the ``materiel`` command line, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import tiny_tables, write_dataset
from materiel import __version__
from materiel.io.results import load_result

SCENARIO = """\
name: us-stop
months: 4
events:
  - type: us_supply_stops
    month: 2
"""


def materiel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "materiel", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "us-stop.yaml"
    path.write_text(SCENARIO)
    return path


def test_simulate_json_and_results_file(
    tiny_dir: Path, scenario_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run.nc"
    proc = materiel(
        "simulate",
        str(scenario_file),
        "--data",
        str(tiny_dir),
        "--draws",
        "20",
        "--seed",
        "3",
        "--json",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    (shell,) = payload["summary"]
    assert shell["item"] == "shell"
    assert shell["shortfall_mean"] == pytest.approx(10_000)  # worked out in test_engine
    assert payload["weighted_shortfall"]["mean"] == pytest.approx(10_000 * 4_000)
    assert payload["results_file"] == str(out)
    result = load_result(out)
    assert result.attrs["seed"] == 3
    assert result.attrs["package_version"] == __version__
    assert result.attrs["scenario"] == "us-stop"
    assert result.attrs["dataset_version"] == "1"
    assert result.sizes["draw"] == 20


def test_simulate_prints_a_table_and_writes_parquet(
    tiny_dir: Path, scenario_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run.parquet"
    proc = materiel(
        "simulate", str(scenario_file), "--data", str(tiny_dir), "--draws", "5", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    assert "UKR shortfall over 4 months" in proc.stdout
    assert "Results saved to" in proc.stdout
    table = pq.read_table(out)
    assert {"draw", "month", "actor", "item", "wanted", "fired"} <= set(table.column_names)
    assert table.schema.metadata[b"materiel.scenario"] == b"us-stop"


def test_bad_dataset_is_a_clear_error_not_a_traceback(scenario_file: Path, tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["recipes"][0]["input"] = "gunpowder"
    folder = write_dataset(tmp_path / "bad", tables)
    proc = materiel("simulate", str(scenario_file), "--data", str(folder), "--draws", "2")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "recipes.csv, row 2, field 'input': unknown item 'gunpowder'" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "no-such-future", "--draws", "2"], "no such scenario"),
        (["simulate", "{scenario}", "--data", "{data}", "--out", "x.csv"], "--out must end in"),
        (["simulate", "{scenario}", "--data", "{data}", "--actor", "XYZ"], "uses nothing"),
        (["simulate", "{scenario}", "--data", "/nonexistent"], "dataset folder not found"),
    ],
)
def test_user_errors_exit_2(
    args: list[str], message: str, tiny_dir: Path, scenario_file: Path
) -> None:
    filled = [a.format(scenario=scenario_file, data=tiny_dir) for a in args]
    proc = materiel(*filled)
    assert proc.returncode == 2, proc.stdout
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_scenario_yaml(tmp_path: Path, tiny_dir: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nevents:\n  - type: ceasefire\n    month: soon\n")
    proc = materiel("simulate", str(bad), "--data", str(tiny_dir))
    assert proc.returncode == 2
    assert "bad.yaml, field 'events.0.month'" in proc.stderr


def test_version() -> None:
    proc = materiel("--version")
    assert proc.returncode == 0 and __version__ in proc.stdout
