"""The one table renderer of every command (terminal) and of the report (HTML).

Cells are formatted by :mod:`materiel.reporting.numbers` (quantities with units, money in
EUR, shares as percentages, calendar months). In a terminal a table never cuts a number or
drops a column: text columns wrap at word boundaries, numbers never wrap, and a table whose
narrowest layout does not fit the console switches to a long layout (one block per row).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from materiel.reporting import numbers

SHARE_HINTS = ("share", "coverage", "covered")
"""Columns whose name contains one of these, or starts with ``p_``, hold 0-1 shares or
probabilities (shown as percentages)."""
FOLD = 16
"""Text words longer than this may fold across lines (except in the first column)."""
UNIT_COLUMNS = ("unit", "input_unit")
"""Columns naming the unit of a row's quantities."""


def is_share(column: str) -> bool:
    """Whether ``column`` holds a 0-1 share or probability."""
    shares = column.startswith("p_") or any(h in column for h in SHARE_HINTS)
    return shares and not column.endswith("_eur")


def column_kind(frame: pd.DataFrame, column: str) -> str:
    """How :func:`format_frame` shows ``column``: bool, month, share, money, ratio, int,
    quantity (numbers in the row's unit) or text."""
    values = frame[column]
    if pd.api.types.is_bool_dtype(values):
        return "bool"
    if not pd.api.types.is_numeric_dtype(values):
        return "text"
    if column == "month" or column.endswith("_month_index"):
        return "month"
    if is_share(column):
        return "share"
    if column.endswith("_eur") or "eur_per" in column or column.startswith("eur_"):
        return "money"
    if "ratio" in column:
        return "ratio"
    if pd.api.types.is_integer_dtype(values) or column in ("rank", "year") or "month" in column:
        return "int"
    return "quantity"


