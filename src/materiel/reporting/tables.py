"""Human-readable formatting of analysis tables (terminal and HTML)."""

from __future__ import annotations

import html
import json
import math
from typing import Any

import numpy as np
import pandas as pd

SHARE_HINTS = ("share", "coverage", "covered")
"""Columns whose name contains one of these, or starts with ``p_``, hold 0-1 shares or
probabilities (shown as percentages)."""


def compact(x: float) -> str:
    """Compact number: 3.53M, 281k, 12.5, 0.42; inf and NaN as text."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    for size, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"{x / size:.3g}{suffix}"
    return f"{x:.3g}"


def is_share(column: str) -> bool:
    shares = column.startswith("p_") or any(h in column for h in SHARE_HINTS)
    return shares and not column.endswith("_eur")


def format_frame(frame: pd.DataFrame, max_rows: int | None = None) -> pd.DataFrame:
    """Strings for display: shares as percentages, other numbers compact, booleans as
    yes/blank; at most ``max_rows`` rows."""
    shown = frame if max_rows is None else frame.head(max_rows)
    out = pd.DataFrame(index=shown.index)
    for col in shown.columns:
        values = shown[col]
        if pd.api.types.is_bool_dtype(values):
            out[col] = np.where(values, "yes", "")
        elif pd.api.types.is_integer_dtype(values) and "month" in col:
            out[col] = values.astype(str)
        elif pd.api.types.is_numeric_dtype(values):
            if is_share(col):
                out[col] = [
                    "" if pd.isna(v) else ("∞" if np.isinf(v) else f"{v:.1%}") for v in values
                ]
            else:
                out[col] = [compact(float(v)) for v in values]
        else:
            out[col] = values.fillna("").astype(str)
    return out


def table_html(frame: pd.DataFrame, max_rows: int | None = None) -> str:
    """An HTML table of :func:`format_frame`'s strings: numbers right-aligned (class
    ``num``), text left-aligned; everything escaped."""
    shown = format_frame(frame, max_rows)
    numeric = [
        pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        for c in frame.columns
    ]
    cls = [' class="num"' if n else "" for n in numeric]
    head = "".join(
        f"<th{k}>{html.escape(str(c))}</th>" for c, k in zip(frame.columns, cls, strict=True)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td{k}>{html.escape(v)}</td>" for v, k in zip(row, cls, strict=True))
        + "</tr>"
        for row in shown.itertuples(index=False)
    )
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe records: NaN and infinities become null."""
    clean = frame.replace([np.inf, -np.inf], None)
    return list(json.loads(clean.to_json(orient="records", double_precision=10)))


def rich_table(
    frame: pd.DataFrame, title: str, max_rows: int, headers: dict[str, str] | None = None
) -> Any:
    """A rich Table of ``frame`` (only the columns of ``headers``, renamed), numbers compact
    and right-aligned, the first column never wrapped."""
    from rich.table import Table

    headers = headers or {c: c for c in frame.columns}
    narrow = frame[list(headers)]
    table = Table(title=title, title_justify="left")
    for k, col in enumerate(narrow.columns):
        if narrow[col].dtype.kind in "fiu":
            table.add_column(headers[col], justify="right", min_width=7)
        elif k == 0:
            table.add_column(headers[col], no_wrap=True)
        else:
            table.add_column(headers[col], max_width=24, overflow="ellipsis", no_wrap=True)
    for values in format_frame(narrow, max_rows).itertuples(index=False):
        table.add_row(*values)
    return table
