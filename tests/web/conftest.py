"""Fixtures for the web service: an app on the tiny dataset, users of each role, PostgreSQL.

PostgreSQL tests use ``MATERIEL_TEST_DATABASE_URL`` (CI starts a throwaway cluster and sets
it); each test gets a fresh database. Without the variable they are skipped; with it set but
the server unreachable they fail.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import tiny_tables, write_dataset
from materiel.service.app import create_app
from materiel.service.settings import Settings
from materiel.store.db import Store
from materiel.store.users import create_user, issue_token

PG_ENV = "MATERIEL_TEST_DATABASE_URL"
PASSWORDS = {
    "admin": "admin-password-1",
    "analyst": "analyst-password-1",
    "viewer": "viewer-pass-1",
}


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with small costs: the real parameters are tested in test_store.py."""
    from argon2 import PasswordHasher

    import materiel.store.users as users

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(users, "_hasher", cheap)
    monkeypatch.setattr(users, "_DUMMY", cheap.hash("a password nobody has"))


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} must be set in CI (.ci/run starts a PostgreSQL and sets it)")
        pytest.skip(f"{PG_ENV} is not set (CI sets it; see .ci/run)")
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as e:  # CI must not skip silently
        pytest.fail(f"{PG_ENV} is set but PostgreSQL is unreachable: {type(e).__name__}")
    finally:
        engine.dispose()
    return url


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"materiel_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    s.migrate()
    yield s
    s.dispose()


@pytest.fixture
def web_dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "tiny", tiny_tables())


def make_settings(tmp_path: Path, dataset: Path, database_url: str = "") -> Settings:
    return Settings(
        data_dir=tmp_path / "service",
        database_url=database_url,
        secret_key="test-secret-key-not-for-production",
        dataset=dataset,
        workers=2,
    )


def add_users(store: Store) -> dict[str, dict[str, str]]:
    """One user per role; returns role -> bearer headers."""
    headers = {}
    with store.session() as s:
        for role, password in PASSWORDS.items():
            user = create_user(s, role, password, role)
            headers[role] = {"Authorization": f"Bearer {issue_token(s, user)}"}
    return headers


class Web:
    """A test client with users of each role."""

    def __init__(self, client: TestClient, headers: dict[str, dict[str, str]]) -> None:
        self.client = client
        self.headers = headers
        self.ctx = client.app.state.ctx  # type: ignore[attr-defined]

    def wait(self, run_id: int, role: str = "viewer", timeout: float = 60) -> dict[str, Any]:
        """Poll a run until it has ended; return its JSON."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.client.get(f"/api/v1/runs/{run_id}", headers=self.headers[role]).json()
            if body["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
                return body
            time.sleep(0.05)

    def login(self, role: str) -> str:
        """Log the client in as ``role``; returns the session's CSRF token."""
        page = self.client.get("/login")
        token = csrf_of(page.text)
        r = self.client.post(
            "/login",
            data={"username": role, "password": PASSWORDS[role], "csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        return csrf_of(self.client.get("/").text)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def web(tmp_path: Path, web_dataset: Path) -> Iterator[Web]:
    settings = make_settings(tmp_path, web_dataset)
    app = create_app(settings)
    headers = add_users(app.state.ctx.store)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Web(client, headers)
