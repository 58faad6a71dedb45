"""A self-contained HTML report of every analysis for one scenario (plots embedded, Plotly
inline, no network needed), plus static matplotlib plots for papers.

>>> report = build_report(model, load_scenario("imposed-deal"), draws=200)  # doctest: +SKIP
>>> html = render_html(report)                                               # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from materiel import __version__
from materiel.model.compiled import Model
from materiel.reporting.tables import table_html
from materiel.scenario import Scenario

if TYPE_CHECKING:  # the registry imports the plots of this package
    from materiel.analysis.registry import AnalysisSpec

__all__ = ["Report", "Section", "build_report", "render_html", "sources_used"]

REPORT_ORDER = (
    "gap",
    "outlook",
    "chokepoints",
    "dependencies",
    "coordination",
    "deterrence",
    "sead",
    "efficiency",
)
MAX_ROWS = 40
"""Rows of each table shown in the report (the full tables go to CSV from the CLI)."""


@dataclass
class Section:
    """One analysis in the report: its table, or the error that stopped it."""

    spec: AnalysisSpec
    table: pd.DataFrame | None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class Report:
    """Every analysis of one scenario: one :class:`Section` per analysis, with run metadata."""

    model: Model
    scenario: Scenario
    draws: int
    seed: int
    sections: list[Section]
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def metadata(self) -> dict[str, Any]:
        """Run metadata: package, dataset, scenario, seed, draws, date."""
        meta = self.model.dataset.meta
        return {
            "package_version": __version__,
            "dataset": meta.name,
            "dataset_version": meta.version,
            "dataset_digest": self.model.dataset.digest,
            "dataset_start": meta.start,
            "scenario": self.scenario.name,
            "scenario_months": self.scenario.months,
            "seed": self.seed,
            "draws": self.draws,
            "created_utc": self.created,
            "python": platform.python_version(),
        }


def sources_used(model: Model) -> pd.DataFrame:
    """The sources cited by the dataset's figures (source, url, date, status, title) with the
    number of figures citing each, most cited first."""
    tables = model.dataset.tables
    cited = pd.concat(
        [
            frame[col].astype(str)
            for name, frame in tables.items()
            if name != "sources"
            for col in frame.columns
            if col.endswith("_source")
        ]
        or [pd.Series([], dtype=str)]
    )
    counts = cited[cited != ""].value_counts().rename("figures")
    sources = tables["sources"].set_index("source")
    used = sources.join(counts, how="inner").sort_values("figures", ascending=False)
    return used.reset_index()[["source", "url", "date", "status", "title", "figures"]]


def build_report(
    model: Model,
    scenario: Scenario,
    *,
    draws: int = 200,
    seed: int = 0,
    analyses: Sequence[str] = REPORT_ORDER,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Run each analysis on ``scenario`` (``draws`` for the Monte Carlo ones). An analysis
    that fails on bad input (ValueError) or in the solver is reported, not raised."""
    import time

    from materiel.analysis.registry import REGISTRY
    from materiel.optimize import PlanError

    unknown = sorted(set(analyses) - set(REGISTRY))
    if unknown:
        raise ValueError(f"unknown analyses: {', '.join(unknown)}")
    sections = []
    for name in analyses:
        spec = REGISTRY[name]
        if progress is not None:
            progress(name)
        start = time.perf_counter()
        n = draws if spec.stochastic else 1
        try:
            table = spec.run(model, scenario, draws=n, seed=seed)
            sections.append(Section(spec, table, seconds=time.perf_counter() - start))
        except (ValueError, PlanError) as e:
            sections.append(Section(spec, None, str(e), time.perf_counter() - start))
    return Report(model, scenario, draws, seed, sections)


def _method(spec: AnalysisSpec) -> str:
    """The function's docstring without its first line, as the section's method note."""
    doc = inspect.getdoc(spec.function) or ""
    return doc.split("\n", 1)[1].strip() if "\n" in doc else ""


def render_html(report: Report) -> str:
    """The report as one HTML document with Plotly's JavaScript inline (works offline)."""
    import jinja2
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("materiel.reporting", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    sections = []
    for k, s in enumerate(report.sections):
        item: dict[str, Any] = {
            "name": s.spec.name,
            "title": s.spec.title,
            "question": s.spec.question,
            "method": _method(s.spec),
            "error": s.error,
            "seconds": s.seconds,
        }
        if s.table is not None:
            figure = s.spec.figure(s.table)
            item["plot"] = pio.to_html(
                figure,
                full_html=False,
                include_plotlyjs=False,
                div_id=f"plot-{k}-{s.spec.name}",
                config={"displaylogo": False, "responsive": True},
            )
            condensed = s.spec.condensed(s.table)
            item["rows"] = len(condensed)
            item["table"] = table_html(condensed, MAX_ROWS)
        sections.append(item)
    sources = sources_used(report.model)
    return env.get_template("report.html.j2").render(
        plotly_js=get_plotlyjs(),
        scenario=report.scenario,
        events=[e.model_dump() for e in report.scenario.events],
        metadata=report.metadata(),
        sections=sections,
        sources=sources.to_dict(orient="records"),
        max_rows=MAX_ROWS,
    )
