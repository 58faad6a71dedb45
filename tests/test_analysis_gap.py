"""Gap and outlook on a chain worked out by hand (see ``layered_tables``).

The old numbers came from push production (lines at utilisation x capacity, output left in an
unnamed industry pool); they are re-derived here by hand under demand pull: lines make what
is claimed, within capacity and inputs, and what nobody takes stays with the producer country.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import fig, row, tiny_tables
from materiel.analysis import gap, gap_totals, outlook, outlook_totals
from materiel.io.dataset import load_dataset
from materiel.model.compiled import compile_model
from materiel.scenario import load_scenario
from test_analysis_common import model_of, scenario, set_fig


def layered_tables() -> dict:
    """The conftest chain with spare powder, a partial claim, a donor stock and an option.

    Powder plant 150 t/month (15,000 rounds' worth; shell line 20,000/month). Ukraine claims
    half its need from European lines (priority 1), Germany orders 5,000 rounds/month
    (priority 2). Germany holds 8,000 rounds with a floor of 5,000. US: 5,000/month. Ukraine
    wants 15,000/month, starts with 10,000 and fires all it has. Option: +50 t/month, lead 2,
    ramp 1 (half the capacity in its first month).
    """
    t = tiny_tables()
    powder, option = t["facilities"][0], t["expansions"][0]
    set_fig(powder, "capacity", 150.0)
    powder["capacity_unit"] = "t/month"
    set_fig(option, "lead_time", 2.0)
    set_fig(option, "ramp_time", 1.0)
    set_fig(t["allocations"][0], "share", 0.5)
    t["stocks"].append(row(actor="DEU", item="shell", quantity=fig(8_000.0), floor=fig(5_000.0)))
    return t


def test_gap_layers_by_hand(tmp_path: Path) -> None:
    # Baseline, US stop in month 2. m0: Ukraine has 15,000, needs nothing; the line makes
    # Germany's 5,000 (Germany: 8,000 -> 13,000). m1: Ukraine has the US 5,000, needs 10,000,
    # claims half (5,000); the line makes 5,000 + 5,000 (Germany: 18,000); short 5,000.
    # From m2: need 15,000, claim 7,500, line 12,500 (Germany +5,000 a month); gap 7,500.
    # Stocks: Germany holds 18,000 at the start of m2, 13,000 above its floor; half (6,500)
    # fills m2. Idle capacity: orders at full from m2 -> powder 150 t -> 15,000 rounds, +2,500
    # a month, carried: m2 1,000 (carry 1,500), m3 4,000, m4 2,500. Expansions: the option
    # decided in m2 is online in m4 at half rate (+25 t -> +2,500 rounds), filling m4.
    model = model_of(tmp_path, layered_tables())
    table = gap(model, scenario(5), draws=1, stop_month=2, stock_release=0.5)
    assert list(table["month"]) == [2, 3, 4]
    assert table["gap"].to_numpy() == pytest.approx([7_500] * 3)
    assert table["from_stocks"].to_numpy() == pytest.approx([6_500, 0, 0])
    assert table["from_idle_capacity"].to_numpy() == pytest.approx([1_000, 4_000, 2_500])
    assert table["from_expansions"].to_numpy() == pytest.approx([0, 0, 2_500])
    assert table["residual"].to_numpy() == pytest.approx([0, 3_500, 2_500])
    # with the US: need 10,000, claim 5,000, short 5,000; the US gap is its 5,000 a month
    assert table["shortfall_with_us"].to_numpy() == pytest.approx([5_000] * 3)
    assert table["us_lost"].to_numpy() == pytest.approx([5_000] * 3)
    assert table["p_residual"].to_numpy() == pytest.approx([0, 1, 1])
    totals = gap_totals(table).iloc[0]
    assert totals["from_idle_capacity_share"] == pytest.approx(7_500 / 22_500)
    assert totals["p_residual_any"] == 1.0


def test_us_gap_counts_lost_us_claims(tmp_path: Path) -> None:
    # The US supplies through a claim on a US line (5,000 a month, priority 2) instead of a
    # flow: the stop ends the claim, and us_lost is what that claim served.
    tables = tiny_tables()
    tables["flows"] = tables["flows"][1:]
    tables["facilities"].append(
        dict(tables["facilities"][1], facility="us_shells", country="USA", inputs="own")
    )
    tables["allocations"].append(
        row(
            supplier="us",
            recipient="UKR",
            item="shell",
            priority=2,
            share=fig(0.0),
            rate=fig(5_000.0),
            rate_unit="round/month",
        )
    )
    model = model_of(tmp_path, tables)
    table = gap(model, scenario(4), draws=1, stop_month=2)
    assert table["us_lost"].to_numpy() == pytest.approx([5_000, 5_000])


def test_gap_layers_add_up_on_the_default_dataset() -> None:
    model = compile_model(load_dataset())
    table = gap(model, load_scenario("imposed-deal"), draws=20, seed=3)
    parts = table[["from_stocks", "from_idle_capacity", "from_expansions", "residual"]]
    np.testing.assert_allclose(parts.sum(axis=1), table["gap"], rtol=1e-9, atol=1e-6)
    assert (parts >= -1e-9).all().all()
    assert table["p_residual_by"].between(0, 1).all()
    # p_residual_by never falls from one month to the next
    assert (table.groupby("item")["p_residual_by"].diff().dropna() >= 0).all()


def test_outlook_by_hand(tmp_path: Path) -> None:
    # US stopped from month 0, window months 0-2. Need (what Ukraine asks for, on its stock
    # at the start of the month): m0 15,000 - 10,000 = 5,000, then 15,000. Arriving: m0 the
    # half claim 2,500; then 7,500 (the line makes 7,500 + Germany's 5,000 of 15,000 possible).
    # Stocks above floors: Germany 8,000 - 5,000 = 3,000 at m0: 2,500 to m0, 500 to m1.
    # Idle capacity: full orders make 15,000 a month: +7,500 in m0 (not needed, carried),
    # +2,500 after: m1 takes 7,000 of 10,000, m2 the 3,000 left + 2,500; 2,000 stay short.
    # Every row: need - arriving - from_stocks - from_idle_capacity = short.
    model = model_of(tmp_path, layered_tables())
    stop = [{"type": "us_supply_stops", "month": 0}]
    table = outlook(model, scenario(5, stop), draws=1, months=3)
    assert table["need"].to_numpy() == pytest.approx([5_000, 15_000, 15_000])
    assert table["arriving"].to_numpy() == pytest.approx([2_500, 7_500, 7_500])
    assert table["from_stocks"].to_numpy() == pytest.approx([2_500, 500, 0])
    assert table["from_idle_capacity"].to_numpy() == pytest.approx([0, 7_000, 5_500])
    assert table["short"].to_numpy() == pytest.approx([0, 0, 2_000])
    assert table["stocks_above_floors"].to_numpy() == pytest.approx([3_000, 0, 0])
    assert table["idle_capacity"].to_numpy() == pytest.approx([7_500, 2_500, 2_500])
    # the shell line's spare capacity ignores powder: 20,000 - 7,500, then 20,000 - 12,500
    assert table["spare_capacity"].to_numpy() == pytest.approx([12_500, 7_500, 7_500])
    left = table["need"] - table["arriving"] - table["from_stocks"] - table["from_idle_capacity"]
    assert left.to_numpy() == pytest.approx(table["short"].to_numpy())
    totals = outlook_totals(table).iloc[0]
    assert totals["covered_share"] == pytest.approx(1 - 2_000 / 35_000)


def test_outlook_columns_add_up_on_the_default_dataset() -> None:
    model = compile_model(load_dataset())
    table = outlook(model, load_scenario("imposed-deal"), draws=10, seed=1)
    assert len(table) and set(table["month"]) == {0, 1, 2, 3}
    left = table["need"] - table["arriving"] - table["from_stocks"] - table["from_idle_capacity"]
    np.testing.assert_allclose(left, table["short"], rtol=1e-9, atol=1e-6)
    columns = ["arriving", "from_stocks", "from_idle_capacity", "short"]
    assert (table[columns] >= -1e-9).all().all()
    assert table["covered_share"].between(0, 1).all()


def test_bad_months_are_clear_errors(tmp_path: Path) -> None:
    model = model_of(tmp_path, layered_tables())
    with pytest.raises(ValueError, match="US stop month"):
        gap(model, scenario(5), draws=1, stop_month=9)
    with pytest.raises(ValueError, match="stock release"):
        gap(model, scenario(5), draws=1, stock_release=2.0)
    with pytest.raises(ValueError, match="start month"):
        outlook(model, scenario(5), draws=1, start=7)
