"""Dependency shares through the bill of materials, worked out by hand for a 2-country chain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import fig, row, tiny_tables
from materiel.analysis import dependencies, dependency_summary
from test_analysis_common import facility, item, model_of, scenario


def two_country_chain() -> dict:
    """Shell (DEU, EUR 4,000) <- 10 kg powder (DEU 60 t + CHN 40 t a month, EUR 10,000/t)
    <- 1 t linters per t powder (CHN only, EUR 2,000/t) and 1 t acid (bought, no price)."""
    t = tiny_tables()
    t["items"].append(item("linters", "t", "raw", "energetics"))
    t["recipes"].append(
        row(item="powder", input="linters", quantity=fig(1.0), unit="t/t"),
    )
    t["countries"].append(row(country="CHN", name="China", region="other", sustain_months=fig(1.0)))
    t["facilities"] = [
        facility("powder_deu", "powder", "DEU", 60.0, "t/month", unit_cost=10_000.0),
        facility("powder_chn", "powder", "CHN", 40.0, "t/month", unit_cost=10_000.0),
        facility("linters_chn", "linters", "CHN", 200.0, "t/month", unit_cost=2_000.0),
        facility("shells", "shell", "DEU", 20_000.0, "round/month", unit_cost=4_000.0),
    ]
    t["expansions"] = []
    return t


def test_shares_through_the_bill_of_materials(tmp_path: Path) -> None:
    model = model_of(tmp_path, two_country_chain())
    table = dependencies(model, scenario(3))
    rows = table.set_index(["input", "country"])
    # per round: 0.01 t powder (60 % DEU, 40 % CHN), 0.01 t linters (all CHN), 0.01 t acid
    assert rows.loc[("powder", "DEU"), "per_unit"] == pytest.approx(0.006)
    assert rows.loc[("powder", "CHN"), "per_unit"] == pytest.approx(0.004)
    assert rows.loc[("powder", "CHN"), "input_share"] == pytest.approx(0.4)
    assert rows.loc[("linters", "CHN"), "per_unit"] == pytest.approx(0.01)
    assert rows.loc[("acid", "(market)"), "origin"] == "unknown"
    # value added: powder 10,000 - 2,000 of linters = 8,000/t, linters 2,000/t; per round
    # 80 + 20 = EUR 100 of inputs, of which 0.4 x 80 + 20 = EUR 52 from China
    assert rows["value_eur_per_unit"].sum() == pytest.approx(100.0)
    assert rows.loc[("powder", "DEU"), "value_share"] == pytest.approx(0.48)
    summary = dependency_summary(table).set_index("end_item").loc["shell"]
    assert summary["outside_value_share"] == pytest.approx(0.52)
    assert summary["most_dependent_input"] == "linters"
    assert summary["its_outside_share"] == pytest.approx(1.0)
    assert summary["outside_countries"] == "CHN 52.0%"


def test_regions_come_from_the_countries_table(tmp_path: Path) -> None:
    # Korea is an ally ('allied'), not Europe: its powder counts as outside Europe; Ukraine
    # ('ukraine') counts as European.
    tables = two_country_chain()
    tables["countries"].append(
        row(country="KOR", name="Korea", region="allied", sustain_months=fig(1.0))
    )
    tables["facilities"][0]["country"] = "KOR"  # the 60 t powder plant
    tables["facilities"][2]["country"] = "UKR"  # the linters
    table = dependencies(model_of(tmp_path, tables), scenario(3)).set_index(["input", "country"])
    assert table.loc[("powder", "KOR"), "origin"] == "outside"
    assert table.loc[("linters", "UKR"), "origin"] == "europe"
    summary = dependency_summary(table.reset_index()).set_index("end_item").loc["shell"]
    # outside: all the powder's value added (80 of 100 EUR), the linters are Ukrainian
    assert summary["outside_value_share"] == pytest.approx(0.8)


def test_end_items_without_inputs_are_not_modelled(tmp_path: Path) -> None:
    # A drone with no bill of materials gets 'not modelled', not 0 % from outside Europe.
    tables = two_country_chain()
    tables["items"].append(item("drone", "drone", "end", "drone"))
    tables["facilities"].append(facility("drones", "drone", "DEU", 100.0, "drone/month"))
    table = dependencies(model_of(tmp_path, tables), scenario(3))
    drone = table[table["end_item"] == "drone"]
    assert list(drone["origin"]) == ["not modelled"]
    assert drone["value_share"].isna().all()
    summary = dependency_summary(table).set_index("end_item")
    assert np.isnan(summary.loc["drone", "outside_value_share"])
    assert summary.loc["drone", "outside_countries"] == "not modelled"
    assert summary.loc["shell", "outside_value_share"] == pytest.approx(0.52)


def test_capacity_basis_and_bad_basis(tmp_path: Path) -> None:
    tables = two_country_chain()
    tables["facilities"][1]["utilisation"] = 0.5  # CHN powder at half its capacity
    tables["facilities"][1]["utilisation_low"] = tables["facilities"][1]["utilisation_high"] = 0.5
    model = model_of(tmp_path, tables)
    by_output = dependencies(model, scenario(3)).set_index(["input", "country"])
    by_capacity = dependencies(model, scenario(3), basis="capacity").set_index(["input", "country"])
    assert by_output.loc[("powder", "CHN"), "input_share"] == pytest.approx(20 / 80)
    assert by_capacity.loc[("powder", "CHN"), "input_share"] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="basis"):
        dependencies(model, scenario(3), basis="value")
