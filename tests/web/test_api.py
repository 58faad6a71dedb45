"""The JSON API: every route with its role checks (401/403, nothing changed), bad input (422
with a clear message) and the happy path on the tiny dataset."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from materiel.analysis.registry import REGISTRY
from materiel.scenario import load_scenario
from materiel.service.results import records

from .conftest import PASSWORDS, Web

DS = "/api/v1/datasets/tiny"
SCEN = {"name": "my-deal", "months": 12, "events": [{"type": "us_supply_stops", "month": 1}]}
ROW = {"values": {"capacity": "1300", "capacity_high": "1300", "capacity_low": "1300"}}

# (method, path, least role, JSON body)
ROUTES: list[tuple[str, str, str, Any]] = [
    ("GET", "/api/v1/me", "viewer", None),
    ("GET", "/api/v1/datasets", "viewer", None),
    ("GET", DS, "viewer", None),
    ("GET", f"{DS}/tables/facilities", "viewer", None),
    ("PUT", f"{DS}/tables/facilities/rows/powder_plant", "admin", ROW),
    ("DELETE", f"{DS}/tables/sources/rows/nothing", "admin", None),
    ("GET", f"{DS}/audit", "admin", None),
    ("GET", "/api/v1/scenarios", "viewer", None),
    ("GET", "/api/v1/scenarios/imposed-deal", "viewer", None),
    ("GET", "/api/v1/scenarios/imposed-deal/versions", "viewer", None),
    ("POST", "/api/v1/scenarios/validate", "viewer", {"scenario": SCEN}),
    ("POST", "/api/v1/scenarios", "analyst", {"scenario": SCEN}),
    ("GET", "/api/v1/runs", "viewer", None),
    ("POST", "/api/v1/runs", "analyst", {"scenario": "imposed-deal", "draws": 20}),
    ("GET", "/api/v1/runs/1", "viewer", None),
    ("GET", "/api/v1/runs/1/results", "viewer", None),
    ("GET", "/api/v1/runs/1/export", "viewer", None),
    ("GET", "/api/v1/plans", "viewer", None),
    ("POST", "/api/v1/plans", "analyst", {"scenarios": ["imposed-deal"]}),
    ("GET", "/api/v1/plans/1", "viewer", None),
    ("GET", "/api/v1/plans/1/results", "viewer", None),
    ("GET", "/api/v1/plans/1/document", "viewer", None),
    ("GET", "/api/v1/analyses", "viewer", None),
    ("GET", "/api/v1/analyses/dependencies", "viewer", None),
    ("GET", "/api/v1/users", "admin", None),
    ("POST", "/api/v1/users", "admin", {"name": "newbie", "password": "long-password-1"}),
    ("PATCH", "/api/v1/users/viewer", "admin", {"role": "analyst"}),
]
BELOW = {"viewer": [], "analyst": ["viewer"], "admin": ["viewer", "analyst"]}


def state(web: Web) -> tuple[int, int, int, str]:
    """Counts that must not change when a request is refused."""
    h = web.headers["admin"]
    runs = web.client.get("/api/v1/runs", headers=h).json()["total"]
    scen = len(web.client.get("/api/v1/scenarios", headers=h).json())
    audit = len(web.client.get(f"{DS}/audit", headers=h).json())
    table = web.client.get(f"{DS}/tables/facilities", headers=h).text
    return runs, scen, audit, table


def test_openapi_lists_every_resource(web: Web) -> None:
    spec = web.client.get("/api/v1/openapi.json").json()
    tags = {t for path in spec["paths"].values() for op in path.values() for t in op["tags"]}
    assert {"datasets", "scenarios", "runs", "plans", "analyses"} <= tags
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    for method, path, _, _ in ROUTES:
        template = path.replace("/1", "/{run_id}").replace("plans/{run_id}", "plans/{plan_id}")
        assert any(m == method and _matches(p, template) for m, p in documented), path


def _matches(spec_path: str, path: str) -> bool:
    a, b = spec_path.split("/"), path.split("/")
    return len(a) == len(b) and all(x == y or x.startswith("{") for x, y in zip(a, b, strict=True))


def test_unauthenticated_gets_401_and_changes_nothing(web: Web) -> None:
    """Every route, without a token, with a wrong one and with another scheme."""
    before = state(web)
    for method, path, _, body in ROUTES:
        for headers in (
            {},
            {"Authorization": "Bearer mtl_not-a-token"},
            {"Authorization": "Basic x"},
        ):
            r = web.client.request(method, path, json=body, headers=headers)
            assert r.status_code == 401, (method, path, r.text)
            assert r.headers["www-authenticate"] == "Bearer"
            assert "detail" in r.json()
    assert state(web) == before


def test_under_privileged_gets_403_and_changes_nothing(web: Web) -> None:
    """Every route with each role below the one it needs."""
    before = state(web)
    for method, path, role, body in ROUTES:
        for lower in BELOW[role]:
            r = web.client.request(method, path, json=body, headers=web.headers[lower])
            assert r.status_code == 403, (method, path, lower, r.text)
            assert role in r.json()["detail"]
    assert state(web) == before


def test_each_route_works_for_its_role(web: Web) -> None:
    """Every route answers its least role with a success (runs first, so ids 1-2 exist)."""
    h = web.headers
    sim = web.client.post(
        "/api/v1/runs", json={"scenario": "imposed-deal", "draws": 5}, headers=h["analyst"]
    ).json()
    web.wait(sim["id"])
    plan = web.client.post(
        "/api/v1/plans", json={"scenarios": ["imposed-deal"]}, headers=h["analyst"]
    ).json()
    web.wait(plan["id"])
    for method, path, role, body in ROUTES:
        path = path.replace("plans/1", f"plans/{plan['id']}")
        r = web.client.request(method, path, json=body, headers=h[role])
        expected = 404 if path.endswith("rows/nothing") else None
        assert (r.status_code == expected) if expected else r.status_code < 300, (path, r.text)


def test_simulation_submit_poll_results_export(web: Web) -> None:
    h = web.headers["analyst"]
    r = web.client.post(
        "/api/v1/runs", json={"scenario": "imposed-deal", "draws": 50, "seed": 3}, headers=h
    )
    assert r.status_code == 202
    assert r.headers["location"] == f"/api/v1/runs/{r.json()['id']}"
    run = web.wait(r.json()["id"])
    assert run["status"] == "succeeded", run["error"]
    assert run["progress"] == 1.0
    assert run["dataset"]["name"] == "tiny" and len(run["dataset"]["digest"]) == 64
    assert run["package_version"] and run["seed"] == 3 and run["draws"] == 50
    assert run["months"] == 36 and len(run["inputs_hash"]) == 64
    assert run["summary"]["shortfall"]["shell"] > 0
    tables = web.client.get(f"/api/v1/runs/{run['id']}/results", headers=h).json()["tables"]
    assert {"summary", "by_month", "fire_ratio", "cost", "production"} <= set(tables)
    csv = web.client.get(f"/api/v1/runs/{run['id']}/export?format=csv&table=fire_ratio", headers=h)
    assert csv.status_code == 200 and csv.text.splitlines()[0] == "month,date,p10,p50,p90"
    xlsx = web.client.get(f"/api/v1/runs/{run['id']}/export?format=xlsx", headers=h)
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert {"run", "summary", "fire_ratio"} <= set(book.sheetnames)
    html = web.client.get(f"/api/v1/runs/{run['id']}/export?format=html", headers=h)
    assert "Plotly.newPlot" in html.text and "cdn" not in html.text.lower().split("<body")[1]
    missing = web.client.get(f"/api/v1/runs/{run['id']}/export?table=nope", headers=h)
    assert missing.status_code == 404 and "summary" in missing.json()["detail"]
    # same inputs, same hash; another seed, another hash
    again = web.client.post(
        "/api/v1/runs", json={"scenario": "imposed-deal", "draws": 50, "seed": 3}, headers=h
    ).json()
    other = web.client.post(
        "/api/v1/runs", json={"scenario": "imposed-deal", "draws": 50, "seed": 4}, headers=h
    ).json()
    assert again["inputs_hash"] == run["inputs_hash"] != other["inputs_hash"]
    listed = web.client.get("/api/v1/runs?kind=simulate&limit=2", headers=h).json()
    assert listed["total"] == 3 and len(listed["runs"]) == 2


def test_inline_scenario_and_run_input_errors(web: Web) -> None:
    h = web.headers["analyst"]
    ok = web.client.post("/api/v1/runs", json={"scenario_data": SCEN, "draws": 10}, headers=h)
    assert ok.status_code == 202 and web.wait(ok.json()["id"])["status"] == "succeeded"
    cases = [
        ({"scenario": "imposed-deal", "draws": 0}, "draws"),
        ({"scenario": "imposed-deal", "draws": 10**6}, "draws"),
        ({"scenario": "imposed-deal", "seed": -1}, "seed"),
        ({"scenario": "imposed-deal", "colour": "red"}, "colour"),
        ({"scenario": "Bad Name"}, "scenario"),
        ({}, "exactly one"),
        ({"scenario": "imposed-deal", "scenario_data": SCEN}, "exactly one"),
        ({"scenario_data": {"name": "x", "months": 0}}, "months"),
        ({"scenario_data": {"name": "x", "events": [{"type": "alien"}]}}, "us_supply_stops"),
        ({"scenario": "imposed-deal", "actor": "XYZ"}, "UKR"),
    ]
    for body, hint in cases:
        r = web.client.post("/api/v1/runs", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert hint in r.text, (body, r.text)
        assert "Traceback" not in r.text
    assert web.client.post("/api/v1/runs", content="{nope", headers=h).status_code == 422
    r = web.client.post("/api/v1/runs", json={"scenario": "no-such"}, headers=h)
    assert r.status_code == 404 and "no-such" in r.json()["detail"]
    for path in ("/api/v1/runs/999", "/api/v1/runs/0", "/api/v1/runs/99999999999999"):
        assert web.client.get(path, headers=h).status_code in (404, 422)


def test_plan_submit_poll_document(web: Web) -> None:
    h = web.headers["analyst"]
    r = web.client.post(
        "/api/v1/plans",
        json={
            "scenarios": ["imposed-deal", "protracted-talks"],
            "budget_eur_per_year": 2e9,
            "months": 24,
        },
        headers=h,
    )
    assert r.status_code == 202, r.text
    plan = web.wait(r.json()["id"])
    assert plan["status"] == "succeeded", plan["error"]
    assert plan["kind"] == "plan" and plan["summary"]["scenarios"] == [
        "imposed-deal",
        "protracted-talks",
    ]
    doc = web.client.get(f"/api/v1/plans/{plan['id']}/document", headers=h).json()
    assert doc["format"] == "materiel-plan" and doc["months"] == 24
    tables = web.client.get(f"/api/v1/plans/{plan['id']}/results", headers=h).json()["tables"]
    assert {"investments", "shortfall", "capacity_duals", "budget_duals"} <= set(tables)
    # planner units only: weighted shortfall and EUR, never the LP's objective or penalty
    summary = plan["summary"]
    assert "objective" not in summary and summary["weighted_shortfall"] >= 0
    assert "budget_shortfall_avoided_per_eur_m" in summary
    shown = {k for rows in tables.values() for r in rows if isinstance(r, dict) for k in r}
    assert not {k for k in shown if "objective" in k or "penalty" in k or k.endswith("per_eur")}
    assert {"value_eur_per_unit_month", "cost_eur_per_unit_month"} <= {
        k for r in tables["capacity_duals"] for k in r
    }
    sim = web.client.post(
        "/api/v1/runs", json={"scenario": "imposed-deal", "draws": 5}, headers=h
    ).json()
    assert web.client.get(f"/api/v1/plans/{sim['id']}", headers=h).status_code == 404
    for body in (
        {"scenarios": []},
        {"scenarios": ["imposed-deal", "imposed-deal"]},
        {"scenarios": ["imposed-deal"], "budget_eur_per_year": -1},
    ):
        assert web.client.post("/api/v1/plans", json=body, headers=h).status_code == 422


def test_scenarios_save_versions_and_validation(web: Web) -> None:
    h = web.headers["analyst"]
    r = web.client.post("/api/v1/scenarios", json={"scenario": SCEN, "comment": "first"}, headers=h)
    assert r.status_code == 201 and r.json()["version"] == 1
    changed = {**SCEN, "months": 24}
    assert (
        web.client.post("/api/v1/scenarios", json={"scenario": changed}, headers=h).json()[
            "version"
        ]
        == 2
    )
    assert web.client.get("/api/v1/scenarios/my-deal/versions", headers=h).json() == [2, 1]
    assert (
        web.client.get("/api/v1/scenarios/my-deal?version=1", headers=h).json()["scenario"][
            "months"
        ]
        == 12
    )
    assert web.client.get("/api/v1/scenarios/my-deal", headers=h).json()["scenario"]["months"] == 24
    # a saved version of a bundled scenario takes precedence; v0 stays reachable
    bundled = web.client.get("/api/v1/scenarios/imposed-deal", headers=h).json()["scenario"]
    web.client.post("/api/v1/scenarios", json={"scenario": {**bundled, "months": 6}}, headers=h)
    assert web.client.get("/api/v1/scenarios/imposed-deal", headers=h).json()["version"] == 1
    assert (
        web.client.get("/api/v1/scenarios/imposed-deal?version=0", headers=h).json()["scenario"][
            "months"
        ]
        == 36
    )
    bad = {**SCEN, "events": [{"type": "ceasefire", "month": -2}]}
    r = web.client.post("/api/v1/scenarios", json={"scenario": bad}, headers=h)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"].startswith("events.0")
    assert "month index >= 0" in r.json()["message"]
    v = web.client.post("/api/v1/scenarios/validate", json={"scenario": bad}, headers=h).json()
    assert v["valid"] is False and v["issues"]
    r = web.client.post(
        "/api/v1/scenarios", json={"scenario": {**SCEN, "name": "Bad Name"}}, headers=h
    )
    assert r.status_code == 422 and "name" in r.text
    assert web.client.get("/api/v1/scenarios/nope", headers=h).status_code == 404
    assert web.client.get("/api/v1/scenarios/BAD", headers=h).status_code == 422


def test_data_edit_is_validated_and_audited(web: Web) -> None:
    h = web.headers["admin"]
    r = web.client.put(f"{DS}/tables/facilities/rows/powder_plant", json=ROW, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["before"]["capacity"] == "1200.0" and r.json()["after"]["capacity"] == "1300"
    table = web.client.get(f"{DS}/tables/facilities", headers=h).json()
    assert table["origin"] == "edited"
    assert web.client.get("/api/v1/datasets", headers=h).json()[0]["version"] == "1+edited"
    entry = web.client.get(f"{DS}/audit?table=facilities", headers=h).json()[0]
    assert entry["user"] == "admin" and entry["action"] == "update"
    assert entry["key"] == "powder_plant" and entry["after"]["capacity"] == "1300"
    # the next run uses the edited data
    run = web.client.post(
        "/api/v1/runs", json={"scenario": "imposed-deal", "draws": 5}, headers=h
    ).json()
    assert run["dataset"]["version"] == "1+edited"
    # invalid edits are refused with the problem, and change nothing
    before = web.client.get(f"{DS}/tables/facilities", headers=h).text
    for body, hint in (
        ({"values": {"capacity": "lots"}}, "capacity"),
        ({"values": {"country": "ATLANTIS"}}, "unknown country"),
        ({"values": {"colour": "red"}}, "unknown column"),
        ({"values": {"note": "a\x00b"}}, "control characters"),
    ):
        r = web.client.put(f"{DS}/tables/facilities/rows/powder_plant", json=body, headers=h)
        assert r.status_code == 422 and hint in r.text, r.text
    r = web.client.delete(f"{DS}/tables/items/rows/powder", headers=h)
    assert r.status_code == 422 and "unknown item" in r.text
    assert web.client.get(f"{DS}/tables/facilities", headers=h).text == before
    assert web.client.delete(f"{DS}/tables/items/rows/nothing", headers=h).status_code == 404
    assert web.client.get("/api/v1/datasets/other", headers=h).status_code == 404
    assert web.client.get(f"{DS}/tables/nope", headers=h).status_code == 404
    r = web.client.put(f"{DS}/tables/stocks/rows/UKR", json=ROW, headers=h)
    assert r.status_code == 422 and "actor,item" in r.text


def test_users_and_tokens(web: Web) -> None:
    c, h = web.client, web.headers["admin"]
    r = c.post("/api/v1/auth/token", json={"username": "viewer", "password": "wrong"})
    assert r.status_code == 401 and "password" not in r.text.replace("user name or password", "")
    r = c.post("/api/v1/auth/token", json={"username": "viewer", "password": PASSWORDS["viewer"]})
    assert r.status_code == 201 and r.json()["role"] == "viewer"
    token = {"Authorization": f"Bearer {r.json()['token']}"}
    assert c.get("/api/v1/me", headers=token).json()["name"] == "viewer"
    assert (
        c.post(
            "/api/v1/users",
            json={"name": "newbie", "password": "long-password-1", "role": "analyst"},
            headers=h,
        ).status_code
        == 201
    )
    assert (
        c.post(
            "/api/v1/users", json={"name": "newbie", "password": "long-password-1"}, headers=h
        ).status_code
        == 409
    )
    r = c.post("/api/v1/users", json={"name": "weak", "password": "tiny-pw"}, headers=h)
    assert r.status_code == 422 and "password" in r.json()["message"] and "tiny-pw" not in r.text
    assert (
        c.patch("/api/v1/users/viewer", json={"active": False}, headers=h).json()["active"] is False
    )
    assert c.get("/api/v1/me", headers=token).status_code == 401  # disabled user's token
    assert c.patch("/api/v1/users/admin", json={"role": "viewer"}, headers=h).status_code == 422
    assert c.patch("/api/v1/users/ghost", json={"role": "viewer"}, headers=h).status_code == 404
    names = [u["name"] for u in c.get("/api/v1/users", headers=h).json()]
    assert names == ["admin", "analyst", "newbie", "viewer"]
    actions = {e["action"] for e in c.get(f"{DS}/audit", headers=h).json()}
    assert {"user.create", "user.update", "token.create"} <= actions


def test_analyses_and_unknown_ones(web: Web) -> None:
    h = web.headers["viewer"]
    listed = {a["name"]: a for a in web.client.get("/api/v1/analyses", headers=h).json()}
    assert list(listed) == list(REGISTRY)  # the one registry, nothing else
    months = next(p for p in listed["outlook"]["parameters"] if p["name"] == "months")
    assert months == {
        "name": "months",
        "type": "int",
        "default": 4,
        "unit": "months",
        "help": "length of the window",
        "minimum": 1,
        "maximum": 240,
        "choices": None,
        "default_text": None,
    }
    assert listed["outlook"]["stochastic"] and not listed["coordination"]["stochastic"]
    assert listed["chokepoints"]["stochastic"]  # rank ranges over draws
    r = web.client.get("/api/v1/analyses/chokepoints?duals=false&fraction=0.5", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["parameters"] == {"fraction": 0.5, "duals": False, "dual_draws": 0}
    assert body["scenario_version"] == 0
    spec = REGISTRY["chokepoints"]
    direct = spec.run(
        web.ctx.data.model(),
        load_scenario("imposed-deal"),
        draws=spec.draws,
        seed=0,
        fraction=0.5,
        duals=False,
    )
    assert body["rows"] == records(direct)  # the parameters reached the analysis
    assert web.client.get("/api/v1/analyses/nope", headers=h).status_code == 404
    r = web.client.get("/api/v1/analyses/dependencies?scenario=nope", headers=h)
    assert r.status_code == 404
    r = web.client.get("/api/v1/analyses/outlook?draws=0", headers=h)
    assert r.status_code == 422
    r = web.client.get("/api/v1/analyses/outlook?months=zero&colour=red", headers=h)
    assert r.status_code == 422
    assert "months: expected a whole number" in r.text and "unknown parameter 'colour'" in r.text
    r = web.client.get("/api/v1/analyses/dependencies?basis=weight", headers=h)
    assert r.status_code == 422 and "output, capacity" in r.text


def test_unexpected_errors_leak_nothing(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    def broken(model: object, scenario: object, **options: object) -> None:
        raise RuntimeError("secret-connection-string postgresql://u:pw@db")

    spec = dataclasses.replace(REGISTRY["dependencies"], name="broken", function=broken)
    monkeypatch.setitem(REGISTRY, "broken", spec)
    r = web.client.get("/api/v1/analyses/broken", headers=web.headers["viewer"])
    assert r.status_code == 500
    assert "error id" in r.json()["detail"]
    assert "secret" not in r.text and "Traceback" not in r.text and "pw@" not in r.text
    r = web.client.get("/api/v1/runs/%00", headers=web.headers["viewer"])
    assert r.status_code == 400
