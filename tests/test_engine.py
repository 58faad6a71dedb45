"""Hand-computable cases for the simulator (the chain is described in conftest.py).

Each test states the arithmetic it checks. Month 0 of the tiny chain, with no events:
Ukraine has 10,000 + 5,000 (US) = 15,000 on hand and wants 15,000, so it needs nothing from
the lines; Germany orders 5,000 -> the shell line makes 5,000 with 50 t of powder. From month
1: Ukraine has 0 + 5,000 and needs 10,000; claims 10,000 + 5,000 = 15,000 rounds need 150 t
of powder but the plant makes 100 t -> 10,000 rounds, all to Ukraine (priority 1), none to
Germany (priority 2).
"""

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
from materiel.schema.validate import DatasetError
from materiel.simulation import simulate
from materiel.simulation.engine import run
from materiel.simulation.reference import run_reference
from materiel.simulation.summary import summarize
from materiel.synthetic import synthetic_dataset


def model_of(folder: Path) -> Model:
    return compile_model(load_dataset(folder))


def scenario(months: int = 4, events: list[dict[str, Any]] | None = None) -> Any:
    return parse_scenario({"name": "test", "months": months, "events": events or []})


def series(result: Any, var: str, actor: str = "UKR", item: str = "shell") -> np.ndarray:
    return result[var].sel(actor=actor, item=item).isel(draw=0).to_numpy()


def made(result: Any, facility: str = "shell_plant") -> np.ndarray:
    return result["production"].isel(draw=0).sel(facility=facility).to_numpy()


def test_lines_make_what_is_claimed_and_priority_one_is_served_first(tiny_dir: Path) -> None:
    result = simulate(model_of(tiny_dir), scenario(), draws=1)
    assert made(result) == pytest.approx([5_000, 10_000, 10_000, 10_000])
    assert made(result, "powder_plant") == pytest.approx([50, 100, 100, 100])
    assert series(result, "fired") == pytest.approx([15_000] * 4)
    assert series(result, "shortfall") == pytest.approx([0] * 4)
    # Germany's order is served only in month 0; the short months go to Ukraine (priority 1)
    assert series(result, "delivered", "DEU") == pytest.approx([5_000, 0, 0, 0])
    served = result["served"].isel(draw=0).to_pandas()
    assert served["europe->UKR shell"].to_numpy() == pytest.approx([0, 10_000, 10_000, 10_000])


def test_us_stop_leaves_ukraine_short_by_what_powder_cannot_make(tiny_dir: Path) -> None:
    # From month 2 Ukraine has 0 + 0 and needs 15,000: 10,000 made (powder binds), 5,000 short.
    result = simulate(
        model_of(tiny_dir), scenario(events=[{"type": "us_supply_stops", "month": 2}]), draws=1
    )
    assert series(result, "shortfall") == pytest.approx([0, 0, 5_000, 5_000])
    assert series(result, "delivered") == pytest.approx([5_000, 15_000, 10_000, 10_000])
    # fire ratio: Ukraine 10,000 vs Russia 30,000 once the US stops
    assert result["fire_ratio"].isel(draw=0).to_numpy()[2:] == pytest.approx([1 / 3, 1 / 3])
    # weighted shortfall: 5,000 rounds x EUR 4,000 a month
    assert result["weighted_shortfall"].isel(draw=0).to_numpy() == pytest.approx([0, 0, 2e7, 2e7])
    table = summarize(result)
    assert table.loc["shell", "shortfall_mean"] == pytest.approx(10_000)
    assert table.loc["shell", "sustained_p50"] == 2
    assert table.loc["shell", "p_short"] == 1.0


