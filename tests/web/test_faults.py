"""Fault injection on the real server: ``materiel serve`` killed with SIGKILL in the middle of a
run, then started again on the same store. The run is failed (interrupted) or succeeded with
its results, never half-written."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from materiel.store import runs as run_store
from materiel.store.db import Store

PASSWORD = "fault-admin-pw"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(data_dir: Path, dataset: Path, port: int, create_admin: bool) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MATERIEL_ADMIN_PASSWORD": PASSWORD, "MATERIEL_DATA_DIR": str(data_dir)}
    cmd = [sys.executable, "-m", "materiel", "serve", "--port", str(port), "--data", str(dataset)]
    if create_admin:
        cmd += ["--create-admin", "root"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _token(proc: subprocess.Popen[bytes], port: int) -> str:
    deadline = time.monotonic() + 90
    while True:
        try:
            r = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/auth/token",
                json={"username": "root", "password": PASSWORD},
            )
            assert r.status_code == 201, r.text
            return str(r.json()["token"])
        except httpx.TransportError:
            assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)


@pytest.mark.slow
def test_sigkill_during_a_run_never_leaves_it_half_written(
    tmp_path: Path, web_dataset: Path
) -> None:
    data_dir = tmp_path / "svc"
    port = _free_port()
    proc = _serve(data_dir, web_dataset, port, create_admin=True)
    try:
        h = {"Authorization": f"Bearer {_token(proc, port)}"}
        base = f"http://127.0.0.1:{port}/api/v1"
        r = httpx.post(
            f"{base}/runs",
            json={"scenario": "imposed-deal", "draws": 3000, "months": 120},
            headers=h,
        )
        assert r.status_code == 202, r.text
        run_id = r.json()["id"]
        deadline = time.monotonic() + 60
        while httpx.get(f"{base}/runs/{run_id}", headers=h).json()["status"] == "queued":
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)

    port = _free_port()
    proc = _serve(data_dir, web_dataset, port, create_admin=False)
    try:
        h = {"Authorization": f"Bearer {_token(proc, port)}"}
        base = f"http://127.0.0.1:{port}/api/v1"
        run = httpx.get(f"{base}/runs/{run_id}", headers=h).json()
        results = httpx.get(f"{base}/runs/{run_id}/results", headers=h)
        if run["status"] == "failed":  # killed mid-run: marked failed, no results at all
            assert "interrupted" in run["error"]
            assert results.status_code == 409
        else:  # it had finished before the kill: complete
            assert run["status"] == "succeeded" and run["summary"]
            assert results.status_code == 200 and results.json()["tables"]["summary"]
        # the restarted server works
        r = httpx.post(f"{base}/runs", json={"scenario": "imposed-deal", "draws": 5}, headers=h)
        assert r.status_code == 202
    finally:
        proc.terminate()
        proc.wait(30)
    store = Store(f"sqlite:///{data_dir / 'materiel.db'}")
    stored = run_store.get_run(store, run_id)
    assert stored is not None and stored.status in ("failed", "succeeded")
    assert (stored.status == "succeeded") == bool(run_store.get_results(store, run_id))
    store.dispose()
