"""/api/v1/auth and /api/v1/users: API tokens, the current user, user management (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from sqlalchemy import select

from materiel.service.auth import ApiRole, Principal
from materiel.service.context import Context, get_ctx
from materiel.service.schemas import TokenOut, TokenRequest, UserIn, UserOut, UserPatch
from materiel.store import audit
from materiel.store.models import User
from materiel.store.users import UserError, authenticate, create_user, issue_token

router = APIRouter(prefix="/api/v1", tags=["users"])
Viewer = Annotated[Principal, Depends(ApiRole("viewer"))]
Admin = Annotated[Principal, Depends(ApiRole("admin"))]
Ctx = Annotated[Context, Depends(get_ctx)]
UserPath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]


def _out(user: User) -> UserOut:
    return UserOut(name=user.name, role=user.role, active=user.active, created_at=user.created_at)


@router.post(
    "/auth/token",
    response_model=TokenOut,
    status_code=201,
    summary="Exchange a user name and password for an API token",
)
def token(body: TokenRequest, ctx: Ctx) -> TokenOut:
    with ctx.store.session() as s:
        user = authenticate(s, body.username, body.password)
        if user is None:
            raise HTTPException(
                401, "wrong user name or password", headers={"WWW-Authenticate": "Bearer"}
            )
        value = issue_token(s, user, body.name)
        audit.record(
            s,
            user.name,
            "token.create",
            "api_tokens",
            f"{user.name}:{body.name}",
            None,
            {"name": body.name, "prefix": value[:10]},
        )
        return TokenOut(token=value, user=user.name, role=user.role)


@router.get("/me", response_model=UserOut, summary="The user of this token")
def me(user: Viewer, ctx: Ctx) -> UserOut:
    with ctx.store.sessions() as s:
        row = s.get(User, user.id)
        assert row is not None
        return _out(row)


@router.get("/users", response_model=list[UserOut], summary="Users (admin)")
def list_users(user: Admin, ctx: Ctx) -> list[UserOut]:
    with ctx.store.sessions() as s:
        return [_out(u) for u in s.scalars(select(User).order_by(User.name))]


@router.post("/users", response_model=UserOut, status_code=201, summary="Add a user (admin)")
def add_user(body: UserIn, user: Admin, ctx: Ctx) -> UserOut:
    try:
        with ctx.store.session() as s:
            new = create_user(s, body.name, body.password, body.role)
            audit.record(
                s,
                user.name,
                "user.create",
                "users",
                new.name,
                None,
                {"role": new.role, "active": True},
            )
            return _out(new)
    except UserError as e:
        raise HTTPException(409 if "exists" in str(e) else 422, str(e)) from None


@router.patch("/users/{name}", response_model=UserOut, summary="Change role or active (admin)")
def patch_user(name: UserPath, body: UserPatch, user: Admin, ctx: Ctx) -> UserOut:
    with ctx.store.session() as s:
        row = s.scalar(select(User).where(User.name == name))
        if row is None:
            raise HTTPException(404, f"no user '{name}'")
        if row.id == user.id and (body.role not in (None, "admin") or body.active is False):
            raise HTTPException(422, "admins cannot demote or disable themselves")
        before = {"role": row.role, "active": row.active}
        if body.role is not None:
            row.role = body.role
        if body.active is not None:
            row.active = body.active
        audit.record(
            s,
            user.name,
            "user.update",
            "users",
            name,
            before,
            {"role": row.role, "active": row.active},
        )
        return _out(row)
