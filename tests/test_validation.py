"""Every validation rule rejects bad input with one clear message: file, row, field, allowed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import fig, row, tiny_tables, write_dataset
from materiel.io.dataset import load_dataset
from materiel.scenario import load_scenario, parse_scenario
from materiel.schema.validate import DatasetError

Tables = dict[str, list[dict[str, Any]]]


def set_(table: str, index: int, **values: Any) -> Callable[[Tables], None]:
    def edit(t: Tables) -> None:
        t[table][index].update(values)

    return edit


def append(table: str, **values: Any) -> Callable[[Tables], None]:
    def edit(t: Tables) -> None:
        t[table].append(row(**values))

    return edit


CASES: dict[str, tuple[Callable[[Tables], None], str, int | None, str, str]] = {
    # name: (edit, file, row, field, text expected in the message)
    "unknown item in a recipe": (
        set_("recipes", 0, input="gunpowder"),
        "recipes.csv",
        2,
        "input",
        "unknown item 'gunpowder'",
    ),
    "negative capacity": (
        set_("facilities", 1, capacity=-5, capacity_low=-5),
        "facilities.csv",
        3,
        "capacity",
        "greater than or equal to 0",
    ),
    "cycle in the bill of materials": (
        append("recipes", item="powder", input="shell", quantity=fig(1.0), unit="round/t"),
        "recipes.csv",
        None,
        "input",
        "cycle",
    ),
    "missing source": (
        set_("facilities", 0, capacity_source="nowhere"),
        "facilities.csv",
        2,
        "capacity_source",
        "unknown source 'nowhere'",
    ),
    "empty source": (
        set_("stocks", 0, quantity_source=""),
        "stocks.csv",
        2,
        "quantity_source",
        "missing value",
    ),
    "unit mismatch in a recipe": (
        set_("recipes", 0, unit="module/round"),
        "recipes.csv",
        2,
        "unit",
        "does not convert",
    ),
    "unit mismatch in a capacity": (
        set_("facilities", 1, capacity_unit="t/month"),
        "facilities.csv",
        3,
        "capacity_unit",
        "does not convert",
    ),
    "bad period": (
        set_("consumption", 0, rate_unit="round/fortnight"),
        "consumption.csv",
        2,
        "rate_unit",
        "not in the expected form",
    ),
    "status not allowed": (
        set_("sources", 0, status="rumour"),
        "sources.csv",
        2,
        "status",
        "rumour",
    ),
    "range out of order": (
        set_("facilities", 0, capacity_low=2000),
        "facilities.csv",
        2,
        "capacity",
        "range is not ordered",
    ),
    "utilisation above one": (
        set_("facilities", 0, utilisation=1.5, utilisation_high=1.5),
        "facilities.csv",
        2,
        "utilisation",
        "less than or equal to 1",
    ),
    "not a number": (
        set_("stocks", 0, quantity="lots"),
        "stocks.csv",
        2,
        "quantity",
        "got 'lots'",
    ),
    "duplicate key": (
        append(
            "countries",
            country="UKR",
            name="Ukraine again",
            region="ukraine",
            sustain_months=fig(1.0),
        ),
        "countries.csv",
        6,
        "country",
        "duplicate key",
    ),
    "unknown actor": (
        set_("flows", 0, supplier="XXX"),
        "flows.csv",
        2,
        "supplier",
        "unknown country 'XXX'",
    ),
    "url missing for a claim": (
        set_("sources", 0, status="claimed"),
        "sources.csv",
        2,
        "url",
        "URL is required",
    ),
    "limited input nobody makes": (
        lambda t: (t["facilities"].pop(0), t["expansions"].clear()),
        "recipes.csv",
        2,
        "input",
        "no facility makes it",
    ),
    "bad decided month": (
        set_("expansions", 0, decided="soon"),
        "expansions.csv",
        2,
        "decided",
        "not in the expected form",
    ),
    "impossible decided month": (
        set_("expansions", 0, decided="2024-99"),
        "expansions.csv",
        2,
        "decided",
        "got '2024-99'",
    ),
    "infinite quantity": (
        set_("stocks", 0, quantity="inf", quantity_high="inf"),
        "stocks.csv",
        2,
        "quantity",
        "finite",
    ),
    "huge rate": (
        set_("consumption", 0, rate=1e308, rate_high=1e308),
        "consumption.csv",
        2,
        "rate",
        "less than or equal to 1000000000000",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_rule_rejects_bad_input(case: str, tmp_path: Path) -> None:
    edit, file, line, field, text = CASES[case]
    tables = tiny_tables()
    edit(tables)
    with pytest.raises(DatasetError) as caught:
        load_dataset(write_dataset(tmp_path, tables))
    matching = [i for i in caught.value.issues if i.file == file and i.field == field]
    assert matching, f"no issue for {file}/{field} in: {caught.value}"
    issue = matching[0]
    assert text in issue.message
    assert line is None or issue.row == line
    assert issue.allowed, "the message must say what is allowed"
    message = str(issue)
    assert file in message and field in message


def test_empty_tables_are_refused(tmp_path: Path) -> None:
    """A dataset needs rows in items, facilities and consumption; the message says so."""
    tables = {name: [] for name in tiny_tables()}
    with pytest.raises(DatasetError) as caught:
        load_dataset(write_dataset(tmp_path, tables))
    empty = {i.file for i in caught.value.issues if "no rows" in i.message}
    assert empty == {"items.csv", "facilities.csv", "consumption.csv"}
    assert "items.csv, facilities.csv, consumption.csv" in str(caught.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["facilities"][0]["capacity_source"] = "nowhere"
    tables["flows"][0]["supplier"] = "XXX"
    with pytest.raises(DatasetError) as caught:
        load_dataset(write_dataset(tmp_path, tables))
    assert len(caught.value.issues) == 2


def test_missing_column_names_the_expected_columns(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path, tiny_tables())
    path = folder / "stocks.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    with pytest.raises(DatasetError) as caught:
        load_dataset(folder)
    issue = caught.value.issues[0]
    assert (issue.file, issue.row, issue.field) == ("stocks.csv", 1, "floor_source")
    assert issue.allowed is not None and "quantity_high" in issue.allowed


def test_partial_folder_takes_the_other_tables_from_the_default(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text("item,name\nx,y\n")
    with pytest.raises(DatasetError) as caught:
        load_dataset(tmp_path)
    assert any(i.file == "items.csv" and i.field == "unit" for i in caught.value.issues)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="dataset folder not found"):
        load_dataset(tmp_path / "nope")


def test_scenario_errors_name_the_field() -> None:
    with pytest.raises(DatasetError) as caught:
        parse_scenario({"name": "x", "events": [{"type": "asteroid", "month": 1}]}, "x.yaml")
    issue = caught.value.issues[0]
    assert issue.file == "x.yaml" and issue.field == "events.0"
    assert issue.allowed is not None and "us_supply_stops" in issue.allowed
    with pytest.raises(DatasetError) as caught:
        parse_scenario({"name": "x", "events": [{"type": "ceasefire", "month": -1}]})
    assert caught.value.issues[0].field == "events.0.month"


def test_unknown_scenario_lists_the_bundled_ones() -> None:
    with pytest.raises(DatasetError) as caught:
        load_scenario("no-such-future")
    assert caught.value.issues[0].allowed is not None
    assert "imposed-deal" in caught.value.issues[0].allowed


def test_scenario_event_reference_checked(tiny_dir: Path) -> None:
    from materiel.model.compiled import compile_model
    from materiel.model.events import compile_scenario

    model = compile_model(load_dataset(tiny_dir))
    bad = parse_scenario(
        {"name": "x", "events": [{"type": "supplier_outage", "node": "atlantis", "month": 0}]}
    )
    with pytest.raises(DatasetError) as caught:
        compile_scenario(model, bad)
    issue = caught.value.issues[0]
    assert issue.field == "events.0.node" and issue.allowed and "powder_plant" in issue.allowed


def test_row_numbers_count_blank_lines(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path, tiny_tables())
    path = folder / "flows.csv"
    header, *rows = path.read_text().splitlines()
    path.write_text("\n".join([header, "", rows[0].replace("USA", "XXX"), *rows[1:]]) + "\n")
    with pytest.raises(DatasetError) as caught:
        load_dataset(folder)
    issue = caught.value.issues[0]
    assert (issue.file, issue.row, issue.field) == ("flows.csv", 3, "supplier")
