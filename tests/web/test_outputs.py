"""The web app's outputs are right: each chart's data (the JSON figure the browser draws) is
checked against the stored results, runs record their scenario version, Compare shows
differences, analyses take their parameters and export, the workbook round-trips."""

from __future__ import annotations

import html
import inspect
import io
import json
import re
from typing import Any

import openpyxl
import pytest
import typer

from materiel.analysis.registry import REGISTRY
from materiel.reporting import plots, static
from materiel.reporting.runs import MAX_SERIES, chosen
from materiel.scenario import load_scenario

from .conftest import Web


def figures(page: str) -> dict[str, dict[str, Any]]:
    """The Plotly figures embedded in a page, by key (what app.js hands to Plotly)."""
    found = re.findall(
        r'<script type="application/json" class="plot-spec" data-target="plot-([\w-]+)">(.*?)'
        r"</script>",
        page,
        re.S,
    )
    return {key: json.loads(html.unescape(text)) for key, text in found}


def trace(fig: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in fig["data"] if t.get("name") == name)


def simulate(web: Web, version: int | None = None, seed: int = 1, draws: int = 30) -> int:
    body: dict[str, Any] = {"scenario": "imposed-deal", "draws": draws, "seed": seed}
    if version is not None:
        body["scenario_version"] = version
    r = web.client.post("/api/v1/runs", json=body, headers=web.headers["analyst"])
    assert r.status_code == 202, r.text
    run_id = int(r.json()["id"])
    assert web.wait(run_id)["status"] == "succeeded"
    return run_id


def results(web: Web, run_id: int) -> dict[str, Any]:
    r = web.client.get(f"/api/v1/runs/{run_id}/results", headers=web.headers["viewer"])
    tables: dict[str, Any] = r.json()["tables"]
    return tables


def test_registry_is_the_one_source_of_analyses_plots_and_cli_options() -> None:
    from materiel.cli.analyses import MONTH_OPTIONS
    from materiel.cli.app import app

    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    aliases = {("gap", "stop_month"): "month"}
    for name, spec in REGISTRY.items():
        assert spec.figure is getattr(plots, f"plot_{name}")
        assert spec.static is getattr(static, f"png_{name}")
        signature = inspect.signature(spec.function).parameters
        for p in spec.parameters:  # the function's own keyword and default
            assert signature[p.name].default == p.default, (name, p.name)
        if name == "sead":  # printed by `materiel deterrence`
            continue
        options = {p.name: p.default for p in commands[name].params}
        for p in spec.parameters:
            option = aliases.get((name, p.name), p.name)
            assert option in options, (name, p.name)
            if p.name in MONTH_OPTIONS and options[option] is None:
                continue  # a month option: unset means the analysis's own default
            assert options[option] == p.default, (name, p.name)


def test_parameters_parse_text_with_clear_errors() -> None:
    spec = REGISTRY["outlook"]
    assert spec.parse({"months": "6", "stock_release": ""}) == {
        "months": 6,
        "start": 0,
        "stock_release": 1.0,
    }
    with pytest.raises(ValueError, match="stock_release: must be at most 1") as e:
        spec.parse({"stock_release": "2", "months": "x"})
    assert "months: expected a whole number, got 'x'" in str(e.value)
    assert REGISTRY["chokepoints"].parse({"duals": "false"})["duals"] is False
    assert REGISTRY["coordination"].parse({"weights": "DEU=0.3, FRA=0.7"})["weights"] == {
        "DEU": 0.3,
        "FRA": 0.7,
    }


def test_charts_draw_a_handful_of_chosen_items() -> None:
    shares = {f"item{k}": k / 10 for k in range(8)}
    assert chosen([], list(shares), shares) == ["item7", "item6", "item5", "item4", "item3"]
    assert chosen(["item1", "nope"], list(shares), shares) == ["item1"]
    assert len(chosen(list(shares), list(shares), shares)) == MAX_SERIES


