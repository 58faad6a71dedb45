"""Round-trip a whole dataset through one Excel workbook, so analysts can edit it in Excel.

Sheets: ``README`` (the columns explained, ignored on import), ``dataset`` (the keys of
``dataset.yaml``), then one sheet per table in schema order with a header row. Numbers are
numeric cells written with their shortest exact representation, so every float comes back
bit for bit; text is text; booleans are the text ``true``/``false`` as in CSV; an empty
optional value is an empty cell.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pydantic
import yaml
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import IllegalCharacterError, InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from materiel.errors import InputFileError
from materiel.io.atomic import atomic_path
from materiel.io.dataset import Dataset, DatasetMeta
from materiel.schema.docs import FIELD_COLUMNS, STATUS_MEANINGS, field_rows
from materiel.schema.fields import Table
from materiel.schema.tables import TABLES
from materiel.schema.validate import DataIssue, DatasetError, validate_tables

README = "README"
META = "dataset"
MAX_WIDTH = 60
"""Widest column, in characters."""
BOLD = Font(bold=True)
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="37474F")
LAST_ROW = 1_048_576
"""Excel's last row: validations cover whole columns below the header."""
SHARE_FORMAT = "0.0%"
NUMBER_FORMAT = "[>=1000]#,##0;[<=-1000]-#,##0;General"
"""Thousands separators on large numbers, every digit of small ones (display only: the
stored value stays exact)."""
MONEY_FORMAT = "#,##0"


def _set_number(cell: Cell, value: float) -> None:
    """A numeric cell holding ``repr(value)``, exact for every float.

    openpyxl writes numbers with ``%.16g``, which loses the 17th digit (0.1 + 0.2 would come
    back as 0.3); a numeric cell whose stored text is the repr is written verbatim.
    """
    cell.value = repr(float(value))
    cell.data_type = "n"


def _set_text(cell: Cell, value: str) -> None:
    """A text cell, even if the text starts with '=' (never a formula); formatted as text
    even when empty, so Excel keeps what an analyst types there (e.g. 2026-01) as text."""
    cell.number_format = "@"
    if value != "":
        cell.value = value
        cell.data_type = "s"


def _header(sheet: Worksheet, columns: list[str], freeze: str) -> None:
    for j, name in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=j)
        _set_text(cell, name)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    sheet.freeze_panes = freeze


def _number_formats(table: Table) -> dict[str, str]:
    """Excel number format of each numeric column: shares (0-1 fields) as percentages,
    money (EUR units) with thousands separators, other numbers with thousands separators
    above 1,000 and every digit below."""
    formats = {}
    for f in table.fields:
        if f.dtype not in ("float", "int"):
            continue
        if f.maximum == 1.0 and (f.minimum or 0.0) >= 0.0:
            fmt = SHARE_FORMAT
        elif "EUR" in f.unit:
            fmt = MONEY_FORMAT
        else:
            fmt = NUMBER_FORMAT
        for c in f.columns:
            if not c.endswith("_source"):
                formats[c] = fmt
    return formats


def _key_range(name: str) -> str:
    """The key column of table ``name`` below its header, as a list formula."""
    return f"='{name}'!$A$2:$A${LAST_ROW}"


def _validations(sheet: Worksheet, table: Table) -> None:
    """Drop-down lists: allowed values of every enumerated field, true/false of booleans,
    the key column of the referenced sheet for every reference and every ``*_source``."""
    for j, column in enumerate(table.columns, start=1):
        letter = get_column_letter(j)
        formula, prompt = None, ""
        if column.endswith("_source"):
            formula, prompt = _key_range("sources"), "a source id of sheet 'sources'"
        else:
            f = next(f for f in table.fields if column in f.columns)
            if f.allowed:
                formula, prompt = '"' + ",".join(f.allowed) + '"', ", ".join(f.allowed)
            elif f.ref:
                formula, prompt = _key_range(f.ref), f"an id of sheet '{f.ref}'"
            elif f.dtype == "bool":
                formula, prompt = '"true,false"', "true or false"
        if formula is None:
            continue
        rule = DataValidation(
            type="list",
            formula1=formula,
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=f"{table.name}.{column}",
            error=f"Choose {prompt}.",
            promptTitle=column,
            prompt=f"Choose {prompt}.",
        )
        rule.add(f"{letter}2:{letter}{LAST_ROW}")
        sheet.add_data_validation(rule)