def test_a_flow_that_stops_and_restarts_at_twice_the_rate(tiny_dir: Path) -> None:
    # US deliveries: 5,000, stopped in months 1-2, then doubled (10,000) from 2027-04.
    events = [
        {"type": "us_supply_stops", "month": 1},
        {
            "type": "flow",
            "supplier": "USA",
            "recipient": "UKR",
            "item": "shell",
            "factor": 2.0,
            "month": "2027-04",
            "months": 6,
        },
    ]
    result = simulate(model_of(tiny_dir), scenario(events=events), draws=1)
    arrived = series(result, "delivered") - result["served"].isel(draw=0).to_numpy()[:, 0]
    assert arrived == pytest.approx([5_000, 0, 0, 0])  # the stop holds: a factor of 0 x 2 = 0
    restart = [*events[:1], dict(events[1], factor=None, rate=10000.0)]
    result = simulate(model_of(tiny_dir), scenario(events=restart), draws=1)
    arrived = series(result, "delivered") - result["served"].isel(draw=0).to_numpy()[:, 0]
    assert arrived == pytest.approx([5_000, 0, 0, 10_000])  # an absolute rate restarts it
    # month 3: 10,000 from the US leaves a need of 5,000, so the lines make only 5,000
    assert result["served"].isel(draw=0).to_numpy()[3, 0] == pytest.approx(5_000)
    assert series(result, "fired")[3] == pytest.approx(15_000)


def test_transfer_never_goes_below_the_floor(tmp_path: Path) -> None:
    # Germany holds 8,000 with a floor of 5,000; it promises 6,000 over 2 months (3,000 each):
    # month 0 moves 3,000 (8,000 -> 5,000), month 1 moves nothing (at the floor).
    tables = tiny_tables()
    tables["stocks"].append(
        row(actor="DEU", item="shell", quantity=fig(8_000.0), floor=fig(5_000.0))
    )
    tables["allocations"] = tables["allocations"][:1]  # no German orders: DEU stock is only its own
    model = model_of(write_dataset(tmp_path / "floor", tables))
    event = {
        "type": "transfer",
        "from": "DEU",
        "to": "UKR",
        "item": "shell",
        "quantity": 6_000,
        "month": 0,
        "months": 2,
    }
    result = simulate(model, scenario(events=[event]), draws=1)
    assert series(result, "stock", "DEU") == pytest.approx([5_000] * 4)
    # Ukraine: 10,000 + 5,000 (US) + 3,000 = 18,000 on hand, fires 15,000, keeps 3,000
    assert series(result, "stock")[0] == pytest.approx(3_000)
    share = dict(event, quantity=None, share=0.5, months=1)
    result = simulate(model, scenario(events=[share]), draws=1)
    assert series(result, "stock", "DEU")[0] == pytest.approx(6_500)  # half of the 3,000 spare


def test_two_tier_pull_with_a_buffer(tmp_path: Path) -> None:
    # With a 1-month buffer the powder plant aims to hold one month of the shell line's need:
    # month 0: the line needs 50 t for Germany's 5,000 rounds -> 100 t made (50 used, 50 kept);
    # month 1: need 150 t (15,000 rounds), target 300 t - 50 held = 250 t, capacity 100 t ->
    # 150 t available -> 15,000 rounds (capacity 20,000), 0 t left.
    model = model_of(write_dataset(tmp_path / "buffer", tiny_tables(), buffer_months=1.0))
    result = simulate(model, scenario(months=2), draws=1)
    assert made(result, "powder_plant") == pytest.approx([100, 100])
    assert made(result) == pytest.approx([5_000, 15_000])
    assert series(result, "stock", "DEU", "powder") == pytest.approx([50, 0])


def test_sustainment_policy_spreads_stock(tmp_path: Path) -> None:
    # Ukraine spreads its stock over 2 months: with 15,000 on hand it fires 7,500 (not 15,000)
    # and needs 2 x 15,000 - 15,000 = 15,000 from the lines (10,000 made).
    tables = tiny_tables()
    tables["countries"][0]["sustain_months"] = 2.0
    for k in ("_low", "_high"):
        tables["countries"][0][f"sustain_months{k}"] = 2.0
    model = model_of(write_dataset(tmp_path / "sustain", tables))
    result = simulate(model, scenario(months=1), draws=1)
    assert made(result) == pytest.approx([10_000])
    # 15,000 + 10,000 = 25,000 on hand after deliveries: fires min(15,000, 12,500)
    assert series(result, "fired") == pytest.approx([12_500])


def test_output_nobody_takes_stays_with_the_producer_country(tiny_dir: Path) -> None:
    # Orders at 50 % of capacity push the shell line to 10,000 in month 0 although only 5,000
    # are claimed: the other 5,000 go to Germany's stock, not to an unnamed pool.
    events = [{"type": "orders", "level": 0.5, "items": ["shell"], "month": 0, "months": 1}]
    result = simulate(model_of(tiny_dir), scenario(months=1, events=events), draws=1)
    assert made(result) == pytest.approx([10_000])
    assert series(result, "stock", "DEU") == pytest.approx([10_000])  # 5,000 ordered + 5,000


