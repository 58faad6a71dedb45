"""Who is asking, and may they? Sessions for pages, bearer tokens for the API, CSRF, logins.

Pages: the signed session cookie carries a random session id that is checked against the store
(``user_sessions``) on every request, so logout, a password change or disabling the user ends
it at once. Logins go through :class:`LoginGuard` (throttled, bounded hashing).

Roles: viewer (read), analyst (also run and edit scenarios), admin (also edit data and manage
users). A request without valid credentials gets 401, one with too small a role 403; both are
raised before anything changes.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import HTTPException, Request

from materiel.service.login import HashPool, Throttle
from materiel.service.settings import Settings
from materiel.store.db import Store
from materiel.store.models import User
from materiel.store.sessions import close_session, open_session, session_user
from materiel.store.users import authenticate, role_at_least, user_for_token

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class Principal:
    """The authenticated user of a request."""

    id: int
    name: str
    role: str

    def can(self, role: str) -> bool:
        return role_at_least(self.role, role)


class LoginRequiredError(Exception):
    """A page needs a logged-in user (rendered as the login form with status 401)."""


def _principal(user: User) -> Principal:
    return Principal(user.id, user.name, user.role)


def api_principal(request: Request) -> Principal:
    """The user of a bearer token; 401 if absent or invalid."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            401,
            "authentication required: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    store = request.app.state.ctx.store
    with store.session() as s:
        user = user_for_token(s, token.strip())
        if user is None:
            raise HTTPException(
                401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"}
            )
        return _principal(user)


def page_principal(request: Request) -> Principal | None:
    """The user of the session cookie, if its session is still open in the store."""
    sid = request.session.get("sid")
    if not isinstance(sid, str):
        return None
    store = request.app.state.ctx.store
    with store.session_factory() as s:
        user = session_user(s, sid)
        if user is None:
            request.session.clear()
            return None
        return _principal(user)


def require_role(principal: Principal, role: str) -> Principal:
    if not principal.can(role):
        raise HTTPException(403, f"this needs the '{role}' role; you are '{principal.role}'")
    return principal


class ApiRole:
    """Dependency: a bearer-token user with at least ``role``."""

    def __init__(self, role: str) -> None:
        self.role = role

    def __call__(self, request: Request) -> Principal:
        return require_role(api_principal(request), self.role)


class PageRole:
    """Dependency: a logged-in user with at least ``role``; unsafe methods also need a
    valid CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``)."""

    def __init__(self, role: str) -> None:
        self.role = role

    async def __call__(self, request: Request) -> Principal:
        principal = page_principal(request)
        if principal is None:
            raise LoginRequiredError()
        require_role(principal, self.role)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            await check_csrf(request)
        return principal


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """403 unless the request carries the session's CSRF token."""
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    expected = request.session.get("csrf")
    if not sent or not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "the form has expired or its CSRF token is wrong; reload the page")


def login_session(request: Request, store: Store, user: User, max_age: int) -> None:
    """Start a fresh session for ``user`` (a new id and CSRF token, no fixation)."""
    logout_session(request, store)
    with store.session() as s:
        sid = open_session(s, user, max_age)
    request.session["sid"] = sid
    request.session["csrf"] = secrets.token_urlsafe(32)


def logout_session(request: Request, store: Store) -> None:
    """End the request's session in the store and clear the cookie."""
    sid = request.session.get("sid")
    if isinstance(sid, str):
        with store.session() as s:
            close_session(s, sid)
    request.session.clear()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class LoginGuard:
    """Checks passwords: throttled per user and per address, hashing in a bounded pool."""

    def __init__(self, settings: Settings) -> None:
        self.throttle = Throttle(
            settings.login_failures_per_user,
            settings.login_failures_per_address,
            window=settings.login_window,
            max_lockout=settings.login_max_lockout,
        )
        self.pool = HashPool(settings.hash_workers, settings.hash_queue)

    async def verify(self, request: Request, store: Store, name: str, password: str) -> User | None:
        """The active user with this name and password, else None. Raises
        :class:`~materiel.service.login.TooManyAttemptsError` (429) while throttled and
        :class:`~materiel.service.login.LoginBusyError` (503) when the pool is full."""
        address = client_address(request)
        self.throttle.check(name, address)

        def check() -> User | None:
            with store.session() as s:
                return authenticate(s, name, password) if "\x00" not in name else None

        user = await self.pool.run(check)
        if user is None:
            self.throttle.failure(name, address)
        else:
            self.throttle.success(name)
        return user


def login_guard(request: Request) -> LoginGuard:
    guard: LoginGuard = request.app.state.login
    return guard