def _fit_widths(sheet: Worksheet, widths: list[int]) -> None:
    for j, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(j)].width = min(max(width, 6) + 2, MAX_WIDTH)


def _write_table(sheet: Worksheet, table: Table, frame: pd.DataFrame) -> None:
    columns = list(table.columns)
    kinds = {c: f.dtype for f in table.fields for c in f.columns}
    for c in columns:
        if c.endswith("_source"):
            kinds[c] = "str"
    _header(sheet, columns, freeze=f"{get_column_letter(len(table.key) + 1)}2")
    formats = _number_formats(table)
    widths = [len(c) for c in columns]
    for i, record in enumerate(frame[columns].itertuples(index=False), start=2):
        for j, (column, value) in enumerate(zip(columns, record, strict=True), start=1):
            cell = sheet.cell(row=i, column=j)
            if kinds[column] in ("float", "int"):
                _set_number(cell, value)
                cell.number_format = formats.get(column, "General")
            elif kinds[column] == "bool":
                _set_text(cell, "true" if value else "false")
            else:
                _set_text(cell, str(value))
            widths[j - 1] = max(widths[j - 1], len(str(cell.value or "")))
    _fit_widths(sheet, widths)
    if len(frame):
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(frame) + 1}"
    _validations(sheet, table)


def _write_readme(sheet: Worksheet) -> None:
    header = ["sheet", *FIELD_COLUMNS]
    _header(sheet, header, freeze="A2")
    rows: list[list[str]] = [
        [table.name, *(r[k] for k in FIELD_COLUMNS)]
        for table in TABLES.values()
        for r in field_rows(table)
    ]
    rows.append([])
    rows.append(
        [
            "provenance",
            "A sourced figure spans <name>, <name>_low, <name>_high and "
            "<name>_source; low <= central <= high; the source id is in sheet 'sources'.",
        ]
    )
    rows += [["status", f"{s}: {m}"] for s, m in STATUS_MEANINGS.items()]
    rows.append(
        [
            "about",
            "Sheet 'dataset' holds dataset.yaml; this sheet is ignored on import. "
            "Booleans are the text true/false. See docs/data.md.",
        ]
    )
    for i, row in enumerate(rows, start=2):
        for j, text in enumerate(row, start=1):
            cell = sheet.cell(row=i, column=j)
            _set_text(cell, text)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    _fit_widths(sheet, [12, 40, 16, 12, 20, 40, 50])


def write_workbook(dataset: Dataset, path: Path | str) -> Path:
    """Write ``dataset`` to an ``.xlsx`` workbook at ``path`` (replaced atomically)."""
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise ValueError(f"the workbook must end in .xlsx, got '{target.name}'")
    book = openpyxl.Workbook()
    _write_readme(book.active)
    book.active.title = README
    meta = book.create_sheet(META)
    _header(meta, ["key", "value"], freeze="A2")
    for i, (key, value) in enumerate(dataset.meta.model_dump().items(), start=2):
        _set_text(meta.cell(row=i, column=1), key)
        _set_text(meta.cell(row=i, column=2), str(value))
    _fit_widths(meta, [12, MAX_WIDTH])
    try:
        for name, table in TABLES.items():
            _write_table(book.create_sheet(name), table, dataset.tables[name])
    except IllegalCharacterError as e:
        raise ValueError(f"table '{name}' holds a character Excel cannot store: {e}") from None
    try:
        with atomic_path(target) as tmp:
            book.save(tmp)
    except OSError as e:
        raise OSError(f"cannot write '{target}': {e.strerror or e}") from None
    return target