def test_option_arrives_after_lead_time(tiny_dir: Path) -> None:
    # powder_line (+50 t/month, lead 6, no ramp) decided in month 1: first output month 7.
    # With the US stopped Ukraine needs 15,000 a month: 10,000 made, 15,000 from month 7.
    model = model_of(tiny_dir)
    plan = Plan(np.array([0]), np.array([1.0]), np.array([1.0]))
    events = [{"type": "us_supply_stops", "month": 0}]
    result = simulate(model, scenario(months=10, events=events), draws=1, plan=plan)
    assert made(result)[1:] == pytest.approx([10_000] * 6 + [15_000] * 3)
    cost = result["cost"].isel(draw=0).to_numpy()
    assert cost[1] - cost[2] == pytest.approx(1e8)  # capex charged in the decision month


def test_ramp_is_linear(tiny_dir: Path) -> None:
    tables = tiny_tables()
    tables["expansions"][0].update(ramp_time=3.0, ramp_time_low=3.0, ramp_time_high=3.0)
    tables["expansions"][0]["decided"] = "2026-07"  # month -6: online at month 0
    model = model_of(write_dataset(tiny_dir.parent / "ramp", tables))
    result = simulate(model, scenario(months=5), draws=1)
    powder = result["capacity"].isel(draw=0).sel(facility="powder_plant").to_numpy()
    assert powder == pytest.approx([100 + 12.5, 125, 137.5, 150, 150])


def test_scarce_input_rationed_by_class_then_in_proportion(tiny_dir: Path) -> None:
    # A second shell line in France competes for the 100 t of powder; no German order, the US
    # stopped. Month 1: Ukraine claims 15,000 rounds, split over the two lines by capacity
    # (7,500 each): same class, so each gets half of the powder -> 5,000 rounds each.
    tables = tiny_tables()
    tables["allocations"] = tables["allocations"][:1]
    stop = [{"type": "us_supply_stops", "month": 0}]
    tables["countries"].append(
        row(country="FRA", name="France", region="europe", sustain_months=fig(1.0))
    )
    tables["facilities"].append(
        dict(tables["facilities"][1], facility="shell_plant_2", country="FRA")
    )
    model = model_of(write_dataset(tiny_dir.parent / "two", tables))
    result = simulate(model, scenario(months=2, events=stop), draws=1)
    month1 = result["production"].isel(draw=0, month=1).to_series()
    assert month1["shell_plant"] == pytest.approx(5_000)
    assert month1["shell_plant_2"] == pytest.approx(5_000)
    # a mortar line (class 2) sharing the powder gets none while the shells (class 1) are short
    tables["items"].append(
        row(
            item="mortar",
            name="Mortar",
            unit="round",
            kind="end",
            category="mortar",
            limited="true",
        )
    )
    tables["recipes"].append(row(item="mortar", input="powder", quantity=fig(1.0), unit="kg/round"))
    tables["facilities"].append(
        dict(tables["facilities"][1], facility="mortar_plant", item="mortar")
    )
    tables["allocations"].append(dict(tables["allocations"][0], item="mortar"))
    tables["consumption"].append(
        row(actor="UKR", item="mortar", rate=fig(1_000.0), rate_unit="round/month")
    )
    tables["priorities"].append(
        row(item="mortar", priority=2, weight=1_000.0, weight_source="src_test")
    )
    model = model_of(write_dataset(tiny_dir.parent / "classes", tables))
    result = simulate(model, scenario(months=2, events=stop), draws=1)
    assert result["production"].isel(draw=0, month=1).sel(facility="mortar_plant") == 0.0
    assert made(result)[1] + made(result, "shell_plant_2")[1] == pytest.approx(10_000)


