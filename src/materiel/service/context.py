"""What every request handler shares: settings, store, dataset, runner and templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from materiel import __version__
from materiel.service.data import DataService
from materiel.service.runner import Runner
from materiel.service.settings import Settings
from materiel.store.db import Store

HERE = Path(str(resources.files("materiel") / "service"))


@dataclass
class Context:
    settings: Settings
    store: Store
    data: DataService
    runner: Runner
    templates: Jinja2Templates


def get_ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def _eur(value: Any) -> str:
    """EUR 1.2 bn / 340 m / 12,000 for tables."""
    if value is None:
        return "–"
    v = float(value)
    if abs(v) >= 1e9:
        return f"€{v / 1e9:,.2f} bn"
    if abs(v) >= 1e6:
        return f"€{v / 1e6:,.1f} m"
    return f"€{v:,.0f}"


def _num(value: Any, digits: int = 0) -> str:
    if value is None or value == "":
        return "–"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if v != v:  # NaN
        return "–"
    if digits == 0 and abs(v) < 10 and v != int(v):
        return f"{v:.2f}"
    return f"{v:,.{digits}f}"


def _qty(value: Any, unit: str = "") -> str:
    """A quantity in k/M/bn with its unit: 1.25M round, 340k t, 12.5 round.

    NOTE (merge): the branch ``outputs`` adds the one number formatter of the package,
    ``materiel.reporting.numbers``; once merged, make this filter call it so the web and the
    terminal print numbers alike (templates use ``|qty(unit)`` and need no change)."""
    if value is None or value == "":
        return "–"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if v != v:  # NaN
        return "–"
    for size, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= size:
            text = f"{v / size:.3g}{suffix}"
            break
    else:
        text = f"{v:.3g}"
    return f"{text} {unit}".strip()


def _pct(value: Any) -> str:
    return "–" if value is None else f"{float(value):.0%}"


def _when(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.filters.update(eur=_eur, num=_num, pct=_pct, qty=_qty, when=_when)
    env.globals["version"] = __version__
    return templates
