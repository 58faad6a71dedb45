"""End to end in headless Debian Chromium (Playwright): log in, edit a scenario, run it, compare
two runs and see the plots. Screenshots go to ``test-artifacts/``.

Skipped only when /usr/bin/chromium or the playwright package is missing (CI installs both).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from materiel.service.app import create_app

from .conftest import PASSWORDS, add_users, make_settings

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (apt-get install chromium)",
    ),
    pytest.mark.slow,  # a real browser (~15 s): CI runs these with -m slow
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path, web_dataset: Path) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread."""
    import uvicorn

    app = create_app(make_settings(tmp_path, web_dataset))
    add_users(app.state.ctx.store)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def page(server: str) -> Iterator[object]:
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        pg = context.new_page()
        pg.set_default_timeout(20_000)
        pg.foreign = []  # type: ignore[attr-defined]
        pg.console_errors = []  # type: ignore[attr-defined]
        pg.on(
            "request",
            lambda r: (
                None if r.url.startswith((server, "data:", "blob:")) else pg.foreign.append(r.url)
            ),  # type: ignore[attr-defined]
        )
        pg.on(
            "console",
            lambda m: pg.console_errors.append(m.text) if m.type == "error" else None,  # type: ignore[attr-defined]
        )
        pg.base = server  # type: ignore[attr-defined]
        yield pg
        browser.close()


