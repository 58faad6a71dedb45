"""Hand-computable cases for the simulator (see the chain described in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import fig, row, tiny_tables, write_dataset
from materiel.io.dataset import load_dataset
from materiel.model.compiled import Model, compile_model
from materiel.model.events import compile_scenario
from materiel.model.plan import Plan
from materiel.model.sampling import sample
from materiel.scenario import parse_scenario
from materiel.simulation import simulate
from materiel.simulation.reference import run_reference
from materiel.simulation.summary import summarize


def model_of(folder: Path) -> Model:
    return compile_model(load_dataset(folder))


def scenario(months: int = 4, events: list[dict[str, Any]] | None = None) -> Any:
    return parse_scenario({"name": "test", "months": months, "events": events or []})


def ukraine(result: Any, var: str) -> np.ndarray:
    return result[var].sel(actor="UKR", item="shell").isel(draw=0).to_numpy()


def test_powder_binds_and_stock_runs_out(tiny_dir: Path) -> None:
    # 10,000 rounds/month made (powder binds), 5,000 to Ukraine + 5,000 US = 10,000/month.
    # Ukraine wants 15,000/month from a stock of 10,000: 20,000 -> 5,000 -> 0, then 5,000 short.
    result = simulate(model_of(tiny_dir), scenario(), draws=1)
    assert result["production"].isel(draw=0).sel(
        facility="shell_plant"
    ).to_numpy() == pytest.approx([10_000] * 4)
    assert ukraine(result, "fired") == pytest.approx([15_000, 15_000, 10_000, 10_000])
    assert ukraine(result, "shortfall") == pytest.approx([0, 0, 5_000, 5_000])
    assert ukraine(result, "stock") == pytest.approx([5_000, 0, 0, 0])


def test_us_stop_doubles_the_gap(tiny_dir: Path) -> None:
    result = simulate(
        model_of(tiny_dir), scenario(events=[{"type": "us_supply_stops", "month": 2}]), draws=1
    )
    assert ukraine(result, "shortfall") == pytest.approx([0, 0, 10_000, 10_000])
    # fire ratio: Ukraine 5,000 vs Russia 30,000 once the US stops
    assert result["fire_ratio"].isel(draw=0).to_numpy()[2:] == pytest.approx([1 / 6, 1 / 6])
    table = summarize(result)
    assert table.loc["shell", "shortfall_mean"] == pytest.approx(20_000)
    assert table.loc["shell", "sustained_p50"] == 2
    assert table.loc["shell", "p_short"] == 1.0


def test_option_arrives_after_lead_time(tiny_dir: Path) -> None:
    # powder_line (+50 t/month, lead 6, no ramp) decided in month 1: first output month 7,
    # so shells rise from 10,000 to 15,000 per month from month 7.
    model = model_of(tiny_dir)
    plan = Plan(np.array([0]), np.array([1.0]), np.array([1.0]))
    result = simulate(model, scenario(months=10), draws=1, plan=plan)
    shells = result["production"].isel(draw=0).sel(facility="shell_plant").to_numpy()
    assert shells == pytest.approx([10_000] * 7 + [15_000] * 3)
    cost = result["cost"].isel(draw=0).to_numpy()
    assert cost[1] - cost[0] == pytest.approx(1e8)  # capex charged in the decision month


def test_ramp_is_linear(tiny_dir: Path) -> None:
    tables = tiny_tables()
    tables["expansions"][0]["ramp_time"] = 3.0
    tables["expansions"][0]["ramp_time_low"] = 3.0
    tables["expansions"][0]["ramp_time_high"] = 3.0
    tables["expansions"][0]["decided"] = "2026-07"  # month -6: online at month 0
    model = model_of(write_dataset(tiny_dir.parent / "ramp", tables))
    result = simulate(model, scenario(months=5), draws=1)
    powder = result["capacity"].isel(draw=0).sel(facility="powder_plant").to_numpy()
    assert powder == pytest.approx([100 + 12.5, 125, 137.5, 150, 150])


def test_scarce_input_rationed_in_proportion(tiny_dir: Path) -> None:
    # A second shell line competes for the same 100 t of powder: both ask for 20,000 rounds,
    # each gets half of the powder -> 5,000 rounds each.
    tables = tiny_tables()
    second = dict(tables["facilities"][1], facility="shell_plant_2")
    tables["facilities"].append(second)
    model = model_of(write_dataset(tiny_dir.parent / "two", tables))
    result = simulate(model, scenario(months=1), draws=1)
    made = result["production"].isel(draw=0, month=0).to_series()
    assert made["shell_plant"] == pytest.approx(5_000)
    assert made["shell_plant_2"] == pytest.approx(5_000)
    assert result["industry_stock"].isel(draw=0, month=0).sel(item="powder") == pytest.approx(0.0)


def test_scarcest_input_sets_the_rate(tiny_dir: Path) -> None:
    # Add fuzes (3,000/month): shells are limited to 3,000 and powder use falls to 30 t.
    tables = tiny_tables()
    tables["items"].append(
        row(item="fuze", name="Fuze", unit="fuze", kind="intermediate", category="", limited="true")
    )
    tables["recipes"].append(row(item="shell", input="fuze", quantity=fig(1.0), unit="fuze/round"))
    tables["facilities"].append(
        row(
            facility="fuze_plant",
            name="Fuzes",
            operator="C",
            item="fuze",
            country="DEU",
            capacity=fig(3_000.0),
            capacity_unit="fuze/month",
            utilisation=fig(1.0),
            unit_cost=fig(500.0),
        )
    )
    model = model_of(write_dataset(tiny_dir.parent / "fuze", tables))
    result = simulate(model, scenario(months=1), draws=1)
    month0 = result.isel(draw=0, month=0)
    assert month0["production"].sel(facility="shell_plant") == pytest.approx(3_000)
    assert month0["input_use"].sel(item="powder") == pytest.approx(30.0)
    assert month0["industry_stock"].sel(item="powder") == pytest.approx(70.0)


def test_deep_strike_and_ceasefire(tiny_dir: Path) -> None:
    model = model_of(tiny_dir)
    result = simulate(
        model,
        scenario(
            events=[
                {"type": "deep_strike", "target": "RUS", "month": 1, "fraction": 0.5},
                {"type": "ceasefire", "month": 3, "intensity": 0.1},
            ]
        ),
        draws=1,
    )
    ru = result["fired"].sel(actor="RUS", item="shell").isel(draw=0).to_numpy()
    # Russia makes 30,000 then 15,000/month; it fires what it has up to 30,000, then 3,000.
    assert ru == pytest.approx([30_000, 15_000, 15_000, 3_000])
    stock = result["stock"].sel(actor="RUS", item="shell").isel(draw=0).to_numpy()
    assert stock[-1] == pytest.approx(12_000)


def test_vectorised_engine_matches_per_draw_reference(tiny_dir: Path) -> None:
    tables = tiny_tables()
    for r in tables["facilities"]:
        r["capacity_low"], r["capacity_high"] = r["capacity"] * 0.5, r["capacity"] * 1.5
        r["utilisation_low"] = 0.6
    model = model_of(write_dataset(tiny_dir.parent / "wide", tables))
    sc = compile_scenario(
        model, scenario(months=8, events=[{"type": "us_supply_stops", "month": 3}])
    )
    p = sample(model, 20, seed=3)
    plan = Plan(np.array([0, 0]), np.array([2.0, 5.0]), np.array([0.5, 0.3]))
    from materiel.simulation.engine import run

    fast = run(model, sc, p, plan)
    slow = run_reference(model, sc, p, plan)
    np.testing.assert_allclose(fast["production"], slow["production"], rtol=1e-5)
    np.testing.assert_allclose(fast["shortfall"], slow["shortfall"], rtol=1e-5, atol=1e-2)


def test_plan_orders_scale_with_the_line_capacity(tiny_dir: Path) -> None:
    # The plan orders 5,000 rounds/month from a line whose central capacity is 20,000 (a 25 %
    # order). A draw where the line can make 30,000 makes 7,500; powder (100 t) allows 10,000.
    model = model_of(tiny_dir)
    orders = np.full((2, 2), np.nan)
    orders[:, 1] = 5_000.0
    plan = Plan(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0), orders)
    sc = compile_scenario(model, scenario(months=2))
    p = sample(model, 1, seed=0, uncertain=False)
    from materiel.simulation.engine import run

    central = run(model, sc, p, plan)["production"][0, :, 1]
    p["capacity"][0, 1] = 30_000.0
    bigger = run(model, sc, p, plan)["production"][0, :, 1]
    assert central == pytest.approx([5_000, 5_000])
    assert bigger == pytest.approx([7_500, 7_500])
