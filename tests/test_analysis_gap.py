"""Gap and outlook on a chain worked out by hand (see ``layered_tables``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import tiny_tables
from materiel.analysis import gap, gap_totals, outlook, outlook_totals
from materiel.io.dataset import load_dataset
from materiel.model.compiled import compile_model
from materiel.scenario import load_scenario
from test_analysis_common import model_of, scenario, set_fig


def layered_tables() -> dict:
    """The conftest chain with idle capacity and a quick option.

    Powder plant 100 t/month ordered at 50 % -> 50 t -> 5,000 rounds/month (shell line 20,000);
    half to Ukraine (2,500), half stays in the European industry stock. US: 5,000/month.
    Ukraine wants 15,000/month and starts with 10,000. Option: +50 t/month, lead 1, no ramp.
    """
    t = tiny_tables()
    powder, option = t["facilities"][0], t["expansions"][0]
    set_fig(powder, "capacity", 100.0)
    powder["capacity_unit"] = "t/month"
    set_fig(powder, "utilisation", 0.5)
    set_fig(option, "lead_time", 1.0)
    return t


def test_gap_layers_by_hand(tmp_path: Path) -> None:
    # US stops in month 2. Ukraine: m0 17,500 - 15,000 = 2,500 left; m1 10,000 on hand,
    # 5,000 short; from m2 only 2,500 arrive: gap 12,500 a month.
    # Stocks: the industry holds 2 x 2,500 at the start of m2; half (2,500) is handed over.
    # Idle capacity: powder to 100 t from m2 -> +5,000 rounds a month.
    # Expansions: the option decided in m2 delivers +50 t from m3 -> +5,000 more.
    model = model_of(tmp_path, layered_tables())
    table = gap(model, scenario(5), draws=1, stop_month=2, stock_release=0.5)
    assert list(table["month"]) == [2, 3, 4]
    assert table["gap"].to_numpy() == pytest.approx([12_500] * 3)
    assert table["from_stocks"].to_numpy() == pytest.approx([2_500, 0, 0])
    assert table["from_idle_capacity"].to_numpy() == pytest.approx([5_000] * 3)
    assert table["from_expansions"].to_numpy() == pytest.approx([0, 5_000, 5_000])
    assert table["residual"].to_numpy() == pytest.approx([5_000, 2_500, 2_500])
    assert table["shortfall_with_us"].to_numpy() == pytest.approx([7_500] * 3)
    assert table["us_lost"].to_numpy() == pytest.approx([5_000] * 3)
    assert table["p_residual"].to_numpy() == pytest.approx([1, 1, 1])
    totals = gap_totals(table).iloc[0]
    assert totals["from_idle_capacity_share"] == pytest.approx(15_000 / 37_500)
    assert totals["p_residual_any"] == 1.0


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
    # Window months 0-1, no US stop: 7,500 arrive a month; idle capacity adds 5,000 a month.
    # Before: m0 2,500 left over, m1 5,000 short. After: m0's extra is carried into m1.
    model = model_of(tmp_path, layered_tables())
    table = outlook(model, scenario(5), draws=1, months=2)
    assert table["need"].to_numpy() == pytest.approx([15_000, 15_000])
    assert table["arriving"].to_numpy() == pytest.approx([7_500, 7_500])
    assert table["from_stocks"].to_numpy() == pytest.approx([0, 0])
    assert table["europe_extra"].to_numpy() == pytest.approx([5_000, 5_000])
    assert table["shortfall_before"].to_numpy() == pytest.approx([0, 5_000])
    assert table["shortfall_after"].to_numpy() == pytest.approx([0, 0])
    assert outlook_totals(table)["covered_share"].iloc[0] == pytest.approx(1.0)


def test_bad_months_are_clear_errors(tmp_path: Path) -> None:
    model = model_of(tmp_path, layered_tables())
    with pytest.raises(ValueError, match="US stop month"):
        gap(model, scenario(5), draws=1, stop_month=9)
    with pytest.raises(ValueError, match="stock release"):
        gap(model, scenario(5), draws=1, stock_release=2.0)
    with pytest.raises(ValueError, match="start month"):
        outlook(model, scenario(5), draws=1, start=7)
