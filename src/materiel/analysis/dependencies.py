"""``materiel dependencies``: for each end item, the share of its inputs, through the whole
bill of materials, that comes from outside Europe, and from which countries."""

from __future__ import annotations

import numpy as np
import pandas as pd

from materiel.analysis.common import (
    central_capacity,
    end_item_mask,
    item_price,
    leontief,
)
from materiel.model import rules
from materiel.model.compiled import FloatArray, Model
from materiel.scenario import Scenario

MARKET = "(market)"
"""Pseudo-country of inputs no modelled facility makes (bought on the market)."""
NOT_MODELLED = "not modelled"
"""Origin of an end item whose bill of materials has no input in the dataset."""
COLUMNS = [
    "end_item",
    "input",
    "input_unit",
    "country",
    "country_name",
    "origin",
    "per_unit",
    "input_share",
    "value_eur_per_unit",
    "value_share",
]


def supply_shares(model: Model, month: int = 0, basis: str = "output") -> FloatArray:
    """s[i, a]: share of item i's supply located in actor a's country, (I, A).

    ``basis="output"`` weighs facilities by central capacity x utilisation (what today's
    order books make), ``"capacity"`` by capacity alone; capacity in ``month`` with committed
    expansions. An item whose facilities all have zero weight then uses their weight once
    every committed expansion is complete. Rows of items nobody makes are zero.
    """
    if basis not in ("output", "capacity"):
        raise ValueError(f"basis must be 'output' or 'capacity', got '{basis}'")
    n_i, n_a = len(model.items), len(model.actors)
    used = model.utilisation.central if basis == "output" else 1.0
    out = np.zeros((n_i, n_a))
    for when in (month, 10_000):
        cap = central_capacity(model, when) * used
        grid = np.zeros((n_i, n_a))
        np.add.at(grid, (model.facility_item, model.facility_country), cap)
        total = grid.sum(axis=1, keepdims=True)
        empty = out.sum(axis=1) == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = np.where(total > 0, grid / total, 0.0)
        out[empty] = shares[empty]
    return out


