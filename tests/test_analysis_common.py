"""Shared builders for the analysis tests, and the shared helpers worked out by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import fig, row, tiny_tables, write_dataset
from materiel.analysis.common import fill, leontief, technical_matrix, with_events
from materiel.io.dataset import load_dataset
from materiel.model.compiled import Model, compile_model
from materiel.scenario import Scenario, parse_scenario


def set_fig(r: dict[str, Any], name: str, value: float) -> None:
    """Set a sourced figure's central, low and high values."""
    r[name] = r[f"{name}_low"] = r[f"{name}_high"] = value


def facility(name: str, item: str, country: str, capacity: float, unit: str, **kw: Any) -> dict:
    """A facility row with fixed figures (utilisation 1 and unit cost 1,000 by default)."""
    return row(
        facility=name,
        name=name,
        operator="op",
        item=item,
        country=country,
        capacity=fig(capacity),
        capacity_unit=unit,
        utilisation=fig(kw.get("utilisation", 1.0)),
        unit_cost=fig(kw.get("unit_cost", 1_000.0)),
    )


def item(name: str, unit: str, kind: str, category: str = "", limited: str = "true") -> dict:
    return row(item=name, name=name, unit=unit, kind=kind, category=category, limited=limited)


def model_of(tmp: Path, tables: dict[str, list[dict[str, Any]]], name: str = "d") -> Model:
    return compile_model(load_dataset(write_dataset(tmp / name, tables)))


def scenario(months: int, events: list[dict[str, Any]] | None = None, **kw: Any) -> Scenario:
    return parse_scenario({"name": "test", "months": months, "events": events or [], **kw})


def test_fill_carries_extra_supply_to_later_shortfalls() -> None:
    # gap 0, 5, 10; supply 4 in month 0 and 3 in month 2: month 1 takes the 4 carried,
    # month 2 the 3 arriving (and nothing is left over).
    gap = np.array([0.0, 5.0, 10.0])[None, :, None]
    supply = np.array([4.0, 0.0, 3.0])[None, :, None]
    assert fill(gap, supply).ravel() == pytest.approx([0.0, 4.0, 3.0])
    # half the stock is lost each month: 4 -> 2 carried into month 1
    keep = np.array([1.0, 0.5, 1.0])
    assert fill(gap, supply, keep).ravel() == pytest.approx([0.0, 2.0, 3.0])


def test_leontief_counts_indirect_inputs(tmp_path: Path) -> None:
    # shell <- 10 kg powder <- 1 t acid per t powder: 0.01 t of each per round
    model = model_of(tmp_path, tiny_tables())
    total = leontief(model)
    pos = model.items.get_loc
    assert technical_matrix(model)[pos("acid"), pos("shell")] == 0.0
    assert total[pos("powder"), pos("shell")] == pytest.approx(0.01)
    assert total[pos("acid"), pos("shell")] == pytest.approx(0.01)
    assert total[pos("shell"), pos("shell")] == pytest.approx(1.0)


def test_with_events_replaces_and_appends() -> None:
    base = scenario(6, [{"type": "us_supply_stops", "month": 4}, {"type": "ceasefire", "month": 5}])
    out = with_events(base, [{"type": "us_supply_stops", "month": 1}], drop=["us_supply_stops"])
    assert [e.type for e in out.events] == ["ceasefire", "us_supply_stops"]
    assert out.events[-1].month == 1
    assert [e.type for e in base.events] == ["us_supply_stops", "ceasefire"]  # unchanged
