"""No 500 on any input: deep YAML, inf/NaN in stored results, out-of-range numbers, work too
large for memory, concurrent scenario saves; and the connection survives an error."""

from __future__ import annotations

import http.client
import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import update

from materiel.service import scenarios as svc
from materiel.service.app import create_app
from materiel.simulation.limits import (
    WorkTooLargeError,
    check_limits,
    estimate_bytes,
    floats_per_draw_month,
)
from materiel.store import runs as run_store
from materiel.store.db import Store
from materiel.store.models import Run

from .conftest import Web, add_users, make_settings

SCENARIO = {"name": "busy", "months": 12, "events": [{"type": "us_supply_stops", "month": 2}]}


def _editor_form(web: Web, csrf: str, other_events: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "name": "deep-test",
        "months": "12",
        "probability": "1",
        "other_events": other_events,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 5000, "nested more than"),
        ("- " * 3000 + "x", "nested more than"),
        ("a: &x [1]\nb: *x", "aliases"),
        ("[" + "1," * 12000 + "]", "at most 20,000"),
        ("[" + "1," * 9000 + "]", "more than 5,000 values"),
    ],
)
def test_deep_or_huge_yaml_in_the_scenario_editor_is_a_422(
    web: Web, text: str, message: str
) -> None:
    csrf = web.login("analyst")
    r = web.client.post("/scenarios", data=_editor_form(web, csrf, text))
    assert r.status_code == 422 and message in r.text
    r = web.client.post("/scenarios/validate", data=_editor_form(web, csrf, text))
    assert r.status_code in (200, 422) and message in r.text


def test_deep_json_bodies_are_refused_not_crashed(web: Web) -> None:
    body = '{"scenario": ' + "[" * 100_000 + "]" * 100_000 + "}"
    for url in ("/api/v1/scenarios", "/api/v1/scenarios/validate"):
        r = web.client.post(
            url,
            content=body,
            headers={**web.headers["analyst"], "content-type": "application/json"},
        )
        assert r.status_code in (400, 422), r.text


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"type": "ceasefire", "month": 3, "intensity": 1e308}, "events.0.intensity"),
        ({"type": "intensity", "profile": [{"month": 0, "factor": 101}]}, "factor"),
        ({"type": "budget", "eur_per_year": 1e300}, "events.0.eur_per_year"),
        ({"type": "us_supply_stops", "month": 100000}, "events.0.month"),
    ],
)
def test_scenario_numbers_must_be_finite_and_sane(web: Web, event: dict, field: str) -> None:
    scen = {"name": "huge", "months": 12, "events": [event]}
    h = web.headers["analyst"]
    r = web.client.post("/api/v1/scenarios", json={"scenario": scen}, headers=h)
    assert r.status_code == 422 and field in r.json()["message"], r.text
    r = web.client.post("/api/v1/scenarios/validate", json={"scenario": scen}, headers=h)
    assert r.json()["valid"] is False
    r = web.client.post("/api/v1/runs", json={"scenario_data": scen, "draws": 5}, headers=h)
    assert r.status_code == 422


def test_infinite_numbers_in_json_are_refused(web: Web) -> None:
    h = {**web.headers["analyst"], "content-type": "application/json"}
    for body in (
        '{"scenarios": ["imposed-deal"], "budget_eur_per_year": Infinity}',
        '{"scenarios": ["imposed-deal"], "budget_eur_per_year": NaN}',
        '{"scenarios": ["imposed-deal"], "time_limit": 1e999}',
    ):
        assert web.client.post("/api/v1/plans", content=body, headers=h).status_code == 422
    event = '{"type": "ceasefire", "month": 1, "intensity": Infinity}'
    scen = '{"scenario": {"name": "x", "events": [' + event + "]}}"
    r = web.client.post("/api/v1/scenarios", content=scen, headers=h)
    assert r.status_code == 422 and "intensity" in r.json()["message"]


def test_a_run_page_renders_when_stored_results_hold_inf_and_nan(web: Web) -> None:
    r = web.client.post(
        "/api/v1/runs",
        json={"scenario": "imposed-deal", "draws": 10, "months": 12},
        headers=web.headers["analyst"],
    )
    run = web.wait(r.json()["id"])
    assert run["status"] == "succeeded", run["error"]
    tables = run_store.get_results(web.ctx.store, run["id"])
    specials = [math.inf, -math.inf, math.nan]
    for rows in tables.values():
        for k, row in enumerate(rows):
            for key, value in row.items():
                if isinstance(value, float) or (isinstance(value, int) and key != "month"):
                    row[key] = specials[k % 3]
    summary = json.loads(json.dumps(run["summary"]))
    for key, value in summary.items():
        if isinstance(value, float):
            summary[key] = math.inf
        elif isinstance(value, dict):
            summary[key] = {k: math.nan for k in value}
    with web.ctx.store.session() as s:
        s.execute(
            update(Run)
            .where(Run.id == run["id"])
            .values(results=run_store.encode_results(tables), summary=summary)
        )
    h = web.headers["viewer"]
    rid = run["id"]
    assert web.client.get(f"/api/v1/runs/{rid}", headers=h).status_code == 200
    assert web.client.get(f"/api/v1/runs/{rid}/results", headers=h).status_code == 200
    assert web.client.get("/api/v1/runs", headers=h).status_code == 200
    for fmt in ("csv", "xlsx", "html"):
        r = web.client.get(f"/api/v1/runs/{rid}/export?format={fmt}", headers=h)
        assert r.status_code == 200, (fmt, r.text)
    web.login("viewer")
    page = web.client.get(f"/runs/{rid}")
    assert page.status_code == 200, page.text
    assert web.client.get("/runs").status_code == 200
    assert web.client.get("/").status_code == 200
    assert web.client.get(f"/compare?ids={rid}&ids={rid}").status_code == 422  # one run only


