"""/api/v1/scenarios: bundled and saved scenarios; saving makes a new version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from materiel.scenario import available_scenarios
from materiel.schema.validate import DatasetError
from materiel.service import scenarios as svc
from materiel.service.auth import ApiRole, Principal
from materiel.service.context import Context, get_ctx
from materiel.service.routers.common import scenario_or_404
from materiel.service.schemas import (
    MAX_INT,
    Issue,
    ScenarioOut,
    ScenarioSave,
    ScenarioSummary,
    ValidationOut,
)
from materiel.store import scenarios as saved

router = APIRouter(prefix="/api/v1/scenarios", tags=["scenarios"])
NamePath = Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9][a-z0-9_\-]*$")]
Viewer = Annotated[Principal, Depends(ApiRole("viewer"))]
Analyst = Annotated[Principal, Depends(ApiRole("analyst"))]
Ctx = Annotated[Context, Depends(get_ctx)]


@router.get("", response_model=list[ScenarioSummary], summary="Every scenario, latest versions")
def list_scenarios(user: Viewer, ctx: Ctx) -> list[ScenarioSummary]:
    return [
        ScenarioSummary(
            name=i.name,
            description=i.scenario.description,
            months=i.scenario.months,
            probability=i.scenario.probability,
            bundled=i.bundled,
            version=i.version,
        )
        for i in svc.list_scenarios(ctx.store)
    ]


@router.get("/{name}", response_model=ScenarioOut, summary="A scenario (latest or given version)")
def get_scenario(
    name: NamePath,
    user: Viewer,
    ctx: Ctx,
    version: Annotated[int | None, Query(ge=0, le=MAX_INT)] = None,
) -> ScenarioOut:
    scen, v = scenario_or_404(ctx, name, version)
    return ScenarioOut(name=name, version=v, bundled=v == 0, scenario=scen.model_dump(mode="json"))


@router.get("/{name}/versions", response_model=list[int], summary="Saved versions, newest first")
def list_versions(name: NamePath, user: Viewer, ctx: Ctx) -> list[int]:
    scenario_or_404(ctx, name)
    versions = [row.version for row in saved.versions(ctx.store, name)]
    return versions + ([0] if name in available_scenarios() else [])


@router.post(
    "/validate", response_model=ValidationOut, summary="Check a scenario without saving it"
)
def validate(body: ScenarioSave, user: Viewer) -> ValidationOut:
    try:
        svc.parse_bounded(body.scenario, "scenario")
        svc.check_name(str(body.scenario.get("name", "")))
    except DatasetError as e:
        return ValidationOut(valid=False, issues=[Issue(**vars(i)) for i in e.issues])
    return ValidationOut(valid=True, issues=[])


@router.post(
    "",
    response_model=ScenarioOut,
    status_code=201,
    summary="Save a scenario as a new version (422 lists every problem by field)",
)
def save_scenario(body: ScenarioSave, user: Analyst, ctx: Ctx) -> ScenarioOut:
    scen, version = svc.save(ctx.store, body.scenario, user.name, body.comment)
    return ScenarioOut(
        name=scen.name, version=version, bundled=False, scenario=scen.model_dump(mode="json")
    )
