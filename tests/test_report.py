"""The HTML report: every analysis on the tiny dataset, opened offline in headless Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from materiel.cli import app
from materiel.io.dataset import load_dataset
from materiel.model.compiled import compile_model
from materiel.reporting import REPORT_ORDER, build_report, render_html, sources_used
from test_analysis_common import scenario

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of a 4-month US-stop scenario on the tiny dataset, written by the CLI
    (with its static PNGs)."""
    from conftest import tiny_tables, write_dataset

    tmp = tmp_path_factory.mktemp("report")
    data = write_dataset(tmp / "tiny", tiny_tables())
    (tmp / "stop.yaml").write_text(
        "name: tiny-stop\ndescription: US stops in month 2\nmonths: 4\nevents:\n"
        "  - type: us_supply_stops\n    month: 2\n"
    )
    html = tmp / "out" / "report.html"
    result = CliRunner().invoke(
        app,
        [
            "report",
            str(tmp / "stop.yaml"),
            "--html",
            str(html),
            "--png-dir",
            str(tmp / "png"),
            "--draws",
            "3",
            "--data",
            str(data),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output  # every analysis ran
    assert {p.stem for p in (tmp / "png").glob("*.png")} == set(REPORT_ORDER)
    return html


def test_report_content(report_file: Path, tiny_dir: Path) -> None:
    text = report_file.read_text(encoding="utf-8")
    assert "<script src=" not in text  # nothing loaded from elsewhere
    assert "cdn" not in text.lower().split("<script>", 1)[0]
    for name in REPORT_ORDER:
        assert f'id="{name}"' in text
    assert "src_test" in text  # the sources table lists the dataset's source
    assert "dataset_digest" in text and "tiny-stop" in text
    model = compile_model(load_dataset(tiny_dir))
    sources = sources_used(model)
    assert list(sources.columns) == ["source", "url", "date", "status", "title", "figures"]
    assert sources["figures"].iloc[0] > 0


def test_build_report_sections(tiny_dir: Path) -> None:
    model = compile_model(load_dataset(tiny_dir))
    report = build_report(model, scenario(4), draws=2, analyses=["gap", "dependencies"])
    assert [s.spec.name for s in report.sections] == ["gap", "dependencies"]
    assert all(s.error is None for s in report.sections)
    assert report.metadata()["dataset"] == "tiny"
    assert render_html(report).count('class="plotly-graph-div"') == 2
    with pytest.raises(ValueError, match="unknown analyses"):
        build_report(model, scenario(4), analyses=["nonsense"])


def test_report_opens_offline_in_chromium(report_file: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    requested: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})

            def route(r: object) -> None:
                url = r.request.url  # type: ignore[attr-defined]
                requested.append(url)
                if url.startswith("file://"):
                    r.continue_()  # type: ignore[attr-defined]
                else:
                    r.abort()  # type: ignore[attr-defined]

            page.route("**/*", route)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(report_file.as_uri())
            page.wait_for_function(
                f"document.querySelectorAll('.js-plotly-plot').length >= {len(REPORT_ORDER)}",
                timeout=20_000,
            )
            plots = page.locator(".js-plotly-plot").count()
            svgs = page.locator("svg.main-svg").count()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        finally:
            browser.close()
    assert plots == len(REPORT_ORDER)
    assert svgs >= 2 * len(REPORT_ORDER)  # plotly draws a main and an overlay svg per plot
    assert errors == []
    assert [u for u in requested if not u.startswith("file://")] == []