def _text(value: Any) -> str:
    """A cell's value as the text a CSV file would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return str(value)


MAX_COLUMNS = 200
"""Widest header row read (a table has about 30 columns)."""
MAX_SHEET_ISSUES = 20
"""A sheet's problems listed before reading stops (a stray far-right cell repeats)."""


def _filled(cells: tuple[Any, ...]) -> bool:
    """Whether any cell holds a value (the count of empty cells is done in C: fast on a row
    padded to 16,384 columns)."""
    return cells.count(None) < len(cells) and any(_text(v) for v in cells if v is not None)


def _read_sheet(sheet: Any, where: str) -> pd.DataFrame | list[DataIssue]:
    """Rows of a sheet as strings, indexed by spreadsheet row number (index name ``line``).

    Rows are streamed and cut to the header's width, so a sheet with cells far to the right
    or far down (a few bytes of XML each) costs no more memory than its named columns."""
    sheet.reset_dimensions()  # do not trust the stored size; read every row
    rows = iter(sheet.iter_rows(values_only=True))
    first = next(rows, ())
    if _filled(first[MAX_COLUMNS:]):
        problem = f"more than {MAX_COLUMNS} columns"
        return [DataIssue(where, 1, None, problem, "the table's columns")]
    header = [_text(v) for v in first]
    if not any(header):
        return [DataIssue(where, 1, None, "the header row is empty", "column names in row 1")]
    while header and header[-1] == "":
        header.pop()
    issues = []
    for j, name in enumerate(header, start=1):
        if name == "" or name in header[: j - 1]:
            problem = (
                f"column {get_column_letter(j)} has no name"
                if name == ""
                else f"column '{name}' appears twice"
            )
            issues.append(DataIssue(where, 1, name or None, problem, "one name per column"))
    width = len(header)
    lines, records = [], []
    for line, row in enumerate(rows, start=2):
        if _filled(row[width:]):
            issues.append(DataIssue(where, line, None, "value outside the named columns"))
            if len(issues) >= MAX_SHEET_ISSUES:
                break
        record = [_text(v) for v in row[:width]]
        if any(record):  # blank rows are skipped; row numbers stay the spreadsheet's
            lines.append(line)
            records.append(record + [""] * (width - len(record)))
    if issues:
        return issues
    frame = pd.DataFrame(records, columns=header, dtype=str)
    frame.index = pd.Index(lines, name="line")
    return frame


def _read_meta(frame: pd.DataFrame, where: str) -> DatasetMeta | list[DataIssue]:
    if list(frame.columns) != ["key", "value"]:
        return [DataIssue(where, 1, None, "expected the columns key, value", "key, value")]
    keys = [k.strip() for k in frame["key"]]
    rows = dict(zip(keys, frame.index, strict=True))
    try:
        return DatasetMeta.model_validate(dict(zip(keys, frame["value"], strict=True)))
    except pydantic.ValidationError as e:
        fields = ", ".join(DatasetMeta.model_fields)
        issues = []
        for err in e.errors():
            key = str(err["loc"][0]) if err["loc"] else None
            issues.append(DataIssue(where, rows.get(key or ""), key, err["msg"], fields))
        return issues


def _renamed(issues: list[DataIssue], book: str) -> list[DataIssue]:
    """Name the sheet instead of the CSV file in validation issues."""
    names = {t.filename: name for name, t in TABLES.items()}
    return [
        DataIssue(f"{book} sheet '{names[i.file]}'", i.row, i.field, i.message, i.allowed)
        if i.file in names
        else i
        for i in issues
    ]


MAX_UNPACKED_BYTES = 32 * 1024**2
"""Largest total unpacked size of a workbook's parts (the bundled dataset's is about 0.5 MB;
openpyxl needs up to ten times the unpacked size in memory)."""


