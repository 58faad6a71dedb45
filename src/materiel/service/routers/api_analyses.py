"""/api/v1/analyses: the analyses of the registry (:mod:`materiel.analysis.registry`), each
``f(model, scenario, **parameters) -> table``, with their parameters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from materiel.analysis.registry import MAX_DRAWS, REGISTRY, Parameter
from materiel.service.analyses import last_values, run_analysis, spec_or_error
from materiel.service.auth import ApiRole, Principal
from materiel.service.context import Context, get_ctx
from materiel.service.results import records
from materiel.service.routers.common import scenario_or_404
from materiel.service.schemas import MAX_INT, AnalysisOut, AnalysisResult

router = APIRouter(prefix="/api/v1/analyses", tags=["analyses"])
Viewer = Annotated[Principal, Depends(ApiRole("viewer"))]
Ctx = Annotated[Context, Depends(get_ctx)]


def parameter_out(p: Parameter) -> dict[str, Any]:
    return {
        "name": p.name,
        "type": p.type.__name__,
        "default": p.default,
        "unit": p.unit,
        "help": p.help,
        "minimum": p.minimum,
        "maximum": p.maximum,
        "choices": list(p.choices) or None,
        "default_text": p.default_text or None,
    }


@router.get("", response_model=list[AnalysisOut], summary="Analyses available")
def list_analyses(user: Viewer) -> list[AnalysisOut]:
    return [
        AnalysisOut(
            name=a.name,
            title=a.title,
            description=a.question,
            stochastic=a.stochastic,
            parameters=[parameter_out(p) for p in a.parameters],
        )
        for a in REGISTRY.values()
    ]


@router.get(
    "/{name}",
    response_model=AnalysisResult,
    summary="Run an analysis on a scenario; its parameters go in the query string",
)
def get_analysis(
    request: Request,
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
    try:
        spec = spec_or_error(name)
    except LookupError as e:
        raise HTTPException(404, str(e)) from None
    scen, version = scenario_or_404(ctx, scenario or spec.scenario)
    try:
        result = run_analysis(
            spec, ctx.data.model(), scen, version, last_values(request.query_params)
        )
    except ValueError as e:
        raise HTTPException(422, str(e)) from None
    return AnalysisResult(
        name=name,
        scenario=scen.name,
        scenario_version=version,
        parameters={k: v for k, v in result.parameters.items()},
        rows=records(result.table),
    )
