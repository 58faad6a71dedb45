"""Pages: the runs list, one run (progress polled by htmx), comparison and exports."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response

from materiel.reporting.runs import MAX_SERIES, RunView, chosen, compare_figures
from materiel.service.analyses import figure_json
from materiel.service.auth import PageRole, Principal
from materiel.service.compare import compare_rows, input_diff
from materiel.service.context import Context, get_ctx
from materiel.service.export import export_response, run_metadata
from materiel.service.results import (
    TABLE_TITLES,
    run_figures,
    run_items,
    run_label,
    safe_figures,
    table_frame,
)
from materiel.service.routers.common import run_or_404
from materiel.service.routers.pages_main import render
from materiel.service.scenarios import list_scenarios
from materiel.service.schemas import MAX_INT
from materiel.store import runs as run_store

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(PageRole("viewer"))]
Ctx = Annotated[Context, Depends(get_ctx)]
RunIdPath = Annotated[int, Path(ge=1, le=MAX_INT)]
SHOWN = {
    "simulate": ("summary",),
    "plan": ("avoided", "investments", "shortfall", "capacity_duals", "budget_duals"),
}
ItemsQuery = Annotated[
    list[str],
    Query(max_length=MAX_SERIES, description="items to draw (at most a handful)"),
]


@router.get("/runs")
def runs_page(
    request: Request,
    user: Viewer,
    ctx: Ctx,
    kind: Annotated[Literal["simulate", "plan"] | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    runs, total = run_store.list_runs(ctx.store, kind=kind, limit=50, offset=(page - 1) * 50)
    return render(
        request,
        ctx,
        "runs.html",
        user,
        runs=runs,
        total=total,
        kind=kind,
        page=page,
        scenarios=list_scenarios(ctx.store),
    )


@router.get("/runs/{run_id}")
def run_page(
    request: Request,
    run_id: RunIdPath,
    user: Viewer,
    ctx: Ctx,
    item: ItemsQuery = [],  # noqa: B006 - FastAPI copies it
) -> Response:
    run = run_or_404(ctx, run_id)
    tables = run_store.get_results(ctx.store, run_id) if run.status == "succeeded" else {}
    frames = {name: table_frame(tables, name) for name in SHOWN[run.kind] if name in tables}
    items = run_items(run)
    picked = chosen(item, items, (run.summary or {}).get("shortfall_share", {}))
    figures = (
        safe_figures(lambda: [(k, figure_json(f)) for k, f in run_figures(run, tables, picked)])
        if tables
        else []
    )
    return render(
        request,
        ctx,
        "run.html",
        user,
        run=run,
        meta=run_metadata(run),
        frames=frames,
        titles=TABLE_TITLES,
        figures=figures,
        table_names=list(tables),
        items=items,
        picked=picked,
        max_series=MAX_SERIES,
    )


@router.get("/runs/{run_id}/progress")
def run_progress(request: Request, run_id: RunIdPath, user: Viewer, ctx: Ctx) -> Response:
    """htmx fragment polled every 0.5 s; asks the page to reload when the run has ended."""
    run = run_or_404(ctx, run_id)
    response = render(request, ctx, "_progress.html", user, run=run)
    if run.status in ("succeeded", "failed"):
        response.headers["HX-Refresh"] = "true"
    return response


@router.get("/runs/{run_id}/export.{fmt}")
def run_export(
    run_id: RunIdPath,
    fmt: Literal["csv", "xlsx", "html"],
    user: Viewer,
    ctx: Ctx,
    table: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")] = None,
) -> Response:
    return export_response(ctx, run_or_404(ctx, run_id), fmt, table)


@router.get("/compare")
def compare(
    request: Request,
    user: Viewer,
    ctx: Ctx,
    ids: Annotated[list[int], Query(max_length=8)] = [],  # noqa: B006 - FastAPI copies it
    item: ItemsQuery = [],  # noqa: B006 - FastAPI copies it
) -> Response:
    wanted = list(dict.fromkeys(i for i in ids if 1 <= i <= MAX_INT))
    if len(wanted) < 2:
        raise HTTPException(422, "choose two or more runs to compare (tick them in the list)")
    runs = [run_or_404(ctx, i) for i in wanted]
    done = [r for r in runs if r.status == "succeeded"]
    tables = {r.id: run_store.get_results(ctx.store, r.id) for r in done}
    items = sorted({k for r in done for k in (r.summary or {}).get("shortfall", {})})
    worst: dict[str, float] = {}
    for r in done:
        for k, v in ((r.summary or {}).get("shortfall_share") or {}).items():
            worst[k] = max(worst.get(k, 0.0), v or 0.0)
    picked = chosen(item, items, worst)
    builds = {r.id: table_frame(tables[r.id], "plan") for r in done if r.kind == "plan"}
    views = [RunView(run_label(r), r.kind, r.summary or {}, tables[r.id]) for r in done]
    figures = (
        safe_figures(lambda: [(k, figure_json(f)) for k, f in compare_figures(views, picked)])
        if done
        else []
    )
    return render(
        request,
        ctx,
        "compare.html",
        user,
        runs=runs,
        ids=wanted,
        items=items,
        picked=picked,
        max_series=MAX_SERIES,
        rows=compare_rows(runs, items),
        diff=input_diff(runs),
        figures=figures,
        builds=builds,
        label=run_label,
    )
