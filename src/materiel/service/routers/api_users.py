"""/api/v1/auth and /api/v1/users: API tokens (issue, list, revoke), the current user and
their password, user management (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from materiel.service.auth import ApiRole, Principal, login_guard
from materiel.service.context import Context, get_ctx
from materiel.service.schemas import (
    MAX_INT,
    PasswordChange,
    TokenInfo,
    TokenOut,
    TokenRequest,
    UserIn,
    UserOut,
    UserPatch,
)
from materiel.store import audit
from materiel.store.models import User
from materiel.store.users import (
    UserError,
    change_password,
    create_user,
    issue_token,
    revoke_token,
    token_valid,
    tokens_of,
    update_user,
)

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
async def token(body: TokenRequest, request: Request, ctx: Ctx) -> TokenOut:
    """Throttled per user name and client address (429 with Retry-After)."""
    found = await login_guard(request).verify(request, ctx.store, body.username, body.password)
    if found is None:
        raise HTTPException(
            401, "wrong user name or password", headers={"WWW-Authenticate": "Bearer"}
        )
    user_id = found.id

    def issue() -> TokenOut:
        with ctx.store.session() as s:
            user = s.get(User, user_id)
            assert user is not None
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

    return await run_in_threadpool(issue)


@router.get("/auth/tokens", response_model=list[TokenInfo], summary="Your API tokens")
def list_tokens(user: Viewer, ctx: Ctx) -> list[TokenInfo]:
    with ctx.store.session_factory() as s:
        me = s.get(User, user.id)
        assert me is not None
        return [
            TokenInfo(
                id=t.id,
                name=t.name,
                prefix=t.prefix,
                created_at=t.created_at,
                last_used_at=t.last_used_at,
                active=token_valid(t, me),
            )
            for t in tokens_of(s, user.id)
        ]


@router.delete(
    "/auth/tokens/{token_id}",
    status_code=204,
    summary="Revoke one of your tokens (admins: anyone's); it stops working at once",
)
def delete_token(
    token_id: Annotated[int, Path(ge=1, le=MAX_INT)], user: Viewer, ctx: Ctx
) -> Response:
    with ctx.store.session() as s:
        row = revoke_token(s, token_id, None if user.can("admin") else user.id)
        if row is None:
            raise HTTPException(404, f"no token with id {token_id} that you may revoke")
        owner = s.get(User, row.user_id)
        audit.record(
            s,
            user.name,
            "token.revoke",
            "api_tokens",
            f"{owner.name if owner else row.user_id}:{row.name}",
            {"revoked": False},
            {"revoked": True},
        )
    return Response(status_code=204)


@router.post(
    "/me/password",
    status_code=204,
    summary="Change your password (every session and token of yours ends, this one too)",
)
async def me_password(body: PasswordChange, request: Request, user: Viewer, ctx: Ctx) -> Response:
    guard = login_guard(request)
    if await guard.verify(request, ctx.store, user.name, body.current_password) is None:
        raise HTTPException(422, "the current password is wrong")

    def change() -> None:
        with ctx.store.session() as s:
            me = s.get(User, user.id)
            assert me is not None
            change_password(s, me, body.current_password, body.new_password)
            audit.record(s, user.name, "user.password", "users", user.name, None, None)

    await guard.pool.run(change)
    return Response(status_code=204)


@router.get("/me", response_model=UserOut, summary="The user of this token")
def me(user: Viewer, ctx: Ctx) -> UserOut:
    with ctx.store.session_factory() as s:
        row = s.get(User, user.id)
        assert row is not None
        return _out(row)


@router.get("/users", response_model=list[UserOut], summary="Users (admin)")
def list_users(user: Admin, ctx: Ctx) -> list[UserOut]:
    with ctx.store.session_factory() as s:
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
        update_user(s, row, body.role, body.active)
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
