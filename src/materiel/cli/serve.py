"""``materiel serve`` (the web app) and ``materiel users`` (accounts and API tokens)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from materiel.cli.app import app, err

users_app = typer.Typer(help="Manage the web app's users and API tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Service data folder (env MATERIEL_DATA_DIR).", show_default=False
    ),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="Run store URL (env MATERIEL_DATABASE_URL).", show_default=False
    ),
]


def _settings(data_dir: Path | None, database_url: str | None, dataset: Path | None = None):  # type: ignore[no-untyped-def]
    import pydantic

    from materiel.errors import DataIssue, MaterielError
    from materiel.service.settings import Settings

    try:
        return Settings.from_env(data_dir=data_dir, database_url=database_url, dataset=dataset)
    except pydantic.ValidationError as e:
        issues = [
            DataIssue("environment", None, f"MATERIEL_{str(err['loc'][0]).upper()}", err["msg"])
            for err in e.errors()
        ]
        raise MaterielError(issues) from None


def _password(env: str) -> str:
    """The password from ``env`` if set, else asked for twice (never echoed)."""
    value = os.environ.get(env)
    if value:
        return value
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _add_user(settings: object, name: str, role: str, password: str) -> None:
    from materiel.store import audit
    from materiel.store.db import Store
    from materiel.store.users import UserError, create_user

    store = Store(settings.database_url)  # type: ignore[attr-defined]
    store.migrate()
    try:
        with store.session() as s:
            user = create_user(s, name, password, role)
            audit.record(
                s, "cli", "user.create", "users", user.name, None, {"role": role, "active": True}
            )
    except UserError as e:
        err.print(f"[bold red]error:[/] {e}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        store.dispose()
    err.print(f"user [bold]{name}[/] added with role [bold]{role}[/]")


@app.command()
def serve(
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    host: Annotated[
        str, typer.Option(help="Address to listen on; keep 127.0.0.1 unless behind a proxy.")
    ] = "127.0.0.1",
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Base dataset folder or bundled name (env MATERIEL_DATASET).",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=32,
            help="Runs executed at once (env MATERIEL_WORKERS; default 2).",
            show_default=False,
        ),
    ] = None,
    create_admin: Annotated[
        str | None,
        typer.Option(
            "--create-admin",
            metavar="NAME",
            help="First create an admin user NAME (password from MATERIEL_ADMIN_PASSWORD or a "
            "prompt), then serve.",
        ),
    ] = None,
) -> None:
    """Start the web app and JSON API (http://127.0.0.1:8000 by default)."""
    import uvicorn

    from materiel.io.dataset import resolve_dataset
    from materiel.service.app import create_app

    settings = _settings(data_dir, database_url, None if data is None else resolve_dataset(data))
    if workers is not None:
        settings.workers = workers
    if create_admin:
        _add_user(settings, create_admin, "admin", _password("MATERIEL_ADMIN_PASSWORD"))
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]warning:[/] listening on {host}: put TLS in front of it")
    err.print(f"materiel web app on http://{host}:{port} (store: {settings.data_dir})")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option(help="viewer, analyst or admin.")] = "viewer",
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Add a user (password from MATERIEL_PASSWORD or a prompt)."""
    _add_user(_settings(data_dir, database_url), name, role, _password("MATERIEL_PASSWORD"))


@users_app.command("list")
def users_list(data_dir: DataDirOption = None, database_url: DatabaseOption = None) -> None:
    """List users and their roles."""
    from sqlalchemy import select

    from materiel.store.db import Store
    from materiel.store.models import User

    store = Store(_settings(data_dir, database_url).database_url)
    store.migrate()
    with store.session_factory() as s:
        for user in s.scalars(select(User).order_by(User.name)):
            typer.echo(f"{user.name}\t{user.role}\t{'active' if user.active else 'disabled'}")
    store.dispose()


@users_app.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="User name.")],
    label: Annotated[str, typer.Option(help="A name for the token.")] = "cli",
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Create an API token for a user and print it (it is not stored in clear)."""
    from sqlalchemy import select

    from materiel.store import audit
    from materiel.store.db import Store
    from materiel.store.models import User
    from materiel.store.users import issue_token

    store = Store(_settings(data_dir, database_url).database_url)
    store.migrate()
    with store.session() as s:
        user = s.scalar(select(User).where(User.name == name))
        if user is None:
            err.print(f"[bold red]error:[/] no user '{name}'", highlight=False)
            raise typer.Exit(2)
        token = issue_token(s, user, label)
        audit.record(
            s,
            "cli",
            "token.create",
            "api_tokens",
            f"{name}:{label}",
            None,
            {"name": label, "prefix": token[:10]},
        )
    store.dispose()
    typer.echo(token)
