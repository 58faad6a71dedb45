"""Investment efficiency worked out by hand on the conftest chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import tiny_tables
from materiel.analysis import efficiency
from test_analysis_common import model_of, scenario


def test_efficiency_by_hand(tmp_path: Path) -> None:
    # powder_line: +50 t/month for EUR 100 M, 6 months lead, no ramp. Under demand pull the
    # lines are asked for 15,000 rounds a month from month 1 (Ukraine's 10,000 beyond the US
    # 5,000, Germany's 5,000); powder binds (100 t -> 10,000 rounds of a 20,000 line), so the
    # option adds 5,000 rounds a month: EUR 2 M per t/month, EUR 20,000 per round/month,
    # first output in month 6.
    model = model_of(tmp_path, tiny_tables())
    table = efficiency(model, scenario(8), lp=False).set_index("expansion")
    r = table.loc["powder_line"]
    assert r["eur_per_unit_month"] == pytest.approx(2e6)
    assert r["first_output_month"] == 6
    assert r["first_output_date"] == "2027-07"
    assert r["full_rate_month"] == 6
    assert r["end_item"] == "shell"
    assert r["end_units_supported"] == pytest.approx(5_000)
    assert r["end_gain_per_month"] == pytest.approx(5_000)
    assert r["end_gain_with_others"] == pytest.approx(5_000)
    assert r["eur_per_end_unit_month"] == pytest.approx(20_000)
    # the extra 5,000 rounds go to Germany's orders (priority 2): Ukraine is not short, so
    # the weighted shortfall does not move
    assert r["weighted_shortfall_cut"] == pytest.approx(0.0)
    # with the US stopped Ukraine is 5,000 short a month (EUR 4,000 each) until the option
    # makes 15,000: it cuts EUR 20 M a month
    stop = [{"type": "us_supply_stops", "month": 0}]
    stopped = efficiency(model, scenario(8, stop), lp=False).set_index("expansion")
    assert stopped.loc["powder_line", "weighted_shortfall_cut"] == pytest.approx(2e7)


def test_lp_values_the_option(tmp_path: Path) -> None:
    # the optimiser builds the option in month 0; Ukraine is not short, so on top of the
    # plan's builds more of it avoids no shortfall and saves no purchases (planner units:
    # weighted shortfall and EUR, never the LP's penalty)
    model = model_of(tmp_path, tiny_tables())
    r = efficiency(model, scenario(8)).set_index("expansion").loc["powder_line"]
    assert r["lp_shortfall_avoided"] == pytest.approx(0.0)
    assert r["lp_cost_saved_eur"] == pytest.approx(0.0) and r["lp_avoided_per_eur"] == 0.0
    assert r["lp_built_share"] == pytest.approx(1.0)
    assert r["lp_built_month"] == 0


def test_decision_month_shifts_first_output(tmp_path: Path) -> None:
    model = model_of(tmp_path, tiny_tables())
    table = efficiency(model, scenario(8), decide_month=2, lp=False).set_index("expansion")
    assert table.loc["powder_line", "first_output_month"] == 8
    assert table["lp_shortfall_avoided"].isna().all()
    with pytest.raises(ValueError, match="decision month"):
        efficiency(model, scenario(8), decide_month=8)
