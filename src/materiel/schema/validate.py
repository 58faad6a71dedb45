"""Validate dataset tables against the schema, collecting every problem at once.

Input: one DataFrame of strings per table, as read from a file. Output: typed DataFrames, or a
:class:`DatasetError` listing each problem with its file, row, field and the allowed values.
Row numbers are the file's line numbers (the header is line 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd
import pydantic

from materiel.errors import DataIssue, DatasetError
from materiel.model.graph import find_cycle
from materiel.schema.fields import Field, Table
from materiel.schema.tables import ACTOR_ID, DATE, ID, MONTH, REGIONS, TABLES
from materiel.schema.units import UnitError, rate_factor, ratio_factor

__all__ = ["DataIssue", "DatasetError", "row_model", "validate_tables"]


MAX_MAGNITUDE = 1e12
"""Largest absolute value of any number in a table (a rate, a quantity, a cost in EUR): far
above any real figure, far below where sums over months and draws lose precision or overflow."""
REQUIRED_ROWS = ("items", "facilities", "consumption")
"""Tables that must have at least one row: without them nothing is made or wanted."""


PATTERN_TEXT = {
    ID: "an id: lower-case letters, digits, '_' and '-'",
    ACTOR_ID: "a code in capitals, e.g. DEU",
    MONTH: "a month YYYY-MM (month 01-12)",
    f"({MONTH})?": "a month YYYY-MM (month 01-12), or empty",
    DATE: "YYYY, YYYY-MM or YYYY-MM-DD",
}
"""Patterns explained in words, for messages."""


def _bounds(field: Field) -> tuple[float, float]:
    """The field's range: its own minimum/maximum within +-:data:`MAX_MAGNITUDE`."""
    low = -MAX_MAGNITUDE if field.minimum is None else max(field.minimum, -MAX_MAGNITUDE)
    high = MAX_MAGNITUDE if field.maximum is None else min(field.maximum, MAX_MAGNITUDE)
    return low, high


def singular(table: str) -> str:
    """``facilities`` -> ``facility``, ``items`` -> ``item``: a table's row, for messages."""
    if table.endswith("ies"):
        return table[:-3] + "y"
    return table.removesuffix("s")


def _allowed_text(field: Field) -> str | None:
    if field.allowed:
        return ", ".join(field.allowed)
    if field.dtype == "bool":
        return "true, false"
    if field.dtype in ("float", "int"):
        low, high = _bounds(field)
        kind = "a whole number" if field.dtype == "int" else "a number"
        return f"{kind} >= {low:g} and <= {high:g}"
    if field.pattern:
        return PATTERN_TEXT.get(field.pattern, f"text matching {field.pattern}")
    return None


def _python_type(field: Field) -> Any:
    kwargs: dict[str, Any] = {}
    low, high = _bounds(field)
    if field.dtype == "float":
        return (float, pydantic.Field(ge=low, le=high, allow_inf_nan=False))
    if field.dtype == "int":
        return (int, pydantic.Field(ge=low, le=high))
    if field.dtype == "bool":
        return (bool, ...)
    if field.allowed:
        return (Literal[field.allowed], ...)
    if field.pattern:
        kwargs["pattern"] = f"^(?:{field.pattern})$"
    return (str, pydantic.Field(**kwargs))


def row_model(table: Table) -> type[pydantic.BaseModel]:
    """A pydantic model validating one row of ``table`` (built from the schema)."""
    spec: dict[str, Any] = {}
    for field in table.fields:
        py_type, info = _python_type(field)
        spec[field.name] = (py_type, info)
        if field.uncertain:
            spec[f"{field.name}_low"] = (py_type, info)
            spec[f"{field.name}_high"] = (py_type, info)
            spec[f"{field.name}_source"] = (str, pydantic.Field(min_length=1))
    config = pydantic.ConfigDict(extra="forbid", str_strip_whitespace=True)
    model: type[pydantic.BaseModel] = pydantic.create_model(
        f"{table.name.title()}Row", __config__=config, **spec
    )
    return model


ROW_MODELS = {name: row_model(table) for name, table in TABLES.items()}


def _field_of(table: Table, column: str) -> Field:
    for f in table.fields:
        if column in f.columns:
            return f
    return table.fields[0]


