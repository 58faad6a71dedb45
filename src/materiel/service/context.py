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
from materiel.reporting import numbers
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


def _number(value: Any) -> float | None:
    """A table cell as a number; None if blank, not a number or NaN."""
    if value is None or value == "":
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if v != v else v


def _eur(value: Any) -> str:
    """Money with the package's one formatter: EUR 1.2 bn / EUR 340 M."""
    v = _number(value)
    return "–" if v is None else numbers.money(v)


def _num(value: Any, digits: int = 0) -> str:
    """A plain number with the package's formatter (k/M/bn); text stays as it is."""
    v = _number(value)
    if v is None:
        return "–" if value is None or value == "" else str(value)
    if digits == 0 and abs(v) < 10 and v != int(v):
        return numbers.ratio(v)
    return numbers.compact(v)


def _qty(value: Any, unit: str = "") -> str:
    """A quantity with its unit (``1.25 M rounds``), as the terminal prints it."""
    v = _number(value)
    if v is None:
        return "–" if value is None or value == "" else str(value)
    return numbers.quantity(v, unit)


def _pct(value: Any) -> str:
    v = _number(value)
    return "–" if v is None else numbers.share(v, 0)


def _when(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.filters.update(eur=_eur, num=_num, pct=_pct, qty=_qty, when=_when)
    env.globals["version"] = __version__
    return templates
