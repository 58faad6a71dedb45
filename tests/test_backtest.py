"""``materiel backtest``, the target quantities, ``--data historical`` and data confidence."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import SRC, row, tiny_tables, write_dataset
from materiel.analysis.backtest import Replay, parse_quantity, period_bounds, score, summary
from materiel.analysis.confidence import assumption_share
from materiel.cli import app
from materiel.io.dataset import DEFAULT_DATA, load_dataset, resolve_dataset
from materiel.model.compiled import compile_model
from materiel.model.events import compile_scenario
from materiel.scenario import parse_scenario
from materiel.schema.validate import DatasetError
from materiel.simulation import simulate

KEYS = {"id", "role", "low", "high", "p10", "median", "p90", "inside"}
CALIBRATION_INSIDE = 0.7
"""Share of calibration targets whose model median must fall in the published range (23 of 28
at 200 draws when written); a drop below it means the replay or the data broke."""


def test_backtest_json_scores_every_target(tmp_path: Path) -> None:
    page = tmp_path / "out" / "backtest.html"
    args = ["backtest", "--draws", "20", "--json", "--html", str(page)]
    proc = CliRunner().invoke(app, args)
    assert proc.exit_code == 0, proc.output
    payload = json.loads(proc.stdout)
    targets = load_dataset("historical")["targets"]
    assert [t["id"] for t in payload["targets"]] == list(targets["id"])
    for t in payload["targets"]:
        assert set(t) >= KEYS, t
        assert t["p10"] <= t["median"] <= t["p90"], t
        assert isinstance(t["inside"], bool)
    calibration = [t for t in payload["targets"] if t["role"] == "calibration"]
    assert len(calibration) >= 10
    inside = sum(t["inside"] for t in calibration) / len(calibration)
    assert inside >= CALIBRATION_INSIDE, [t["id"] for t in calibration if not t["inside"]]
    assert {"calibration", "validation"} == set(payload["summary"])
    html = page.read_text(encoding="utf-8")
    assert html.count("class='plotly-graph-div'") + html.count('class="plotly-graph-div"') == len(
        targets
    )
    assert "<script src=" not in html  # Plotly inline: nothing loaded from elsewhere
    assert not list(page.parent.glob(".*.tmp"))  # written atomically


def test_historical_replay_runs_with_simulate(tmp_path: Path) -> None:
    args = ["simulate", "history-2022-2025", "--data", "historical", "--draws", "5", "--json"]
    proc = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "h.nc")])
    assert proc.exit_code == 0, proc.output
    payload = json.loads(proc.stdout)
    assert payload["months"] == 47
    assert 0.0 <= payload["assumption_share"]["overall"] <= 1.0


def test_data_name_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_dataset("historical") == DEFAULT_DATA.parent / "historical"
    assert load_dataset("historical").meta.start == "2022-02"
    assert resolve_dataset(None) == DEFAULT_DATA
    local = write_dataset(tmp_path / "historical", tiny_tables())
    assert resolve_dataset("historical").resolve() == local  # a folder in the cwd wins
    assert load_dataset("historical").meta.name == "tiny"


def test_default_dataset_has_an_empty_targets_table() -> None:
    targets = load_dataset()["targets"]
    assert targets.empty
    assert {"id", "quantity", "period", "low", "high", "unit", "source", "role"} <= set(
        targets.columns
    )


def _tiny_replay(tmp_path: Path, targets: list[dict[str, object]]) -> tuple[Replay, pd.DataFrame]:
    tables = tiny_tables()
    tables["targets"] = targets
    folder = write_dataset(tmp_path / "tiny", tables)
    dataset = load_dataset(folder)
    model = compile_model(dataset)
    scen = parse_scenario({"name": "flat", "months": 4})
    result = simulate(model, scen, draws=3, seed=1)
    return Replay.of(model, compile_scenario(model, scen), result, 1), dataset["targets"]


def _target(tid: str, quantity: str, period: str, low: float, high: float, unit: str) -> dict:
    return row(
        id=tid,
        quantity=quantity,
        period=period,
        low=low,
        high=high,
        unit=unit,
        source=SRC,
        role="validation",
    )


def test_hand_checked_target_kinds_on_tiny(tmp_path: Path) -> None:
    # tiny: the US sends Ukraine 5,000 rounds a month; the German shell plant has 20,000 a
    # month of capacity; Russia fires 30,000 a month (it makes as much and fires it all).
    replay, targets = _tiny_replay(
        tmp_path,
        [
            _target(
                "us_cum", "delivered:shell@USA>UKR", "2027-01/2027-03", 15_000, 15_000, "round"
            ),
            _target("cap", "capacity:shell@europe", "2027-02", 240_000, 240_000, "round/year"),
            _target("ru_fire", "fired:shell@RUS", "2027", 30_000, 30_000, "round/month"),
            _target("us_share", "share:shell@USA/USA+europe>UKR", "2027-01", 0, 1, "share"),
        ],
    )
    scores = {s.id: s for s in score(replay, targets)}
    assert scores["us_cum"].median == pytest.approx(15_000)
    assert scores["cap"].median == pytest.approx(240_000)
    assert scores["ru_fire"].median == pytest.approx(30_000)  # the year is clipped to the run
    assert all(s.inside for s in scores.values())
    assert summary(list(scores.values())) == {"validation": {"inside": 4, "total": 4}}
    band = scores["us_cum"].band
    assert band.shape == (3, 4)
    assert band[1, :3] == pytest.approx([5_000, 10_000, 15_000])  # running total from the start


def test_bad_target_quantity_names_the_row(tmp_path: Path) -> None:
    replay, targets = _tiny_replay(
        tmp_path, [_target("bad", "delivered:nothing@USA>UKR", "2027-01", 0, 1, "round")]
    )
    with pytest.raises(DatasetError, match=r"targets\.csv, row 2"):
        score(replay, targets)
    with pytest.raises(DatasetError, match="kind one of"):
        parse_quantity("output:shell")
    with pytest.raises(ValueError, match="outside the run"):
        period_bounds("2030-01", "2027-01", 4)


def test_assumption_share_on_tiny(tmp_path: Path) -> None:
    tables = tiny_tables()  # every figure of tiny rests on one source with status assumption
    model = compile_model(load_dataset(write_dataset(tmp_path / "tiny", tables)))
    result = simulate(model, parse_scenario({"name": "flat", "months": 3}), draws=2, seed=0)
    assert assumption_share(model, result, "UKR") == {"overall": 1.0, "items": {"shell": 1.0}}
    tables["sources"].append(
        row(
            source="src_real",
            url="https://example.org",
            date="2026",
            status="achieved",
            title="a published figure",
            note="",
        )
    )
    tables["consumption"][0]["rate_source"] = "src_real"  # Ukraine's need is now published
    model = compile_model(load_dataset(write_dataset(tmp_path / "tiny2", tables)))
    result = simulate(model, parse_scenario({"name": "flat", "months": 3}), draws=2, seed=0)
    share = assumption_share(model, result, "UKR")["overall"]
    assert 0.0 < share < 1.0
