"""/api/v1/plans: submit a capacity-expansion plan and poll it by id (plans are runs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from fastapi.responses import JSONResponse

from materiel.service.auth import ApiRole, Principal
from materiel.service.context import Context, get_ctx
from materiel.service.routers.common import run_or_404, scenario_or_404, start_plan
from materiel.service.schemas import MAX_INT, PlanIn, RunList, RunOut
from materiel.store import runs as run_store

router = APIRouter(prefix="/api/v1/plans", tags=["plans"])
PlanIdPath = Annotated[int, Path(ge=1, le=MAX_INT, description="plan run id")]
Viewer = Annotated[Principal, Depends(ApiRole("viewer"))]
Analyst = Annotated[Principal, Depends(ApiRole("analyst"))]
Ctx = Annotated[Context, Depends(get_ctx)]


def _out(run: object) -> RunOut:
    return RunOut.of(run, "/api/v1/plans")  # type: ignore[arg-type]


@router.get("", response_model=RunList, summary="List plans, newest first")
def list_plans(
    user: Viewer,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> RunList:
    runs, total = run_store.list_runs(ctx.store, kind="plan", limit=limit, offset=offset)
    return RunList(total=total, runs=[_out(r) for r in runs])


@router.post("", response_model=RunOut, status_code=202, summary="Submit a plan")
def submit_plan(body: PlanIn, user: Analyst, ctx: Ctx, response: Response) -> RunOut:
    if len(set(body.scenarios)) != len(body.scenarios):
        raise HTTPException(422, "each scenario may appear only once in a plan")
    found = [scenario_or_404(ctx, name) for name in body.scenarios]
    scenarios = [scen for scen, _ in found]
    run = start_plan(
        ctx,
        user.name,
        scenarios,
        body.budget_eur_per_year,
        body.months,
        body.actor,
        body.time_limit,
        [version for _, version in found],
    )
    response.headers["Location"] = f"/api/v1/plans/{run.id}"
    return _out(run)


@router.get("/{plan_id}", response_model=RunOut, summary="A plan's status and summary")
def get_plan(plan_id: PlanIdPath, user: Viewer, ctx: Ctx) -> RunOut:
    return _out(run_or_404(ctx, plan_id, "plan"))


@router.get("/{plan_id}/results", summary="Result tables of a finished plan")
def get_plan_results(plan_id: PlanIdPath, user: Viewer, ctx: Ctx) -> JSONResponse:
    run = run_or_404(ctx, plan_id, "plan")
    if run.status != "succeeded":
        raise HTTPException(409, f"plan {plan_id} has no results: it is {run.status}")
    return JSONResponse({"id": run.id, "tables": run_store.get_results(ctx.store, plan_id)})


@router.get("/{plan_id}/document", summary="The plan file (builds and orders), as JSON")
def get_plan_document(plan_id: PlanIdPath, user: Viewer, ctx: Ctx) -> JSONResponse:
    run = run_or_404(ctx, plan_id, "plan")
    if run.status != "succeeded":
        raise HTTPException(409, f"plan {plan_id} has no results: it is {run.status}")
    tables = run_store.get_results(ctx.store, plan_id)
    return JSONResponse((tables.get("plan") or [{}])[0])
