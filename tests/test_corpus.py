"""A corpus of corrupted inputs, each run through the CLI: exit code 2, a message naming the
file (and the row and field where there is one), never a traceback.

The corpus is generated here, at run time, as mutations of the tiny dataset of
``conftest.tiny_tables()`` (whatever tables and columns it has), of a bundled scenario, of a
sweep spec and of a workbook exported from the tiny dataset, so it cannot drift from the schema.
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from conftest import tiny_tables, write_dataset
from materiel.cli import app
from materiel.io.excel import MAX_UNPACKED_BYTES
from materiel.schema.fields import Field
from materiel.schema.tables import TABLES
from materiel.schema.validate import REQUIRED_ROWS, singular

T = TypeVar("T")
runner = CliRunner()
TINY = tiny_tables()
FILLED = [name for name, rows in TINY.items() if rows]
"""Tables of the tiny dataset with at least one row."""
SCENARIO = "imposed-deal"
GARBAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@dataclass(frozen=True)
class Case:
    """One corrupted input: ``make(folder)`` writes it under ``folder`` (which holds the tiny
    dataset in ``data/``) and returns the CLI arguments; the output must contain ``expect``."""

    id: str
    make: Callable[[Path], list[str]]
    expect: tuple[str, ...]
    code: int = 2
    absent: tuple[str, ...] = field(default=())


def check(folder: Path) -> list[str]:
    return ["data", "check", str(folder / "data")]


def simulate(folder: Path, scenario: Path | str) -> list[str]:
    data, out = str(folder / "data"), str(folder / "out.nc")
    return ["simulate", str(scenario), "--data", data, "--draws", "2", "--out", out]


# --- CSV tables -------------------------------------------------------------------------


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def set_cell(table: str, column: str, value: str) -> Callable[[Path], list[str]]:
    """Put ``value`` in ``column`` of the first data row (line 2) of ``table``."""

    def make(folder: Path) -> list[str]:
        path = folder / "data" / TABLES[table].filename
        rows = _rows(path)
        rows[1][rows[0].index(column)] = value
        _write_rows(path, rows)
        return check(folder)

    return make


def edit_table(table: str, edit: Callable[[Path], None]) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        edit(folder / "data" / TABLES[table].filename)
        return check(folder)

    return make


def _text_edit(change: Callable[[str], str]) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")

    return edit


def _lines(change: Callable[[list[str]], list[str]]) -> Callable[[Path], None]:
    return _text_edit(lambda text: "\n".join(change(text.split("\n"))))


def _replace_path(kind: str) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        path.unlink()
        if kind == "folder":
            path.mkdir()
        elif kind == "link":
            path.symlink_to(path.parent / "nowhere.csv")
        else:
            path.write_bytes({"garbage": GARBAGE, "empty": b""}[kind])

    return edit


def _drop_first_column(path: Path) -> None:
    _write_rows(path, [row[1:] for row in _rows(path)])


def _header_only(path: Path) -> None:
    _write_rows(path, _rows(path)[:1])


def _numeric(f: Field) -> bool:
    return f.dtype in ("float", "int")


FILE_MUTATIONS: list[tuple[str, Callable[[Path], None], tuple[str, ...]]] = [
    ("extra-fields", _lines(lambda ls: [ls[0], ls[1] + ",x,y", *ls[2:]]), ("line 2", "values")),
    ("unclosed-quote", _lines(lambda ls: [ls[0], '"' + ls[1], *ls[2:]]), ("line 2", "quote")),
    (
        "quote-closed-later",
        _lines(lambda ls: [ls[0], '"' + ls[1], *ls[2:], 'a,"b"c']),
        ("line 2", "quote"),
    ),
    (
        "latin1",
        lambda p: p.write_bytes(p.read_bytes().replace(b"\n", b"\n\xe9", 1)),
        ("line 2", "UTF-8"),
    ),
    ("nul-byte", lambda p: p.write_bytes(p.read_bytes() + b"x\x00y\n"), ("binary",)),
    ("garbage", _replace_path("garbage"), ("UTF-8",)),
    ("folder", _replace_path("folder"), ("folder",)),
    ("broken-link", _replace_path("link"), ("nowhere.csv",)),
    ("empty-file", _replace_path("empty"), ("empty",)),
    ("semicolons", _text_edit(lambda t: t.replace(",", ";")), ("none of this table's columns",)),
    (
        "repeated-column",
        _lines(lambda ls: [ls[0] + "," + ls[0].split(",")[0], *ls[1:]]),
        ("more than once",),
    ),
    ("missing-column", _drop_first_column, ("row 1", "missing")),
    (
        "unknown-column",
        _lines(lambda ls: [ls[0] + ",bogus", *(x + ",1" if x else x for x in ls[1:])]),
        ("bogus", "unknown column"),
    ),
]
"""Damage to a whole CSV file: (id, edit, words the message must contain besides the file)."""
BAD_NUMBERS = [
    ("inf", "inf"),
    ("minus-inf", "-inf"),
    ("nan", "nan"),
    ("1e308", "1e308"),
    ("huge", "1e13"),
    ("hugely-negative", "-1e13"),
    ("negative", "-1"),
    ("text", "abc"),
    ("empty", ""),
]


def _rotate(items: list[T], start: int, count: int) -> list[T]:
    return [items[(start + k) % len(items)] for k in range(count)]


def table_cases() -> Iterator[Case]:
    """Each file mutation on two tables, each table's first number set to three bad values
    (so every mutation and every value meets several tables), bad text values everywhere."""
    n = len(FILLED)
    for k, (id, edit, words) in enumerate(FILE_MUTATIONS):
        for table in (FILLED[k % n], FILLED[(k + n // 2) % n]):
            file = TABLES[table].filename
            yield Case(f"{table}-{id}", edit_table(table, edit), (file, *words))
    for k, table in enumerate(FILLED):
        if table in REQUIRED_ROWS:
            file = TABLES[table].filename
            yield Case(f"{table}-no-rows", edit_table(table, _header_only), (file, "no rows"))
        yield from value_cases(table, _rotate(BAD_NUMBERS, 3 * k, 3))


def value_cases(table: str, numbers: list[tuple[str, str]]) -> Iterator[Case]:
    """Bad values in the first data row: numbers, allowed values, patterns, references."""
    fields = TABLES[table].fields
    file = TABLES[table].filename
    numeric = [f for f in fields if _numeric(f)][:1]
    for f in numeric:
        where = (file, "row 2", f"field '{f.name}'")
        for label, value in numbers:
            if label == "negative" and (f.minimum is None or f.minimum < 0):
                continue  # -1 is allowed here
            yield Case(f"{table}-{f.name}-{label}", set_cell(table, f.name, value), where)
    for f in fields:
        where = (file, "row 2", f"field '{f.name}'")
        if f.pattern and "1[0-2]" in f.pattern:
            yield Case(f"{table}-{f.name}-month-99", set_cell(table, f.name, "2024-99"), where)
        elif f.allowed:
            yield Case(f"{table}-{f.name}-not-allowed", set_cell(table, f.name, "nonsense"), where)
        elif f.dtype == "bool":
            yield Case(f"{table}-{f.name}-not-bool", set_cell(table, f.name, "maybe"), where)
        elif f.ref and f.ref in FILLED:
            message = f"unknown {singular(f.ref)} 'zz_nowhere'"
            yield Case(
                f"{table}-{f.name}-unknown-ref",
                set_cell(table, f.name, "zz_nowhere"),
                (*where, message),
                absent=("facilitie ",),
            )


def every_table_empty(folder: Path) -> list[str]:
    for name in TINY:
        _header_only(folder / "data" / TABLES[name].filename)
    return check(folder)


# --- dataset.yaml ---------------------------------------------------------------------

DEEP = "[" * 5000 + "]" * 5000
LAUGHS = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)


def meta_case(id: str, text: str | bytes, *expect: str) -> Case:
    def make(folder: Path) -> list[str]:
        path = folder / "data" / "dataset.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return check(folder)

    return Case(f"dataset-yaml-{id}", make, ("dataset.yaml", *expect))


META = 'name: tiny\nversion: "1"\nstart: "2027-01"\n'
META_CASES = [
    meta_case("deep", META + "description: " + DEEP, "line 4", "nested"),
    meta_case("latin1", META.encode() + "description: caf\xe9\n".encode("latin-1"), "UTF-8"),
    meta_case("tabs", META + "description:\n\t- x\n", "line 5", "tabs"),
    meta_case("duplicate-key", META + "name: other\n", "line 4", "duplicate key 'name'"),
    meta_case("billion-laughs", LAUGHS + "\n" + META, "aliases"),
    meta_case("month-13", META.replace("2027-01", "2027-13"), "start"),
    meta_case("start-number", META.replace('"2027-01"', "202701"), "start"),
    meta_case("unknown-key", META + "colour: blue\n", "colour"),
    meta_case("a-list", "- name\n- version\n", "dictionary"),
    meta_case("empty", "", "dictionary"),
    meta_case("unclosed-quote", META + 'description: "open\n', "YAML"),
    meta_case("garbage", GARBAGE, "UTF-8"),
]


# --- scenario files ---------------------------------------------------------------------


def scenario_case(
    id: str,
    content: str | bytes | Callable[[dict[str, object]], object],
    *expect: str,
    named: str = "scenario.yaml",
) -> Case:
    """A scenario file made from ``content``: text, bytes, or a change to the bundled scenario
    (a function of its parsed YAML returning what to write as YAML). The message must name
    the scenario as ``named`` (its file; events checked against the dataset name the
    scenario's ``name``)."""

    def make(folder: Path) -> list[str]:
        path = folder / "scenario.yaml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            from materiel.scenario import SCENARIO_DIR

            base = yaml.safe_load((SCENARIO_DIR / f"{SCENARIO}.yaml").read_text(encoding="utf-8"))
            path.write_text(yaml.safe_dump(content(base)), encoding="utf-8")
        return simulate(folder, path)

    return Case(f"scenario-{id}", make, (named, *expect))


def _event(change: dict[str, object]) -> Callable[[dict[str, object]], object]:
    def edit(base: dict[str, object]) -> object:
        events = base["events"]
        assert isinstance(events, list)
        events[0] = {**events[0], **change}
        return base

    return edit


def _top(change: dict[str, object]) -> Callable[[dict[str, object]], object]:
    return lambda base: {**base, **change}


SCENARIO_CASES = [
    scenario_case("deep", "name: x\nevents: " + DEEP + "\n", "line 2", "nested"),
    scenario_case(
        "deep-mapping",
        "name: x\nevents:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 60)),
        "nested",
    ),
    scenario_case("latin1", "name: caf\xe9\n".encode("latin-1"), "line 1", "UTF-8"),
    scenario_case("tabs", "name: x\nevents:\n\t- type: budget\n", "line 3", "tabs"),
    scenario_case("duplicate-key", "name: x\nmonths: 12\nmonths: 24\n", "line 3", "duplicate key"),
    scenario_case("billion-laughs", LAUGHS + "\nname: x\n", "aliases"),
    scenario_case("garbage", GARBAGE, "UTF-8"),
    scenario_case("empty", "", "dictionary"),
    scenario_case("plain-text", "just some words\n", "dictionary"),
    scenario_case(
        "unknown-event", _event({"type": "alien_invasion"}), "events.0", "us_supply_stops"
    ),
    scenario_case("month-text", _event({"month": "2024-99"}), "events.0"),
    scenario_case("month-negative", _event({"month": -3}), "events.0"),
    scenario_case("month-list", _event({"month": [1, 2]}), "events.0"),
    scenario_case("unknown-field", _event({"colour": "blue"}), "events.0"),
    scenario_case("months-text", _top({"months": "many"}), "months"),
    scenario_case("months-zero", _top({"months": 0}), "months"),
    scenario_case("months-huge", _top({"months": 10**9}), "months"),
    scenario_case("probability", _top({"probability": 7}), "probability"),
    scenario_case("events-mapping", _top({"events": {"type": "budget"}}), "events"),
    scenario_case("unknown-key", _top({"colour": "blue"}), "colour"),
    scenario_case(
        "unknown-node",
        _top({"events": [{"type": "supplier_outage", "node": "zz_nowhere", "month": 1}]}),
        "events.0.node",
        "zz_nowhere",
        named=SCENARIO,
    ),
]


def scenario_folder(folder: Path) -> list[str]:
    (folder / "scenario.yaml").mkdir()
    return simulate(folder, folder / "scenario.yaml")


# --- sweep specs ------------------------------------------------------------------------

SPEC = {
    "scenario": SCENARIO,
    "draws": 2,
    "parameters": [{"path": "events[type=us_supply_stops].month", "values": [0, 1]}],
}


def spec_case(id: str, content: str | dict[str, object], *expect: str) -> Case:
    def make(folder: Path) -> list[str]:
        path = folder / "spec.yaml"
        text = content if isinstance(content, str) else yaml.safe_dump(content)
        path.write_text(text, encoding="utf-8")
        out = str(folder / "sweep.nc")
        return ["sweep", str(path), "--data", str(folder / "data"), "--out", out]

    return Case(f"spec-{id}", make, ("spec.yaml", *expect))


def _param(**change: object) -> dict[str, object]:
    return {**SPEC, "parameters": [{"path": "events[type=us_supply_stops].month", **change}]}


SPEC_CASES = [
    spec_case("deep", "scenario: x\nparameters: " + DEEP + "\n", "line 2", "nested"),
    spec_case("unknown-key", {**SPEC, "colour": "blue"}, "colour"),
    spec_case("low-above-high", _param(low=5, high=1, steps=3), "parameters.0", "below"),
    spec_case("values-and-range", _param(values=[1], low=0, high=2), "parameters.0", "either"),
    spec_case("no-values", _param(), "parameters.0"),
    spec_case("grid-without-steps", _param(low=0, high=2), "parameters.0", "steps"),
    spec_case("empty-values", _param(values=[]), "parameters.0.values"),
    spec_case("draws-zero", {**SPEC, "draws": 0}, "draws"),
    spec_case("no-parameters", {**SPEC, "parameters": []}, "parameters"),
    spec_case("bad-method", {**SPEC, "method": "guess"}, "method"),
    spec_case("not-a-mapping", "- a\n- b\n", "mapping"),
    spec_case("unknown-path", _param(path="events[type=nope].month", values=[1]), "parameters"),
    spec_case("tabs", "scenario: x\nparameters:\n\t- path: budget\n", "line 3", "tabs"),
]


# --- workbooks --------------------------------------------------------------------------


def book_case(id: str, edit: Callable[[Path], None], *expect: str) -> Case:
    def make(folder: Path) -> list[str]:
        path = folder / "book.xlsx"
        edit(path)
        return ["data", "check", str(path)]

    return Case(f"xlsx-{id}", make, ("book.xlsx", *expect))


def _with_book(change: Callable[[openpyxl.Workbook], None]) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        book = openpyxl.load_workbook(path)
        change(book)
        book.save(path)

    return edit


def _add_column(book: openpyxl.Workbook) -> None:
    sheet = book[BOOK_TABLE]
    sheet.cell(row=1, column=sheet.max_column + 1, value="bogus")


def _zip_bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (MAX_UNPACKED_BYTES + 1))


