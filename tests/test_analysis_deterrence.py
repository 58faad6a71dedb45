"""The deterrence balance after a ceasefire and the air-campaign table, worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import fig, row, tiny_tables
from materiel.analysis import deterrence, sead
from test_analysis_common import facility, item, model_of, scenario


def test_balance_by_hand(tmp_path: Path) -> None:
    # Ceasefire in month 1 at a tenth of the intensity. Russia gets 30,000 a month and fires
    # 30,000, then 3,000: it holds 0, 27,000, 54,000, 81,000. Under demand pull Ukraine claims
    # nothing after m0 (the US 5,000 a month exceed its 1,500 wanted): it holds 0, 3,500,
    # 7,000, 10,500; Germany's orders of 5,000 a month pile up: 5,000 ... 20,000 (these
    # numbers used to come from push production; re-derived by hand under demand pull).
    # West: 5,000, 13,500, 22,000, 30,500. Ratio: 0, 2, 2.45, 2.66.
    model = model_of(tmp_path, tiny_tables())
    table = deterrence(model, scenario(4), draws=1, ceasefire_month=1, threshold=2.5)
    assert list(table["phase"]) == ["war", "ceasefire", "ceasefire", "ceasefire"]
    assert table["russia_stock"].to_numpy() == pytest.approx([0, 27_000, 54_000, 81_000])
    assert table["west_stock"].to_numpy() == pytest.approx([5_000, 13_500, 22_000, 30_500])
    assert table["ratio_p50"].to_numpy() == pytest.approx([0, 2, 54 / 22, 81 / 30.5], rel=1e-6)
    assert table["p_above"].to_numpy() == pytest.approx([0, 0, 0, 1])
    assert list(table["first_crossing"]) == [False, False, False, True]
    # net arrivals: Russia 30,000 a month; the West 5,000 made + 5,000 from the US
    assert table["russia_supply"].to_numpy() == pytest.approx([30_000] * 4)
    assert table["west_supply"].to_numpy() == pytest.approx([10_000] * 4)


def test_never_crossed(tmp_path: Path) -> None:
    model = model_of(tmp_path, tiny_tables())
    table = deterrence(model, scenario(4), draws=1, ceasefire_month=1, threshold=5.0)
    assert not table["first_crossing"].any()
    # the scenario's own ceasefire, given as a calendar month (2027-02 = month 1)
    own = scenario(4, [{"type": "ceasefire", "month": "2027-02", "intensity": 0.1}])
    table = deterrence(model, own, draws=1, threshold=2.5)
    assert list(table["phase"]) == ["war", "ceasefire", "ceasefire", "ceasefire"]
    assert table["russia_stock"].to_numpy() == pytest.approx([0, 27_000, 54_000, 81_000])
    with pytest.raises(ValueError, match="ceasefire month"):
        deterrence(model, scenario(4), draws=1, ceasefire_month=4)


def test_sead_without_such_items_explains(tmp_path: Path) -> None:
    model = model_of(tmp_path, tiny_tables())
    table = sead(model, scenario(4), draws=1)
    assert len(table) == 1
    assert "no items of category sead" in table["note"].iloc[0]


def test_sead_need_against_stock_and_output(tmp_path: Path) -> None:
    # An anti-radiation missile line makes the 10 a month Germany orders (Ukraine has no
    # claim on it), so Germany holds 20 at the start of month 2. A 3-month campaign needing
    # 40: 20 + 3 x 10 = 50 available, 2 months of output (capacity 10) to make up the 20.
    t = tiny_tables()
    t["items"].append(item("arm", "missile", "end", "sead"))
    t["facilities"].append(facility("arm_line", "arm", "DEU", 10.0, "missile/month"))
    t["consumption"].append(row(actor="UKR", item="arm", rate=fig(5.0), rate_unit="missile/month"))
    order = dict(t["allocations"][1], item="arm", rate=10.0, rate_low=10.0, rate_high=10.0)
    t["allocations"].append(dict(order, rate_unit="missile/month"))
    model = model_of(tmp_path, t)
    table = sead(model, scenario(6), draws=1, month=2, need={"arm": 40.0}).set_index("item")
    assert table.loc["arm", "stock"] == pytest.approx(20.0)
    assert table.loc["arm", "production_per_month"] == pytest.approx(10.0)
    assert table.loc["arm", "available"] == pytest.approx(50.0)
    assert table.loc["arm", "coverage"] == pytest.approx(1.25)
    assert table.loc["arm", "months_to_need"] == pytest.approx(2.0)
    assert table.loc["arm", "need_basis"] == "given"
    proxy = sead(model, scenario(6), draws=1, month=2).set_index("item")
    assert proxy.loc["arm", "need"] == pytest.approx(15.0)  # Ukraine's 5 a month x 3 months
    assert proxy.loc["arm", "need_basis"].startswith("proxy")
