"""Pages: log in and out, the overview, the supply-chain graph, analyses and the account."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from materiel.schema.validate import DatasetError
from materiel.service.analyses import available, chokepoints
from materiel.service.auth import PageRole, Principal, check_csrf, csrf_token, login_session
from materiel.service.context import Context, get_ctx
from materiel.service.graph import graph_figure
from materiel.service.results import records
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
def graph(request: Request, user: Viewer, ctx: Ctx) -> Response:
    model = ctx.data.model()
    scen, _ = scenario_or_404(ctx, "imposed-deal")
    table = chokepoints(model, scen)
    figure = graph_figure(model, table)
    return render(request, ctx, "graph.html", user, figure=figure, rows=records(table))


@router.get("/analyses")
def analyses(
    request: Request,
    user: Viewer,
    ctx: Ctx,
    name: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")] = None,
    scenario: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9][a-z0-9_\-]*$")] = None,
) -> Response:
    registry = available()
    rows: list[dict[str, Any]] = []
    figures: list[tuple[str, dict[str, Any]]] = []
    if name is not None:
        if name not in registry:
            raise HTTPException(404, f"no analysis '{name}'")
        scenario = scenario or registry[name].scenario
        scen, _ = scenario_or_404(ctx, scenario)
        table = registry[name].run(ctx.data.model(), scen)
        rows = records(table)
        spec = registry[name].figure_spec(table)
        figures = [("analysis", spec)] if spec else []
    return render(
        request,
        ctx,
        "analyses.html",
        user,
        registry=registry,
        name=name,
        scenario=scenario,
        scenarios=list_scenarios(ctx.store),
        rows=rows,
        figures=figures,
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
