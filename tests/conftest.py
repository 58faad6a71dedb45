"""Shared fixtures: a tiny two-facility dataset whose results can be worked out on paper.

The chain: acid (unlimited) -> powder plant in Germany (100 t/month) -> shell plant in Germany
(20,000 rounds/month, 10 kg powder per round). Powder binds: 100 t / 0.01 t = 10,000
rounds/month. Lines make what is claimed (demand pull, no intermediate buffer): Ukraine claims
its whole need from European lines at priority 1, Germany orders 5,000 rounds/month at
priority 2. The US sends Ukraine 5,000/month; Ukraine wants 15,000/month, starts with 10,000
and fires all it has (sustain_months 1). Russia makes and fires 30,000/month.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from materiel.schema.tables import TABLES
from materiel.synthetic import row

__all__ = ["fig", "row", "tiny_tables", "write_dataset"]

SRC = "src_test"


def fig(central: float, low: float | None = None, high: float | None = None) -> dict[str, Any]:
    """Columns of a sourced figure (low = high = central unless given)."""
    return {
        "": central,
        "_low": central if low is None else low,
        "_high": central if high is None else high,
        "_source": SRC,
    }


def tiny_tables() -> dict[str, list[dict[str, Any]]]:
    return {
        "sources": [
            row(source=SRC, url="", date="2026", status="assumption", title="test figure", note="")
        ],
        "items": [
            row(item="acid", name="Acid", unit="t", kind="raw", category="", limited="false"),
            row(
                item="powder",
                name="Powder",
                unit="t",
                kind="intermediate",
                category="energetics",
                limited="true",
            ),
            row(
                item="shell",
                name="Shell",
                unit="round",
                kind="end",
                category="artillery",
                limited="true",
            ),
        ],
        "recipes": [
            row(item="shell", input="powder", quantity=fig(10.0), unit="kg/round"),
            row(item="powder", input="acid", quantity=fig(1.0), unit="t/t"),
        ],
        "countries": [
            row(country="UKR", name="Ukraine", region="ukraine", sustain_months=fig(1.0)),
            row(country="RUS", name="Russia", region="russia", sustain_months=fig(1.0)),
            row(country="DEU", name="Germany", region="europe", sustain_months=fig(1.0)),
            row(country="USA", name="United States", region="us", sustain_months=fig(1.0)),
        ],
        "facilities": [
            row(
                facility="powder_plant",
                name="Powder plant",
                operator="A",
                item="powder",
                country="DEU",
                capacity=fig(1200.0),
                capacity_unit="t/year",
                utilisation=fig(1.0),
                unit_cost=fig(10_000.0),
            ),
            row(
                facility="shell_plant",
                name="Shell plant",
                operator="B",
                item="shell",
                country="DEU",
                capacity=fig(20_000.0),
                capacity_unit="round/month",
                utilisation=fig(1.0),
                unit_cost=fig(4_000.0),
            ),
        ],
        "expansions": [
            row(
                expansion="powder_line",
                facility="powder_plant",
                added_capacity=fig(50.0),
                added_capacity_unit="t/month",
                capex=fig(1e8),
                lead_time=fig(6.0),
                ramp_time=fig(0.0),
                decided="",
            ),
        ],
        "stocks": [row(actor="UKR", item="shell", quantity=fig(10_000.0), floor=fig(0.0))],
        "consumption": [
            row(actor="UKR", item="shell", rate=fig(15_000.0), rate_unit="round/month"),
            row(actor="RUS", item="shell", rate=fig(30_000.0), rate_unit="round/month"),
        ],
        "flows": [
            row(
                supplier="USA",
                recipient="UKR",
                item="shell",
                rate=fig(5_000.0),
                rate_unit="round/month",
            ),
            row(
                supplier="RUS",
                recipient="RUS",
                item="shell",
                rate=fig(30_000.0),
                rate_unit="round/month",
            ),
        ],
        "allocations": [
            row(
                supplier="europe",
                recipient="UKR",
                item="shell",
                priority=1,
                share=fig(1.0),
                rate=fig(0.0),
                rate_unit="round/month",
            ),
            row(
                supplier="DEU",
                recipient="DEU",
                item="shell",
                priority=2,
                share=fig(0.0),
                rate=fig(5_000.0),
                rate_unit="round/month",
            ),
        ],
        "priorities": [row(item="shell", priority=1, weight=4_000.0, weight_source=SRC)],
        "targets": [],
    }


def write_dataset(
    folder: Path, tables: dict[str, list[dict[str, Any]]], buffer_months: float = 0.0
) -> Path:
    """Write tables as CSV files plus a dataset.yaml into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset.yaml").write_text(
        'name: tiny\nversion: "1"\nstart: "2027-01"\ndescription: test\n'
        f"buffer_months: {buffer_months}\n",
        encoding="utf-8",
    )
    for name, rows in tables.items():
        columns = list(TABLES[name].columns)
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            for r in rows:
                writer.writerow({c: r.get(c, "") for c in columns})
    return folder


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "tiny", tiny_tables())