def _check_columns(table: Table, raw: pd.DataFrame) -> list[DataIssue]:
    issues = []
    expected = table.columns
    if len(raw.columns) and not set(raw.columns) & set(expected):
        got = ", ".join(map(str, raw.columns[:5])) + (", ..." if len(raw.columns) > 5 else "")
        message = f"the header names none of this table's columns (got: {got})"
        return [DataIssue(table.filename, 1, None, message, ", ".join(expected))]
    for column in expected:
        field = _field_of(table, column)
        if column not in raw.columns and (field.required or field.uncertain):
            issues.append(
                DataIssue(
                    table.filename, 1, column, "required column is missing", ", ".join(expected)
                )
            )
    for column in raw.columns:
        if column not in expected:
            issues.append(
                DataIssue(table.filename, 1, column, "unknown column", ", ".join(expected))
            )
    return issues


def _line_numbers(raw: pd.DataFrame) -> list[int]:
    """File line number of each row: the index if it is named ``line``, else position + 2."""
    if raw.index.name == "line":
        return [int(i) for i in raw.index]
    return list(range(2, 2 + len(raw)))


def _validate_rows(table: Table, raw: pd.DataFrame) -> tuple[pd.DataFrame, list[DataIssue]]:
    """Typed rows that validated (index = line number) and the problems of the others."""
    model = ROW_MODELS[table.name]
    issues: list[DataIssue] = []
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    for line, record in zip(_line_numbers(raw), raw.to_dict("records"), strict=True):
        values: dict[str, Any] = {}
        for field in table.fields:
            for column in field.columns:
                text = str(record.get(column, "")).strip()
                if text == "" and not field.uncertain and not field.required:
                    values[column] = field.default
                elif text != "":
                    values[column] = text
        try:
            rows.append(model.model_validate(values).model_dump())
            lines.append(line)
        except pydantic.ValidationError as error:
            for e in error.errors():
                where = str(e["loc"][0]) if e["loc"] else None
                bad = _field_of(table, where) if where else None
                message = {
                    "missing": "missing value",
                    "string_pattern_mismatch": "not in the expected form",
                }.get(e["type"], e["msg"])
                if where in values:
                    message = f"{message}; got '{values[where]}'"
                allowed = _allowed_text(bad) if bad else None
                if where and where.endswith("_source"):
                    allowed = "a source id from sources.csv"
                issues.append(DataIssue(table.filename, line, where, message, allowed))
    frame = pd.DataFrame(rows, columns=list(table.columns))
    frame.index = pd.Index(lines, dtype="int64")  # file line numbers, so checks name the row
    return frame, issues


def _check_keys(table: Table, frame: pd.DataFrame) -> list[DataIssue]:
    duplicated = frame.duplicated(list(table.key), keep="first")
    return [
        DataIssue(
            table.filename,
            int(line),
            ",".join(table.key),
            f"duplicate key {tuple(frame.loc[line, list(table.key)])}",
            "each key once",
        )
        for line in frame.index[duplicated]
    ]


def _check_ranges(table: Table, frame: pd.DataFrame, sources: set[str]) -> list[DataIssue]:
    issues = []
    for n in (field.name for field in table.uncertain_fields):
        columns = [f"{n}_low", n, f"{n}_high", f"{n}_source"]
        for line, (low, mid, high, source) in zip(
            frame.index, frame[columns].to_numpy(), strict=True
        ):
            if not low <= mid <= high:
                message = f"range is not ordered: low {low:g}, central {mid:g}, high {high:g}"
                issues.append(
                    DataIssue(table.filename, int(line), n, message, "low <= central <= high")
                )
            if source not in sources:
                message = f"unknown source '{source}'"
                allowed = "a source id from sources.csv"
                issues.append(DataIssue(table.filename, int(line), f"{n}_source", message, allowed))
    return issues


def _check_refs(table: Table, frame: pd.DataFrame, keys: Mapping[str, set[str]]) -> list[DataIssue]:
    issues = []
    for field in table.fields:
        if field.ref is None or field.ref not in keys:
            continue
        known = keys[field.ref]
        for line in frame.index[~frame[field.name].isin(known)]:
            examples = ", ".join(sorted(known)[:12]) + (", ..." if len(known) > 12 else "")
            issues.append(
                DataIssue(
                    table.filename,
                    int(line),
                    field.name,
                    f"unknown {singular(field.ref)} '{frame.loc[line, field.name]}'",
                    examples,
                )
            )
    return issues


