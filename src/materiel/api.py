"""The functions behind ``import materiel``: load, simulate, plan, report, in one place.

Everything here is re-exported by the package, so a notebook needs only:

    import materiel

    model = materiel.load_model()                        # the bundled dataset, validated
    result = materiel.simulate(model, "imposed-deal", draws=500, seed=1)
    materiel.summarize(result)                           # pandas table per item

Scenarios may be given as a ``Scenario``, a bundled name
(``"imposed-deal"``) or a YAML path. Units throughout: quantities in each item's own unit
(round, missile, t, ...), rates per month, money in EUR, time in months from the dataset's
start (month 0 = ``dataset.yaml`` ``start``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec

import pandas as pd
import pydantic
import xarray as xr

from materiel import analysis as _analysis
from materiel.io.dataset import Dataset, load_dataset
from materiel.model.compiled import Model, compile_model
from materiel.model.plan import Plan
from materiel.scenario import Event, Scenario, load_scenario, parse_scenario

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from materiel.optimize.results import PlanResult
    from materiel.reporting import Report

__all__ = [
    "ScenarioLike",
    "as_scenario",
    "chokepoints",
    "coordination",
    "dependencies",
    "deterrence",
    "efficiency",
    "gap",
    "load_model",
    "outlook",
    "plan",
    "plot",
    "report",
    "sead",
    "simulate",
    "sources",
    "with_events",
]

ScenarioLike = Scenario | str | Path
"""A ``Scenario``, the name of a bundled scenario, or the path of a scenario YAML file."""


def load_model(data: str | Path | Dataset | None = None) -> Model:
    """Load, validate and compile a dataset into the model both engines read.

    Args:
        data: A dataset folder (tables it lacks come from the bundled default), an already
            loaded ``Dataset``, or ``None`` for the bundled default dataset.

    Returns:
        The compiled model, indexed arrays in canonical units (item units, item units
        per month, EUR, months). ``model.to_xarray()`` shows its figures with their
        low/central/high range; ``model.dataset.tables`` holds the tables as entered.

    Raises:
        DatasetError: Listing every problem found (file, row, field, allowed values).
    """
    dataset = data if isinstance(data, Dataset) else load_dataset(data)
    return compile_model(dataset)


def as_scenario(scenario: ScenarioLike) -> Scenario:
    """A ``Scenario`` from a scenario, a bundled scenario's name or a YAML path."""
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def with_events(
    scenario: ScenarioLike,
    *events: Mapping[str, Any] | Event,
    name: str | None = None,
    months: int | None = None,
    replace: bool = True,
) -> Scenario:
    """A copy of ``scenario`` with ``events`` added, validated like a scenario file.

    Args:
        scenario: The scenario to start from (object, bundled name or YAML path).
        *events: Events as dicts (``{"type": "us_supply_stops", "month": 3}``, the same
            fields as in a scenario YAML file) or event objects. Months count from the
            dataset start; money is EUR per year.
        name: The new scenario's name (default: the original's).
        months: The new horizon in months (default: the original's).
        replace: Drop the original's events of the types given in ``events`` first, so that
            e.g. a new ``us_supply_stops`` moves the stop instead of adding a second one.

    Returns:
        The new ``Scenario``; the original is not changed.

    Raises:
        DatasetError: If an event is not valid (every problem listed).
    """
    base = as_scenario(scenario)
    new = [e.model_dump() if isinstance(e, pydantic.BaseModel) else dict(e) for e in events]
    types = {e.get("type") for e in new} if replace else set()
    content = base.model_dump()
    content["events"] = [e for e in content["events"] if e["type"] not in types] + new
    if name is not None:
        content["name"] = name
    if months is not None:
        content["months"] = months
    return parse_scenario(content, f"{content['name']} (with_events)")


