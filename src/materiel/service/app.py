"""The FastAPI application: ``create_app(settings)``.

Serves the web pages (Jinja2 + htmx), the JSON API under /api/v1 (OpenAPI spec at
/api/v1/openapi.json; no docs viewer, since Swagger UI would come from a CDN), htmx from the
package's static folder and plotly.js from the installed plotly package: nothing comes from a CDN.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import unquote

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from threadpoolctl import threadpool_limits

from materiel import __version__
from materiel.service.auth import LoginGuard
from materiel.service.context import HERE, Context, make_templates
from materiel.service.data import DataService
from materiel.service.errors import CatchAll, install_error_handlers
from materiel.service.export import PLOTLY_JS
from materiel.service.routers import (
    api_analyses,
    api_datasets,
    api_plans,
    api_runs,
    api_scenarios,
    api_users,
    pages_data,
    pages_main,
    pages_runs,
    pages_scenarios,
)
from materiel.service.runner import Runner
from materiel.service.settings import Settings
from materiel.store.db import Store
from materiel.store.runs import fail_interrupted

log = logging.getLogger("materiel.service")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def _warm(data: DataService) -> None:
    try:
        data.load()
    except Exception:  # reported to users when they use the dataset
        log.warning("the dataset does not load; pages that need it will say why")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: open (and migrate) the store, fail runs a dead process left behind."""
    settings = settings or Settings.from_env()
    store = Store(settings.database_url)
    if settings.migrate:
        store.migrate()
    interrupted = fail_interrupted(store)
    if interrupted:
        log.warning("marked %d interrupted run(s) as failed", interrupted)
    data = DataService(settings.dataset, settings.edits_dir)
    ctx = Context(
        settings,
        store,
        data,
        Runner(store, settings.workers, settings.max_run_bytes),
        make_templates(),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Parallelism comes from the run workers: one BLAS thread each, or concurrent runs
        # oversubscribe the cores (measured 4x slower with two runs on two cores).
        blas = threadpool_limits(limits=settings.blas_threads, user_api="blas")
        threading.Thread(target=_warm, args=(data,), daemon=True).start()
        yield
        ctx.runner.shutdown(wait=False)
        store.dispose()
        blas.restore_original_limits()

    app = FastAPI(
        title="materiel",
        version=__version__,
        description="Plan European defence-industrial mobilisation: Monte Carlo simulations "
        "and capacity-expansion plans over one model of the munitions supply chain. "
        "Authenticate with `Authorization: Bearer <token>` (POST /api/v1/auth/token).",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.state.login = LoginGuard(settings)
    app.add_middleware(CatchAll)  # innermost: keeps the connection after an unexpected error
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="materiel_session",
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=settings.secure_cookies,
    )

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        raw = unquote(request.url.path) + unquote(request.url.query)
        if any(ord(c) < 32 or ord(c) == 127 for c in raw):
            response: Response = JSONResponse(
                {"detail": "control characters are not allowed in the URL"}, 400
            )
        else:
            response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith(("/static", "/vendor")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        """plotly.js from the installed plotly package."""
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    for module in (
        api_datasets,
        api_scenarios,
        api_runs,
        api_plans,
        api_analyses,
        api_users,
        pages_main,
        pages_scenarios,
        pages_runs,
        pages_data,
    ):
        app.include_router(module.router)
    return app
