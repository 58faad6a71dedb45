"""Data confidence of a result: how much of it rests on figures that are assumptions.

The *driving figures* of an actor's result are, for each end item it is short of (every item
it uses if it is short of none):

* its need: the consumption row of the item, weighted by the units wanted;
* its supply: the capacity of the lines that serve its claims on the item (weighted by what
  they produced),
  the flows and claims bringing it to the actor (weighted by the units they delivered or
  served) and the actor's starting stock of it (weighted by the quantity).

The share of an item is the weight of the figures whose source has status ``assumption`` over
the total; the overall share weights the items by the value of their shortfall (item weight x
units short), or by the value of what is wanted when nothing is short. Flows are weighted by
what they delivered under the result's scenario (events may set their rates); the figure
counted is still the dataset's. Pure function, no I/O.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from materiel.model import rules
from materiel.model.compiled import Model


def _status(model: Model) -> dict[str, str]:
    sources = model.dataset["sources"]
    return dict(zip(sources["source"], sources["status"], strict=True))


def _flow_totals(model: Model, result: xr.Dataset) -> np.ndarray:
    """(L,) units each flow delivered over the run at central rates, with the result's
    scenario applied when the result records it (events may set or scale flows)."""
    months = result.sizes["month"]
    text = result.attrs.get("scenario_json")
    if not text:
        return np.asarray(model.flow_rate.central * months)
    from materiel.model.events import compile_scenario
    from materiel.scenario import Scenario

    sc = compile_scenario(model, Scenario.model_validate_json(str(text)), months)
    rate = np.where(
        np.isnan(sc.flow_rate), model.flow_rate.central[None] * sc.flow_factor, sc.flow_rate
    )
    return np.asarray(rate.sum(axis=0))


def assumption_share(model: Model, result: xr.Dataset, actor: str = "UKR") -> dict[str, object]:
    """``{"overall": share, "items": {item: share}}`` of ``actor``'s driving figures whose
    source is an assumption (shares in 0..1; NaN when the actor uses nothing)."""
    t = model.dataset.tables
    status = _status(model)

    def is_assumption(source: object) -> bool:
        return status.get(str(source)) == "assumption"

    mine = result.sel(actor=actor) if actor in result.indexes["pair"].get_level_values(0) else None
    if mine is None:
        return {"overall": float("nan"), "items": {}}
    wanted = mine["wanted"].sum("month").mean("draw").to_series()
    short = mine["shortfall"].sum("month").mean("draw").to_series()
    used = wanted[wanted > 0].index
    chosen = [i for i in used if short.get(i, 0.0) > 0] or list(used)
    weight = pd.Series(model.item_weight, index=model.items)
    production = result["production"].sum("month").mean("draw").to_numpy()
    served = result["served"].sum("month").mean("draw").to_numpy()
    flow_total = _flow_totals(model, result)
    a = model.actors.get_loc(actor)
    items: dict[str, float] = {}
    value: dict[str, float] = {}
    for item in chosen:
        i = model.items.get_loc(item)
        parts: list[tuple[float, bool]] = []
        con = t["consumption"]
        for src in con.loc[(con["actor"] == actor) & (con["item"] == item), "rate_source"]:
            parts.append((float(wanted[item]), is_assumption(src)))
        claims = np.flatnonzero((model.claim_recipient == a) & (model.claim_item == i))
        link_facility, link_claim = rules.claim_links(model)
        for f in np.unique(link_facility[np.isin(link_claim, claims)]):
            src = t["facilities"]["capacity_source"].iloc[f]
            parts.append((float(production[f]), is_assumption(src)))
        flows = np.flatnonzero((model.flow_recipient == a) & (model.flow_item == i))
        for k in flows:
            src = t["flows"]["rate_source"].iloc[k]
            parts.append((float(flow_total[k]), is_assumption(src)))
        for q in claims:
            row = t["allocations"].iloc[q]
            src = row["share_source"] if float(row["share"]) > 0 else row["rate_source"]
            parts.append((float(served[q]), is_assumption(src)))
        stocks = np.flatnonzero((model.stock_actor == a) & (model.stock_item == i))
        for s in stocks:
            src = t["stocks"]["quantity_source"].iloc[s]
            parts.append((float(model.stock_quantity.central[s]), is_assumption(src)))
        total = sum(w for w, _ in parts)
        items[str(item)] = (
            sum(w for w, flag in parts if flag) / total if total > 0 else float("nan")
        )
        basis = short.get(item, 0.0) if short.get(item, 0.0) > 0 else wanted[item]
        value[str(item)] = float(basis) * float(weight.get(item, 1.0) or 1.0)
    known = {k: v for k, v in items.items() if not np.isnan(v)}
    total_value = sum(value[k] for k in known)
    overall = (
        sum(known[k] * value[k] for k in known) / total_value if total_value > 0 else float("nan")
    )
    return {"overall": float(overall), "items": items}
