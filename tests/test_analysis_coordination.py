"""Pooled vs national procurement with the optimiser: worked by hand, and pooling is never
worse than fragmentation."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import fig, row, tiny_tables
from materiel.analysis import coordination
from materiel.analysis.coordination import national_weights, structure_hooks
from materiel.optimize import plan
from test_analysis_common import facility, model_of, scenario, set_fig


def split_chain() -> dict:
    """Powder in France (100 t/month -> 10,000 rounds), shells in Germany (20,000/month);
    Europe's lines serve Ukraine's whole need (one claim), which is 15,000/month with no
    stock and no US supply; no German orders."""
    t = tiny_tables()
    t["countries"].append(
        row(country="FRA", name="France", region="europe", sustain_months=fig(1.0))
    )
    t["facilities"] = [
        facility("powder_fra", "powder", "FRA", 100.0, "t/month", unit_cost=10_000.0),
        facility("shells_deu", "shell", "DEU", 20_000.0, "round/month", unit_cost=4_000.0),
    ]
    t["expansions"] = []
    set_fig(t["stocks"][0], "quantity", 0.0)
    t["flows"] = [f for f in t["flows"] if f["supplier"] != "USA"]
    t["allocations"] = t["allocations"][:1]
    return t


def test_fragmentation_by_hand(tmp_path: Path) -> None:
    # Pooled: 10,000 rounds a month, 5,000 unmet -> 15,000 over 3 months, EUR 120 M.
    # National (equal shares): German lines may ship at most half of Ukraine's claim (7,500
    # a month), France has no shell line -> 22,500 unmet, EUR 90 M. National chains: German
    # lines may not use powder held in France -> nothing made, 45,000 unmet.
    model = model_of(tmp_path, split_chain())
    table = coordination(model, scenario(3)).set_index(["structure", "item"])
    assert table.loc[("pooled", "shell"), "unmet"] == pytest.approx(15_000)
    assert table.loc[("national", "shell"), "unmet"] == pytest.approx(22_500)
    assert table.loc[("national_chains", "shell"), "unmet"] == pytest.approx(45_000)
    assert table.loc[("pooled", "shell"), "cost_eur"] == pytest.approx(120e6)
    assert table.loc[("national", "shell"), "cost_eur"] == pytest.approx(90e6)
    assert table.loc[("national", "shell"), "extra_unmet"] == pytest.approx(7_500)
    assert table.loc[("national", "total"), "extra_weighted_shortfall"] > 0
    # planner units only: no figure in the LP's penalty units
    assert not [c for c in table.columns if "objective" in c or "penalty" in c]
    shell_weight = model.item_weight[list(model.items).index("shell")]
    assert table.loc[("national", "shell"), "weighted_shortfall"] == pytest.approx(
        22_500 * shell_weight
    )


@pytest.mark.parametrize("weights", ["equal", "capacity", {"DEU": 0.9, "FRA": 0.1}])
def test_pooling_is_never_worse(tmp_path: Path, weights: object) -> None:
    tables = split_chain()
    tables["facilities"].append(facility("shells_fra", "shell", "FRA", 3_000.0, "round/month"))
    model = model_of(tmp_path, tables)
    # each national structure only adds constraints to pooled: its LP objective is never lower
    hooks = structure_hooks(model, weights)  # type: ignore[arg-type]
    objective = {k: plan(model, [scenario(4)], extra=v).objective for k, v in hooks.items()}
    for structure in ("national", "national_chains"):
        assert objective[structure] >= objective["pooled"] * (1 - 1e-9)
    assert objective["national_chains"] >= objective["national"] * (1 - 1e-9)


def test_weights(tmp_path: Path) -> None:
    model = model_of(tmp_path, split_chain())
    assert national_weights(model).to_dict() == {"DEU": 0.5, "FRA": 0.5}
    # capacity: only Germany makes end items
    assert national_weights(model, "capacity").to_dict() == {"DEU": 1.0, "FRA": 0.0}
    assert national_weights(model, {"DEU": 3, "FRA": 1}).to_dict() == {"DEU": 0.75, "FRA": 0.25}
    with pytest.raises(ValueError, match="not nations"):
        national_weights(model, {"USA": 1.0})
    with pytest.raises(ValueError, match="weights must be"):
        national_weights(model, "gdp")