def test_simulation_charts_hold_the_stored_results(web: Web) -> None:
    run_id = simulate(web)
    tables = results(web, run_id)
    web.login("viewer")
    page = web.client.get(f"/runs/{run_id}")
    figs = figures(page.text)
    assert set(figs) == {"shortfall", "p_short", "fire_ratio", "cost"}
    monthly = [r for r in tables["by_month"] if r["item"] == "shell"]
    share = trace(figs["shortfall"], "shell")
    expected = [round(r["shortfall_p50"] / r["wanted_mean"], 4) for r in monthly]
    assert share["y"] == pytest.approx(expected)
    assert share["x"] == [r["date"] for r in monthly]
    assert trace(figs["p_short"], "shell")["y"] == pytest.approx([r["p_short"] for r in monthly])
    ratio = figs["fire_ratio"]["data"]
    assert [t["y"] for t in ratio] == [
        pytest.approx([r[q] for r in tables["fire_ratio"]]) for q in ("p90", "p10", "p50")
    ]
    assert ratio[1]["fill"] == "tonexty"  # the p10-p90 band
    cost = figs["cost"]["data"]
    assert cost[2]["y"] == pytest.approx([r["cost_p50"] for r in tables["cost"]])
    for fig in figs.values():  # calendar months on the axis, never a time of day
        assert fig["layout"]["xaxis"]["tickformat"] == "%b %Y"
        assert len([t for t in fig["data"] if t.get("showlegend") is not False]) <= MAX_SERIES


def test_plan_shows_capacity_arrival_and_shortfall_avoided(web: Web) -> None:
    r = web.client.post(
        "/api/v1/plans",
        json={"scenarios": ["imposed-deal"], "budget_eur_per_year": 1e9},
        headers=web.headers["analyst"],
    )
    plan_id = int(r.json()["id"])
    body = web.wait(plan_id)
    assert body["status"] == "succeeded", body
    tables = results(web, plan_id)
    web.login("viewer")
    figs = figures(web.client.get(f"/runs/{plan_id}").text)
    monthly = [
        r for r in tables["shortfall_by_month"] if r["actor"] == "UKR" and r["item"] == "shell"
    ]
    unmet = trace(figs["unmet"], "shell")
    assert unmet["y"] == pytest.approx([round(r["unmet"] / r["wanted"], 4) for r in monthly])
    assert unmet["x"] == [r["date"] for r in monthly]
    avoided = {row["item"]: row for row in tables["avoided"]}
    assert body["summary"]["shortfall_avoided"]["shell"] == pytest.approx(
        avoided["shell"]["avoided"]
    )
    shell = avoided["shell"]
    assert shell["avoided"] == pytest.approx(shell["baseline_shortfall"] - shell["plan_shortfall"])
    bars = figs["avoided"]["data"]
    assert bars[0]["x"] == ["shell"] and bars[0]["y"] == [
        pytest.approx(shell["baseline_shortfall"])
    ]
    assert bars[1]["y"] == [pytest.approx(shell["plan_shortfall"])]
    builds = tables["investments"]
    assert builds, "the budget should buy the powder line"
    gantt = figs["gantt"]
    building, ramping = gantt["data"]
    first = builds[0]
    assert building["base"][0] == f"{first['date']}-01"  # decided in that calendar month
    start = int(first["date"][:4]) * 12 + int(first["date"][5:7]) - 1
    month = start + first["first_output_month"] - first["month"]
    assert ramping["base"][0] == f"{month // 12}-{month % 12 + 1:02d}-01"  # first output
    assert gantt["layout"]["xaxis"]["tickformat"] == "%b %Y"
    assert "powder_plant" in building["y"][0] and "t/month" in building["y"][0]