def _set_sheet_cell(table: str, column: int, value: str) -> Callable[[openpyxl.Workbook], None]:
    def change(book: openpyxl.Workbook) -> None:
        book[table].cell(row=2, column=column, value=value)

    return change


def _first_numeric_column(table: str) -> int:
    columns = TABLES[table].columns
    name = next(f.name for f in TABLES[table].fields if _numeric(f))
    return columns.index(name) + 1


BOOK_TABLE = FILLED[-1]
NUMERIC_TABLE = next(t for t in FILLED if any(_numeric(f) for f in TABLES[t].fields))
BOOK_CASES = [
    book_case("zip-bomb", _zip_bomb, "unpacks to"),
    book_case("not-a-zip", lambda p: p.write_text("name,value\n", encoding="utf-8"), "Excel"),
    book_case("empty", lambda p: p.write_bytes(b""), "Excel"),
    book_case(
        "truncated", lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "Excel"
    ),
    book_case("folder", lambda p: _replace_path("folder")(p), "Excel"),
    book_case(
        "missing-sheet",
        _with_book(lambda b: b.remove(b[BOOK_TABLE])),
        f"sheet '{BOOK_TABLE}' is missing",
    ),
    book_case("extra-sheet", _with_book(lambda b: b.create_sheet("bogus") and None), "bogus"),
    book_case(
        "extra-column",
        _with_book(_add_column),
        "bogus",
        "unknown column",
    ),
    book_case(
        "far-right-cell",
        _with_book(lambda b: b[BOOK_TABLE].cell(row=2, column=16000, value="x") and None),
        "line 2",
        "outside the named columns",
    ),
    book_case(
        "text-in-number",
        _with_book(_set_sheet_cell(NUMERIC_TABLE, _first_numeric_column(NUMERIC_TABLE), "abc")),
        f"sheet '{NUMERIC_TABLE}', row 2",
    ),
    book_case(
        "inf-in-number",
        _with_book(_set_sheet_cell(NUMERIC_TABLE, _first_numeric_column(NUMERIC_TABLE), "inf")),
        f"sheet '{NUMERIC_TABLE}', row 2",
    ),
]


