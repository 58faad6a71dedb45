"""The run store on SQLite and on a real PostgreSQL: migrations, run life cycle, crash safety,
users, tokens, scenario versions and the audit log."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher

from materiel.service.app import create_app
from materiel.service.settings import Settings
from materiel.store import audit
from materiel.store import runs as run_store
from materiel.store import scenarios as saved
from materiel.store.db import Store
from materiel.store.models import Base
from materiel.store.users import (
    UserError,
    authenticate,
    create_user,
    issue_token,
    user_for_token,
)

RUN = {
    "kind": "simulate",
    "scenario": "imposed-deal",
    "scenario_json": {"scenarios": [{"name": "imposed-deal"}]},
    "parameters": {"draws": 10, "seed": 1, "months": 12, "actor": "UKR"},
    "inputs_hash": "a" * 64,
    "dataset_name": "tiny",
    "dataset_version": "1",
    "dataset_digest": "b" * 64,
    "package_version": "0.1.0",
    "seed": 1,
    "draws": 10,
    "months": 12,
    "created_by": "analyst",
}


def test_migrations_create_the_models_and_are_idempotent(store: Store) -> None:
    assert {"users", "api_tokens", "scenarios", "runs", "audit_log"} <= store.tables()
    store.migrate()  # again: nothing to do
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    store.downgrade("base")
    assert store.tables() <= {"alembic_version"}
    store.migrate()
    assert "runs" in store.tables()


def test_run_life_cycle_writes_results_with_the_status(store: Store) -> None:
    run = run_store.create_run(store, **RUN)
    assert run.id and run.status == "queued" and run.created_at.tzinfo is not None
    assert run_store.finish_run(store, run.id, {"x": 1}, {"t": []}) is False  # not running yet
    assert run_store.start_run(store, run.id) is True
    assert run_store.start_run(store, run.id) is False
    run_store.set_progress(store, run.id, 0.5)
    assert run_store.get_run(store, run.id).progress == 0.5
    tables = {"summary": [{"item": "shell", "shortfall": 1.5, "note": None}]}
    assert run_store.finish_run(store, run.id, {"cost_eur": 2.0}, tables) is True
    done = run_store.get_run(store, run.id)
    assert done.status == "succeeded" and done.summary == {"cost_eur": 2.0}
    assert done.finished_at >= done.started_at >= done.created_at
    assert run_store.get_results(store, run.id) == tables
    run_store.fail_run(store, run.id, "too late")  # an ended run stays as it is
    assert run_store.get_run(store, run.id).status == "succeeded"
    runs, total = run_store.list_runs(store, kind="simulate", status="succeeded")
    assert total == 1 and runs[0].id == run.id


def test_a_failure_while_finishing_leaves_no_half_written_success(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = run_store.create_run(store, **RUN)
    run_store.start_run(store, run.id)

    def boom(*args: object) -> bytes:
        raise MemoryError("results too large")

    monkeypatch.setattr(run_store, "encode_results", boom)
    with pytest.raises(MemoryError):
        run_store.finish_run(store, run.id, {"x": 1}, {"t": []})
    left = run_store.get_run(store, run.id)
    assert left.status == "running" and left.summary is None
    assert run_store.get_results(store, run.id) == {}
    assert run_store.fail_interrupted(store) == 1
    failed = run_store.get_run(store, run.id)
    assert failed.status == "failed" and "interrupted" in failed.error


def test_a_crashed_process_leaves_runs_that_startup_marks_failed(
    db_url: str, tmp_path: pytest.TempPathFactory, web_dataset: object
) -> None:
    """A process that dies mid-run (os._exit) leaves 'running'; the next start fails it."""
    code = textwrap.dedent(
        f"""
        import os
        from materiel.store import runs
        from materiel.store.db import Store
        store = Store({db_url!r})
        store.migrate()
        a = runs.create_run(store, **{RUN!r})
        runs.start_run(store, a.id)
        runs.set_progress(store, a.id, 0.4)
        b = runs.create_run(store, **{RUN!r})
        os._exit(9)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == 9, proc.stderr.decode()
    settings = Settings(
        data_dir=tmp_path / "svc", database_url=db_url, secret_key="k", dataset=web_dataset
    )
    app = create_app(settings)
    store = app.state.ctx.store
    runs, total = run_store.list_runs(store)
    assert total == 2
    assert all(r.status == "failed" and "interrupted" in r.error for r in runs)
    assert all(run_store.get_results(store, r.id) == {} for r in runs)
    store.dispose()


