"""Outputs: the self-contained HTML report (:mod:`materiel.reporting.report`), interactive and
static plots, the one table renderer and number formatter of every command, Excel result
workbooks.

Importing this package is light (``materiel --help`` loads no pandas or Plotly): the report's
names load on first use.

>>> from materiel.reporting import build_report, render_html  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from materiel.reporting.report import (
        MAX_ROWS,
        REPORT_ORDER,
        Report,
        Section,
        build_report,
        render_html,
        sources_used,
        view_html,
    )

__all__ = [
    "MAX_ROWS",
    "REPORT_ORDER",
    "Report",
    "Section",
    "build_report",
    "render_html",
    "sources_used",
    "view_html",
]


def __getattr__(name: str) -> Any:
    """The report's names, imported from :mod:`materiel.reporting.report` when first used."""
    if name in __all__:
        return getattr(import_module("materiel.reporting.report"), name)
    raise AttributeError(f"module 'materiel.reporting' has no attribute {name!r}")