def format_frame(
    frame: pd.DataFrame,
    max_rows: int | None = None,
    start: str | None = None,
    units: pd.Series | None = None,
    kinds: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Strings for display: quantities compact with the row's unit (``1.88 M rounds``),
    money as ``EUR 2.4 bn``, shares as percentages, month indices as calendar months (from
    ``start``, ``YYYY-MM``), booleans as yes/blank; at most ``max_rows`` rows. The unit of
    each row is ``units`` or the frame's unit column. ``kinds`` overrides
    :func:`column_kind` per column; ``quantity:<unit>`` gives a fixed unit (``months``)."""
    shown = frame if max_rows is None else frame.head(max_rows)
    if units is None:
        units = row_units(frame)
    if units is not None:
        units = units.reindex(shown.index).astype(object).fillna("").astype(str)
    out = pd.DataFrame(index=shown.index)
    for col in shown.columns:
        kind = (kinds or {}).get(col) or column_kind(shown, col)
        values = shown[col]
        if kind.startswith("quantity:"):
            out[col] = numbers.column(values, "quantity", kind.split(":", 1)[1])
        elif kind == "bool":
            out[col] = np.where(values.fillna(False).astype(bool), "yes", "")
        elif kind == "month" and start:
            out[col] = ["" if pd.isna(v) else numbers.month_label(start, int(v)) for v in values]
        elif kind == "month":
            out[col] = numbers.column(values, "int")
        elif kind == "quantity":
            out[col] = numbers.column(values, "quantity", units)
        else:
            out[col] = numbers.column(values, kind)
    return out


def row_units(frame: pd.DataFrame) -> pd.Series | None:
    """The unit of each row (from its ``unit`` or ``input_unit`` column), if any."""
    unit_col = next((c for c in UNIT_COLUMNS if c in frame.columns), None)
    return frame[unit_col] if unit_col else None


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe records: NaN and infinities become null."""
    clean = frame.replace([np.inf, -np.inf], None)
    return list(json.loads(clean.to_json(orient="records", double_precision=10)))


def _headers(frame: pd.DataFrame, headers: dict[str, str] | None) -> dict[str, str]:
    if headers is None:
        return {c: c.replace("_", " ") for c in frame.columns}
    return {c: h for c, h in headers.items() if c in frame.columns}


def table_html(
    frame: pd.DataFrame,
    max_rows: int | None = None,
    headers: dict[str, str] | None = None,
    start: str | None = None,
    kinds: dict[str, str] | None = None,
) -> str:
    """An HTML table of :func:`format_frame`'s strings with ``headers`` (column -> words;
    default: the column names with spaces): numbers right-aligned (class ``num``), text
    left-aligned; everything escaped."""
    names = _headers(frame, headers)
    narrow = frame[list(names)]
    shown = format_frame(narrow, max_rows, start, row_units(frame), kinds)
    numeric = [column_kind(narrow, c) not in ("text", "bool") for c in narrow.columns]
    cls = [' class="num"' if n else "" for n in numeric]
    head = "".join(
        f"<th{k}>{html.escape(names[c])}</th>" for c, k in zip(narrow.columns, cls, strict=True)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td{k}>{html.escape(v)}</td>" for v, k in zip(row, cls, strict=True))
        + "</tr>"
        for row in shown.itertuples(index=False)
    )
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _longest_word(text: str) -> int:
    return max((cell_len(w) for w in text.split()), default=0)


def _number_width(text: str) -> int:
    """Narrowest width of a number cell: the number (with its currency and scale word) stays
    on one line; only a trailing unit may wrap onto the next (``1.88 M`` / ``rounds``)."""
    words = text.split()
    head = 1
    if words and words[0] in numbers.CURRENCIES:
        head += 1
    if len(words) > head and words[head] in {w for _, w in numbers.SCALES}:
        head += 1
    if len(words) > head and words[0] not in numbers.CURRENCIES and words[head][0].isalpha():
        return max(cell_len(" ".join(words[:head])), _longest_word(" ".join(words[head:])))
    return cell_len(text)


@dataclass
class FittedTable:
    """A table that fits any console width without losing a character.

    Columns get at least their header's width (headers never wrap) and their longest word
    (numbers never wrap); spare width goes to the columns that want more. If even that does
    not fit, each row is printed as a block of ``header: value`` lines (the long layout).
    """

    title: str
    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    note: str = ""
    layout: str = field(default="auto")
    """``auto`` (a table if it fits, else long), ``table`` or ``long``."""
    fold_first: bool = False
    """Let long words of the first column fold too (e.g. long ids in a listing)."""

    def widths(self) -> tuple[list[int], list[int]]:
        """Minimum and maximum content width of each column (characters)."""
        lows, highs = [], []
        for j, header in enumerate(self.headers):
            cells = [r[j] for r in self.rows]
            widest = max((cell_len(c) for c in cells), default=0)
            narrowest = _number_width if self.numeric[j] else _longest_word
            word = max(map(narrowest, cells), default=0)
            if (j > 0 or self.fold_first) and not self.numeric[j]:
                word = min(word, FOLD)  # a longer word of text folds; a number never does
            lows.append(max(cell_len(header), word, 1))
            highs.append(max(cell_len(header), widest, 1))
        return lows, highs

    def fits(self, width: int) -> bool:
        """Whether the narrowest table layout fits ``width`` characters."""
        return sum(self.widths()[0]) + self.overhead <= width

    @property
    def overhead(self) -> int:
        """Characters between columns: a separator and one space of padding."""
        return 2 * (len(self.headers) - 1)

    def table(self, width: int) -> Table:
        """The table, its column widths set so that it fits ``width`` when it can."""
        lows, highs = self.widths()
        spare = width - (sum(lows) + self.overhead)
        sizes = list(lows)
        # numbers first (cheapest first: a unit back on its number's line), then text
        order = sorted(
            (j for j in range(len(sizes)) if self.numeric[j]), key=lambda j: highs[j] - lows[j]
        )
        for j in order:
            grant = min(spare, highs[j] - sizes[j])
            if grant == highs[j] - sizes[j]:
                sizes[j] += grant
                spare -= grant
        if self.fold_first and not self.numeric[0]:  # a folded key gets up to a third
            grant = max(0, min(spare, highs[0] - sizes[0], width // 3 - sizes[0]))
            sizes[0] += grant
            spare -= grant
        while spare > 0 and any(s < h for s, h in zip(sizes, highs, strict=True)):
            for j in range(len(sizes)):
                if spare > 0 and sizes[j] < highs[j] and not self.numeric[j]:
                    sizes[j] += 1
                    spare -= 1
            if all(self.numeric[j] or sizes[j] >= highs[j] for j in range(len(sizes))):
                break
        table = Table(
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            collapse_padding=True,
            padding=(0, 1),
        )
        for header, size, numeric in zip(self.headers, sizes, self.numeric, strict=True):
            table.add_column(
                Text(header),
                justify="right" if numeric else "left",
                width=size,
                overflow="fold",
            )
        for row in self.rows:
            table.add_row(*(Text(c) for c in row))
        return table

    def long(self, width: int) -> Iterator[Any]:
        """Each row as a block: the first cell in bold, then ``header: value`` lines."""
        yield Text(self.title, style="italic")
        label = max(cell_len(h) for h in self.headers[1:]) if len(self.headers) > 1 else 0
        for row in self.rows:
            yield Text(f"{self.headers[0]}: {row[0]}", style="bold", overflow="fold")
            grid = Table.grid(padding=(0, 1), expand=False)
            grid.add_column(width=min(label + 1, max(width // 2, 8)), overflow="fold")
            grid.add_column(overflow="fold")
            for header, cell in zip(self.headers[1:], row[1:], strict=True):
                grid.add_row(Text(f"{header}:", style="dim"), Text(cell))
            yield grid

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        long = self.layout == "long" or (self.layout == "auto" and not self.fits(width))
        if long:
            yield from self.long(width)
        else:
            yield Text(self.title, style="italic")
            yield self.table(width)
        if self.note:
            yield Text(self.note, style="dim")


def fitted(
    frame: pd.DataFrame,
    title: str,
    max_rows: int | None = None,
    headers: dict[str, str] | None = None,
    start: str | None = None,
    note: str = "",
    kinds: dict[str, str] | None = None,
    fold_first: bool = False,
) -> FittedTable:
    """A :class:`FittedTable` of ``frame``: the columns of ``headers`` (column -> header;
    default: every column) formatted by :func:`format_frame`; a note says how many rows of
    how many are shown."""
    names = _headers(frame, headers)
    narrow = frame[list(names)]
    shown = format_frame(narrow, max_rows, start, row_units(frame), kinds)
    numeric = [column_kind(narrow, c) not in ("text", "bool") for c in narrow.columns]
    if max_rows is not None and len(frame) > max_rows:
        extra = f"{max_rows} of {len(frame)} rows shown; --csv FILE writes them all."
        note = f"{note} {extra}".strip()
    rows = [list(map(str, r)) for r in shown.itertuples(index=False)]
    return FittedTable(title, list(names.values()), rows, numeric, note, fold_first=fold_first)


def rich_table(
    frame: pd.DataFrame,
    title: str,
    max_rows: int | None = None,
    headers: dict[str, str] | None = None,
    start: str | None = None,
) -> FittedTable:
    """The renderable every command prints (see :func:`fitted`)."""
    return fitted(frame, title, max_rows, headers, start)


def from_cells(
    title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool]
) -> FittedTable:
    """A :class:`FittedTable` of cells already formatted (by :mod:`numbers`)."""
    return FittedTable(title, list(headers), [list(r) for r in rows], list(numeric))
