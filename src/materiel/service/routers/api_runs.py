"""/api/v1/runs: submit a simulation, poll it by id, fetch and export its results."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from fastapi.responses import JSONResponse

from materiel.service.auth import ApiRole, Principal
from materiel.service.context import Context, get_ctx
from materiel.service.export import export_response
from materiel.service.routers.common import (
    inline_scenario,
    run_or_404,
    scenario_or_404,
    start_simulation,
)
from materiel.service.schemas import MAX_INT, RunList, RunOut, SimulationIn
from materiel.store import runs as run_store

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])
RunIdPath = Annotated[int, Path(ge=1, le=MAX_INT, description="run id")]
Viewer = Annotated[Principal, Depends(ApiRole("viewer"))]
Analyst = Annotated[Principal, Depends(ApiRole("analyst"))]
Ctx = Annotated[Context, Depends(get_ctx)]


@router.get("", response_model=RunList, summary="List runs, newest first")
def list_runs(
    user: Viewer,
    ctx: Ctx,
    kind: Annotated[Literal["simulate", "plan"] | None, Query()] = None,
    status: Annotated[Literal["queued", "running", "succeeded", "failed"] | None, Query()] = None,
    scenario: Annotated[str | None, Query(max_length=400, pattern=r"^[a-z0-9_\-+]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> RunList:
    runs, total = run_store.list_runs(ctx.store, kind, status, scenario, limit, offset)
    return RunList(total=total, runs=[RunOut.of(r) for r in runs])


@router.post(
    "",
    response_model=RunOut,
    status_code=202,
    summary="Submit a simulation; poll GET /api/v1/runs/{id} until it succeeded or failed",
)
def submit_run(body: SimulationIn, user: Analyst, ctx: Ctx, response: Response) -> RunOut:
    if (body.scenario is None) == (body.scenario_data is None):
        raise HTTPException(422, "give exactly one of 'scenario' (a name) or 'scenario_data'")
    version: int | str = "inline"
    if body.scenario_data is not None:
        scen = inline_scenario(body.scenario_data)
    else:
        scen, version = scenario_or_404(ctx, str(body.scenario), body.scenario_version)
    run = start_simulation(
        ctx, user.name, scen, body.draws, body.seed, body.months, body.actor, version
    )
    response.headers["Location"] = f"/api/v1/runs/{run.id}"
    return RunOut.of(run)


@router.get("/{run_id}", response_model=RunOut, summary="A run's status, progress and summary")
def get_run(run_id: RunIdPath, user: Viewer, ctx: Ctx) -> RunOut:
    return RunOut.of(run_or_404(ctx, run_id))


@router.get("/{run_id}/results", summary="All result tables of a finished run")
def get_results(run_id: RunIdPath, user: Viewer, ctx: Ctx) -> JSONResponse:
    run = run_or_404(ctx, run_id)
    if run.status != "succeeded":
        raise HTTPException(409, f"run {run_id} has no results: it is {run.status}")
    return JSONResponse({"id": run.id, "tables": run_store.get_results(ctx.store, run_id)})


@router.get(
    "/{run_id}/export",
    summary="Export results as CSV (one table), Excel (every table) or an HTML report",
    response_class=Response,
)
def export(
    run_id: RunIdPath,
    user: Viewer,
    ctx: Ctx,
    format: Annotated[Literal["csv", "xlsx", "html"], Query()] = "csv",
    table: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")] = None,
) -> Response:
    run = run_or_404(ctx, run_id)
    return export_response(ctx, run, format, table)