def _check_unpacked_size(path: Path) -> None:
    """Refuse a workbook that unpacks to more than :data:`MAX_UNPACKED_BYTES` (a "zip bomb"),
    from the sizes its zip directory declares, before anything is decompressed. zipfile never
    decompresses past a declared size, so a part that lies about its size cannot get round it."""
    try:
        with zipfile.ZipFile(path) as archive:
            size = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a readable zip: openpyxl's own error names the problem
    if size > MAX_UNPACKED_BYTES:
        message = (
            f"the workbook unpacks to {size / 1024**2:,.0f} MiB, more than the "
            f"{MAX_UNPACKED_BYTES / 1024**2:,.0f} MiB allowed; is it really a dataset?"
        )
        raise InputFileError([DataIssue(path.name, None, None, message)])


def read_workbook(path: Path | str) -> tuple[DatasetMeta, dict[str, pd.DataFrame]]:
    """Read a workbook into metadata and raw string tables (rows indexed by sheet row).

    Raises :class:`DatasetError` for unknown or missing sheets and unreadable contents;
    the tables themselves are not validated here (see :func:`load_workbook`).
    """
    path = Path(path)
    _check_unpacked_size(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        msg = f"cannot read as an Excel workbook (.xlsx): {e}".splitlines()[0]
        raise InputFileError([DataIssue(path.name, None, None, msg)]) from None
    expected = [README, META, *TABLES]
    issues = [
        DataIssue(path.name, None, None, f"unknown sheet '{s}'", ", ".join(expected))
        for s in book.sheetnames
        if s not in expected
    ]
    issues += [
        DataIssue(path.name, None, None, f"sheet '{s}' is missing", ", ".join(expected[1:]))
        for s in expected[1:]
        if s not in book.sheetnames
    ]
    raw: dict[str, pd.DataFrame] = {}
    meta: DatasetMeta | list[DataIssue] = []
    for name in expected[1:]:
        if name not in book.sheetnames:
            continue
        where = f"{path.name} sheet '{name}'"
        frame = _read_sheet(book[name], where)
        if isinstance(frame, list):
            issues += frame
        elif name == META:
            meta = _read_meta(frame, where)
        else:
            raw[name] = frame
    book.close()
    if isinstance(meta, list):
        issues += meta
    if issues:
        raise DatasetError(issues)
    assert isinstance(meta, DatasetMeta)
    return meta, raw


def load_workbook(path: Path | str) -> tuple[Dataset, dict[str, pd.DataFrame]]:
    """Read and validate a workbook: the dataset and the raw string tables as entered."""
    path = Path(path)
    meta, raw = read_workbook(path)
    try:
        tables = validate_tables(raw)
    except DatasetError as e:
        raise DatasetError(_renamed(e.issues, path.name)) from None
    origin = {name: f"{path}:{name}" for name in TABLES}
    return Dataset(meta=meta, tables=tables, origin=origin), raw


def _write_folder(folder: Path, meta: DatasetMeta, raw: dict[str, pd.DataFrame]) -> None:
    text = yaml.safe_dump(meta.model_dump(), sort_keys=False, allow_unicode=True)
    (folder / "dataset.yaml").write_text(text, encoding="utf-8")
    for name, table in TABLES.items():
        columns = list(table.columns)
        frame = raw[name].reindex(columns=columns, fill_value="")
        with (folder / table.filename).open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows(frame.itertuples(index=False))


def import_workbook(path: Path | str, folder: Path | str, force: bool = False) -> Dataset:
    """Validate a workbook and write it as a dataset folder (CSV files + ``dataset.yaml``).

    Nothing is written unless the whole workbook is valid. The files are written to a
    temporary folder first, then moved into ``folder``. A non-empty ``folder`` is refused
    unless ``force``; then its dataset files are replaced and other files left alone.
    """
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise ValueError(f"'{target}' exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise ValueError(f"folder '{target}' is not empty; use --force to replace its dataset")
    dataset, raw = load_workbook(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        _write_folder(staging, dataset.meta, raw)
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()
        if not target.exists():
            staging.rename(target)
        else:
            for file in staging.iterdir():
                os.replace(file, target / file.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dataset
