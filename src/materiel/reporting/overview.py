"""The report's lead: the simulation and plan sections and the executive summary drawn from
every section's numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from materiel.model.compiled import Model
from materiel.reporting import numbers
from materiel.reporting.names import name_maps
from materiel.scenario import Scenario


@dataclass
class SimulationSection:
    """Monte Carlo shortfall of the main recipient: summary per item and the fan chart data."""

    actor: str
    draws: int
    summary: pd.DataFrame | None
    fan: pd.DataFrame | None
    error: str | None = None
    weighted: dict[str, float] | None = None
    """Priority-weighted shortfall over the horizon (EUR-equivalent): mean, p10, p50, p90."""
    assumption_share: float | None = None
    """Share of the result's driving figures whose source is an assumption (0-1)."""


@dataclass
class PlanSection:
    """The optimiser's plan for the scenario: investments, shortfall left, headline costs."""

    investments: pd.DataFrame | None
    shortfall: pd.DataFrame | None
    summary: dict[str, float]
    error: str | None = None


def run_simulation(model: Model, scenario: Scenario, draws: int, seed: int) -> SimulationSection:
    """Simulate ``scenario`` and summarise the main Ukrainian actor's shortfall."""
    from materiel.analysis.common import main_actor
    from materiel.analysis.confidence import assumption_share
    from materiel.reporting.outcomes import shortfall_fan
    from materiel.simulation import simulate
    from materiel.simulation.summary import summarize, weighted_shortfall

    try:
        actor = main_actor(model, "ukraine")
        result = simulate(model, scenario, draws=draws, seed=seed)
        summary = summarize(result, actor).reset_index()
        items = model.dataset.tables["items"]
        categories = dict(zip(items["item"], items["category"].astype(str), strict=True))
        fan = shortfall_fan(result, actor, categories=categories)
        share = float(assumption_share(model, result, actor)["overall"])  # type: ignore[arg-type]
        return SimulationSection(
            actor, draws, summary, fan, None, weighted_shortfall(result), share
        )
    except ValueError as e:
        return SimulationSection("", draws, None, None, str(e))


def run_plan(model: Model, scenario: Scenario) -> PlanSection:
    """Optimise investments and orders for ``scenario`` alone (central values)."""
    from materiel.optimize import PlanError
    from materiel.optimize import plan as optimise

    try:
        result = optimise(model, [scenario])
    except (ValueError, PlanError) as e:
        return PlanSection(None, None, {}, str(e))
    except Exception as e:  # a bug in the optimiser must not lose the report
        return PlanSection(None, None, {}, f"internal error ({type(e).__name__}: {e})")
    return PlanSection(result.investments, result.shortfall_by_item(), dict(result.summary))


def _name(model: Model, item: str) -> str:
    return name_maps(model.dataset.tables).get("items", {}).get(item, item)


def executive_summary(
    model: Model,
    scenario: Scenario,
    simulation: SimulationSection | None,
    plan: PlanSection | None,
    tables: dict[str, pd.DataFrame],
) -> list[str]:
    """A few sentences with the headline numbers of each section that ran."""
    lines: list[str] = []
    if simulation is not None and simulation.summary is not None and len(simulation.summary):
        s = simulation.summary.sort_values("shortfall_share", ascending=False)
        worst = s.iloc[0]
        short = s[s["p_short"] >= 0.5]
        lines.append(
            f"Over {scenario.months} months, {len(short)} of {len(s)} items "
            f"{simulation.actor} uses are short in at least one month with a probability of "
            f"50 % or more. Worst: {_name(model, str(worst['item']))}, "
            f"{numbers.share(worst['shortfall_share'], 0)} of the need unmet "
            f"(median shortfall {numbers.quantity(worst['shortfall_p50'], str(worst['unit']))})."
        )
        if simulation.weighted is not None:
            w = simulation.weighted
            lines.append(
                f"Priority-weighted shortfall (value of unmet need at purchase prices): "
                f"{numbers.money(w['mean'])} on average, {numbers.money(w['p10'])} to "
                f"{numbers.money(w['p90'])} (p10-p90)."
            )
        if simulation.assumption_share is not None:
            lines.append(
                f"Data confidence: {numbers.share(simulation.assumption_share, 0)} of the "
                "figures driving this result are stated assumptions, not reported, claimed "
                "or estimated figures."
            )
    gap = tables.get("gap")
    if gap is not None and len(gap):
        from materiel.analysis.gap import gap_totals

        totals = gap_totals(gap)
        totals = totals[totals["gap"] > 0]
        if len(totals):
            mostly = int((totals["residual_share"] > 0.5).sum())
            best = totals.sort_values("residual_share").iloc[0]
            lines.append(
                f"After the US stop, more than half of the gap stays open for {mostly} of "
                f"{len(totals)} items; best covered: {_name(model, str(best['item']))} "
                f"({numbers.share(1 - best['residual_share'], 0)} of its gap filled by European "
                "stocks, idle capacity and expansions)."
            )
    outlook = tables.get("outlook")
    if outlook is not None and len(outlook):
        from materiel.analysis.outlook import outlook_totals

        rows = outlook_totals(outlook)
        low = rows.sort_values("covered_share").iloc[0]
        lines.append(
            f"In the next {outlook['month'].nunique()} months the least covered item is "
            f"{_name(model, str(low['item']))}: {numbers.share(low['covered_share'], 0)} of "
            "the need, with stocks and idle capacity used."
        )
    chokepoints = tables.get("chokepoints")
    if chokepoints is not None and len(chokepoints):
        top = chokepoints.sort_values("lost_share", ascending=False).iloc[0]
        lines.append(
            f"Largest chokepoint: {top.get('name') or top['node']} ({top['node_type']}); "
            f"losing it costs {numbers.share(top['lost_share'], 0)} of end-item output value."
        )
    deterrence = tables.get("deterrence")
    if deterrence is not None and len(deterrence):
        crossed = deterrence.loc[deterrence["first_crossing"], "date"]
        lines.append(
            "Deterrence: the Russia:West artillery stock ratio "
            + (f"crosses the alarm level in {crossed.iloc[0]}." if len(crossed) else
               "stays below the alarm level over the horizon.")
        )  # fmt: skip
    if plan is not None and plan.investments is not None and plan.shortfall is not None:
        left = int((plan.shortfall["unmet_share"] > 0.5).sum())
        lines.append(
            f"The optimiser's plan invests {numbers.money(plan.summary.get('capex_eur', 0.0))} "
            f"in {len(plan.investments)} expansions; {left} of {len(plan.shortfall)} "
            "(recipient, item) needs stay more than half unmet."
        )
    return lines


def plan_tables(plan: PlanSection) -> dict[str, Any]:
    """The plan's tables for the report (investments with the added capacity named)."""
    if plan.investments is None:
        return {}
    inv = plan.investments.assign(added=plan.investments["added_capacity"])
    return {"investments": inv, "plan_shortfall": plan.shortfall}
