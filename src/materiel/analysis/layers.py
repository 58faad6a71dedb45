"""What Europe can add to a holder's supply, layer by layer, from a given month on.

Shared by :mod:`materiel.analysis.gap` and :mod:`materiel.analysis.outlook`. Every layer is a
re-simulation with the same seed (common random numbers), so the differences between runs are
due to the layer alone:

* ``stocks``: a share ``release`` of what Europe holds at the start of month k (finished end
  items in the industry pool, i.e. output not allocated so far, plus stocks of actors on the
  European side) handed over in month k;
* ``idle_capacity``: the extra end-item output when European order books go to full capacity
  from month k (the ``orders`` event at level 1), all of it sent to the holder;
* ``expansions``: the further extra output when every expansion option is decided in month k.

Each layer's supply fills what is still short after the previous layers (see
:func:`materiel.analysis.common.fill`), so gap = stocks + idle + expansions + residual.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from materiel.analysis.common import fill, full_orders, options_plan, with_events
from materiel.model.compiled import FloatArray, Model
from materiel.model.events import compile_scenario
from materiel.scenario import Scenario
from materiel.simulation import simulate

LAYERS = ("stocks", "idle_capacity", "expansions")


@dataclass(frozen=True)
class Layers:
    """Arrays (draw, month, item) over the holder's items, item units per month."""

    items: list[str]
    units: list[str]
    wanted: FloatArray
    shortfall: FloatArray
    """Shortfall of the base run (before any layer)."""
    delivered: FloatArray
    """Everything arriving at the holder in the base run."""
    supply: dict[str, FloatArray]
    """Extra supply each layer offers (not all of it may be needed)."""
    filled: dict[str, FloatArray]
    """Part of the shortfall each layer fills, in the order of ``LAYERS``."""
    residual: FloatArray


def _end_output(model: Model, result: xr.Dataset, items: list[str]) -> FloatArray:
    """Production per draw, month and item (summed over facilities), (D, M, I_sel)."""
    onehot = np.zeros((len(model.facilities), len(model.items)))
    onehot[np.arange(len(model.facilities)), model.facility_item] = 1.0
    out: FloatArray = result["production"].to_numpy().astype(float) @ onehot
    columns = np.asarray(model.items.get_indexer(pd.Index(items)), dtype=np.intp)
    return np.asarray(out[..., columns], dtype=float)


def european_holdings(model: Model, result: xr.Dataset, month: int, items: list[str]) -> FloatArray:
    """What Europe holds of ``items`` at the start of ``month``: industry stock plus stocks of
    actors on the European side (before their own use that month), (D, I_sel)."""
    sel = result.sel(item=items)
    industry = (
        sel["industry_stock"].isel(month=month - 1).to_numpy().astype(float)
        if month > 0
        else np.zeros((sel.sizes["draw"], len(items)))
    )
    holders = [a for a in sel["actor"].to_numpy() if model.actor_region[a] == "europe"]
    if not holders:
        return industry
    at = sel.sel(actor=holders).isel(month=month)
    before = at["stock"] + at["fired"] - at["delivered"]
    held: FloatArray = industry + before.sum("actor").to_numpy().astype(float)
    return held


def layered(
    model: Model,
    scenario: Scenario,
    month: int,
    *,
    draws: int,
    seed: int,
    release: float,
    actor: str,
    expansions: bool = True,
    uncertain: bool = True,
) -> Layers:
    """Simulate the base scenario and its layers from ``month`` on; fill ``actor``'s shortfall.

    ``release`` is the share of European holdings handed over (0-1).
    """
    if not 0.0 <= release <= 1.0:
        raise ValueError(f"the stock release share must be in [0, 1], got {release}")
    if not 0 <= month < scenario.months:
        raise ValueError(f"month {month} is outside the horizon 0-{scenario.months - 1}")
    if actor not in model.actors:
        raise ValueError(f"unknown actor '{actor}'")
    base = simulate(model, scenario, draws, seed, uncertain=uncertain)
    if actor not in base["actor"].to_numpy():
        raise ValueError(f"actor '{actor}' holds, uses and receives nothing in this dataset")
    wanted_all = base["wanted"].sel(actor=actor)
    items = [str(i) for i in wanted_all["item"].to_numpy()[wanted_all.sum(["draw", "month"]) > 0]]
    if not items:
        raise ValueError(f"actor '{actor}' wants nothing in this scenario")
    ordered = with_events(scenario, [full_orders(month)])
    idle = simulate(model, ordered, draws, seed, uncertain=uncertain)
    made = {"base": _end_output(model, base, items), "idle": _end_output(model, idle, items)}
    if expansions:
        built = simulate(
            model, ordered, draws, seed, plan=options_plan(model, month), uncertain=uncertain
        )
        made["built"] = _end_output(model, built, items)

    holder = base.sel(actor=actor, item=items)
    wanted = holder["wanted"].to_numpy().astype(float)
    shortfall = holder["shortfall"].to_numpy().astype(float)
    stocks = np.zeros_like(shortfall)
    stocks[:, month] = release * european_holdings(model, base, month, items)
    supply = {
        "stocks": stocks,
        "idle_capacity": np.maximum(made["idle"] - made["base"], 0.0),
    }
    if expansions:
        supply["expansions"] = np.maximum(made["built"] - made["idle"], 0.0)
    keep = 1.0 - compile_scenario(model, scenario).stock_loss[:, model.actors.get_loc(actor)]
    residual = shortfall.copy()
    filled = {}
    for name in LAYERS:
        if name in supply:
            filled[name] = fill(residual, supply[name], keep)
            residual = residual - filled[name]
    return Layers(
        items=items,
        units=[str(model.item_unit[i]) for i in items],
        wanted=wanted,
        shortfall=shortfall,
        delivered=holder["delivered"].to_numpy().astype(float),
        supply=supply,
        filled=filled,
        residual=residual,
    )
