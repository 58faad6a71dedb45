"""The analysis commands on the tiny dataset, in process (typer's CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from materiel.cli import app

runner = CliRunner()
SCENARIO = "name: tiny-stop\nmonths: 4\nevents:\n  - type: us_supply_stops\n    month: 2\n"


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-stop.yaml"
    path.write_text(SCENARIO)
    return path


@pytest.mark.parametrize(
    ("command", "extra", "table"),
    [
        ("gap", ["--month", "2"], "gap"),
        ("outlook", ["--months", "2"], "outlook"),
        ("chokepoints", ["--no-duals"], "chokepoints"),
        ("dependencies", [], "dependencies"),
        ("deterrence", ["--ceasefire-month", "1"], "sead"),
        ("efficiency", ["--no-lp"], "efficiency"),
    ],
)
def test_commands_print_json(
    tiny_dir: Path, scenario_file: Path, command: str, extra: list[str], table: str
) -> None:
    args = [command, "-s", str(scenario_file), "--data", str(tiny_dir), "--draws", "2", "--json"]
    result = runner.invoke(app, args + extra)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["analysis"] == command
    assert payload["scenario"] == "tiny-stop"
    assert table in payload["tables"]
    assert isinstance(payload["tables"][table], list)


def test_gap_json_by_hand(tiny_dir: Path, scenario_file: Path) -> None:
    # Tiny chain, US stop in month 2 (see test_engine): Ukraine is 5,000 short a month from
    # month 2. Germany holds the 5,000 rounds it ordered in month 0 (no floor): handed over,
    # they fill month 2; month 3 stays short (the powder binds, no option in time).
    args = ["gap", "-s", str(scenario_file), "--data", str(tiny_dir), "--draws", "1", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = pd.DataFrame(json.loads(result.stdout)["tables"]["gap"])
    assert list(rows["gap"]) == [5_000, 5_000]
    assert list(rows["from_stocks"]) == [5_000, 0]
    assert list(rows["residual"]) == [0, 5_000]
    assert list(rows["us_lost"]) == [5_000, 5_000]


def test_gap_table_csv_and_png(tiny_dir: Path, scenario_file: Path, tmp_path: Path) -> None:
    csv, png = tmp_path / "gap.csv", tmp_path / "gap.png"
    result = runner.invoke(
        app,
        [
            "gap",
            "-s",
            str(scenario_file),
            "--data",
            str(tiny_dir),
            "--draws",
            "3",
            "--csv",
            str(csv),
            "--png",
            str(png),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Gap after a US stop" in result.output
    assert "Shell" in result.output  # the item's name; --ids shows 'shell'
    frame = pd.read_csv(csv)
    assert list(frame["month"]) == [2, 3]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_deterrence_writes_both_tables(tiny_dir: Path, scenario_file: Path, tmp_path: Path) -> None:
    csv = tmp_path / "balance.csv"
    result = runner.invoke(
        app,
        [
            "deterrence",
            "-s",
            str(scenario_file),
            "--data",
            str(tiny_dir),
            "--draws",
            "2",
            "--ceasefire-month",
            "1",
            "--csv",
            str(csv),
        ],
    )
    assert result.exit_code == 0, result.output
    assert csv.exists() and (tmp_path / "balance-sead.csv").exists()
    balance = pd.read_csv(csv)
    # tiny chain, ceasefire in month 1 (see test_analysis_deterrence): Russia 0 -> 81,000
    assert list(balance["russia_stock"]) == [0, 27_000, 54_000, 81_000]


def test_coordination_table(tiny_dir: Path, scenario_file: Path) -> None:
    result = runner.invoke(
        app,
        ["coordination", "-s", str(scenario_file), "--data", str(tiny_dir), "--weights", "DEU=1"],
    )
    assert result.exit_code == 0, result.output
    assert "national_chains" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gap", "-s", "no-such-scenario"], "no such scenario"),
        (["gap", "--month", "99"], "US stop month"),
        (["outlook", "--png", "out.jpg"], "--png must end in .png"),
        (["coordination", "--weights", "DEU=x"], "--weights must be"),
        (["coordination", "--weights", "USA=1"], "not nations"),
        (["deterrence", "--ceasefire-month", "400"], "ceasefire month"),
        (["report", "imposed-deal", "--html", "report.txt"], "--html must end in .html"),
    ],
)
def test_bad_input_is_a_message_not_a_traceback(
    tiny_dir: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, [*args, "--data", str(tiny_dir)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