def _check_sources(frame: pd.DataFrame) -> list[DataIssue]:
    issues = []
    for line, url, status in zip(frame.index, frame["url"], frame["status"], strict=True):
        if url == "" and status != "assumption":
            message = "a URL is required unless the status is 'assumption'"
        elif url != "" and not url.startswith(("http://", "https://")):
            message = f"not a web address: '{url}'"
        else:
            continue
        issues.append(DataIssue("sources.csv", int(line), "url", message, "http(s)://..."))
    return issues


def _check_units(tables: Mapping[str, pd.DataFrame]) -> list[DataIssue]:
    units = tables["items"].drop_duplicates("item").set_index("item")["unit"]
    issues = []
    facilities = tables.get("facilities", pd.DataFrame(columns=["facility", "item"]))
    made_by = facilities.drop_duplicates("facility").set_index("facility")["item"]
    for name, field in (
        ("facilities", "capacity"),
        ("expansions", "added_capacity"),
        ("consumption", "rate"),
        ("flows", "rate"),
    ):
        if name not in tables:
            continue
        frame = tables[name]
        item = frame["facility"].map(made_by) if name == "expansions" else frame["item"]
        for line, given, it in zip(frame.index, frame[f"{field}_unit"], item, strict=True):
            if it not in units:
                continue
            try:
                rate_factor(given, units[it])
            except UnitError as e:
                issues.append(
                    DataIssue(
                        f"{name}.csv",
                        int(line),
                        f"{field}_unit",
                        str(e),
                        f"{units[it]}/day, {units[it]}/week, {units[it]}/month or {units[it]}/year",
                    )
                )
    recipes = tables.get("recipes", pd.DataFrame(columns=["item", "input", "unit"]))
    for line, out, inp, given in zip(
        recipes.index, recipes["item"], recipes["input"], recipes["unit"], strict=True
    ):
        if out in units and inp in units:
            try:
                ratio_factor(given, units[inp], units[out])
            except UnitError as e:
                issues.append(
                    DataIssue(
                        "recipes.csv", int(line), "unit", str(e), f"{units[inp]}/{units[out]}"
                    )
                )
    return issues


def _check_chain(tables: Mapping[str, pd.DataFrame], made_known: bool = True) -> list[DataIssue]:
    """Cycles in the bill of materials; inputs nobody makes (only if ``made_known``)."""
    recipes, items, facilities = tables["recipes"], tables["items"], tables["facilities"]
    cycle = find_cycle(list(zip(recipes["input"], recipes["item"], strict=True)))
    issues = []
    if cycle is not None:
        path = " -> ".join([edge[0] for edge in cycle] + [cycle[0][0]])
        line = recipes.index[(recipes["input"] == cycle[0][0]) & (recipes["item"] == cycle[0][1])]
        issues.append(
            DataIssue(
                "recipes.csv",
                int(line[0]) if len(line) else None,
                "input",
                f"the bill of materials has a cycle: {path}",
                "an acyclic bill of materials",
            )
        )
    made = set(facilities["item"])
    limited = set(items.loc[items["limited"], "item"])
    for line, inp in zip(recipes.index, recipes["input"], strict=True):
        if made_known and inp in limited and inp not in made:
            issues.append(
                DataIssue(
                    "recipes.csv",
                    int(line),
                    "input",
                    f"input '{inp}' is limited but no facility makes it",
                    "add a facility making it, or set limited=false in items.csv",
                )
            )
    for line, item in zip(facilities.index, facilities["item"], strict=True):
        if item in set(items.loc[~items["limited"], "item"]):
            issues.append(
                DataIssue(
                    "facilities.csv",
                    int(line),
                    "item",
                    f"'{item}' is marked unlimited, so a facility making it is never used",
                    "a limited item",
                )
            )
    return issues


