"""Formatted Excel workbooks of result tables (``simulate --xlsx``, ``plan --xlsx``, the web
export): bold filled header, fitted column widths, frozen header row and key column, and
number formats by column kind (shares as percentages, money in EUR, quantities with
thousands separators). Values stay raw numbers, so the sheets compute."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from materiel.reporting.tables import column_kind

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="37474F")
FORMATS = {
    "share": "0.0%",
    "money": '#,##0 "EUR"',
    "quantity": "#,##0.##",
    "ratio": "0.00",
    "int": "0",
    "month": "0",
}
"""Excel number format by :func:`materiel.reporting.tables.column_kind`."""
MAX_WIDTH = 50
SHEET_NAME = 31
"""Excel's longest sheet name."""


def format_sheet(sheet: Worksheet, frame: pd.DataFrame, key_columns: int = 1) -> None:
    """Style a sheet holding ``frame`` from A1 (header in row 1): header style, widths,
    frozen panes below the header and right of the first ``key_columns`` columns, number
    formats, an auto-filter."""
    for j, column in enumerate(frame.columns, start=1):
        cell = sheet.cell(row=1, column=j)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        kind = column_kind(frame, column)
        fmt = FORMATS.get(kind)
        if fmt is not None:
            for (row,) in sheet.iter_rows(min_row=2, max_row=len(frame) + 1, min_col=j, max_col=j):
                row.number_format = fmt
        values = frame[column].astype(str).str.len()
        width = max(len(str(column)), int(values.max()) if len(values) else 0)
        if kind in FORMATS:
            width = max(len(str(column)), 12)
        sheet.column_dimensions[get_column_letter(j)].width = min(width + 2, MAX_WIDTH)
    sheet.freeze_panes = f"{get_column_letter(min(key_columns, len(frame.columns)) + 1)}2"
    if len(frame.columns):
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{len(frame) + 1}"


def _cell(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_tables(path: Path | str, sheets: dict[str, pd.DataFrame]) -> Path:
    """Write each table to a formatted sheet of a new workbook at ``path`` (replaced
    atomically); infinities and NaN are empty cells."""
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise ValueError(f"the workbook must end in .xlsx, got '{target.name}'")
    book = Workbook()
    book.remove(book.active)
    for name, frame in sheets.items():
        sheet = book.create_sheet(name[:SHEET_NAME])
        sheet.append([str(c) for c in frame.columns])
        for record in frame.itertuples(index=False):
            sheet.append([_cell(v) for v in record])
        text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
        key = 1
        while key < len(frame.columns) and frame.columns[key] in text[:3]:
            key += 1
        format_sheet(sheet, frame, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=target.parent)
    os.close(fd)
    try:
        book.save(tmp)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target
