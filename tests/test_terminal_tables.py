"""Every command's table at 80 columns, piped (CliRunner): no truncation ellipsis, no lost
column, no line wider than the console; the number formatter; --csv beside --json."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from materiel.cli import app
from materiel.cli.app import out
from materiel.reporting import numbers
from materiel.reporting.columns import VIEWS
from materiel.reporting.tables import fitted

# every command at 80 columns, each a CLI run (~15 s): CI runs them with -m slow
pytestmark = pytest.mark.slow

WIDTH = 80

COMMANDS = {
    "simulate": (["simulate", "imposed-deal", "--draws", "20", "--months", "12"], ["simulate"]),
    "gap": (["gap", "--draws", "10"], ["gap"]),
    "outlook": (["outlook", "--draws", "10"], ["outlook"]),
    "chokepoints": (["chokepoints", "--no-duals"], ["chokepoints"]),
    "dependencies": (["dependencies"], ["dependencies"]),
    "deterrence": (["deterrence", "--draws", "10"], ["deterrence", "sead"]),
    "efficiency": (["efficiency", "--no-lp"], ["efficiency"]),
    "coordination": (["coordination"], ["coordination"]),
    "plan": (
        ["plan", "imposed-deal", "--months", "12"],
        ["investments", "plan_shortfall", "capacity_value"],
    ),
    "sources": (["data", "sources"], ["sources"]),
}

SLOW = {
    "sensitivity": (
        ["sensitivity", "imposed-deal", "--draws", "2", "--months", "6", "--group", "family",
         "--plot", "s.png"],
        ["sensitivity"],
    ),
    "sweep": (["sweep", "tiny.yaml", "--workers", "1"], ["sweep"]),
}  # fmt: skip
SWEEP = """\
name: tiny
scenario: imposed-deal
draws: 5
months: 4
parameters:
  - path: events[type=us_supply_stops].month
    name: us_stop_month
    values: [0, 2]
"""


@pytest.fixture
def narrow(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    """The CLI's console at 80 columns, writing into a temporary folder."""
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    monkeypatch.setattr(out, "width", WIDTH)  # the console read COLUMNS on import
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.mark.parametrize(
    "name",
    [*COMMANDS, *(pytest.param(n, marks=pytest.mark.slow) for n in SLOW)],
)
def test_table_at_80_columns_cuts_nothing(narrow: CliRunner, name: str) -> None:
    args, views = {**COMMANDS, **SLOW}[name]
    Path("tiny.yaml").write_text(SWEEP)
    result = narrow.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "…" not in text and "..." not in text.replace("(...)", "")
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    for view in views:
        for col in VIEWS[view].columns:
            if view == "sweep" and col.key != "status":
                continue  # the sweep's headline columns depend on its metrics
            if view == "sensitivity" and col.key == "conf":
                continue
            assert col.header in text, (view, col.header)


def test_csv_holds_the_json_rows(narrow: CliRunner, tmp_path: Path) -> None:
    as_json = narrow.invoke(app, ["dependencies", "--json"])
    rows = json.loads(as_json.stdout)["tables"]["dependencies"]
    result = narrow.invoke(app, ["dependencies", "--csv", str(tmp_path / "d.csv")])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "d.csv", keep_default_na=False)
    assert len(frame) == len(rows) and list(frame.columns) == list(rows[0])


def test_names_by_default_ids_on_request(narrow: CliRunner) -> None:
    named = narrow.invoke(app, ["dependencies"]).stdout
    ids = narrow.invoke(app, ["dependencies", "--ids"]).stdout
    assert "155 mm complete round" in named and "shell_155" not in named
    assert "shell_155" in ids


def test_drones_are_not_modelled_rather_than_zero(narrow: CliRunner) -> None:
    text = narrow.invoke(app, ["dependencies"]).stdout
    assert "FPV strike drone" in text and "not modelled" in text


def test_outlook_rows_add_up() -> None:
    """The outlook's printed columns add up: need - arriving - EU stocks - idle cap. = short."""
    from materiel.analysis.outlook import outlook, outlook_totals
    from materiel.api import load_model
    from materiel.scenario import load_scenario

    table = outlook(load_model(), load_scenario("imposed-deal"), draws=5)
    totals = outlook_totals(table)
    left = totals["need"] - totals["arriving"] - totals["from_stocks"]
    left -= totals["from_idle_capacity"]
    assert (left - totals["short"]).abs().max() <= 1e-6 * totals["need"].max()
    assert [c.key for c in VIEWS["outlook"].columns][1:6] == [
        "need", "arriving", "from_stocks", "from_idle_capacity", "short"
    ]  # fmt: skip


def test_long_layout_when_the_table_cannot_fit() -> None:
    frame = pd.DataFrame({f"column_{k}": [1234567.0 * k] for k in range(12)})
    console = Console(width=40, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(fitted(frame, "wide"))
    text = console.export_text()
    assert "…" not in text
    for k in range(12):
        assert f"column {k}:" in text
    assert max(len(line) for line in text.splitlines()) <= 40


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: numbers.quantity(1_880_000, "round"), "1.88 M rounds"),
        (lambda: numbers.money(2.4e9), "EUR 2.4 bn"),
        (lambda: numbers.quantity(281_000, "t"), "281 k t"),
        (lambda: numbers.quantity(999_700, "round"), "1 M rounds"),
        (lambda: numbers.quantity(1, "round"), "1 round"),
        (lambda: numbers.share(0.4213), "42.1%"),
        (lambda: numbers.compact(float("nan")), ""),
        (lambda: numbers.compact(float("inf")), "∞"),
        (lambda: numbers.month_label("2027-01", 14), "2028-03"),
    ],
)
def test_number_formatter(call: object, expected: str) -> None:
    assert call() == expected  # type: ignore[operator]


def test_help_shows_defaults_and_explains_columns(narrow: CliRunner) -> None:
    sweep = narrow.invoke(app, ["sweep", "--help"]).stdout
    assert "a local cluster" in sweep
    sens = narrow.invoke(app, ["sensitivity", "--help"]).stdout
    assert "scenario's" in sens
    gap = narrow.invoke(app, ["gap", "--help"]).stdout
    assert "P(residual)" in gap and "Columns" in gap


def test_month_options_take_calendar_months(narrow: CliRunner) -> None:
    assert numbers.month_index("2027-03", "2027-01") == 2
    assert numbers.month_index("5", "2027-01") == 5
    for bad in ("2026-12", "2027-13", "March"):
        with pytest.raises(ValueError, match="--month"):
            numbers.month_index(bad, "2027-01", "--month")
    by_date = narrow.invoke(app, ["gap", "--month", "2027-04", "--draws", "3", "--json"])
    by_index = narrow.invoke(app, ["gap", "--month", "3", "--draws", "3", "--json"])
    assert json.loads(by_date.stdout)["tables"] == json.loads(by_index.stdout)["tables"]
    early = narrow.invoke(app, ["gap", "--month", "2026-12", "--draws", "3"])
    assert early.exit_code == 2 and "before the dataset's start" in early.output
