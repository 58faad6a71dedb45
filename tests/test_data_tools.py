"""``materiel data``: check, sources, Excel export/import round trips, the data guide, and the
provenance of the default dataset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from conftest import SRC, fig, row, tiny_tables, write_dataset
from materiel.io.dataset import DEFAULT_DATA, load_dataset
from materiel.io.excel import import_workbook, load_workbook, write_workbook
from materiel.schema.docs import STATUS_MEANINGS, data_guide, sourced_figures
from materiel.schema.tables import STATUSES, TABLES
from materiel.schema.validate import DatasetError, validate_tables

ROOT = Path(__file__).resolve().parents[1]
TRICKY = (0.1, 1e-05, 123456789.123, 0.30000000000000004, 5e-324, 999999999999.9999)
"""Hard floats to round-trip, up to the largest a table allows (just under 1e12)."""


def materiel(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI; a wide terminal so that rich does not wrap the lines we look for."""
    return subprocess.run(
        [sys.executable, "-m", "materiel", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "250"},
    )


def tricky_tables() -> dict[str, list[dict[str, Any]]]:
    """The tiny dataset with floats that need 17 digits or exponents, and empty optionals."""
    tables = tiny_tables()
    tables["recipes"][0].update(
        quantity=10.000000000000002, quantity_low=1e-05, quantity_high=10.000000000000004
    )
    tables["facilities"][0].update(unit_cost=123456789.123, unit_cost_high=123456789.124)
    tables["allocations"][0].update(share=0.1, share_low=0.09999999999999999, share_high=0.3)
    holders = [(a, "acid") for a in ("UKR", "RUS", "DEU", "USA")] + [
        ("UKR", "shell"),
        ("RUS", "shell"),
    ]
    tables["stocks"] = [
        row(actor=a, item=i, quantity=fig(v), floor=fig(0.0))
        for (a, i), v in zip(holders, TRICKY, strict=True)
    ]
    tables["sources"][0]["note"] = "=SUM(A1) is text, not a formula"
    return tables


@pytest.fixture
def tricky_dir(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "tricky", tricky_tables())


def broken_tables() -> dict[str, list[dict[str, Any]]]:
    """Problems in five tables: a bad row must not hide reference, range and unit problems."""
    tables = tiny_tables()
    tables["stocks"][0]["quantity"] = "lots"  # row level
    tables["items"][0]["kind"] = "bogus"  # row level, in a referenced table
    tables["flows"][0]["supplier"] = "XXX"  # reference
    tables["facilities"][0]["capacity_low"] = 5000  # range
    tables["recipes"][0]["unit"] = "module/round"  # unit
    return tables


EXPECTED_PROBLEMS = [
    ("stocks.csv", 2, "quantity"),
    ("items.csv", 2, "kind"),
    ("flows.csv", 2, "supplier"),
    ("facilities.csv", 2, "capacity"),
    ("recipes.csv", 2, "unit"),
]


# --- validation: every problem at once ---------------------------------------------------