def test_compare_two_scenario_versions_shows_deltas_inputs_and_bands(web: Web) -> None:
    content = web.client.get(
        "/api/v1/scenarios/imposed-deal", headers=web.headers["viewer"]
    ).json()["scenario"]
    for event in content["events"]:
        if event["type"] == "us_supply_stops":
            event["month"] = 1
    r = web.client.post(
        "/api/v1/scenarios", json={"scenario": content}, headers=web.headers["analyst"]
    )
    assert r.status_code == 201 and r.json()["version"] == 1
    old, new = simulate(web, version=0), simulate(web, version=1)
    runs = {
        i: web.client.get(f"/api/v1/runs/{i}", headers=web.headers["viewer"]).json()
        for i in (old, new)
    }
    assert runs[old]["scenario_version"] == "imposed-deal@0"
    assert runs[new]["scenario_version"] == "imposed-deal@1"
    assert runs[old]["inputs_hash"] != runs[new]["inputs_hash"]
    web.login("viewer")
    page = web.client.get(f"/compare?ids={old}&ids={new}")
    assert page.status_code == 200
    text = page.text
    assert "imposed-deal@0" in text and "imposed-deal@1" in text
    assert re.search(
        r"scenario\.events\[us_supply_stops\]\.month</td><td[^>]*>2</td><td[^>]*>1<", text
    )
    diff = text[text.index('id="input-diff"') :].split("</table>")[0]
    assert "scenario.description" not in diff  # the editor strips it: not a difference
    # the delta column: new minus old
    before = runs[old]["summary"]["shortfall"]["shell"]
    after = runs[new]["summary"]["shortfall"]["shell"]
    row = re.search(r"<b>Shortfall shell</b>.*?</tr>", text, re.S)
    assert row is not None
    delta = re.findall(r'class="num delta">.*?>([+\-]?[\d.]+) ?(k|M)? rounds?<', row.group(0), re.S)
    number, suffix = delta[0]
    scale = {"": 1, "k": 1e3, "M": 1e6}[suffix]
    assert float(number) * scale == pytest.approx(after - before, rel=0.01, abs=1)
    shares = [runs[i]["summary"]["shortfall_share"]["shell"] for i in (old, new)]
    assert f"({(shares[1] - shares[0]) * 100:+.1f} pp)" in row.group(0)
    figs = figures(text)
    bars = figs["cmp_shortfall"]["data"]
    assert [b["y"] for b in bars] == [
        [pytest.approx(runs[i]["summary"]["shortfall_share"]["shell"])] for i in (old, new)
    ]
    bands = figs["cmp_fire_ratio"]["data"]  # two overlaid bands: 3 traces each
    assert len(bands) == 6 and bands[1]["fill"] == bands[4]["fill"] == "tonexty"
    assert bands[5]["y"] == pytest.approx([r["p50"] for r in results(web, new)["fire_ratio"]])
    assert "cmp_item_band" in figs


def test_analysis_takes_parameters_and_exports(web: Web) -> None:
    web.login("viewer")
    form = web.client.get("/analyses?name=outlook").text
    for p in REGISTRY["outlook"].parameters:
        assert f'name="{p.name}"' in form
    assert 'id="p-draws"' in form
    query = "name=dependencies&run=1&scenario=imposed-deal&month=1&basis=capacity"
    page = web.client.get(f"/analyses?{query}")
    assert page.status_code == 200, page.text
    spec = REGISTRY["dependencies"]
    direct = spec.run(
        web.ctx.data.model(), load_scenario("imposed-deal"), month=1, basis="capacity"
    )
    fig = figures(page.text)["analysis"]
    expected = json.loads(spec.figure(direct).to_json())
    assert [(t["name"], t["x"], t["y"]) for t in fig["data"]] == [
        (t["name"], t["x"], t["y"]) for t in expected["data"]
    ]
    csv = web.client.get(f"/analyses/dependencies/export.csv?{query}")
    assert csv.status_code == 200 and csv.text.splitlines()[0].startswith("end_item,")
    assert len(csv.text.splitlines()) - 1 == len(direct)
    xlsx = web.client.get(f"/analyses/dependencies/export.xlsx?{query}")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    inputs = {r[0]: r[1] for r in book["inputs"].iter_rows(min_row=2, values_only=True)}
    assert inputs["basis"] == "capacity" and inputs["scenario"] == "imposed-deal@0"
    assert inputs["month"] == "1" and inputs["draws"] == "central values"
    sheet = book["dependencies"]
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"
    bad = web.client.get("/analyses?name=outlook&run=1&months=0")
    assert bad.status_code == 422 and "months: must be at least 1" in bad.text
    bad = web.client.get("/analyses?name=dependencies&run=1&basis=weight")
    assert bad.status_code == 422 and "not one of output, capacity" in bad.text


def test_supply_chain_view_per_end_item_uses_the_cli_chokepoints(web: Web) -> None:
    web.login("viewer")
    page = web.client.get("/graph?end_item=shell")
    assert page.status_code == 200
    fig = figures(page.text)["graph"]
    items = trace(fig, "item (shade: output lost if removed)")
    facilities = trace(fig, "facility (orange: outside Europe)")
    assert set(items["text"]) == {"shell", "powder", "acid"}
    assert set(facilities["text"]) == {"powder_plant (DEU)", "shell_plant (DEU)"}
    spec = REGISTRY["chokepoints"]
    table = spec.run(web.ctx.data.model(), load_scenario("imposed-deal"), duals=False)
    lost = dict(zip(table["node"], table["lost_share"], strict=False))
    for label, value in zip(items["text"], items["marker"]["color"], strict=True):
        assert value == pytest.approx(lost.get(label, 0.0))
    assert web.client.get("/graph?end_item=acid").status_code == 404  # not an end item