def dependencies(
    model: Model,
    scenario: Scenario,
    *,
    draws: int = 1,
    seed: int = 0,
    month: int = 0,
    basis: str = "output",
) -> pd.DataFrame:
    """Where each end item's inputs come from, through the whole bill of materials.

    With A[i, j] the central units of input i per unit of item j, the total requirements are
    the Leontief inverse L = (I - A)^-1: L[i, j] units of i per unit of j, directly and through
    every intermediate. Each input's origin is split by the share s[i, c] of its supply in
    country c (``basis="output"``: central capacity x utilisation in ``month``, committed
    expansions included; ``"capacity"``: capacity alone): an end item
    needs L[i, j] s[i, c] units of i from c, whatever country makes the intermediates in
    between. Value shares use value added: v_i = p_i - sum_k A[k, i] p_k (clipped at 0), with
    p the capacity-weighted mean unit cost, so the end item's input value is
    sum_{i != j} L[i, j] v_i and nothing is counted twice. Inputs no facility makes are
    bought on the market: their origin is unknown (country ``(market)``) and, without a
    price, they carry no value share. An end item without any input in the bill of materials
    (drones, 152/122 mm rounds, training) gets one row with input and origin ``not
    modelled`` and NaN shares, not 0 %. The scenario does not change the structure (``draws``
    and ``seed`` are ignored).

    One row per (end item, input, country). Columns: per_unit (input units from this country
    per unit of end item), input_share (share of the input's supply from this country, 0-1),
    value_eur_per_unit (EUR of value added per unit of end item), value_share (0-1 share of
    the end item's input value), origin (europe | outside | unknown | not modelled: europe
    is a country of ``rules.EUROPEAN_REGIONS``, Ukraine included, outside any other region
    of the countries table, ``rules.region_of``).
    """
    a_leontief = leontief(model)
    shares = supply_shares(model, month, basis)
    price = item_price(model)
    direct = np.zeros((len(model.items),) * 2)
    np.add.at(direct, (model.recipe_input, model.recipe_item), model.recipe_quantity.central)
    added = np.maximum(price - direct.T @ price, 0.0)  # (I,) value added per unit
    made = shares.sum(axis=1) > 0
    market = np.where(made, 0.0, 1.0)[:, None]
    origin_share = np.concatenate([shares, market], axis=1)  # (I, A + 1)
    modelled = direct.sum(axis=0) > 0
    ends = np.flatnonzero(end_item_mask(model) & modelled)
    bare = np.flatnonzero(end_item_mask(model) & ~modelled)
    need = a_leontief[:, ends].T.copy()  # (J, I)
    need[np.arange(len(ends)), ends] = 0.0  # the end item itself is not an input
    per_unit = need[:, :, None] * origin_share[None]  # (J, I, A + 1)
    value = per_unit * added[None, :, None]
    total = value.sum(axis=(1, 2), keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        value_share = np.where(total > 0, value / total, 0.0)
    j, i, c = np.nonzero(per_unit > 0)

    countries = np.append(model.actors.to_numpy(), MARKET)
    names = model.dataset.tables["countries"].set_index("country")["name"]
    regions = rules.region_of(model, np.arange(len(model.actors)))
    origin = np.append(np.where(np.isin(regions, rules.EUROPEAN_REGIONS), "europe", "outside"), "")
    origin[-1] = "unknown"
    frame = pd.DataFrame(
        {
            "end_item": model.items[ends[j]],
            "input": model.items[i],
            "input_unit": model.item_unit.to_numpy()[i],
            "country": countries[c],
            "country_name": names.reindex(countries[c]).fillna("bought on the market").to_numpy(),
            "origin": origin[c],
            "per_unit": per_unit[j, i, c],
            "input_share": origin_share[i, c],
            "value_eur_per_unit": value[j, i, c],
            "value_share": value_share[j, i, c],
        }
    )
    missing = pd.DataFrame(
        {
            "end_item": model.items[bare],
            "input": NOT_MODELLED,
            "input_unit": "",
            "country": "",
            "country_name": "",
            "origin": NOT_MODELLED,
            "per_unit": np.nan,
            "input_share": np.nan,
            "value_eur_per_unit": np.nan,
            "value_share": np.nan,
        }
    )
    frame = pd.concat([frame, missing], ignore_index=True) if len(missing) else frame
    return frame.sort_values(
        ["end_item", "value_share", "input"],
        ascending=[True, False, True],
        ignore_index=True,
        na_position="last",
    )[COLUMNS]


def dependency_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per end item: the value share of inputs from outside Europe and of unknown origin, the
    input most dependent on outside sources (and that share) and the outside countries by
    value share, e.g. ``CHN 5.1%, OTH 2.0%``. An end item whose inputs are not modelled gets
    NaN shares and the note ``not modelled`` (not 0 %)."""
    rows = []
    for end, part in table.groupby("end_item", sort=True):
        if (part["origin"] == NOT_MODELLED).all():
            rows.append(
                {
                    "end_item": end,
                    "outside_value_share": np.nan,
                    "unknown_value_share": np.nan,
                    "most_dependent_input": "",
                    "its_outside_share": np.nan,
                    "outside_countries": NOT_MODELLED,
                }
            )
            continue
        outside = part[part["origin"] == "outside"]
        by_input = outside.groupby("input")["input_share"].sum()
        by_country = outside.groupby("country")["value_share"].sum().sort_values(ascending=False)
        rows.append(
            {
                "end_item": end,
                "outside_value_share": float(outside["value_share"].sum()),
                "unknown_value_share": float(
                    part.loc[part["origin"] == "unknown", "value_share"].sum()
                ),
                "most_dependent_input": str(by_input.idxmax()) if len(by_input) else "",
                "its_outside_share": float(by_input.max()) if len(by_input) else 0.0,
                "outside_countries": ", ".join(f"{k} {v:.1%}" for k, v in by_country.items()),
            }
        )
    return pd.DataFrame(rows)
