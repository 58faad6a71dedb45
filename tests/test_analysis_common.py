"""Shared builders for the analysis tests, and the shared helpers worked out by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import fig, row, tiny_tables, write_dataset
from materiel.analysis.common import edit_events, fill, full_orders, leontief, technical_matrix
from materiel.analysis.layers import donor_stocks, holder_need
from materiel.io.dataset import load_dataset
from materiel.model.compiled import Model, compile_model
from materiel.scenario import Scenario, parse_scenario
from materiel.simulation import simulate


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


def test_edit_events_replaces_and_appends() -> None:
    base = scenario(6, [{"type": "us_supply_stops", "month": 4}, {"type": "ceasefire", "month": 5}])
    out = edit_events(base, [{"type": "us_supply_stops", "month": 1}], drop=["us_supply_stops"])
    assert [e.type for e in out.events] == ["ceasefire", "us_supply_stops"]
    assert out.events[-1].month == 1
    assert [e.type for e in base.events] == ["us_supply_stops", "ceasefire"]  # unchanged


def test_donor_stocks_count_european_stock_above_floors(tmp_path: Path) -> None:
    # Germany holds 8,000 rounds with a floor of 5,000 (3,000 to give); France 1,000 under
    # a floor of 2,000 (nothing, never negative); the US 9,000 (not European); Ukraine's own
    # 10,000 are the holder's. No German orders, so Germany's stock stays 8,000.
    tables = tiny_tables()
    tables["allocations"] = tables["allocations"][:1]
    tables["countries"].append(
        row(country="FRA", name="France", region="europe", sustain_months=fig(1.0))
    )
    tables["stocks"] += [
        row(actor="DEU", item="shell", quantity=fig(8_000.0), floor=fig(5_000.0)),
        row(actor="FRA", item="shell", quantity=fig(1_000.0), floor=fig(2_000.0)),
        row(actor="USA", item="shell", quantity=fig(9_000.0), floor=fig(0.0)),
    ]
    model = model_of(tmp_path, tables)
    sc = scenario(3)
    result = simulate(model, sc, draws=1)
    for month in (0, 2):
        held = donor_stocks(model, sc, result, month, ["shell"], "UKR", seed=0)
        assert held.ravel() == pytest.approx([3_000])
    # Ukraine's need: month 0 15,000 - 10,000 on hand, then 15,000 (it fires all it gets)
    need = holder_need(model, sc, result, "UKR", ["shell"], seed=0)
    assert need.ravel() == pytest.approx([5_000, 15_000, 15_000])


def test_full_orders_cover_every_european_region() -> None:
    assert [o.supplier for o in full_orders(3)] == ["europe", "ukraine"]
    assert all(o.level == 1.0 and o.month == 3 for o in full_orders(3))
