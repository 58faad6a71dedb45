"""Helpers shared by the routers: starting runs from requests, 404s."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from materiel.scenario import Scenario
from materiel.service.context import Context
from materiel.service.scenarios import ScenarioNotFoundError, get_scenario, parse_bounded
from materiel.simulation.limits import check_limits
from materiel.store import runs as run_store
from materiel.store.models import Run


def scenario_or_404(ctx: Context, name: str, version: int | None = None) -> tuple[Scenario, int]:
    try:
        return get_scenario(ctx.store, name, version)
    except ScenarioNotFoundError:
        raise HTTPException(404, f"no scenario '{name}'") from None


def run_or_404(ctx: Context, run_id: int, kind: str | None = None) -> Run:
    run = run_store.get_run(ctx.store, run_id)
    if run is None or (kind is not None and run.kind != kind):
        raise HTTPException(404, f"no {kind or 'run'} with id {run_id}")
    return run


def start_simulation(
    ctx: Context,
    user: str,
    scenario: Scenario,
    draws: int,
    seed: int,
    months: int | None,
    actor: str,
    version: int | str = "?",
) -> Run:
    """Queue a simulation on the current dataset (raises DatasetError, RunInputError);
    ``version`` is the scenario's saved version (0: bundled; 'inline')."""
    dataset, model = ctx.data.load()
    params: dict[str, Any] = {
        "draws": draws,
        "seed": seed,
        "months": months or scenario.months,
        "actor": actor,
    }
    check_limits(model, int(params["months"]), draws, ctx.settings.max_run_bytes)
    return ctx.runner.submit("simulate", dataset, model, [scenario], params, user, [version])


def start_plan(
    ctx: Context,
    user: str,
    scenarios: list[Scenario],
    budget: float | None,
    months: int | None,
    actor: str,
    time_limit: float = 300,
    versions: list[int] | None = None,
) -> Run:
    """Queue a plan over ``scenarios`` (saved ``versions``) on the current dataset."""
    dataset, model = ctx.data.load()
    params: dict[str, Any] = {
        "months": months or scenarios[0].months,
        "budget_eur_per_year": budget,
        "actor": actor,
        "time_limit": time_limit,
    }
    return ctx.runner.submit("plan", dataset, model, scenarios, params, user, versions)


def inline_scenario(data: dict[str, Any]) -> Scenario:
    return parse_bounded(data, "scenario_data")
