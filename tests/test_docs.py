"""The documentation site builds with ``mkdocs build --strict`` (any warning fails: broken links
and anchors, docstrings mkdocstrings cannot parse, pages missing from the nav) and needs
nothing from the internet."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site() -> Path:
    """The site ``.ci/run`` built with ``mkdocs build --strict`` (a warning fails that step).

    Building it takes ~40 s, so it is a CI step of its own: set ``MATERIEL_SITE_DIR`` to a
    built site to run these checks locally."""
    built = os.environ.get("MATERIEL_SITE_DIR")
    if not built:
        pytest.skip("MATERIEL_SITE_DIR is not set (.ci/run builds the site and sets it)")
    return Path(built)


def test_pages_exist(site: Path) -> None:
    for page in (
        "index.html",
        "guide/simulate/index.html",
        "guide/plan/index.html",
        "guide/data/index.html",
        "methodology/index.html",
        "analyses/index.html",
        "data/index.html",
        "tutorials/01-us-stop/index.html",
        "api/index.html",
        "api/analysis/index.html",
        "glossary/index.html",
        "guide/getting-started/index.html",
    ):
        assert (site / page).is_file(), page


def test_user_guide_has_the_cli_options(site: Path) -> None:
    """The <!-- cli: COMMAND --> placeholders became option tables."""
    for path in (site / "guide").rglob("index.html"):
        assert "<!-- cli:" not in path.read_text(encoding="utf-8"), path
    simulate = (site / "guide/simulate/index.html").read_text(encoding="utf-8")
    assert "--draws" in simulate and "Monte Carlo draws." in simulate


def test_api_reference_renders_docstrings(site: Path) -> None:
    api = (site / "api/index.html").read_text(encoding="utf-8")
    for name in ("load_model", "simulate", "plan", "report", "with_events"):
        assert f'id="materiel.api.{name}"' in api, name
    analyses = (site / "api/analysis/index.html").read_text(encoding="utf-8")
    assert "chokepoints" in analyses and ":func:" not in analyses


def test_no_request_to_the_internet_when_viewed(site: Path) -> None:
    """No page loads fonts, scripts or styles from another host (links to sources are fine)."""
    for path in site.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "fonts.googleapis" not in text, path
        external = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', text)
        assert not external, (path, external)


def test_tutorials_are_published_with_their_outputs(site: Path) -> None:
    """mkdocs-jupyter executes the notebooks at build time: their plots are in the pages."""
    pages = sorted((site / "tutorials").glob("*/index.html"))
    assert len(pages) >= 3
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "data:image/png" in text or "<img" in text, page
        assert "Traceback" not in text, page


def test_equations_render_with_katex_served_from_the_site(site: Path) -> None:
    page = (site / "methodology/index.html").read_text(encoding="utf-8")
    optimiser = (site / "methodology-optimiser/index.html").read_text(encoding="utf-8")
    assert page.count('class="arithmatex"') + optimiser.count('class="arithmatex"') >= 10
    for asset in ("katex.min.js", "contrib/auto-render.min.js", "katex.min.css"):
        assert f"assets/katex/{asset}" in page, asset
        assert (site / "assets/katex" / asset).is_file(), asset
    css = (site / "assets/katex/katex.min.css").read_text(encoding="utf-8")
    fonts = set(re.findall(r"url\((fonts/[^)]+\.woff2)\)", css))
    assert fonts and all((site / "assets/katex" / f).is_file() for f in fonts)


def test_glossary_page_is_current() -> None:
    """docs/glossary.md is generated from materiel.reporting.columns (the same text as the
    commands' --help epilogs); ``python -m materiel.reporting.columns`` rewrites it."""
    from materiel.reporting.columns import glossary_markdown

    text = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    assert text == glossary_markdown(), (
        "docs/glossary.md is stale: run python -m materiel.reporting.columns"
    )