def shot(page: object, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def wait_plots(page: object, minimum: int) -> None:
    """Wait until ``minimum`` Plotly figures have drawn (no eval: the CSP forbids it)."""
    rendered = page.locator('.plot[data-rendered="1"]')  # type: ignore[attr-defined]
    rendered.nth(minimum - 1).wait_for()
    assert page.locator(".plot[data-rendered] svg.main-svg").count() >= minimum  # type: ignore[attr-defined]


def run_simulation(page: object, base: str, seed: int) -> str:
    page.goto(f"{base}/scenarios/imposed-deal")  # type: ignore[attr-defined]
    page.fill("#draws", "300")  # type: ignore[attr-defined]
    page.fill("#seed", str(seed))  # type: ignore[attr-defined]
    page.click("#run-simulation")  # type: ignore[attr-defined]
    page.wait_for_url(f"{base}/runs/*")  # type: ignore[attr-defined]
    page.wait_for_selector("#export-csv", timeout=60_000)  # type: ignore[attr-defined]
    wait_plots(page, 3)
    return str(page.url).rsplit("/", 1)[-1]  # type: ignore[attr-defined]


def test_login_edit_run_compare(page: object) -> None:
    base = page.base  # type: ignore[attr-defined]
    page.goto(f"{base}/")  # type: ignore[attr-defined]
    assert page.locator("#username").is_visible()  # type: ignore[attr-defined]
    shot(page, "01-login")
    page.fill("#username", "analyst")  # type: ignore[attr-defined]
    page.fill("#password", PASSWORDS["analyst"])  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("text=Latest runs")  # type: ignore[attr-defined]
    page.console_errors.clear()  # type: ignore[attr-defined]  (the login page came with a 401)
    shot(page, "02-overview")

    # edit: an invalid horizon is flagged next to the field, then fixed and saved
    page.click("text=imposed-deal")  # type: ignore[attr-defined]
    page.fill("#f-months", "0")  # type: ignore[attr-defined]
    page.fill("#f-budget_bn", "15")  # type: ignore[attr-defined]
    page.wait_for_selector("#err-months .error")  # type: ignore[attr-defined]
    error = page.locator("#err-months .error").first.inner_text()  # type: ignore[attr-defined]
    assert "greater than or equal to 1" in error
    assert page.input_value("#f-budget_bn") == "15"  # type: ignore[attr-defined]  (kept)
    shot(page, "03-scenario-invalid")
    page.fill("#f-months", "24")  # type: ignore[attr-defined]
    page.fill("#f-us_stop_month", "3")  # type: ignore[attr-defined]
    page.wait_for_selector("#err-months .error", state="detached")  # type: ignore[attr-defined]
    assert page.input_value("#f-us_stop_month") == "3"  # type: ignore[attr-defined]
    page.click("#save-scenario")  # type: ignore[attr-defined]
    page.wait_for_selector("text=Saved as version 1")  # type: ignore[attr-defined]
    assert page.input_value("#f-months") == "24"  # type: ignore[attr-defined]

    # run twice, then compare
    first = run_simulation(page, base, seed=1)
    shot(page, "04-run")
    second = run_simulation(page, base, seed=2)
    page.goto(f"{base}/runs")  # type: ignore[attr-defined]
    page.check(f"input.pick[value='{first}']")  # type: ignore[attr-defined]
    page.check(f"input.pick[value='{second}']")  # type: ignore[attr-defined]
    page.click("#compare-button")  # type: ignore[attr-defined]
    page.wait_for_selector("#compare-table")  # type: ignore[attr-defined]
    wait_plots(page, 3)
    assert page.locator("#compare-table th").count() == 4  # type: ignore[attr-defined]  (+ delta)
    shot(page, "05-compare")

    page.goto(f"{base}/graph")  # type: ignore[attr-defined]
    wait_plots(page, 1)
    shot(page, "06-graph")
    page.goto(f"{base}/data/facilities")  # type: ignore[attr-defined]
    shot(page, "07-data")

    assert page.foreign == [], f"requests left the server: {page.foreign}"  # type: ignore[attr-defined]
    assert page.console_errors == [], page.console_errors  # type: ignore[attr-defined]


def test_viewer_cannot_edit_or_run(page: object) -> None:
    base = page.base  # type: ignore[attr-defined]
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.fill("#username", "viewer")  # type: ignore[attr-defined]
    page.fill("#password", PASSWORDS["viewer"])  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.goto(f"{base}/scenarios/imposed-deal")  # type: ignore[attr-defined]
    assert page.locator("#save-scenario").count() == 0  # type: ignore[attr-defined]
    assert page.locator("#run-simulation").count() == 0  # type: ignore[attr-defined]
    response = page.goto(f"{base}/users")  # type: ignore[attr-defined]
    assert response.status == 403
    shot(page, "08-viewer-forbidden")


def test_artifacts_folder_is_ignored() -> None:
    ignore = (Path(__file__).resolve().parents[2] / ".gitignore").read_text()
    assert "test-artifacts/" in ignore
    assert shutil.which("chromium") or not os.environ.get("CI")


def login(page: object, role: str) -> str:
    base = str(page.base)  # type: ignore[attr-defined]
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.fill("#username", role)  # type: ignore[attr-defined]
    page.fill("#password", PASSWORDS[role])  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("text=Latest runs")  # type: ignore[attr-defined]
    page.console_errors.clear()  # type: ignore[attr-defined]  (the login page came with a 401)
    return base


def quick_run(page: object, base: str) -> str:
    page.goto(f"{base}/scenarios/imposed-deal")  # type: ignore[attr-defined]
    page.fill("#draws", "60")  # type: ignore[attr-defined]
    page.click("#run-simulation")  # type: ignore[attr-defined]
    page.wait_for_url(f"{base}/runs/*")  # type: ignore[attr-defined]
    page.wait_for_selector("#export-csv", timeout=60_000)  # type: ignore[attr-defined]
    return str(page.url).rsplit("/", 1)[-1]  # type: ignore[attr-defined]


@pytest.mark.slow
def test_compare_two_scenario_versions(page: object) -> None:
    base = login(page, "analyst")
    first = quick_run(page, base)  # the bundled file: version 0
    page.goto(f"{base}/scenarios/imposed-deal")  # type: ignore[attr-defined]
    page.fill("#f-us_stop_month", "1")  # type: ignore[attr-defined]
    page.click("#save-scenario")  # type: ignore[attr-defined]
    page.wait_for_selector("text=Saved as version 1")  # type: ignore[attr-defined]
    second = quick_run(page, base)
    assert "imposed-deal@1" in page.locator("h1").inner_text()  # type: ignore[attr-defined]
    page.goto(f"{base}/runs")  # type: ignore[attr-defined]
    page.check(f"input.pick[value='{first}']")  # type: ignore[attr-defined]
    page.check(f"input.pick[value='{second}']")  # type: ignore[attr-defined]
    page.click("#compare-button")  # type: ignore[attr-defined]
    page.wait_for_selector("#compare-table")  # type: ignore[attr-defined]
    wait_plots(page, 3)
    head = page.locator("#compare-table thead").inner_text()  # type: ignore[attr-defined]
    assert "imposed-deal@0" in head and "imposed-deal@1" in head and "Δ" in head
    diff = page.locator("#input-diff").inner_text()  # type: ignore[attr-defined]
    assert "scenario.events[us_supply_stops].month" in diff
    assert "scenario.description" not in diff  # re-wrapped by the editor, not changed
    shot(page, "10-compare-versions")
    assert page.foreign == [], page.foreign  # type: ignore[attr-defined]
    assert page.console_errors == [], page.console_errors  # type: ignore[attr-defined]


@pytest.mark.slow
def test_download_and_upload_the_workbook(page: object, tmp_path: Path) -> None:
    import openpyxl

    base = login(page, "admin")
    page.goto(f"{base}/data")  # type: ignore[attr-defined]
    with page.expect_download() as info:  # type: ignore[attr-defined]
        page.click("#download-workbook")  # type: ignore[attr-defined]
    path = tmp_path / "dataset.xlsx"
    info.value.save_as(path)
    book = openpyxl.load_workbook(path)
    sheet = book["facilities"]
    header = [c.value for c in sheet[1]]
    row = next(i for i in range(2, sheet.max_row + 1) if sheet.cell(i, 1).value == "shell_plant")
    for column, value in (("capacity", 21_000), ("capacity_high", 21_000)):
        sheet.cell(row, header.index(column) + 1).value = value
    book.save(path)
    page.set_input_files("#workbook-file", str(path))  # type: ignore[attr-defined]
    page.click("#upload-workbook")  # type: ignore[attr-defined]
    done = page.locator("#upload-done").inner_text()  # type: ignore[attr-defined]
    assert "facilities (0 added, 0 removed, 1 changed)" in done
    shot(page, "11-workbook-uploaded")
    page.goto(f"{base}/audit")  # type: ignore[attr-defined]
    assert "workbook.upload" in page.content()  # type: ignore[attr-defined]
    assert page.console_errors == [], page.console_errors  # type: ignore[attr-defined]


@pytest.mark.slow
def test_run_an_analysis_with_parameters(page: object) -> None:
    base = login(page, "viewer")
    page.goto(f"{base}/analyses")  # type: ignore[attr-defined]
    page.select_option("#analysis-name", "dependencies")  # type: ignore[attr-defined]
    page.click("#choose-analysis")  # type: ignore[attr-defined]
    page.fill("#p-month", "1")  # type: ignore[attr-defined]
    page.select_option("#p-basis", "capacity")  # type: ignore[attr-defined]
    page.click("#run-analysis")  # type: ignore[attr-defined]
    page.wait_for_selector("#analysis-result", timeout=60_000)  # type: ignore[attr-defined]
    wait_plots(page, 1)
    text = page.locator("#analysis-result").inner_text()  # type: ignore[attr-defined]
    assert "month: 1" in text and "basis: capacity" in text
    with page.expect_download() as info:  # type: ignore[attr-defined]
        page.click("#analysis-csv")  # type: ignore[attr-defined]
    assert info.value.suggested_filename == "materiel-dependencies-imposed-deal.csv"
    shot(page, "12-analysis-parameters")
    assert page.foreign == [], page.foreign  # type: ignore[attr-defined]
    assert page.console_errors == [], page.console_errors  # type: ignore[attr-defined]
