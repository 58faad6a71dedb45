"""The web pages through the test client: login, CSRF, roles, the scenario editor's messages,
runs with progress, comparison, data edits (audited) and error pages."""

from __future__ import annotations

import re

import pytest

from .conftest import PASSWORDS, Web, csrf_of


def test_pages_need_login_and_render_the_form_with_401(web: Web) -> None:
    for path in ("/", "/runs", "/graph", "/data", "/scenarios/imposed-deal", "/audit"):
        r = web.client.get(path)
        assert r.status_code == 401 and 'name="password"' in r.text, path
    r = web.client.post("/scenarios", data={"name": "x"})
    assert r.status_code == 401
    assert web.client.get("/static/htmx.min.js").status_code == 200
    plotly = web.client.get("/vendor/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) > 1_000_000


def test_login_needs_csrf_and_the_right_password(web: Web) -> None:
    c = web.client
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": "viewer", "password": PASSWORDS["viewer"]})
    assert r.status_code == 403
    r = c.post("/login", data={"username": "viewer", "password": "nope", "csrf_token": token})
    assert r.status_code == 401 and "Wrong user name or password" in r.text
    r = c.post(
        "/login",
        data={
            "username": "viewer",
            "password": PASSWORDS["viewer"],
            "csrf_token": token,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "httponly" in r.headers["set-cookie"].lower()
    assert "samesite=lax" in r.headers["set-cookie"].lower()
    page = c.get("/")
    assert page.status_code == 200 and "imposed-deal" in page.text
    assert "Content-Security-Policy" in page.headers and "cdn" not in page.text.lower()
    r = c.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and c.get("/").status_code == 401


def test_roles_on_pages(web: Web) -> None:
    csrf = web.login("viewer")
    c = web.client
    assert "save-scenario" not in c.get("/scenarios/imposed-deal").text
    for path in ("/audit", "/users", "/data/facilities/edit?key=powder_plant", "/scenarios/new"):
        assert c.get(path).status_code == 403, path
    r = c.post("/scenarios/imposed-deal/simulate", data={"csrf_token": csrf})
    assert r.status_code == 403
    r = c.post("/data/facilities/edit", data={"csrf_token": csrf, "facility": "powder_plant"})
    assert r.status_code == 403 and "Traceback" not in r.text
    assert c.get("/runs").text.count('class="pick"') == 0


def test_scenario_editor_shows_messages_next_to_fields(web: Web) -> None:
    csrf = web.login("analyst")
    c = web.client
    form = {
        "csrf_token": csrf,
        "original": "imposed-deal",
        "name": "imposed-deal",
        "months": "0",
        "probability": "2",
        "us_stop_month": "-1",
        "budget_bn": "lots",
        "int_month_1": "4",
        "int_factor_1": "-3",
        "other_events": "- type: alien",
    }
    r = c.post("/scenarios", data={k: v for k, v in form.items() if k != "csrf_token"})
    assert r.status_code == 403  # no CSRF token: refused, nothing saved
    r = c.post("/scenarios", data=form)
    assert r.status_code == 422
    errors = dict(
        re.findall(r'id="err-(\w+)" class="errors"><div class="error" role="alert">([^<]+)', r.text)
    )
    assert "greater than or equal to 1" in errors["months"]
    assert "less than or equal to 1" in errors["probability"]
    assert "month index &gt;= 0" in errors["us_stop_month"]
    assert "billion euros" in errors["budget_bn"]
    assert "greater than or equal to 0" in errors["int_factor_1"]
    assert "event 1" in r.text and "us_supply_stops" in r.text  # allowed event types listed
    assert (
        c.get("/api/v1/scenarios/imposed-deal", headers=web.headers["viewer"]).json()["version"]
        == 0
    )
    # htmx validation returns just the form
    r = c.post("/scenarios/validate", data=form, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<input" not in r.text  # the inputs are left alone
    assert 'id="err-months" class="errors" hx-swap-oob="true"><div class="error"' in r.text
    assert 'id="err-name" class="errors" hx-swap-oob="true"></div>' in r.text
    good = {
        **form,
        "months": "24",
        "probability": "0.5",
        "us_stop_month": "3",
        "budget_bn": "15",
        "int_factor_1": "1.5",
        "other_events": "- type: orders\n  level: 0.8",
    }
    r = c.post("/scenarios", data=good, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("saved_version=1")
    saved = c.get("/api/v1/scenarios/imposed-deal", headers=web.headers["viewer"]).json()
    events = {e["type"]: e for e in saved["scenario"]["events"]}
    assert saved["version"] == 1 and saved["scenario"]["months"] == 24
    assert events["budget"]["eur_per_year"] == 15e9
    assert events["intensity"]["profile"] == [{"month": 4, "factor": 1.5}]
    assert "Saved as version 1" in c.get(r.headers["location"]).text


def test_run_progress_results_compare_and_export(web: Web) -> None:
    csrf = web.login("analyst")
    c = web.client
    ids = []
    for seed in ("1", "2"):
        r = c.post(
            "/scenarios/imposed-deal/simulate",
            data={"csrf_token": csrf, "draws": "40", "seed": seed},
            follow_redirects=False,
        )
        assert r.status_code == 303
        ids.append(int(r.headers["location"].rsplit("/", 1)[1]))
    for run_id in ids:
        web.wait(run_id)
        fragment = c.get(f"/runs/{run_id}/progress")
        assert fragment.headers["HX-Refresh"] == "true" and "succeeded" in fragment.text
        page = c.get(f"/runs/{run_id}")
        assert "plot-spec" in page.text and "/vendor/plotly.min.js" in page.text
    plan = c.post(
        "/plans",
        data={"csrf_token": csrf, "scenarios": ["imposed-deal"], "budget_bn": "1"},
        follow_redirects=False,
    )
    assert plan.status_code == 303
    plan_id = int(plan.headers["location"].rsplit("/", 1)[1])
    assert web.wait(plan_id)["status"] == "succeeded"
    r = c.get(f"/compare?ids={ids[0]}&ids={ids[1]}&ids={plan_id}")
    assert r.status_code == 200 and r.text.count("cmp_") >= 3 and "Plan of run" in r.text
    assert c.get(f"/compare?ids={ids[0]}").status_code == 422
    assert c.get("/compare?ids=99999").status_code == 422
    assert c.get(f"/runs/{ids[0]}/export.csv").text.startswith("item,unit,wanted")
    assert c.get(f"/runs/{ids[0]}/export.xlsx").content[:2] == b"PK"
    assert "Plotly.newPlot" in c.get(f"/runs/{plan_id}/export.html").text
    assert c.get("/runs/99999").status_code == 404
    r = c.post("/plans", data={"csrf_token": csrf, "budget_bn": "1"})
    assert r.status_code == 422 and "at least one scenario" in r.text
    r = c.post("/scenarios/imposed-deal/simulate", data={"csrf_token": csrf, "draws": "0"})
    assert r.status_code == 422 and "draws" in r.text


def test_admin_data_edit_page_validates_and_audits(web: Web) -> None:
    csrf = web.login("admin")
    c = web.client
    page = c.get("/data/facilities/edit?key=powder_plant")
    assert page.status_code == 200 and 'value="1200.0"' in page.text
    values = dict(re.findall(r'name="(\w+)" type="text" value="([^"]*)"', page.text))
    bad = {**values, "capacity": "-5", "csrf_token": csrf, "original_key": "powder_plant"}
    r = c.post("/data/facilities/edit", data=bad)
    assert r.status_code == 422 and "The change was not saved" in r.text
    assert re.search(r'id="c-capacity"[^>]*>.*?<div class="error"', r.text, re.S)
    good = {
        **values,
        "capacity": "1250",
        "capacity_high": "1300",
        "csrf_token": csrf,
        "original_key": "powder_plant",
    }
    r = c.post("/data/facilities/edit", data=good, follow_redirects=False)
    assert r.status_code == 303
    audit_page = c.get("/audit").text
    assert "powder_plant" in audit_page and "1250" in audit_page
    assert "edited" in c.get("/data").text
    # a row others depend on cannot be deleted
    r = c.post("/data/items/delete", data={"csrf_token": csrf, "key": "powder"})
    assert r.status_code == 422 and "unknown item" in r.text
    r = c.post("/users", data={"csrf_token": csrf, "name": "ed", "password": "x"})
    assert r.status_code == 422 and "at least 10" in r.text
    r = c.post(
        "/users",
        data={"csrf_token": csrf, "name": "ed", "password": "long-password-9", "role": "analyst"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "ed" in c.get("/users").text
    r = c.post("/users/admin", data={"csrf_token": csrf, "role": "viewer", "active": "on"})
    assert r.status_code == 422


def test_other_pages_render(web: Web) -> None:
    web.login("analyst")
    for path, marker in (
        ("/graph", "plot-graph"),
        ("/analyses?name=chokepoints", "p-fraction"),
        ("/data/sources", "src_test"),
        ("/scenarios/new", "imposed-deal-variant"),
        ("/account", "API tokens"),
    ):
        r = web.client.get(path)
        assert r.status_code == 200 and marker in r.text, path
    r = web.client.post("/account/tokens", data={"csrf_token": csrf_of(r.text), "name": "t"})
    token = re.search(r'id="new-token">([^<]+)<', r.text).group(1)
    assert (
        web.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()["name"]
        == "analyst"
    )
    assert web.client.get("/scenarios/nope").status_code == 404
    assert web.client.get("/data/nope").status_code == 404


def test_analyses_of_the_analysis_package_render_with_their_figure(web: Web) -> None:
    pytest.importorskip("materiel.analysis")
    web.login("viewer")
    r = web.client.get("/analyses?name=outlook&run=1")
    assert r.status_code == 200 and "plot-analysis" in r.text and "<table" in r.text
