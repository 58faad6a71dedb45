"""Pages: the dataset's tables with their sources, row edits (admin, audited), the audit log
and user management (admin)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from materiel.schema.tables import TABLES
from materiel.schema.validate import DatasetError
from materiel.service.auth import PageRole, Principal
from materiel.service.context import Context, get_ctx
from materiel.service.data import RowNotFoundError, parse_key
from materiel.service.routers.pages_main import render
from materiel.store import audit
from materiel.store.models import ROLES, User
from materiel.store.users import UserError, create_user
from materiel.store.users import update_user as apply_user_update

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(PageRole("viewer"))]
Admin = Annotated[Principal, Depends(PageRole("admin"))]
Ctx = Annotated[Context, Depends(get_ctx)]
KEY = r"^[A-Za-z0-9_\-]*(,[A-Za-z0-9_\-]+)*$"


def _table(name: str) -> str:
    if name not in TABLES:
        raise HTTPException(404, f"no table '{name}'")
    return name


@router.get("/data")
def data_index(request: Request, user: Viewer, ctx: Ctx) -> Response:
    return _data_index(request, ctx, user)


def _data_index(
    request: Request, ctx: Context, user: Principal, status: int = 200, **extra: Any
) -> Response:
    raw = ctx.data.raw_tables()
    rows = [
        {"name": n, "description": t.description, "rows": len(raw[n]), "origin": ctx.data.origin(n)}
        for n, t in TABLES.items()
    ]
    try:
        dataset, error = ctx.data.dataset(), None
    except DatasetError as e:
        dataset, error = None, "; ".join(str(i) for i in e.issues[:5])
    extra.setdefault("upload_errors", [])
    return render(
        request, ctx, "data.html", user, status, tables=rows, dataset=dataset, error=error, **extra
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/data/workbook.xlsx")
def download_workbook(user: Viewer, ctx: Ctx) -> Response:
    """The whole dataset (edits included) as one Excel workbook, to edit and upload back."""
    dataset = ctx.data.dataset()
    name = f"{dataset.meta.name}-{dataset.meta.version}.xlsx".replace("+", "-")
    return Response(
        ctx.data.workbook(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/data/workbook")
async def upload_workbook(request: Request, user: Admin, ctx: Ctx) -> Response:
    """Replace the dataset's tables by a workbook's (admin): validated as a whole first
    (nothing is saved if anything is wrong), each changed table audited."""
    form = await request.form()
    upload = form.get("workbook")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return _data_index(request, ctx, user, 422, upload_errors=["choose a workbook (.xlsx)"])
    filename = re.sub(r"[^A-Za-z0-9_.\- ]", "_", upload.filename)[-100:]
    content = await upload.read()
    try:
        changes = ctx.data.upload_workbook(ctx.store, user.name, content, filename)
    except DatasetError as e:
        messages = [str(i) for i in e.issues]
        return _data_index(request, ctx, user, 422, upload_errors=messages[:50])
    return _data_index(request, ctx, user, uploaded=filename, changes=changes)


@router.get("/data/{table}")
def data_table(request: Request, table: str, user: Viewer, ctx: Ctx) -> Response:
    spec = TABLES[_table(table)]
    frame = ctx.data.raw_tables()[table]
    rows = frame.to_dict("records")
    keys = [",".join(str(r.get(k, "")) for k in spec.key) for r in rows]
    return render(
        request,
        ctx,
        "table.html",
        user,
        spec=spec,
        rows=zip(keys, rows, strict=True),
        columns=list(frame.columns),
        origin=ctx.data.origin(table),
    )


def _edit_page(
    request: Request,
    ctx: Context,
    user: Principal,
    table: str,
    key: str,
    values: dict[str, str],
    errors: dict[str, list[str]],
    status: int = 200,
) -> Response:
    return render(
        request,
        ctx,
        "edit_row.html",
        user,
        status,
        spec=TABLES[table],
        key=key,
        values=values,
        errors=errors,
    )


@router.get("/data/{table}/edit")
def edit_form(
    request: Request,
    table: str,
    user: Admin,
    ctx: Ctx,
    key: Annotated[str, Query(max_length=255, pattern=KEY)] = "",
) -> Response:
    spec = TABLES[_table(table)]
    values: dict[str, Any] = {c: "" for c in spec.columns}
    if key:
        try:
            parts = parse_key(table, key)
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
        frame = ctx.data.raw_tables()[table]
        match = frame[list(spec.key)].apply(tuple, axis=1) == parts
        if not match.any():
            raise HTTPException(404, f"no row '{key}' in {table}")
        values = {str(k): v for k, v in frame[match].iloc[0].to_dict().items()}
    return _edit_page(request, ctx, user, table, key, values, {})


@router.post("/data/{table}/edit")
async def save_row(request: Request, table: str, user: Admin, ctx: Ctx) -> Response:
    spec = TABLES[_table(table)]
    form = await request.form()
    values = {c: str(form.get(c, "")) for c in spec.columns}
    original = str(form.get("original_key", ""))
    key = original or ",".join(values[k].strip() for k in spec.key)
    errors: dict[str, list[str]] = {}
    try:
        ctx.data.edit_row(ctx.store, user.name, table, key, values)
    except DatasetError as e:
        for issue in e.issues:
            where = issue.field if issue.field in values else "_form"
            prefix = "" if where != "_form" else f"{issue.file}, row {issue.row}: "
            extra = f" (allowed: {issue.allowed})" if issue.allowed else ""
            errors.setdefault(where, []).append(prefix + issue.message + extra)
    except ValueError as e:
        errors["_form"] = [str(e)]
    if errors:
        return _edit_page(request, ctx, user, table, original, values, errors, 422)
    return RedirectResponse(f"/data/{table}?saved={key}", status_code=303)


@router.post("/data/{table}/delete")
async def delete_row(
    request: Request,
    table: str,
    user: Admin,
    ctx: Ctx,
    key: Annotated[str, Form(max_length=255, pattern=KEY)],
) -> Response:
    _table(table)
    try:
        ctx.data.edit_row(ctx.store, user.name, table, key, None)
    except RowNotFoundError:
        raise HTTPException(404, f"no row '{key}' in {table}") from None
    except DatasetError as e:
        raise HTTPException(422, "; ".join(str(i) for i in e.issues)) from None
    except ValueError as e:
        raise HTTPException(422, str(e)) from None
    return RedirectResponse(f"/data/{table}", status_code=303)


@router.get("/audit")
def audit_page(
    request: Request,
    user: Admin,
    ctx: Ctx,
    table: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")] = None,
) -> Response:
    return render(
        request, ctx, "audit.html", user, entries=audit.entries(ctx.store, table), table=table
    )


@router.get("/users")
def users_page(request: Request, user: Admin, ctx: Ctx, error: str | None = None) -> Response:
    with ctx.store.session_factory() as s:
        users = list(s.scalars(select(User).order_by(User.name)))
    return render(request, ctx, "users.html", user, users=users, roles=ROLES, error=None)


@router.post("/users")
def add_user(
    request: Request,
    user: Admin,
    ctx: Ctx,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    role: Annotated[str, Form(max_length=16)] = "viewer",
) -> Response:
    try:
        with ctx.store.session() as s:
            new = create_user(s, name, password, role)
            audit.record(
                s, user.name, "user.create", "users", new.name, None, {"role": role, "active": True}
            )
    except UserError as e:
        with ctx.store.session_factory() as s:
            users = list(s.scalars(select(User).order_by(User.name)))
        return render(request, ctx, "users.html", user, 422, users=users, roles=ROLES, error=str(e))
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{name}")
def update_user(
    request: Request,
    name: str,
    user: Admin,
    ctx: Ctx,
    role: Annotated[str, Form(max_length=16)],
    active: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    if role not in ROLES:
        raise HTTPException(422, f"unknown role '{role}' (allowed: {', '.join(ROLES)})")
    with ctx.store.session() as s:
        row = s.scalar(select(User).where(User.name == name))
        if row is None:
            raise HTTPException(404, f"no user '{name}'")
        is_active = active == "on"
        if row.id == user.id and (role != "admin" or not is_active):
            raise HTTPException(422, "admins cannot demote or disable themselves")
        before = {"role": row.role, "active": row.active}
        apply_user_update(s, row, role, is_active)  # disabling ends sessions and tokens
        audit.record(
            s, user.name, "user.update", "users", name, before, {"role": role, "active": is_active}
        )
    return RedirectResponse("/users", status_code=303)