def simulate(
    model: Model,
    scenario: ScenarioLike,
    *,
    draws: int = 1000,
    seed: int = 0,
    months: int | None = None,
    plan: Plan | PlanResult | str | Path | None = None,
    with_orders: bool = False,
    uncertain: bool = True,
    progress: Callable[[int], None] | None = None,
) -> xr.Dataset:
    """Monte Carlo simulation of ``scenario``: every draw samples each uncertain figure from
    its low/central/high range and steps the supply chain month by month.

    Args:
        model: The compiled model (``load_model``).
        scenario: A scenario, a bundled scenario's name or a YAML path.
        draws: Number of Monte Carlo draws.
        seed: Random seed; draw ``d`` depends only on ``(seed, d)``.
        months: Horizon in months (default: the scenario's).
        plan: Decisions to replay: a ``PlanResult`` from ``plan``, a plan file
            written by ``materiel plan``, or a ``Plan``. Replayed as a policy, as
            ``materiel simulate --plan`` does: its builds apply and production follows
            the simulator's ordering rule, reacting to each draw.
        with_orders: Also impose the plan's orders for this scenario (when it was
            planned for it) as production floors (``simulate --plan --with-orders``).
        uncertain: ``False`` gives every draw the central values.
        progress: Called with the number of draw-months done since the last call.

    Returns:
        An ``xarray.Dataset`` on dims ``draw``, ``month``, ``facility``, ``item`` and
        ``actor`` (coordinates ``date`` = YYYY-MM per month, ``unit`` per item). Variables,
        each with its ``units`` attribute: ``capacity`` and ``production`` (item units/month
        per facility), ``industry_stock`` (item units), ``input_use`` and ``allocated`` (item
        units/month), ``delivered``, ``wanted``, ``fired`` and ``shortfall`` (item
        units/month per actor), ``stock`` (item units per actor), ``cost`` (EUR/month) and
        ``fire_ratio`` (Ukraine:Russia artillery rounds fired). ``attrs`` record the package
        and dataset versions, the scenario, seed and draws.
    """
    from materiel.simulation import simulate as run

    scen = as_scenario(scenario)
    replay = None
    if plan is not None:
        from materiel.optimize.io import replay_plan

        replay = replay_plan(plan, model, scen.name, months or scen.months, with_orders)
    return run(
        model,
        scen,
        draws=draws,
        seed=seed,
        months=months,
        plan=replay,
        uncertain=uncertain,
        progress=progress,
    )


def plan(
    model: Model,
    scenarios: ScenarioLike | Sequence[ScenarioLike],
    *,
    budget: float | None = None,
    months: int | None = None,
    log: bool = False,
    **options: Any,
) -> PlanResult:
    """Optimise investments and monthly orders to close the gap, over one or more scenarios.

    A two-stage stochastic LP (linopy + HiGHS) on the central values: the expansions built
    are shared by every scenario, the orders are per scenario, and the objective is the
    probability-weighted cost (EUR) plus a penalty per unit of unmet demand. The scenarios'
    ``probability`` fields are the weights.

    Args:
        model: The compiled model (``load_model``).
        scenarios: One scenario (object, bundled name or YAML path) or several, planned
            together.
        budget: Money for orders and investments in EUR per year, for every scenario
            (default: each scenario's ``budget`` event; none if it has none).
        months: Horizon in months (default: the first scenario's).
        log: Show the HiGHS log.
        **options: Passed to ``materiel.optimize.plan`` (``extra`` constraints, ``decay``,
            ``tiebreak``, solver options).

    Returns:
        A ``PlanResult`` whose tables are tidy DataFrames. ``investments`` (builds, capex in
        EUR, first output month, added capacity in item units/month), ``production``, ``shortfall``
        (item units/month), ``capacity_duals`` (EUR of objective per unit/month of capacity),
        ``budget_duals`` (EUR of objective per EUR of budget) and ``summary`` (EUR). Replay it
        under uncertainty with ``simulate(model, scenario, plan=result)``.

    Raises:
        PlanError: If HiGHS does not report an optimal solution.
    """
    from materiel.optimize import plan as optimise

    if isinstance(scenarios, Scenario | str | Path):
        scenarios = [scenarios]
    chosen = [as_scenario(s) for s in scenarios]
    return optimise(model, chosen, months=months, budget=budget, log=log, **options)