def test_scarcest_input_sets_the_rate(tiny_dir: Path) -> None:
    # Add fuzes (3,000/month): month 1 makes 3,000 rounds using 30 t of powder.
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
    result = simulate(model, scenario(months=2), draws=1)
    month1 = result.isel(draw=0, month=1)
    assert month1["production"].sel(facility="shell_plant") == pytest.approx(3_000)
    # month 0 made 50 t for Germany's 5,000 rounds but only 3,000 could be made (30 t used,
    # 20 t left); month 1 made 100 t for a 150 t need, 30 t used: 90 t stay with Germany
    assert month1["stock"].sel(actor="DEU", item="powder") == pytest.approx(90.0)


def test_deep_strike_and_ceasefire(tiny_dir: Path) -> None:
    model = model_of(tiny_dir)
    events = [
        {"type": "deep_strike", "target": "RUS", "month": 1, "fraction": 0.5},
        {"type": "ceasefire", "month": 3, "intensity": 0.1},
    ]
    result = simulate(model, scenario(events=events), draws=1)
    ru = series(result, "fired", "RUS")
    # Russia makes 30,000 then 15,000/month; it fires what it has up to 30,000, then 3,000.
    assert ru == pytest.approx([30_000, 15_000, 15_000, 3_000])
    assert series(result, "stock", "RUS")[-1] == pytest.approx(12_000)


def test_calendar_months_and_bad_months_are_clear_errors(tiny_dir: Path) -> None:
    model = model_of(tiny_dir)
    by_date = compile_scenario(
        model, scenario(events=[{"type": "us_supply_stops", "month": "2027-03"}])
    )
    by_index = compile_scenario(model, scenario(events=[{"type": "us_supply_stops", "month": 2}]))
    np.testing.assert_array_equal(by_date.flow_factor, by_index.flow_factor)
    for month, words in (
        ("2026-12", "before the dataset start"),
        ("2027-05", "after the scenario.s last month"),
    ):
        with pytest.raises(DatasetError, match=words):
            compile_scenario(model, scenario(events=[{"type": "us_supply_stops", "month": month}]))
    with pytest.raises(DatasetError, match=r"events\.0\.month"):
        scenario(events=[{"type": "us_supply_stops", "month": "2027-13"}])


def test_plan_orders_scale_with_the_line_capacity(tiny_dir: Path) -> None:
    # The plan orders 12,000 rounds/month from a line whose central capacity is 20,000 (60 %):
    # a floor. A draw where the line can make 30,000 aims at 18,000; powder allows 10,000.
    model = model_of(tiny_dir)
    orders = np.full((2, 2), np.nan)
    orders[:, 1] = 12_000.0
    plan = Plan(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0), orders)
    sc = compile_scenario(model, scenario(months=2))
    p = sample(model, 1, seed=0, uncertain=False)
    central = run(model, sc, p, plan)["production"][0, :, 1]
    assert central == pytest.approx([10_000, 10_000])
    p["capacity"][0, 0] = 200.0  # twice the powder: the floor of 12,000 (central) binds
    assert run(model, sc, p, plan)["production"][0, :, 1] == pytest.approx([12_000, 15_000])


def test_vectorised_engine_matches_the_per_draw_reference(tiny_dir: Path) -> None:
    tables = tiny_tables()
    for r in tables["facilities"]:
        r["capacity_low"], r["capacity_high"] = r["capacity"] * 0.5, r["capacity"] * 1.5
    tables["consumption"][0].update(rate_low=5_000.0, rate_high=40_000.0)
    tables["stocks"].append(
        row(actor="DEU", item="shell", quantity=fig(9_000.0, 0.0, 20_000.0), floor=fig(4_000.0))
    )
    model = model_of(write_dataset(tiny_dir.parent / "wide", tables, buffer_months=0.5))
    events = [
        {"type": "us_supply_stops", "month": 3},
        {
            "type": "transfer",
            "from": "DEU",
            "to": "UKR",
            "item": "shell",
            "share": 0.5,
            "month": 1,
            "months": 3,
        },
        {"type": "orders", "level": 0.7, "month": 5, "months": 2},
        {
            "type": "flow",
            "supplier": "USA",
            "recipient": "UKR",
            "item": "shell",
            "rate": 7_000.0,
            "month": 6,
        },
    ]
    sc = compile_scenario(model, scenario(months=8, events=events))
    p = sample(model, 12, seed=3)
    plan = Plan(np.array([0, 0]), np.array([2.0, 5.0]), np.array([0.5, 0.3]))
    fast = run(model, sc, p, plan)
    slow = run_reference(model, sc, p, plan)
    for key in ("production", "fired", "weighted_shortfall"):
        np.testing.assert_allclose(fast[key], slow[key], rtol=1e-4, atol=1e-2, err_msg=key)
    np.testing.assert_allclose(fast["fire_ratio"], slow["fire_ratio"], rtol=1e-4)