def _check_claims(tables: Mapping[str, pd.DataFrame]) -> list[DataIssue]:
    """Claims name a country or a region as supplier, and an end item or a service (lines of
    intermediates make what the lines above them pull, never for a recipient)."""
    issues = []
    countries = set(tables["countries"]["country"]) if "countries" in tables else set()
    kinds = dict(zip(tables["items"]["item"], tables["items"]["kind"], strict=True))
    groups = sorted(countries) + list(REGIONS)
    for line, supplier, item in zip(
        tables["allocations"].index,
        tables["allocations"]["supplier"],
        tables["allocations"]["item"],
        strict=True,
    ):
        if supplier not in countries and supplier not in REGIONS:
            allowed = ", ".join(list(REGIONS) + groups[:10]) + ", ..."
            issues.append(
                DataIssue(
                    "allocations.csv",
                    int(line),
                    "supplier",
                    f"unknown supplier '{supplier}'",
                    allowed,
                )
            )
        if kinds.get(item) in ("intermediate", "raw"):
            message = (
                f"'{item}' is an {kinds[item]} item: claims are for end items and services "
                "(intermediates go to the lines that use them)"
            )
            issues.append(
                DataIssue("allocations.csv", int(line), "item", message, "an end item or a service")
            )
    return issues


def _known_keys(raw: Mapping[str, pd.DataFrame]) -> dict[str, set[str]]:
    """Key values written in each single-key table, also in rows that failed validation
    (so a reference to a row with a bad value is not reported twice)."""
    keys: dict[str, set[str]] = {}
    for name, table in TABLES.items():
        frame = raw.get(name)
        if len(table.key) == 1 and frame is not None and table.key[0] in frame.columns:
            keys[name] = {str(v).strip() for v in frame[table.key[0]]}
    return keys


def _cross_checks(
    typed: Mapping[str, pd.DataFrame], keys: Mapping[str, set[str]], complete: set[str]
) -> list[DataIssue]:
    """Checks across rows and tables, on the rows that validated. A check that could be wrong
    about failed rows (no facility makes an input) needs its table in ``complete``."""
    issues: list[DataIssue] = []
    for name, table in TABLES.items():
        if name not in typed:
            continue
        frame = typed[name]
        issues += _check_keys(table, frame)
        issues += _check_refs(table, frame, keys)
        if "sources" in keys:
            issues += _check_ranges(table, frame, keys["sources"])
    if "sources" in typed:
        issues += _check_sources(typed["sources"])
    if "items" in typed:
        issues += _check_units(typed)
    if {"recipes", "items", "facilities"} <= set(typed):
        issues += _check_chain(typed, made_known="facilities" in complete)
    if {"allocations", "items"} <= set(typed):
        issues += _check_claims(typed)
    return issues


def _check_not_empty(raw: Mapping[str, pd.DataFrame]) -> list[DataIssue]:
    """Each table of :data:`REQUIRED_ROWS` has a row (blank lines do not count)."""
    needed = [name for name in REQUIRED_ROWS if name in TABLES]
    files = ", ".join(TABLES[name].filename for name in needed)
    return [
        DataIssue(
            TABLES[name].filename,
            None,
            None,
            "the table has no rows; a dataset needs at least one row in each of " + files,
        )
        for name in needed
        if name in raw and len(raw[name]) == 0
    ]


def validate_tables(raw: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Validate raw string tables; return typed tables or raise :class:`DatasetError`.

    Every problem is reported at once: a table with missing or unknown columns is skipped,
    rows that fail are reported, and the cross-table checks (keys, references, ranges, units,
    cycles) still run on the rows that validated. Row numbers are file line numbers: a raw
    frame's index if it is named ``line`` (e.g. rows read from a spreadsheet), else position + 2.
    """
    issues: list[DataIssue] = []
    typed: dict[str, pd.DataFrame] = {}
    complete: set[str] = set()
    for name, table in TABLES.items():
        if name not in raw:
            issues.append(DataIssue(table.filename, None, None, "table is missing"))
            continue
        column_issues = _check_columns(table, raw[name])
        issues += column_issues
        if column_issues:
            continue
        typed[name], row_issues = _validate_rows(table, raw[name])
        issues += row_issues
        if not row_issues:
            complete.add(name)
    issues += _cross_checks(typed, _known_keys(raw), complete)
    issues += _check_not_empty(raw)
    if issues:
        order = {table.filename: i for i, table in enumerate(TABLES.values())}
        issues.sort(key=lambda i: (order.get(i.file, len(order)), i.row or 0))
        raise DatasetError(issues)
    for frame in typed.values():
        frame.index = pd.RangeIndex(2, 2 + len(frame))
    return typed
