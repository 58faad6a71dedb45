"""Excel as a first-class output: the dataset workbook's drop-downs and formats, --data
file.xlsx wherever --data DIR works, and formatted result workbooks (simulate/plan --xlsx),
all read back with openpyxl."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from materiel.cli import app
from materiel.io.dataset import load_dataset
from materiel.io.excel import write_workbook
from materiel.schema.tables import TABLES

SCENARIO = "name: us-stop\nmonths: 4\nevents:\n  - type: us_supply_stops\n    month: 2\n"


@pytest.fixture
def book(tiny_dir: Path, tmp_path: Path) -> Path:
    return write_workbook(load_dataset(tiny_dir), tmp_path / "data.xlsx")


def _lists(sheet: object) -> dict[str, str]:
    """Column letter -> list formula of the sheet's drop-down validations."""
    out = {}
    for rule in sheet.data_validations.dataValidation:  # type: ignore[attr-defined]
        assert rule.type == "list"
        for ref in str(rule.sqref).split():
            out[ref.split(":")[0].rstrip("0123456789")] = rule.formula1
    return out


def test_dataset_workbook_has_a_dropdown_for_every_enum_and_reference(book: Path) -> None:
    wb = openpyxl.load_workbook(book)
    checked = 0
    for name, table in TABLES.items():
        sheet = wb[name]
        lists = _lists(sheet)
        for j, column in enumerate(table.columns, start=1):
            letter = openpyxl.utils.get_column_letter(j)
            f = next(f for f in table.fields if column in f.columns)
            if column.endswith("_source"):
                assert lists[letter] == "='sources'!$A$2:$A$1048576", (name, column)
            elif f.allowed:
                assert lists[letter] == '"' + ",".join(f.allowed) + '"', (name, column)
            elif f.ref:
                assert lists[letter] == f"='{f.ref}'!$A$2:$A$1048576", (name, column)
                assert TABLES[f.ref].columns[0] == TABLES[f.ref].key[0]
            else:
                continue
            checked += 1
    assert checked >= 20


def test_dataset_workbook_is_formatted_and_still_exact(book: Path, tiny_dir: Path) -> None:
    wb = openpyxl.load_workbook(book)
    facilities = wb["facilities"]
    header = facilities["A1"]
    assert header.font.bold and header.fill.fgColor.rgb.endswith("37474F")
    assert facilities.freeze_panes == "B2"
    columns = list(TABLES["facilities"].columns)
    util = facilities.cell(row=2, column=columns.index("utilisation") + 1)
    assert util.number_format == "0.0%"
    cost = facilities.cell(row=2, column=columns.index("unit_cost") + 1)
    assert cost.number_format == "#,##0"
    assert facilities.column_dimensions["A"].width > 6
    # formats are display only: the data read back is the same
    assert load_dataset(book).digest == load_dataset(book).digest
    assert (
        load_dataset(book).tables["facilities"].equals(load_dataset(tiny_dir).tables["facilities"])
    )


def test_data_xlsx_works_wherever_data_dir_does(book: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "us-stop.yaml"
    scenario.write_text(SCENARIO)
    runner = CliRunner()
    for args in (
        ["simulate", str(scenario), "--draws", "3", "--out", str(tmp_path / "r.nc")],
        ["outlook", "-s", str(scenario), "--draws", "3"],
        ["dependencies"],
        ["data", "sources"],
    ):
        result = runner.invoke(app, [*args, "--data", str(book)])
        assert result.exit_code == 0, (args, result.output)


def test_simulate_writes_a_formatted_workbook(tiny_dir: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "us-stop.yaml"
    scenario.write_text(SCENARIO)
    runner = CliRunner()
    sim = tmp_path / "sim.xlsx"
    result = runner.invoke(
        app,
        ["simulate", str(scenario), "--data", str(tiny_dir), "--draws", "5",
         "--out", str(tmp_path / "r.nc"), "--xlsx", str(sim)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(sim)
    assert wb.sheetnames == ["summary", "fire_ratio", "by_month"]
    summary = wb["summary"]
    headers = [c.value for c in summary[1]]
    assert headers[0] == "item" and "p_short" in headers
    assert summary["A1"].font.bold and summary.freeze_panes == "C2"  # item, unit
    p_short = summary.cell(row=2, column=headers.index("p_short") + 1)
    assert p_short.number_format == "0.0%" and 0 <= p_short.value <= 1
    wanted = summary.cell(row=2, column=headers.index("wanted") + 1)
    assert wanted.number_format == "#,##0.##"
    months = wb["by_month"]
    assert [c.value for c in months[1]][:2] == ["month", "date"]
    dates = {r[1] for r in months.iter_rows(min_row=2, values_only=True)}
    assert dates == {"2027-01", "2027-02", "2027-03", "2027-04"}


def test_plan_writes_a_formatted_workbook(tiny_dir: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "us-stop.yaml"
    scenario.write_text(SCENARIO)
    runner = CliRunner()
    plan = tmp_path / "plan.xlsx"
    result = runner.invoke(
        app,
        ["plan", str(scenario), "--data", str(tiny_dir), "--out", str(tmp_path / "p.json"),
         "--xlsx", str(plan)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(plan)
    assert {"summary", "investments", "shortfall", "shortfall_monthly"} <= set(wb.sheetnames)
    monthly = wb["shortfall_monthly"]
    assert monthly.max_row > 1 and monthly["A1"].fill.fgColor.rgb.endswith("37474F")


def test_xlsx_option_checks_the_suffix(tiny_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["simulate", "imposed-deal", "--draws", "2", "--xlsx", str(tmp_path / "r.csv")]
    )
    assert result.exit_code == 2 and "--xlsx must end in .xlsx" in result.output