def test_reference_matches_on_a_synthetic_chain() -> None:
    model = compile_model(synthetic_dataset(1, 3))
    sc = compile_scenario(
        model, scenario(months=5, events=[{"type": "us_supply_stops", "month": 1}])
    )
    p = sample(model, 3, seed=5)
    fast, slow = run(model, sc, p), run_reference(model, sc, p)
    for key in ("production", "fired", "weighted_shortfall"):
        np.testing.assert_allclose(fast[key], slow[key], rtol=1e-3, atol=1.0, err_msg=key)


def test_intensity_and_consumption_events_change_what_users_want(tiny_dir: Path) -> None:
    # Russia wants 30,000/month: x0.5 from month 1 (intensity), then set to 12,000 from
    # 2027-04 (consumption rate). Ukraine's wants double in month 2 only (consumption factor).
    events = [
        {"type": "intensity", "actors": ["RUS"], "profile": [{"month": 1, "factor": 0.5}]},
        {
            "type": "consumption",
            "actor": "RUS",
            "item": "shell",
            "rate": 12_000.0,
            "month": "2027-04",
        },
        {"type": "consumption", "actor": "UKR", "factor": 2.0, "month": 2, "months": 1},
    ]
    result = simulate(model_of(tiny_dir), scenario(events=events), draws=1)
    assert series(result, "wanted", "RUS") == pytest.approx([30_000, 15_000, 15_000, 12_000])
    assert series(result, "wanted") == pytest.approx([15_000, 15_000, 30_000, 15_000])


def test_capacity_and_outage_events_change_working_capacity(tiny_dir: Path) -> None:
    # The powder plant works at 1.5x from month 1 on (a surge: factors may exceed 1), is set
    # to an absolute 40 t in month 2 only, and Germany's lines lose half their capacity from
    # month 3 (an outage): month 3 is 100 x 1.5 x 0.5 = 75 t.
    events = [
        {"type": "capacity", "node": "powder_plant", "factor": 1.5, "month": 1},
        {"type": "capacity", "node": "powder_plant", "rate": 40.0, "month": 2, "months": 1},
        {"type": "supplier_outage", "node": "DEU", "month": 3, "fraction": 0.5},
    ]
    result = simulate(model_of(tiny_dir), scenario(events=events), draws=1)
    powder = result["capacity"].isel(draw=0).sel(facility="powder_plant").to_numpy()
    shells = result["capacity"].isel(draw=0).sel(facility="shell_plant").to_numpy()
    assert powder == pytest.approx([100, 150, 40, 75])  # month 3: 100 x 1.5 x 0.5
    assert shells == pytest.approx([20_000, 20_000, 20_000, 10_000])


def test_allocation_event_changes_the_share_of_need_claimed(tiny_dir: Path) -> None:
    # From month 1 Ukraine claims only half of its need from European lines: with 5,000 from
    # the US and 0 stock it needs 10,000, claims 5,000; Germany's 5,000 order (priority 2)
    # fills the rest of the 10,000 the powder allows.
    events = [{"type": "allocation", "recipient": "UKR", "share": 0.5, "month": 1}]
    result = simulate(model_of(tiny_dir), scenario(months=2, events=events), draws=1)
    assert result["served"].isel(draw=0, month=1).to_numpy() == pytest.approx([5_000, 5_000])
    assert series(result, "shortfall")[1] == pytest.approx(5_000)


def test_budget_event_is_read_by_the_optimiser_not_the_simulator(tiny_dir: Path) -> None:
    scen = scenario(events=[{"type": "budget", "eur_per_year": 2.5e9}])
    assert scen.budget == 2.5e9
    with_budget = simulate(model_of(tiny_dir), scen, draws=1)
    without = simulate(model_of(tiny_dir), scenario(), draws=1)
    np.testing.assert_array_equal(with_budget["fired"], without["fired"])
