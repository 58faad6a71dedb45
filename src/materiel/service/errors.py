"""Error responses: clear messages, JSON for the API and pages for people; never a stack
trace or a secret (unexpected errors are logged with an id the user can quote)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from materiel.schema.validate import DatasetError
from materiel.service.auth import LoginRequiredError, csrf_token
from materiel.service.context import Context
from materiel.service.data import RowNotFoundError
from materiel.service.login import LoginBusyError, TooManyAttemptsError
from materiel.service.runner import RunInputError
from materiel.service.safe_yaml import YamlLimitError
from materiel.service.scenarios import ScenarioNotFoundError
from materiel.simulation.limits import WorkTooLargeError
from materiel.store.users import UserError

log = logging.getLogger("materiel.service")


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _page(request: Request, status: int, title: str, message: str) -> Response:
    ctx: Context = request.app.state.ctx
    return ctx.templates.TemplateResponse(
        request,
        "error.html",
        {"title": title, "message": message, "user": None, "csrf": ""},
        status_code=status,
    )


def _loc(loc: Any) -> str:
    return ".".join(str(p) for p in loc)


def validation_detail(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Errors without the offending input (it may hold a password)."""
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = getattr(exc, "headers", None)
        if is_api(request):
            return JSONResponse({"detail": exc.detail}, exc.status_code, headers=headers)
        titles = {401: "Please log in", 403: "Not allowed", 404: "Not found", 409: "Not ready"}
        return _page(
            request, exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail)
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        detail = validation_detail(list(exc.errors()))
        message = "; ".join(f"{_loc(d['loc'])}: {d['msg']}" for d in detail)
        if is_api(request):
            return JSONResponse({"detail": detail, "message": message}, 422)
        return _page(request, 422, "Invalid input", message)

    @app.exception_handler(DatasetError)
    async def invalid_data(request: Request, exc: DatasetError) -> Response:
        issues = [vars(i) for i in exc.issues]
        message = "; ".join(str(i) for i in exc.issues)
        if is_api(request):
            return JSONResponse({"detail": issues, "message": message}, 422)
        return _page(request, 422, "Invalid input", message)

    async def unprocessable(request: Request, exc: Exception) -> Response:
        if is_api(request):
            return JSONResponse({"detail": str(exc)}, 422)
        return _page(request, 422, "Invalid input", str(exc))

    for cls in (RunInputError, UserError, WorkTooLargeError, YamlLimitError):
        app.add_exception_handler(cls, unprocessable)

    async def not_found(request: Request, exc: Exception) -> Response:
        what = "scenario" if isinstance(exc, ScenarioNotFoundError) else "row"
        message = f"no {what} '{exc.args[0] if exc.args else ''}'"
        if is_api(request):
            return JSONResponse({"detail": message}, 404)
        return _page(request, 404, "Not found", message)

    for missing in (ScenarioNotFoundError, RowNotFoundError):
        app.add_exception_handler(missing, not_found)

    async def retry_later(request: Request, exc: Exception) -> Response:
        busy = isinstance(exc, LoginBusyError)
        status = 503 if busy else 429
        message = "the server is busy checking passwords; retry shortly" if busy else str(exc)
        headers = {"Retry-After": str(getattr(exc, "retry_after", 1))}
        if is_api(request):
            return JSONResponse({"detail": message}, status, headers=headers)
        response = _page(request, status, "Please wait", message)
        response.headers.update(headers)
        return response

    for busy in (TooManyAttemptsError, LoginBusyError):
        app.add_exception_handler(busy, retry_later)

    @app.exception_handler(LoginRequiredError)
    async def login_required(request: Request, exc: LoginRequiredError) -> Response:
        ctx: Context = request.app.state.ctx
        target = request.url.path if request.method == "GET" else "/"
        return ctx.templates.TemplateResponse(
            request,
            "login.html",
            {"user": None, "csrf": csrf_token(request), "next": target, "error": None},
            status_code=401,
        )

    app.add_exception_handler(Exception, unexpected)


async def unexpected(request: Request, exc: Exception) -> Response:
    """500 with an error id; the traceback goes to the server log only."""
    ref = uuid.uuid4().hex[:12]
    log.error("unhandled error %s on %s %s", ref, request.method, request.url.path, exc_info=exc)
    message = f"internal error (error id {ref}); the server log has the details"
    if is_api(request):
        return JSONResponse({"detail": message}, 500)
    try:
        return _page(request, 500, "Something went wrong", message)
    except Exception:  # the error page itself failed: plain text
        return PlainTextResponse(message, 500)


class CatchAll:
    """ASGI middleware: an unexpected exception becomes the 500 response of :func:`unexpected`
    and is not re-raised, so the server keeps the connection open (Starlette's own handler
    re-raises after answering, and uvicorn then closes the connection)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started:  # too late for a response: let the server close the connection
                raise
            response = await unexpected(Request(scope, receive), exc)
            await response(scope, receive, send)