def report(
    model: Model,
    scenario: ScenarioLike,
    *,
    html: str | Path | None = None,
    draws: int = 200,
    seed: int = 0,
    analyses: Sequence[str] | None = None,
    simulation: bool = True,
    plan: bool = True,
) -> Report:
    """Simulate ``scenario``, optimise a plan for it, run every analysis and, with ``html``,
    write the self-contained HTML report (plots embedded, Plotly inline: it opens offline).

    Args:
        model: The compiled model (``load_model``).
        scenario: A scenario, a bundled scenario's name or a YAML path.
        html: HTML file to write (its folder is created); ``None`` writes nothing.
        draws: Monte Carlo draws of the stochastic analyses (gap, outlook, deterrence).
        seed: Random seed.
        analyses: Names of the analyses to run (default: all, in the report's order).
        simulation: Include the simulation section (shortfall fan charts per key item).
        plan: Include the optimiser's plan section.

    Returns:
        The report, whose ``sections`` hold each analysis' table (pandas, units in each
        analysis' documentation) or the error that stopped it; ``metadata()`` gives the
        run's metadata.
    """
    from materiel.reporting import REPORT_ORDER, build_report, render_html

    result = build_report(
        model,
        as_scenario(scenario),
        draws=draws,
        seed=seed,
        analyses=REPORT_ORDER if analyses is None else analyses,
        simulation=simulation,
        plan=plan,
    )
    if html is not None:
        from materiel.io.atomic import write_text

        write_text(Path(html), render_html(result))
    return result


def sources(
    data: Model | Dataset | str | Path | None = None,
    *,
    status: str | None = None,
    table: str | None = None,
) -> pd.DataFrame:
    """Every sourced figure of a dataset with its range and its source.

    Args:
        data: A model, a dataset, a dataset folder, or ``None`` for the bundled dataset.
        status: Only figures whose source has this status (achieved, claimed, target,
            estimate, derived).
        table: Only figures of this table (e.g. ``"facilities"``).

    Returns:
        One row per figure, with columns table, key (the row's key values joined by '/'),
        field, central, low, high (as entered, in ``unit``), unit, source, status, date and
        url.
    """
    from materiel.schema.docs import sourced_figures

    if isinstance(data, Model):
        dataset = data.dataset
    elif isinstance(data, Dataset):
        dataset = data
    else:
        dataset = load_dataset(data)
    figures = sourced_figures(dataset.tables)
    if status is not None:
        figures = figures[figures["status"] == status]
    if table is not None:
        figures = figures[figures["table"] == table]
    return figures.reset_index(drop=True)


def plot(analysis: str, table: pd.DataFrame) -> Figure:
    """The static matplotlib figure of an analysis' table (the one ``--png`` writes).

    Args:
        analysis: The analysis' name: gap, outlook, chokepoints, dependencies, coordination,
            deterrence, sead or efficiency.
        table: The table that analysis returned.

    Returns:
        A ``matplotlib.figure.Figure`` (shown inline in Jupyter; ``fig.savefig(path)``
        writes it).
    """
    from materiel.analysis.registry import REGISTRY

    if analysis not in REGISTRY:
        raise ValueError(f"unknown analysis '{analysis}'; one of {', '.join(REGISTRY)}")
    figure: Figure = REGISTRY[analysis].static(table)
    return figure


P = ParamSpec("P")


def _accepts_names(
    function: Callable[Concatenate[Model, Scenario, P], pd.DataFrame],
) -> Callable[Concatenate[Model, ScenarioLike, P], pd.DataFrame]:
    """``function`` (an analysis of :mod:`materiel.analysis`), taking its scenario also as a
    bundled name or a YAML path; same docstring, same keyword options."""

    @functools.wraps(function)
    def analysis(
        model: Model, scenario: ScenarioLike, /, *args: P.args, **kwargs: P.kwargs
    ) -> pd.DataFrame:
        return function(model, as_scenario(scenario), *args, **kwargs)

    return analysis


gap = _accepts_names(_analysis.gap)
outlook = _accepts_names(_analysis.outlook)
chokepoints = _accepts_names(_analysis.chokepoints)
dependencies = _accepts_names(_analysis.dependencies)
coordination = _accepts_names(_analysis.coordination)
deterrence = _accepts_names(_analysis.deterrence)
sead = _accepts_names(_analysis.sead)
efficiency = _accepts_names(_analysis.efficiency)