def test_row_errors_do_not_hide_cross_table_problems(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as caught:
        load_dataset(write_dataset(tmp_path, broken_tables()))
    found = {(i.file, i.row, i.field) for i in caught.value.issues}
    assert found == set(EXPECTED_PROBLEMS), caught.value
    # references to the item whose row failed are not reported a second time
    assert not any("unknown item" in i.message for i in caught.value.issues)


def test_a_missing_table_is_reported_with_the_others(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path, broken_tables())
    raw = {
        name: pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in TABLES
        if name != "allocations"
    }
    with pytest.raises(DatasetError) as caught:
        validate_tables(raw)
    found = {(i.file, i.row, i.field) for i in caught.value.issues}
    assert found == {*EXPECTED_PROBLEMS, ("allocations.csv", None, None)}


# --- data check -----------------------------------------------------------------------------


def test_check_valid_dataset(tiny_dir: Path) -> None:
    proc = materiel("data", "check", str(tiny_dir))
    assert proc.returncode == 0, proc.stderr
    rows = sum(len(r) for r in tiny_tables().values())
    assert proc.stdout.strip() == f"valid: {len(TABLES)} tables, {rows} rows, 1 sources"


def test_check_lists_every_problem(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "broken", broken_tables())
    proc = materiel("data", "check", str(folder))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "5 problem(s)" in proc.stderr
    for file, line, field in EXPECTED_PROBLEMS:
        assert f"{file}, row {line}, field '{field}'" in proc.stderr
    proc = materiel("data", "check", str(folder), "--json")
    assert proc.returncode == 2
    payload = json.loads(proc.stdout)
    assert payload["valid"] is False
    found = {(i["file"], i["row"], i["field"]) for i in payload["issues"]}
    assert found == set(EXPECTED_PROBLEMS)
    assert all(i["message"] and i["allowed"] for i in payload["issues"])


def test_check_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    proc = materiel("data", "check", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert "dataset folder not found" in proc.stderr and "Traceback" not in proc.stderr


# --- data sources -----------------------------------------------------------------------------


def test_sources_lists_every_sourced_figure(tiny_dir: Path) -> None:
    proc = materiel("data", "sources", "--data", str(tiny_dir), "--json")
    assert proc.returncode == 0, proc.stderr
    records = json.loads(proc.stdout)
    tables = tiny_tables()
    expected = sum(len(tables[n]) * len(t.uncertain_fields) for n, t in TABLES.items())
    assert len(records) == expected
    by_figure = {(r["table"], r["key"], r["field"]): r for r in records}
    capacity = by_figure[("facilities", "powder_plant", "capacity")]
    assert capacity["unit"] == "t/year" and capacity["central"] == 1200.0
    assert capacity["source"] == SRC and capacity["status"] == "assumption"
    assert by_figure[("recipes", "shell/powder", "quantity")]["unit"] == "kg/round"
    assert by_figure[("facilities", "shell_plant", "unit_cost")]["unit"] == "EUR/round"
    assert by_figure[("stocks", "UKR/shell", "quantity")]["unit"] == "round"

    proc = materiel("data", "sources", "--data", str(tiny_dir), "--table", "flows")
    assert proc.returncode == 0, proc.stderr
    assert "1 sources cited by 2 figures" in proc.stdout and "src_test" in proc.stdout
    proc = materiel("data", "sources", "--data", str(tiny_dir), "--table", "flows", "--full")
    assert proc.returncode == 0, proc.stderr
    assert "2 sourced figures from 1 sources" in proc.stdout
    assert "USA/UKR/shell" in proc.stdout and "powder_plant" not in proc.stdout

    proc = materiel("data", "sources", "--data", str(tiny_dir), "--status", "rumour")
    assert proc.returncode == 2 and "--status must be one of achieved" in proc.stderr


def test_sourced_figures_filter_by_status(tiny_dir: Path) -> None:
    figures = sourced_figures(load_dataset(tiny_dir).tables)
    assert set(figures["status"]) == {"assumption"}
    assert list(figures.columns) == [
        *("table", "key", "field", "central", "low", "high", "unit", "source"),
        *("status", "date", "url"),
    ]


# --- Excel export / import ------------------------------------------------------------------


def test_cli_round_trip_csv_excel_csv(tricky_dir: Path, tmp_path: Path) -> None:
    book, back = tmp_path / "data.xlsx", tmp_path / "back"
    proc = materiel("data", "export", "--xlsx", str(book), "--data", str(tricky_dir))
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {book}" in proc.stdout
    proc = materiel("data", "import", str(book), "--to", str(back))
    assert proc.returncode == 0, proc.stderr
    original, imported = load_dataset(tricky_dir), load_dataset(back)
    assert sorted(p.name for p in back.iterdir()) == sorted(
        ["dataset.yaml", *(t.filename for t in TABLES.values())]
    )
    for name in TABLES:
        pd.testing.assert_frame_equal(original[name], imported[name], check_exact=True)
    assert original.meta == imported.meta
    assert original.digest == imported.digest
    assert tuple(imported["stocks"]["quantity"]) == TRICKY  # bit for bit


def test_workbook_round_trip_is_exact(tricky_dir: Path, tmp_path: Path) -> None:
    original = load_dataset(tricky_dir)
    write_workbook(original, tmp_path / "a.xlsx")
    again, _ = load_workbook(tmp_path / "a.xlsx")
    assert again.digest == original.digest
    write_workbook(again, tmp_path / "b.xlsx")  # a second trip changes nothing either
    assert load_workbook(tmp_path / "b.xlsx")[0].digest == original.digest


def test_workbook_layout_and_cell_types(tricky_dir: Path, tmp_path: Path) -> None:
    path = write_workbook(load_dataset(tricky_dir), tmp_path / "data.xlsx")
    assert path.stat().st_mode & 0o777 == 0o644  # an ordinary file, not mkstemp's 0600
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["README", "dataset", *TABLES]
    items, facilities = book["items"], book["facilities"]
    assert [c.value for c in items[1]] == list(TABLES["items"].columns)
    assert items.freeze_panes == "B2" and items.column_dimensions["A"].width > 6
    header = [c.value for c in facilities[1]]
    cell = facilities.cell(row=2, column=header.index("unit_cost") + 1)
    assert cell.data_type == "n" and cell.value == 123456789.123
    assert facilities.cell(row=2, column=header.index("capacity_unit") + 1).value == "t/year"
    limited = [c.value for c in items["F"][1:]]
    assert limited == ["false", "true", "true"]  # booleans as text, as in CSV
    category = [c.value for c in items["E"][1:]]
    assert category == [None, "energetics", "artillery"]  # empty optional cells stay empty
    note = book["sources"].cell(row=2, column=6)
    assert note.data_type == "s" and note.value.startswith("=SUM")
    meta = {r[0].value: r[1].value for r in book["dataset"].iter_rows(min_row=2)}
    assert meta["name"] == "tiny" and meta["version"] == "1" and meta["start"] == "2027-01"
    readme = {c.value for c in book["README"]["B"]}
    assert "capacity, capacity_low, capacity_high, capacity_source" in readme


def test_imported_csv_keeps_empty_optional_cells_empty(tiny_dir: Path, tmp_path: Path) -> None:
    write_workbook(load_dataset(tiny_dir), tmp_path / "data.xlsx")
    import_workbook(tmp_path / "data.xlsx", tmp_path / "out")
    items = (tmp_path / "out" / "items.csv").read_text().splitlines()
    assert items[1] == "acid,Acid,t,raw,,false,"


def _edit_workbook(source: Path, target: Path, edit: Any) -> Path:
    book = openpyxl.load_workbook(source)
    edit(book)
    book.save(target)
    return target


def _set_cell(sheet: str, row: int, column: str, value: Any) -> Any:
    def edit(book: Any) -> None:
        header = [c.value for c in book[sheet][1]]
        book[sheet].cell(row=row, column=header.index(column) + 1).value = value

    return edit


def _drop_column(sheet: str, column: str) -> Any:
    def edit(book: Any) -> None:
        header = [c.value for c in book[sheet][1]]
        book[sheet].delete_cols(header.index(column) + 1)

    return edit


BAD_WORKBOOKS: dict[str, tuple[Any, str]] = {
    # name: (edit, text expected in the error)
    "unknown sheet": (lambda b: b.create_sheet("notes"), "data.xlsx: unknown sheet 'notes'"),
    "missing sheet": (lambda b: b.remove(b["flows"]), "sheet 'flows' is missing"),
    "missing column": (
        _drop_column("stocks", "quantity_high"),
        "data.xlsx sheet 'stocks', row 1, field 'quantity_high': required column is missing",
    ),
    "bad value": (
        _set_cell("stocks", 2, "quantity", "lots"),
        "data.xlsx sheet 'stocks', row 2, field 'quantity'",
    ),
    "unknown reference": (
        _set_cell("flows", 3, "supplier", "XXX"),
        "data.xlsx sheet 'flows', row 3, field 'supplier': unknown country 'XXX'",
    ),
    "bad metadata": (
        _set_cell("dataset", 4, "value", "2027-13"),
        "data.xlsx sheet 'dataset', row 4, field 'start'",
    ),
    "not a workbook": (None, "cannot read as an Excel workbook"),
}


@pytest.mark.parametrize("case", list(BAD_WORKBOOKS))
def test_import_rejects_bad_workbooks(case: str, tiny_dir: Path, tmp_path: Path) -> None:
    edit, text = BAD_WORKBOOKS[case]
    good = write_workbook(load_dataset(tiny_dir), tmp_path / "good.xlsx")
    bad = tmp_path / "data.xlsx"
    if edit is None:
        bad.write_text("item,name\n")
    else:
        _edit_workbook(good, bad, edit)
    with pytest.raises(DatasetError) as caught:
        import_workbook(bad, tmp_path / "out")
    assert any(text in str(i) for i in caught.value.issues), caught.value
    assert not (tmp_path / "out").exists(), "nothing is written from an invalid workbook"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_import_cli_errors_and_overwrite(tiny_dir: Path, tmp_path: Path) -> None:
    good = write_workbook(load_dataset(tiny_dir), tmp_path / "good.xlsx")
    bad = _edit_workbook(good, tmp_path / "bad.xlsx", _set_cell("stocks", 2, "quantity", "x"))
    proc = materiel("data", "import", str(bad), "--to", str(tmp_path / "out"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "bad.xlsx sheet 'stocks', row 2, field 'quantity'" in proc.stderr

    target = tmp_path / "mine"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    proc = materiel("data", "import", str(good), "--to", str(target))
    assert proc.returncode == 2 and "not empty" in proc.stderr and "--force" in proc.stderr
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    proc = materiel("data", "import", str(good), "--to", str(target), "--force")
    assert proc.returncode == 0, proc.stderr
    assert (target / "keep.txt").read_text() == "mine"
    assert load_dataset(target).digest == load_dataset(tiny_dir).digest


def test_check_reads_a_workbook(tiny_dir: Path, tmp_path: Path) -> None:
    good = write_workbook(load_dataset(tiny_dir), tmp_path / "good.xlsx")
    proc = materiel("data", "check", str(good), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["valid"] is True


# --- data guide -----------------------------------------------------------------------------


def test_data_guide_is_current() -> None:
    committed = (ROOT / "docs" / "data.md").read_text(encoding="utf-8")
    assert committed == data_guide(), (
        "docs/data.md is out of date: run `.venv/bin/python -m materiel.schema.docs > docs/data.md`"
    )


def test_data_guide_lists_every_table_and_field() -> None:
    guide = data_guide()
    for table in TABLES.values():
        assert f"### `{table.name}`" in guide and table.description in guide
        for column in table.columns:
            assert f"`{column}`" in guide
    for status in STATUSES:
        assert f"`{status}`" in guide
    assert tuple(STATUS_MEANINGS) == STATUSES


# --- the default dataset and partial overrides -----------------------------------------------

needs_default = pytest.mark.skipif(
    not (DEFAULT_DATA / "sources.csv").exists(),
    reason="the default dataset CSVs are not written yet (src/materiel/data/default/)",
)


@needs_default
def test_default_dataset_fully_sourced() -> None:
    dataset = load_dataset()
    sources = dataset["sources"].set_index("source")
    figures = sourced_figures(dataset.tables)
    assert len(figures) > 0
    unknown = sorted(set(figures["source"]) - set(sources.index))
    assert not unknown, f"figures cite sources missing from sources.csv: {unknown}"
    assert figures["status"].isin(STATUSES).all()
    ordered = (figures["low"] <= figures["central"]) & (figures["central"] <= figures["high"])
    disordered = figures[~ordered]
    assert disordered.empty, disordered
    cited = sources.loc[sorted(set(figures["source"]))]
    assert cited["status"].isin(STATUSES).all() and (cited["date"] != "").all()
    no_url = cited[(cited["url"] == "") & (cited["status"] != "assumption")]
    assert no_url.empty, f"sources without a URL that are not assumptions: {list(no_url.index)}"
    assert (cited["title"].str.strip() != "").all(), "every source, assumptions too, needs a reason"


@needs_default
def test_partial_override_folder(tmp_path: Path) -> None:
    stocks = pd.read_csv(DEFAULT_DATA / "stocks.csv", dtype=str, keep_default_na=False)
    stocks.loc[0, ["quantity", "quantity_low", "quantity_high"]] = "1234"
    stocks.to_csv(tmp_path / "stocks.csv", index=False)
    proc = materiel("data", "sources", "--data", str(tmp_path), "--table", "stocks", "--json")
    assert proc.returncode == 0, proc.stderr
    records = json.loads(proc.stdout)
    assert records[0]["central"] == 1234.0
    default = load_dataset()
    quantities = [r for r in records if r["field"] == "quantity"]
    assert len(quantities) == len(default["stocks"])
    override = load_dataset(tmp_path)
    assert override.origin["stocks"] == str(tmp_path / "stocks.csv")
    assert override.origin["items"] == str(DEFAULT_DATA / "items.csv")
    for name in TABLES:
        if name != "stocks":
            pd.testing.assert_frame_equal(override[name], default[name])
