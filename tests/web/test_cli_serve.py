"""``materiel serve`` and ``materiel users``, and the service settings."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from materiel.cli import app
from materiel.service.settings import Settings


def test_settings_defaults_and_secret_key_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    key_file = tmp_path / "d" / "secret_key"
    assert settings.database_url == f"sqlite:///{tmp_path / 'd' / 'materiel.db'}"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(settings.secret_key) >= 40
    assert Settings(data_dir=tmp_path / "d").secret_key == settings.secret_key  # kept


def test_settings_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATERIEL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MATERIEL_DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("MATERIEL_SECRET_KEY", "from-env")
    monkeypatch.setenv("MATERIEL_WORKERS", "3")
    settings = Settings.from_env()
    assert (settings.data_dir, settings.database_url) == (tmp_path, "sqlite:///x.db")
    assert (settings.secret_key, settings.workers) == ("from-env", 3)
    assert not (tmp_path / "secret_key").exists()


def test_users_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("MATERIEL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MATERIEL_PASSWORD", "cli-password-1")
    r = runner.invoke(app, ["users", "add", "carol", "--role", "analyst"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["users", "add", "carol"])
    assert r.exit_code == 2 and "already exists" in r.output
    r = runner.invoke(app, ["users", "add", "dave", "--role", "boss"])
    assert r.exit_code == 2 and "unknown role" in r.output
    r = runner.invoke(app, ["users", "list"])
    assert "carol\tanalyst\tactive" in r.output
    r = runner.invoke(app, ["users", "token", "carol"])
    assert r.exit_code == 0 and r.output.strip().startswith("mtl_")
    assert runner.invoke(app, ["users", "token", "nobody"]).exit_code == 2
    monkeypatch.delenv("MATERIEL_PASSWORD")
    r = runner.invoke(app, ["users", "add", "erin"], input="erin-password-1\nerin-password-1\n")
    assert r.exit_code == 0, r.output


def test_serve_starts_on_loopback_with_an_admin(tmp_path: Path, web_dataset: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "MATERIEL_ADMIN_PASSWORD": "first-admin-pw",
        "MATERIEL_DATA_DIR": str(tmp_path / "svc"),
    }
    cmd = [
        sys.executable,
        "-m",
        "materiel",
        "serve",
        "--port",
        str(port),
        "--data",
        str(web_dataset),
        "--create-admin",
        "root",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.post(
                    f"http://127.0.0.1:{port}/api/v1/auth/token",
                    json={"username": "root", "password": "first-admin-pw"},
                )
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert r.status_code == 201 and r.json()["role"] == "admin"
        me = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/me",
            headers={"Authorization": f"Bearer {r.json()['token']}"},
        )
        assert me.json()["name"] == "root"
    finally:
        proc.terminate()
        proc.wait(20)