def test_simulations_beyond_the_memory_limit_are_refused_before_starting(
    tmp_path: Path, web_dataset: Path
) -> None:
    from fastapi.testclient import TestClient

    settings = make_settings(tmp_path, web_dataset)
    app = create_app(settings)
    headers = add_users(app.state.ctx.store)
    model = app.state.ctx.data.model()
    per_run = estimate_bytes(model, 12, 1000)
    assert per_run == 1000 * 12 * floats_per_draw_month(model) * 4
    settings.max_run_bytes = per_run
    with TestClient(app) as client:
        h = headers["analyst"]
        body = {"scenario": "imposed-deal", "months": 12, "draws": 1001}
        r = client.post("/api/v1/runs", json=body, headers=h)
        assert r.status_code == 422
        message = r.json()["detail"]
        assert "more than the limit" in message and "at most 1,000" in message
        assert run_store.list_runs(app.state.ctx.store)[1] == 0
        body["draws"] = 1000
        assert client.post("/api/v1/runs", json=body, headers=h).status_code == 202
        # the scenario form refuses the same way
        from .conftest import Web

        web = Web(client, headers)
        csrf = web.login("analyst")
        r = client.post(
            "/scenarios/imposed-deal/simulate",
            data={"csrf_token": csrf, "draws": "5000", "months": "12"},
        )
        assert r.status_code == 422 and "more than the limit" in r.text


def test_check_limits_on_the_default_limit(web: Web) -> None:
    model = web.ctx.data.model()
    assert check_limits(model, 240, 10) == estimate_bytes(model, 240, 10)
    with pytest.raises(WorkTooLargeError, match="GiB"):
        check_limits(model, 240, 10**9)
    with pytest.raises(ValueError, match="at least 1"):
        check_limits(model, 0, 10)


def test_concurrent_saves_of_one_scenario_get_distinct_versions(store: Store) -> None:
    """60 threads save the same scenario at once: 60 versions 1..60, none lost."""
    n = 60
    barrier = threading.Barrier(n)
    versions: list[int] = []
    errors: list[BaseException] = []

    def save(k: int) -> None:
        try:
            barrier.wait()
            content = {**SCENARIO, "description": f"save {k}"}
            versions.append(svc.save(store, content, "ana", f"save {k}")[1])
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=save, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert sorted(versions) == list(range(1, n + 1))
    from materiel.store import scenarios as saved

    rows = saved.versions(store, "busy")
    assert len(rows) == n
    assert {r.content["description"] for r in rows} == {f"save {k}" for k in range(n)}


@pytest.fixture
def server(tmp_path: Path, web_dataset: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """The app, with a route that fails unexpectedly, served by uvicorn on 127.0.0.1."""
    app: FastAPI = create_app(make_settings(tmp_path, web_dataset))
    headers = add_users(app.state.ctx.store)

    @app.get("/api/v1/test-boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    @app.get("/test-boom")
    def boom_page() -> None:
        raise RuntimeError("a bug")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield port, headers["viewer"]
    srv.should_exit = True
    thread.join(10)


def test_the_server_keeps_the_connection_after_an_unexpected_error(
    server: tuple[int, dict[str, str]],
) -> None:
    port, headers = server
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/api/v1/me", headers=headers)
    first = conn.getresponse()
    assert first.status == 200
    first.read()
    sock = conn.sock
    for path in ("/api/v1/test-boom", "/test-boom"):
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        body = r.read().decode()
        assert r.status == 500 and "error id" in body and "a bug" not in body
        assert (r.getheader("connection") or "").lower() != "close"
        assert r.getheader("content-security-policy")
    conn.request("GET", "/api/v1/me", headers=headers)
    again = conn.getresponse()
    assert again.status == 200 and json.loads(again.read())["name"] == "viewer"
    assert conn.sock is sock, "the server closed the connection after the 500"
    conn.close()


def test_limits_are_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from materiel.service.settings import Settings

    monkeypatch.setenv("MATERIEL_DATA_DIR", str(tmp_path))
    assert Settings.from_env().max_run_bytes == 2 * 1024**3
    monkeypatch.setenv("MATERIEL_MAX_RUN_BYTES", "1000000")
    monkeypatch.setenv("MATERIEL_LOGIN_FAILURES_PER_USER", "3")
    monkeypatch.setenv("MATERIEL_LOGIN_FAILURES_PER_ADDRESS", "9")
    settings = Settings.from_env()
    assert settings.max_run_bytes == 1_000_000
    assert (settings.login_failures_per_user, settings.login_failures_per_address) == (3, 9)