def test_users_passwords_and_tokens(store: Store) -> None:
    with store.session() as s:
        user = create_user(s, "ana", "a-long-password", "analyst")
        assert user.password_hash.startswith("$argon2id$")
        assert "a-long-password" not in user.password_hash
        token = issue_token(s, user, "laptop")
    with store.session() as s:
        assert authenticate(s, "ana", "a-long-password").name == "ana"
        assert authenticate(s, "ana", "wrong-password") is None
        assert authenticate(s, "nobody", "a-long-password") is None
        assert user_for_token(s, token).name == "ana"
        assert user_for_token(s, token + "x") is None
        assert user_for_token(s, "not-even-prefixed") is None
    with store.session() as s, pytest.raises(UserError, match="already exists"):
        create_user(s, "ana", "a-long-password", "viewer")
    for name, password, role in (
        ("bad name", "a-long-password", "viewer"),
        ("bob", "short", "viewer"),
        ("bob", "a-long-password", "superuser"),
    ):
        with store.session() as s, pytest.raises(UserError):
            create_user(s, name, password, role)


def test_real_argon2_parameters_are_the_library_defaults(store: Store) -> None:
    import materiel.store.users as users

    assert users.PasswordHasher is PasswordHasher
    assert PasswordHasher().time_cost >= 2 and PasswordHasher().memory_cost >= 19 * 1024


def test_scenario_versions_and_audit(store: Store) -> None:
    with store.session() as s:
        assert saved.save_scenario(s, "x", {"name": "x", "months": 1}, "ana").version == 1
        assert saved.save_scenario(s, "x", {"name": "x", "months": 2}, "ana").version == 2
        audit.record(
            s, "root", "update", "facilities", "plant", {"capacity": "1"}, {"capacity": "2"}
        )
    assert saved.latest(store, "x").content["months"] == 2
    assert saved.latest(store, "x", 1).content["months"] == 1
    assert saved.latest(store, "y") is None
    assert [v.version for v in saved.versions(store, "x")] == [2, 1]
    assert saved.saved_names(store) == {"x": 2}
    (entry,) = audit.entries(store, "facilities")
    assert (entry.user, entry.before, entry.after) == ("root", {"capacity": "1"}, {"capacity": "2"})
    assert entry.at.tzinfo is not None


def test_the_service_runs_on_each_backend(
    db_url: str, tmp_path: object, web_dataset: object
) -> None:
    """Submit, poll and read a run through the API with the store on this backend."""
    from fastapi.testclient import TestClient

    from .conftest import Web, add_users, make_settings

    app = create_app(make_settings(tmp_path, web_dataset, db_url))  # type: ignore[arg-type]
    headers = add_users(app.state.ctx.store)
    with TestClient(app) as client:
        web = Web(client, headers)
        r = client.post(
            "/api/v1/runs",
            json={"scenario": "imposed-deal", "draws": 20},
            headers=headers["analyst"],
        )
        run = web.wait(r.json()["id"])
        assert run["status"] == "succeeded", run["error"]
        tables = client.get(f"/api/v1/runs/{run['id']}/results", headers=headers["viewer"])
        assert tables.json()["tables"]["summary"][0]["item"] == "shell"


def test_run_scenario_version_migration_up_and_down(tmp_path: Path) -> None:
    """Revision 0003 adds runs.scenario_version to a 0002 store (runs stored before keep
    None) and removes it again on downgrade."""
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy import text

    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    store.migrate("0002")
    columns = {c["name"] for c in sa_inspect(store.engine).get_columns("runs")}
    assert "scenario_version" not in columns
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO runs (kind, status, scenario, scenario_json, parameters, inputs_hash,"
                " dataset_name, dataset_version, dataset_digest, package_version, months,"
                " progress, created_by, created_at) VALUES ('simulate', 'failed', 'x', '{}',"
                " '{}', 'h', 'd', '1', 'g', '0', 12, 0, 'u', '2026-01-01 00:00:00')"
            )
        )
    store.migrate()
    columns = {c["name"] for c in sa_inspect(store.engine).get_columns("runs")}
    assert "scenario_version" in columns
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT scenario_version FROM runs")).scalar() is None
    store.downgrade("0002")
    columns = {c["name"] for c in sa_inspect(store.engine).get_columns("runs")}
    assert "scenario_version" not in columns
    store.dispose()
