"""The one number formatter of every output: terminal tables, the HTML report and the web.

Quantities are compact with a scale word and their unit (``1.88 M rounds``, ``281 k t``),
money leads with its currency (``EUR 2.4 bn``), shares are percentages (``42%``) and months
are calendar months (``2027-03``).

>>> quantity(1_880_000, "round")
'1.88 M rounds'
>>> money(2.4e9)
'EUR 2.4 bn'
>>> share(0.4213)
'42.1%'
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

SCALES = ((1e12, "tn"), (1e9, "bn"), (1e6, "M"), (1e3, "k"))
"""Scale words, largest first: tn = 10^12, bn = 10^9, M = 10^6, k = 10^3."""
CURRENCIES = ("EUR", "USD")
PLURAL_EXEMPT = frozenset({"t", "kg", "g", "l", "m", "km", "EUR", "USD", "%", "", "unit/month"})
"""Units written the same in the plural (symbols, currencies)."""


def _missing(x: object) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def compact(x: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant digits and a scale word: ``3.53 M``, ``281 k``,
    ``12.5``, ``0.42``; infinities as ``∞``; NaN and None as an empty string."""
    if _missing(x):
        return ""
    assert x is not None
    value = float(x)
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    for size, word in SCALES:
        if abs(value) >= size * (1 - 0.5 * 10.0 ** (1 - digits)):
            return f"{value / size:.{digits}g} {word}"
    if value != 0 and abs(value) < 10.0 ** -(digits + 1):
        return f"{value:.{digits}g}"
    if float(f"{value:.{digits}g}") == 0:
        return "0"
    return f"{value:.{digits}g}"


def plural(unit: str, value: float = 2.0) -> str:
    """``round`` -> ``rounds`` (for a quantity other than 1); symbols and per-units keep
    their form (``t``, ``EUR``, ``round/month``)."""
    if not unit or unit in PLURAL_EXEMPT or "/" in unit or unit.endswith("s") or value == 1:
        return unit
    return f"{unit}s"


def quantity(x: float | None, unit: str = "", digits: int = 3) -> str:
    """A quantity with its unit: ``1.88 M rounds``; money units put the currency first."""
    if unit in CURRENCIES:
        return money(x, unit, digits)
    text = compact(x, digits)
    if not text or not unit:
        return text
    return f"{text} {plural(unit, float(x) if x is not None else 2.0)}"


def money(x: float | None, currency: str = "EUR", digits: int = 3) -> str:
    """An amount of money: ``EUR 2.4 bn``, ``EUR 650 k``."""
    text = compact(x, digits)
    return f"{currency} {text}" if text else ""


def share(x: float | None, decimals: int = 1) -> str:
    """A 0-1 share or probability as a percentage: ``42.1%``; ``∞`` and blank kept."""
    if _missing(x):
        return ""
    assert x is not None
    value = float(x)
    if math.isinf(value):
        return "∞"
    return f"{value:.{decimals}%}"


def ratio(x: float | None) -> str:
    """A ratio (e.g. a fire ratio): two decimals below 10, else compact."""
    if _missing(x):
        return ""
    assert x is not None
    return f"{float(x):.2f}" if abs(float(x)) < 10 else compact(x)


def month_label(start: str, index: int) -> str:
    """Month ``index`` (0 = ``start``, a ``YYYY-MM`` text) as a calendar month ``YYYY-MM``."""
    year, month = (int(p) for p in start[:7].split("-"))
    total = year * 12 + month - 1 + int(index)
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def month_index(text: str, start: str, name: str = "month") -> int:
    """A month given as ``YYYY-MM`` (a calendar month) or an index (``0`` = ``start``) as an
    index from ``start``; ValueError naming ``name`` if it is neither or before ``start``."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    parts = text.split("-")
    if len(parts) == 2 and all(p.isdigit() for p in parts) and 1 <= int(parts[1]) <= 12:
        year, month = int(parts[0]), int(parts[1])
        y0, m0 = (int(p) for p in start[:7].split("-"))
        index = (year - y0) * 12 + month - m0
        if index < 0:
            raise ValueError(f"{name} {text} is before the dataset's start ({start[:7]})")
        return index
    raise ValueError(f"{name} must be a calendar month YYYY-MM or a month index >= 0, got '{text}'")


def month_labels(start: str, indices: Iterable[int]) -> list[str]:
    """:func:`month_label` of every index."""
    return [month_label(start, int(i)) for i in indices]


def column(values: pd.Series, kind: str, unit: str | pd.Series | None = None) -> list[str]:
    """Format a whole column: ``kind`` is ``quantity`` (with ``unit``, one per row or one for
    all), ``money``, ``share``, ``ratio``, ``number``, ``int`` or ``text``."""
    units = (
        list(unit)
        if isinstance(unit, pd.Series | np.ndarray | list)
        else [unit or ""] * len(values)
    )
    out = []
    for value, u in zip(values, units, strict=True):
        if kind == "quantity":
            out.append(quantity(value, str(u)))
        elif kind == "money":
            out.append(money(value))
        elif kind == "share":
            out.append(share(value))
        elif kind == "ratio":
            out.append(ratio(value))
        elif kind == "int":
            out.append(compact(value) if _missing(value) or math.isinf(value) else f"{int(value)}")
        elif kind == "number":
            out.append(compact(value))
        else:
            out.append("" if _missing(value) else str(value))
    return out
