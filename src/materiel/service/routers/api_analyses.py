"""/api/v1/analyses: registered analyses, each ``f(model, scenario) -> table``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from materiel.service.analyses import MAX_DRAWS, available
from materiel.service.auth import ApiRole, Principal
from materiel.service.context import Context, get_ctx
from materiel.service.results import records
from materiel.service.routers.common import scenario_or_404
from materiel.service.schemas import MAX_INT, AnalysisOut, AnalysisResult

router = APIRouter(prefix="/api/v1/analyses", tags=["analyses"])
Viewer = Annotated[Principal, Depends(ApiRole("viewer"))]
Ctx = Annotated[Context, Depends(get_ctx)]


@router.get("", response_model=list[AnalysisOut], summary="Analyses available")
def list_analyses(user: Viewer) -> list[AnalysisOut]:
    return [
        AnalysisOut(name=a.name, title=a.title, description=a.description)
        for a in available().values()
    ]


@router.get("/{name}", response_model=AnalysisResult, summary="Run an analysis on a scenario")
def run_analysis(
    name: Annotated[str, Path(max_length=64, pattern=r"^[a-z_]+$")],
    user: Viewer,
    ctx: Ctx,
    scenario: Annotated[
        str | None,
        Query(max_length=64, pattern=r"^[a-z0-9][a-z0-9_\-]*$", description="default: its own"),
    ] = None,
    draws: Annotated[int | None, Query(ge=1, le=MAX_DRAWS)] = None,
    seed: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> AnalysisResult:
    analyses = available()
    if name not in analyses:
        raise HTTPException(404, f"no analysis '{name}' (available: {', '.join(analyses)})")
    analysis = analyses[name]
    scen, _ = scenario_or_404(ctx, scenario or analysis.scenario)
    table = analysis.run(ctx.data.model(), scen, draws, seed)
    return AnalysisResult(name=name, scenario=scen.name, rows=records(table))