# --- the corpus -------------------------------------------------------------------------

CASES = [
    *table_cases(),
    Case("every-table-empty", every_table_empty, ("no rows", "items.csv")),
    Case("dataset-folder-missing", lambda f: ["data", "check", str(f / "nowhere")], ("nowhere",)),
    Case(
        "dataset-folder-is-a-file",
        lambda f: ["data", "check", str(f / "data" / "dataset.yaml")],
        ("dataset.yaml", "not a folder"),
    ),
    *META_CASES,
    *SCENARIO_CASES,
    Case("scenario-is-a-folder", scenario_folder, ("scenario.yaml", "folder")),
    Case("scenario-unknown-name", lambda f: simulate(f, "no-such-scenario"), ("no-such-scenario",)),
    *SPEC_CASES,
    *BOOK_CASES,
]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny dataset and a workbook of it, copied for each case."""
    from materiel.io.dataset import load_dataset
    from materiel.io.excel import write_workbook

    folder = tmp_path_factory.mktemp("corpus-base")
    write_dataset(folder / "data", TINY)
    write_workbook(load_dataset(folder / "data"), folder / "book.xlsx")
    return folder


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 100
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corrupted_input(case: Case, base: Path, tmp_path: Path) -> None:
    shutil.copytree(base, tmp_path, dirs_exist_ok=True)
    result = runner.invoke(app, case.make(tmp_path))
    output = result.output
    assert "Traceback" not in output
    assert result.exit_code == case.code, output
    for text in case.expect:
        assert text in output, f"{text!r} not in: {output}"
    for text in case.absent:
        assert text not in output, output
    assert "unexpected error" not in output


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda t: "\ufeff" + t, id="byte-order-mark"),
        pytest.param(lambda t: t.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda t: t + "\n\n,,,\n", id="blank-lines"),
        pytest.param(lambda t: t.replace("\n", ",,\n"), id="trailing-commas"),
    ],
)
def test_harmless_variations_are_accepted(
    change: Callable[[str], str], base: Path, tmp_path: Path
) -> None:
    """What editors and Excel do to a CSV file (a BOM, CRLF, blank lines, trailing commas)
    is not an error."""
    shutil.copytree(base, tmp_path, dirs_exist_ok=True)
    for name in FILLED:
        path = tmp_path / "data" / TABLES[name].filename
        path.write_bytes(change(path.read_text(encoding="utf-8")).encode("utf-8"))
    result = runner.invoke(app, check(tmp_path))
    assert result.exit_code == 0, result.output
