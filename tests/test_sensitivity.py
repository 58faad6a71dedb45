"""Sensitivity ranking (SALib Morris and Sobol) on the tiny dataset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import tiny_tables, write_dataset
from materiel.io.dataset import load_dataset
from materiel.model.compiled import Model, compile_model
from materiel.scenario import parse_scenario
from materiel.sweep.sensitivity import input_groups, plot_ranking, sensitivity_analysis

SCENARIO = {"name": "stop", "months": 12, "events": [{"type": "us_supply_stops", "month": 2}]}


def narrow(central: float) -> dict[str, float]:
    return {"low": central * 0.99, "high": central * 1.01}


@pytest.fixture
def dominated(tmp_path: Path) -> Path:
    """Powder capacity (the binding input) uncertain over 600..1800 t/year; the UKR
    consumption, stock, US flow and shell capacity only +/- 1 %."""
    t = tiny_tables()

    def widen(row: dict[str, object], name: str, low: float, high: float) -> None:
        row.update({f"{name}_low": low, f"{name}_high": high})

    widen(t["facilities"][0], "capacity", 600.0, 1800.0)
    for row, name in (
        (t["facilities"][1], "capacity"),
        (t["consumption"][0], "rate"),
        (t["stocks"][0], "quantity"),
        (t["flows"][0], "rate"),
    ):
        c = float(row[name])  # type: ignore[arg-type]
        widen(row, name, **narrow(c))
    widen(t["facilities"][0], "unit_cost", 5_000.0, 20_000.0)  # cost only: not a factor
    return write_dataset(tmp_path / "dominated", t)


@pytest.fixture
def model(dominated: Path) -> Model:
    return compile_model(load_dataset(dominated))


def test_groups_skip_certain_and_cost_only_figures(model: Model) -> None:
    names = [g.name for g in input_groups(model)]
    assert "capacity: powder" in names and "consumption_rate: UKR shell" in names
    assert not any(n.startswith("unit_cost") for n in names)
    assert not any(n.startswith("utilisation") for n in names)  # low == high: certain
    assert len(names) == 5


@pytest.mark.parametrize(("method", "draws"), [("morris", 20), ("sobol", 64)])
def test_dominant_input_ranks_first(model: Model, method: str, draws: int) -> None:
    ranking = sensitivity_analysis(model, parse_scenario(SCENARIO), method=method, draws=draws)
    assert ranking.iloc[0]["input"] == "capacity: powder"
    key = ranking.attrs["index"]
    assert ranking.iloc[0][key] > 5 * ranking.iloc[1][key]
    assert list(ranking["rank"]) == list(range(1, len(ranking) + 1))
    assert ranking.attrs["evaluations"] == draws * (5 + (1 if method == "morris" else 2))


def test_item_metric_and_plot(model: Model, tmp_path: Path) -> None:
    ranking = sensitivity_analysis(model, parse_scenario(SCENARIO), draws=10, item="shell")
    assert ranking.iloc[0]["input"] == "capacity: powder"
    assert "round" in ranking.attrs["metric"]
    png = plot_ranking(ranking, tmp_path / "plot.png", top=3)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_requests_are_value_errors(model: Model) -> None:
    scenario = parse_scenario(SCENARIO)
    with pytest.raises(ValueError, match="power of 2"):
        sensitivity_analysis(model, scenario, method="sobol", draws=10)
    with pytest.raises(ValueError, match="unknown item"):
        sensitivity_analysis(model, scenario, draws=4, item="nope")
    with pytest.raises(ValueError, match="method"):
        sensitivity_analysis(model, scenario, method="fast")


@pytest.mark.slow
def test_cli_sensitivity_json_and_plot(dominated: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "stop.yaml"
    scenario.write_text(json.dumps(SCENARIO))
    png = tmp_path / "out" / "sens.png"
    proc = subprocess.run(
        [sys.executable, "-m", "materiel", "sensitivity", str(scenario), "--data", str(dominated),
         "--draws", "8", "--plot", str(png), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["ranking"][0]["input"] == "capacity: powder"
    assert png.exists()
    bad = subprocess.run(
        [sys.executable, "-m", "materiel", "sensitivity", str(scenario), "--data", str(dominated),
         "--method", "sobol", "--draws", "10"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "power of 2" in bad.stderr and "Traceback" not in bad.stderr
