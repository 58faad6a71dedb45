"""Pages: the scenario editor (validation next to each field) and starting runs and plans."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from materiel.scenario import available_scenarios
from materiel.service import scenarios as svc
from materiel.service.auth import PageRole, Principal
from materiel.service.context import Context, get_ctx
from materiel.service.routers.common import scenario_or_404, start_plan, start_simulation
from materiel.service.routers.pages_main import render
from materiel.service.scenario_form import STEPS, Errors, to_form, validate_form
from materiel.service.schemas import MAX_DRAWS, MAX_INT
from materiel.store import scenarios as saved

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(PageRole("viewer"))]
Analyst = Annotated[Principal, Depends(PageRole("analyst"))]
Ctx = Annotated[Context, Depends(get_ctx)]
NAME = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
FIELDS = (
    "_form",
    "name",
    "months",
    "probability",
    "description",
    "us_stop_month",
    "ceasefire_month",
    "ceasefire_intensity",
    "budget_bn",
    "other_events",
    "comment",
    *(f"int_{kind}_{j}" for j in range(STEPS) for kind in ("month", "factor")),
)
"""Every field of the editor that can show a message."""


def _editor(
    request: Request,
    ctx: Context,
    user: Principal,
    name: str | None,
    form: dict[str, str],
    errors: Errors,
    status: int = 200,
    saved_version: int | None = None,
) -> Response:
    versions = saved.versions(ctx.store, name) if name else []
    actors: list[str] = []
    try:
        model = ctx.data.model()
        actors = [str(a) for a in model.actors[model.holders]]
    except Exception:  # the page still edits scenarios if the dataset is broken
        actors = ["UKR"]
    return render(
        request,
        ctx,
        "scenario.html",
        user,
        status,
        name=name,
        form=form,
        errors=errors,
        steps=range(STEPS),
        versions=versions,
        bundled=name in available_scenarios() if name else False,
        saved_version=saved_version,
        scenarios=svc.list_scenarios(ctx.store),
        actors=actors,
        max_draws=MAX_DRAWS,
    )


@router.get("/scenarios/new")
def new_scenario(request: Request, user: Analyst, ctx: Ctx, base: str = "imposed-deal") -> Response:
    scen, _ = scenario_or_404(ctx, base if base in available_scenarios() else "imposed-deal")
    form = to_form(scen)
    form["name"] = f"{scen.name}-variant"
    return _editor(request, ctx, user, None, form, {})


@router.get("/scenarios/{name}")
def edit_scenario(
    request: Request, user: Viewer, ctx: Ctx, name: str, saved_version: int | None = None
) -> Response:
    scen, _ = scenario_or_404(ctx, name)
    return _editor(request, ctx, user, name, to_form(scen), {}, saved_version=saved_version)


MAX_FIELD = 20_000
"""Characters allowed in one field of the scenario editor."""


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    form = {k: v for k, v in data.items() if isinstance(v, str)}
    for key, value in form.items():
        if len(value) > MAX_FIELD:
            raise HTTPException(
                422, f"the field '{key[:40]}' has {len(value):,} characters; at most {MAX_FIELD:,}"
            )
    return form


@router.post("/scenarios/validate")
async def validate(request: Request, user: Analyst, ctx: Ctx) -> Response:
    """htmx: the messages of every field (out-of-band swaps), without saving; the inputs
    are not re-rendered, so nothing the user is typing is lost."""
    form = await _form(request)
    _, _, errors = validate_form(form)
    return render(request, ctx, "_scenario_errors.html", user, errors=errors, fields=FIELDS)


@router.post("/scenarios")
async def save(request: Request, user: Analyst, ctx: Ctx) -> Response:
    form = await _form(request)
    scenario, content, errors = validate_form(form)
    if scenario is None:
        return _editor(request, ctx, user, form.get("original") or None, form, errors, 422)
    _, version = svc.save(ctx.store, content, user.name, form.get("comment", "")[:500])
    return RedirectResponse(f"/scenarios/{scenario.name}?saved_version={version}", status_code=303)


@router.post("/scenarios/{name}/simulate")
def simulate(
    request: Request,
    user: Analyst,
    ctx: Ctx,
    name: str,
    draws: Annotated[int, Form(ge=1, le=MAX_DRAWS)] = 1000,
    seed: Annotated[int, Form(ge=0, le=MAX_INT)] = 0,
    actor: Annotated[str, Form(max_length=16, pattern=r"^[A-Z][A-Z0-9_]*$")] = "UKR",
    months: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    scen, version = scenario_or_404(ctx, name)
    horizon = _months(months)
    run = start_simulation(ctx, user.name, scen, draws, seed, horizon, actor, version)
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


def _months(text: str, limit: int = 240) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit() or not 1 <= int(text) <= limit:
        raise HTTPException(422, f"months must be a whole number from 1 to {limit}")
    return int(text)


@router.post("/plans")
async def plan(
    request: Request,
    user: Analyst,
    ctx: Ctx,
    budget_bn: Annotated[str, Form(max_length=32)] = "",
    months: Annotated[str, Form(max_length=4)] = "",
    actor: Annotated[str, Form(max_length=16, pattern=r"^[A-Z][A-Z0-9_]*$")] = "UKR",
) -> Response:
    form = await request.form()
    names = [str(v) for v in form.getlist("scenarios")][:8]
    if not names:
        raise HTTPException(422, "choose at least one scenario to plan for")
    budget = None
    if budget_bn.strip():
        try:
            budget = float(budget_bn) * 1e9
        except ValueError:
            raise HTTPException(422, "the budget is a number of billion euros per year") from None
        if not 0 <= budget <= 1e13:
            raise HTTPException(422, "the budget must be between 0 and 10,000 bn EUR per year")
    found = [scenario_or_404(ctx, n) for n in dict.fromkeys(names)]
    scenarios, versions = [s for s, _ in found], [v for _, v in found]
    run = start_plan(ctx, user.name, scenarios, budget, _months(months, 120), actor, 300, versions)
    return RedirectResponse(f"/runs/{run.id}", status_code=303)
