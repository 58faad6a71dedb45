"""Pages: log in and out, the overview, the supply-chain graph, analyses and the account."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi import Path as PathParam
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
from materiel.service.auth import (
    PageRole,
    Principal,
    check_csrf,
    csrf_token,
    login_guard,
    login_session,
    logout_session,
)
from materiel.service.context import Context, get_ctx
from materiel.service.graph import chain, end_items, graph_figure
from materiel.service.routers.common import scenario_or_404
from materiel.service.scenarios import list_scenarios
from materiel.store import audit
from materiel.store import runs as run_store
from materiel.store.models import User
from materiel.store.users import (
    UserError,
    change_password,
    issue_token,
    revoke_token,
    token_valid,
    tokens_of,
)

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
    user = await login_guard(request).verify(request, ctx.store, username, password)
    if user is not None:
        login_session(request, ctx.store, user, ctx.settings.session_max_age)
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
async def logout(request: Request, ctx: Ctx) -> Response:
    """End the session in the store (a copied cookie stops working too)."""
    await check_csrf(request)
    logout_session(request, ctx.store)
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
    columns = [c for c in spec.terminal or {} if c in shown and c != "capacity_value"]
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
    name: Annotated[str, PathParam(max_length=64, pattern=r"^[a-z_]+$")],
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


def _account(
    request: Request,
    ctx: Context,
    user: Principal,
    status: int = 200,
    token: str | None = None,
    notice: str | None = None,
    error: str | None = None,
) -> Response:
    with ctx.store.session_factory() as s:
        row = s.get(User, user.id)
        assert row is not None
        tokens = [(t, token_valid(t, row)) for t in tokens_of(s, user.id)]
    return render(
        request,
        ctx,
        "account.html",
        user,
        status,
        token=token,
        tokens=tokens,
        notice=notice,
        error=error,
    )


@router.get("/account")
def account(request: Request, user: Viewer, ctx: Ctx) -> Response:
    return _account(request, ctx, user)


@router.post("/account/tokens")
def new_token(
    request: Request,
    user: Viewer,
    ctx: Ctx,
    name: Annotated[str, Form(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]*$")] = "api",
) -> Response:
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
    return _account(request, ctx, user, token=token)


@router.post("/account/tokens/{token_id}/revoke")
def revoke(
    request: Request,
    user: Viewer,
    ctx: Ctx,
    token_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)],
) -> Response:
    """Revoke one of the user's own tokens (it stops working at once)."""
    with ctx.store.session() as s:
        row = revoke_token(s, token_id, user.id)
        if row is None:
            raise HTTPException(404, f"you have no token with id {token_id}")
        audit.record(
            s, user.name, "token.revoke", "api_tokens", f"{user.name}:{row.name}", None, None
        )
    return _account(request, ctx, user, notice="Token revoked.")


@router.post("/account/password")
async def password(
    request: Request,
    user: Viewer,
    ctx: Ctx,
    current_password: Annotated[str, Form(max_length=1024)],
    new_password: Annotated[str, Form(max_length=1024)],
    repeat_password: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Change one's own password: every other session and every API token of the user ends;
    this browser gets a new session."""
    if new_password != repeat_password:
        return _account(request, ctx, user, 422, error="The new passwords do not match.")
    guard = login_guard(request)
    row = await guard.verify(request, ctx.store, user.name, current_password)
    if row is None:
        return _account(request, ctx, user, 422, error="The current password is wrong.")

    def change() -> User:
        with ctx.store.session() as s:
            me = s.get(User, user.id)
            assert me is not None
            change_password(s, me, current_password, new_password)
            audit.record(s, user.name, "user.password", "users", user.name, None, None)
            return me

    try:
        me = await guard.pool.run(change)
    except UserError as e:
        return _account(request, ctx, user, 422, error=f"{str(e)[0].upper()}{str(e)[1:]}.")
    login_session(request, ctx.store, me, ctx.settings.session_max_age)
    return _account(
        request,
        ctx,
        user,
        notice="Password changed. Your other sessions and all your API tokens have ended.",
    )
