"""Pages: log in and out, the overview, the supply-chain graph, analyses and the account."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from materiel.analysis.registry import MAX_DRAWS, REGISTRY
from materiel.schema.validate import DatasetError
from materiel.service.analyses import (
    export_bytes,
    figure_json,
    last_values,
    run_analysis,
    spec_or_error,
)
from materiel.service.auth import PageRole, Principal, check_csrf, csrf_token, login_session
from materiel.service.context import Context, get_ctx
from materiel.service.graph import chain, end_items, graph_figure
from materiel.service.routers.common import scenario_or_404
from materiel.service.scenarios import list_scenarios
from materiel.store import audit
from materiel.store import runs as run_store
from materiel.store.users import authenticate, issue_token

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(PageRole("viewer"))]
Ctx = Annotated[Context, Depends(get_ctx)]


def render(
    request: Request,
    ctx: Context,
    template: str,
    user: Principal | None,
    status: int = 200,
    **context: Any,
) -> Response:
    """Render a page template with the user and the CSRF token every form needs."""
    return ctx.templates.TemplateResponse(
        request,
        template,
        {"user": user, "csrf": csrf_token(request), **context},
        status_code=status,
    )


def safe_next(target: str) -> str:
    """Only local paths, so a login link cannot send the user elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login")
def login_form(request: Request, ctx: Ctx, next: str = "/") -> Response:
    return render(request, ctx, "login.html", None, next=safe_next(next), error=None)


@router.post("/login")
async def login(
    request: Request,
    ctx: Ctx,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    await check_csrf(request)
    with ctx.store.session() as s:
        user = authenticate(s, username, password) if "\x00" not in username else None
        if user is not None:
            login_session(request, user)
            return RedirectResponse(safe_next(next), status_code=303)
    return render(
        request,
        ctx,
        "login.html",
        None,
        status=401,
        next=safe_next(next),
        error="Wrong user name or password.",
    )


@router.post("/logout")
async def logout(request: Request) -> Response:
    await check_csrf(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def overview(request: Request, user: Viewer, ctx: Ctx) -> Response:
    scenarios = list_scenarios(ctx.store)
    runs, total = run_store.list_runs(ctx.store, limit=12)
    latest: dict[str, Any] = {}
    for s in scenarios:
        done, _ = run_store.list_runs(ctx.store, status="succeeded", scenario=s.name, limit=1)
        latest[s.name] = done[0] if done else None
    try:
        dataset, error = ctx.data.dataset(), None
    except DatasetError as e:
        dataset, error = None, "; ".join(str(i) for i in e.issues[:5])
    return render(
        request,
        ctx,
        "overview.html",
        user,
        scenarios=scenarios,
        runs=runs,
        total=total,
        latest=latest,
        dataset=dataset,
        dataset_error=error,
    )


@router.get("/graph")
def graph(
    request: Request,
    user: Viewer,
    ctx: Ctx,
    end_item: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9][a-z0-9_\-]*$")] = None,
    scenario: Annotated[str, Query(max_length=64, pattern=r"^[a-z0-9][a-z0-9_\-]*$")] = (
        "imposed-deal"
    ),
) -> Response:
    """One end item's supply chain, with ``materiel chokepoints``'s measures (removal by
    simulation, central values; no LP duals, so the page stays fast)."""
    model = ctx.data.model()
    choices = end_items(model)
    if not choices:
        raise HTTPException(404, "the dataset has no end items")
    end_item = end_item or choices[0]
    if end_item not in choices:
        raise HTTPException(404, f"no end item '{end_item}' (end items: {', '.join(choices)})")
    scen, _ = scenario_or_404(ctx, scenario)
    spec = REGISTRY["chokepoints"]
    table = spec.run(model, scen, draws=1, seed=0, duals=False)
    figure = graph_figure(model, table, end_item)
    shown = chain(model, table, end_item)
    columns = [c for c in spec.terminal or {} if c in shown and c != "dual_value_eur"]
    return render(
        request,
        ctx,
        "graph.html",
        user,
        figure=figure,
        end_item=end_item,
        end_items=choices,
        scenario=scen.name,
        scenarios=list_scenarios(ctx.store),
        rows=shown[columns].head(30).to_dict("records"),
        headers={c: (spec.terminal or {})[c] for c in columns},
    )


ScenarioQuery = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9][a-z0-9_\-]*$")]


def _analysis(ctx: Context, name: str, scenario: str | None, request: Request) -> Any:
    try:
        spec = spec_or_error(name)
    except LookupError as e:
        raise HTTPException(404, str(e)) from None
    scen, version = scenario_or_404(ctx, scenario or spec.scenario)
    try:
        return run_analysis(
            spec, ctx.data.model(), scen, version, last_values(request.query_params)
        )
    except ValueError as e:  # AnalysisRequestError or input the analysis rejects
        raise HTTPException(422, str(e)) from None


@router.get("/analyses")
def analyses(
    request: Request,
    user: Viewer,
    ctx: Ctx,
    name: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")] = None,
    scenario: ScenarioQuery = None,
    run: Annotated[str, Query(max_length=4)] = "",
) -> Response:
    """Pick an analysis, fill in its parameters (a form made from the registry), run it; the
    table and its figure show below, with CSV and Excel exports of the full table."""
    values = last_values(request.query_params)
    result, error = None, None
    if name is not None:
        try:
            spec = spec_or_error(name)
        except LookupError as e:
            raise HTTPException(404, str(e)) from None
        scenario = scenario or spec.scenario
        if run:
            try:
                result = _analysis(ctx, name, scenario, request)
            except HTTPException as e:
                if e.status_code != 422:
                    raise
                error = str(e.detail)
    figures = []
    if result is not None:
        figures = [("analysis", figure_json(result.spec.figure(result.table)))]
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in values.items() if k != "run")
    return render(
        request,
        ctx,
        "analyses.html",
        user,
        status=422 if error else 200,
        registry=REGISTRY,
        name=name,
        scenario=scenario,
        scenarios=list_scenarios(ctx.store),
        values=values,
        max_draws=MAX_DRAWS,
        result=result,
        error=error,
        figures=figures,
        export_query=query,
    )


@router.get("/analyses/{name}/export.{fmt}")
def analysis_export(
    request: Request,
    name: Annotated[str, Path(max_length=64, pattern=r"^[a-z_]+$")],
    fmt: Literal["csv", "xlsx"],
    user: Viewer,
    ctx: Ctx,
    scenario: ScenarioQuery = None,
) -> Response:
    """The full table of an analysis as CSV, or Excel with its inputs on a second sheet."""
    result = _analysis(ctx, name, scenario, request)
    body, filename = export_bytes(result, fmt)
    media = {
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }[fmt]
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/account")
def account(request: Request, user: Viewer, ctx: Ctx) -> Response:
    return render(request, ctx, "account.html", user, token=None)


@router.post("/account/tokens")
def new_token(
    request: Request,
    user: Viewer,
    ctx: Ctx,
    name: Annotated[str, Form(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]*$")] = "api",
) -> Response:
    from materiel.store.models import User

    with ctx.store.session() as s:
        row = s.get(User, user.id)
        assert row is not None
        token = issue_token(s, row, name)
        audit.record(
            s,
            user.name,
            "token.create",
            "api_tokens",
            f"{user.name}:{name}",
            None,
            {"name": name, "prefix": token[:10]},
        )
    return render(request, ctx, "account.html", user, token=token)