def test_edit_form_labels_each_rate_with_the_rows_own_unit(web: Web) -> None:
    web.login("admin")
    page = web.client.get("/data/facilities/edit?key=powder_plant").text
    assert 'id="unit-capacity">t/year<' in page
    page = web.client.get("/data/facilities/edit?key=shell_plant").text
    assert 'id="unit-capacity">round/month<' in page
    table = web.client.get("/data/facilities").text
    assert "unit/month" not in table and 'as in <span class="mono">capacity_unit</span>' in table


def test_workbook_download_and_upload_validated_and_audited(web: Web) -> None:
    csrf = web.login("admin")
    c = web.client
    r = c.get("/data/workbook.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    sheet = book["facilities"]
    header = [cell.value for cell in sheet[1]]
    col = header.index("capacity") + 1
    row = next(i for i in range(2, sheet.max_row + 1) if sheet.cell(i, 1).value == "powder_plant")

    def upload(value: float) -> Any:
        sheet.cell(row, col).value = value
        sheet.cell(row, header.index("capacity_high") + 1).value = max(value, 1300)
        buffer = io.BytesIO()
        book.save(buffer)
        files = {"workbook": ("edited.xlsx", buffer.getvalue(), "application/octet-stream")}
        return c.post("/data/workbook", data={"csrf_token": csrf}, files=files)

    bad = upload(-5)
    assert bad.status_code == 422 and "The workbook was not loaded" in bad.text
    assert f"edited.xlsx sheet &#39;facilities&#39;, row {row}" in bad.text
    assert "edited" not in re.findall(r'class="badge (\w+)"', bad.text)  # nothing saved
    good = upload(1250)
    assert good.status_code == 200 and "facilities</b> (0 added, 0 removed, 1 changed)" in good.text
    assert web.ctx.data.dataset().tables["facilities"].set_index("facility").loc[
        "powder_plant", "capacity"
    ] == pytest.approx(1250)
    assert web.ctx.data.dataset().meta.version.endswith("+edited")
    entries = c.get(
        "/api/v1/datasets/tiny/audit?table=facilities", headers=web.headers["admin"]
    ).json()
    assert entries[0]["action"] == "workbook.upload" and entries[0]["key"] == "edited.xlsx"
    assert entries[0]["after"]["changed"] == ["powder_plant"]
    web.login("viewer")
    files = {"workbook": ("x.xlsx", b"PK", "application/octet-stream")}
    assert c.post("/data/workbook", files=files, data={"csrf_token": csrf}).status_code == 403


def test_service_dataset_is_the_io_loader_with_edits_as_an_overlay(tmp_path: Any) -> None:
    from conftest import tiny_tables, write_dataset
    from materiel.io.dataset import load_dataset
    from materiel.schema.validate import DatasetError
    from materiel.service.data import DataService

    folder = write_dataset(tmp_path / "base", tiny_tables())
    path = folder / "facilities.csv"
    lines = path.read_text().splitlines()
    bad = lines[2].replace("20000.0", "-1", 1)
    assert bad != lines[2]
    path.write_text("\n".join([lines[0], lines[1], "", bad]) + "\n")  # a blank line 3
    with pytest.raises(DatasetError) as direct:
        load_dataset(folder)
    service = DataService(folder, tmp_path / "edits")
    with pytest.raises(DatasetError) as served:
        service.load()
    assert [i.row for i in served.value.issues] == [i.row for i in direct.value.issues]
    assert 4 in [i.row for i in served.value.issues]  # the file's line, not the row's position
    path.write_text("\n".join([lines[0], lines[1], "", lines[2]]) + "\n")
    (tmp_path / "edits").mkdir()
    edited = "\n".join([lines[0], lines[1].replace("1200.0", "1150.0", 2), lines[2]]) + "\n"
    (tmp_path / "edits" / "facilities.csv").write_text(edited)
    dataset = service.dataset()
    assert dataset.origin["facilities"] == str(tmp_path / "edits" / "facilities.csv")
    assert dataset.meta.version == "1+edited"
    overlaid = load_dataset(folder, overlays=[tmp_path / "edits"])
    assert overlaid.digest != load_dataset(folder).digest
    assert overlaid.tables["facilities"].equals(dataset.tables["facilities"])
