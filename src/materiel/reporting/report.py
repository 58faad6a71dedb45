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
from materiel.reporting.overview import PlanSection, SimulationSection
from materiel.reporting.tables import table_html
from materiel.scenario import Scenario

if TYPE_CHECKING:  # the registry imports the plots of this package
    from materiel.analysis.registry import AnalysisSpec

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
    simulation: SimulationSection | None = None
    """The Monte Carlo shortfall section (None: not run)."""
    plan: PlanSection | None = None
    """The optimiser's plan section (None: not run)."""

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
    simulation: bool = True,
    plan: bool = True,
) -> Report:
    """Simulate ``scenario`` (``draws``), optimise a plan for it and run each analysis
    (``draws`` for the Monte Carlo ones). A section that fails (bad input, the solver, or a
    bug in one analysis) is reported in its section, not raised: the rest of the report is
    still written."""
    import time

    from materiel.analysis.registry import REGISTRY
    from materiel.optimize import PlanError
    from materiel.reporting.overview import run_plan, run_simulation

    unknown = sorted(set(analyses) - set(REGISTRY))
    if unknown:
        raise ValueError(f"unknown analyses: {', '.join(unknown)}")
    sim = None
    if simulation:
        if progress is not None:
            progress("simulation")
        sim = run_simulation(model, scenario, draws, seed)
    chosen = None
    if plan:
        if progress is not None:
            progress("plan")
        chosen = run_plan(model, scenario)
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
        except Exception as e:  # a bug in one analysis must not lose the report
            note = f"internal error ({type(e).__name__}: {e}); please report it"
            sections.append(Section(spec, None, note, time.perf_counter() - start))
    return Report(model, scenario, draws, seed, sections, simulation=sim, plan=chosen)


def _method(spec: AnalysisSpec) -> str:
    """The function's docstring without its first line, as the section's method note."""
    doc = inspect.getdoc(spec.function) or ""
    return doc.split("\n", 1)[1].strip() if "\n" in doc else ""


def _plot_html(figure: Any, div_id: str) -> str:
    import plotly.io as pio

    return str(
        pio.to_html(
            figure,
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config={"displaylogo": False, "responsive": True},
        )
    )


def view_html(frame: pd.DataFrame, view: str, model: Model, max_rows: int | None = None) -> str:
    """``frame`` as an HTML table through the view ``view`` (see
    :mod:`materiel.reporting.columns`): headers in words, names instead of ids, numbers with
    their units, calendar months; the columns explained in a note below."""
    import html as _html

    from materiel.reporting.columns import VIEWS
    from materiel.reporting.names import with_names

    spec = VIEWS[view]
    shown = with_names(frame, model)
    table = table_html(shown, max_rows, spec.headers, model.dataset.meta.start, spec.kinds)
    notes = "".join(
        f"<dt>{_html.escape(c.header)}</dt><dd>{_html.escape(c.meaning)}</dd>" for c in spec.columns
    )
    return f'{table}<details class="columns"><summary>Columns</summary><dl>{notes}</dl></details>'


def _sections_html(report: Report) -> list[dict[str, Any]]:
    from materiel.reporting.columns import VIEWS
    from materiel.reporting.names import with_names

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
            named = with_names(s.table, report.model)  # plots label items by name too
            item["plot"] = _plot_html(s.spec.figure(named), f"plot-{k}-{s.spec.name}")
            view = VIEWS.get(s.spec.name)
            if view is not None and view.condense is not None:
                condensed = view.condense(s.table)
            else:
                condensed = s.spec.condensed(s.table)
            item["rows"] = len(condensed)
            if view is not None:
                item["table"] = view_html(condensed, s.spec.name, report.model, MAX_ROWS)
            else:
                item["table"] = table_html(condensed, MAX_ROWS)
        sections.append(item)
    return sections


def _simulation_html(report: Report) -> dict[str, Any] | None:
    from materiel.reporting.names import name_maps
    from materiel.reporting.outcomes import plot_shortfall_fan

    sim = report.simulation
    if sim is None:
        return None
    if sim.summary is None or sim.fan is None:
        return {"error": sim.error}
    names = name_maps(report.model.dataset.tables).get("items", {})
    return {
        "error": None,
        "actor": sim.actor,
        "draws": sim.draws,
        "plot": _plot_html(plot_shortfall_fan(sim.fan, names), "plot-shortfall-fan"),
        "table": view_html(sim.summary, "simulate", report.model),
    }


def _plan_html(report: Report) -> dict[str, Any] | None:
    from materiel.reporting import numbers
    from materiel.reporting.outcomes import plot_plan_timeline
    from materiel.reporting.overview import plan_tables

    chosen = report.plan
    if chosen is None:
        return None
    if chosen.investments is None:
        return {"error": chosen.error}
    tables = plan_tables(chosen)
    s = chosen.summary
    return {
        "error": None,
        "headline": f"Capex {numbers.money(s.get('capex_eur', 0.0))}; expected purchases "
        f"{numbers.money(s.get('expected_purchases_eur', 0.0))}.",
        "plot": _plot_html(plot_plan_timeline(chosen.investments), "plot-plan-timeline"),
        "investments": view_html(tables["investments"], "investments", report.model),
        "shortfall": view_html(tables["plan_shortfall"], "plan_shortfall", report.model),
    }


def render_html(report: Report) -> str:
    """The report as one HTML document with Plotly's JavaScript inline (works offline): an
    executive summary, the scenario's events as a timeline, the simulation (shortfall fan
    charts), the optimiser's plan, every analysis, the sources and the run metadata."""
    import jinja2
    from plotly.offline import get_plotlyjs

    from materiel.reporting.events import timeline
    from materiel.reporting.overview import executive_summary

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("materiel.reporting", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    tables = {s.spec.name: s.table for s in report.sections if s.table is not None}
    summary = executive_summary(
        report.model, report.scenario, report.simulation, report.plan, tables
    )
    start = report.model.dataset.meta.start
    sources = sources_used(report.model)
    return env.get_template("report.html.j2").render(
        plotly_js=get_plotlyjs(),
        scenario=report.scenario,
        summary=summary,
        timeline=timeline([e.model_dump() for e in report.scenario.events], start),
        simulation=_simulation_html(report),
        plan=_plan_html(report),
        metadata=report.metadata(),
        sections=_sections_html(report),
        sources=sources.to_dict(orient="records"),
        max_rows=MAX_ROWS,
    )
