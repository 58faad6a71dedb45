"""What Europe can add to a holder's supply, layer by layer, from a given month on.

Shared by :mod:`materiel.analysis.gap` and :mod:`materiel.analysis.outlook`. The layers:

* ``stocks``: a share ``release`` of what European donors hold above their floors
  (``rules.above_floor`` with the stocks table's floor) at the start of month k: every pair of
  an actor in ``rules.EUROPEAN_REGIONS`` other than the holder (national stockpiles and the
  producer countries' holdings of their lines' output), handed over in month k;
* ``idle_capacity``: the extra output of European lines (``rules.european_facilities``) when
  European order books go to full capacity from month k (``orders`` events at level 1): their
  capacity minus what they make under the baseline, as far as inputs allow (the simulator with
  the same seed, so common random numbers);
* ``expansions``: the further extra output when every expansion option is decided in month k.

Each layer's supply fills what is still short after the previous layers (see
:func:`materiel.analysis.common.fill`), so short = stocks + idle + expansions + residual.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from materiel.analysis.common import (
    edit_events,
    fill,
    full_orders,
    holder_pairs,
    item_output,
    options_plan,
    pair_floors,
    pair_values,
    pairs_of,
    region_pairs,
    stock_before,
)
from materiel.model import rules
from materiel.model.compiled import FloatArray, Model
from materiel.model.events import compile_scenario
from materiel.model.sampling import sample
from materiel.scenario import Scenario
from materiel.simulation import simulate

LAYERS = ("stocks", "idle_capacity", "expansions")


@dataclass(frozen=True)
class Layers:
    """Arrays (draw, month, item) over the holder's items, item units per month."""

    items: list[str]
    units: list[str]
    wanted: FloatArray
    need: FloatArray
    """What the holder asks its suppliers for in the base run (``rules.need`` on its stock
    at the start of the month, before arrivals)."""
    shortfall: FloatArray
    """Shortfall of the base run (wanted - fired, before any layer)."""
    delivered: FloatArray
    """Everything arriving at the holder in the base run."""
    supply: dict[str, FloatArray]
    """Extra supply each layer offers (not all of it may be needed)."""
    filled: dict[str, FloatArray]
    """Part of the shortfall each layer fills, in the order of ``LAYERS``."""
    residual: FloatArray
    base: xr.Dataset
    """The base run (every pair)."""


def donor_stocks(
    model: Model,
    scenario: Scenario,
    result: xr.Dataset,
    month: int,
    items: list[str],
    holder: str,
    *,
    seed: int,
    uncertain: bool = True,
) -> FloatArray:
    """What European donors other than ``holder`` hold above their floors of ``items`` at the
    start of ``month`` (after that month's stock losses, before its arrivals), (D, I_sel)
    in item units."""
    draws = result.sizes["draw"]
    actor, item = pairs_of(result)
    donors = region_pairs(model, result, rules.EUROPEAN_REGIONS, items) & (actor != holder)
    opening, floor = pair_floors(model, result, draws, seed, uncertain)
    loss = compile_scenario(model, scenario).stock_loss[month]
    keep = 1.0 - loss[model.actors.get_indexer(pd.Index(actor))]
    spare = rules.above_floor(stock_before(result, opening, keep, month), floor) * donors
    out = np.zeros((draws, len(items)))
    for j, code in enumerate(items):
        out[:, j] = spare[:, item == code].sum(axis=1)
    return out


def holder_need(
    model: Model,
    scenario: Scenario,
    result: xr.Dataset,
    holder: str,
    items: list[str],
    *,
    seed: int,
    uncertain: bool = True,
) -> FloatArray:
    """(D, M, I_sel) what ``holder`` asks its suppliers for each month of ``result``:
    ``rules.need`` with its sampled sustainment months on its stock at the start of the month
    (the previous closing stock after stock losses; the opening stock in month 0)."""
    draws = result.sizes["draw"]
    opening, _ = pair_floors(model, result, draws, seed, uncertain)
    pair = holder_pairs(result, holder, items)
    keep = 1.0 - compile_scenario(model, scenario).stock_loss[:, model.actors.get_loc(holder)]
    closing = pair_values(result, "stock", pair)  # (D, M, I_sel)
    previous = np.concatenate([opening[:, None, pair], closing[:, :-1]], axis=1)
    wanted = pair_values(result, "wanted", pair)
    sustain = sample(model, draws, seed, uncertain=uncertain)["sustain_months"]
    months = sustain[:, model.actors.get_loc(holder)][:, None, None]
    return rules.need(months, wanted, previous * keep[None, :, None])


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

    ``release`` is the share of European donors' stocks above their floors handed over (0-1).
    """
    if not 0.0 <= release <= 1.0:
        raise ValueError(f"the stock release share must be in [0, 1], got {release}")
    if not 0 <= month < scenario.months:
        raise ValueError(f"month {month} is outside the horizon 0-{scenario.months - 1}")
    if actor not in model.actors:
        raise ValueError(f"unknown actor '{actor}'")
    base = simulate(model, scenario, draws, seed, uncertain=uncertain)
    if actor not in set(pairs_of(base)[0]):
        raise ValueError(f"actor '{actor}' holds, uses and receives nothing in this dataset")
    actor_of, item_of = pairs_of(base)
    used = (actor_of == actor) & (base["wanted"].to_numpy().sum(axis=(0, 1)) > 0)
    items = [str(i) for i in item_of[used]]
    if not items:
        raise ValueError(f"actor '{actor}' wants nothing in this scenario")
    positions = model.items.get_indexer(pd.Index(items))
    europe = rules.european_facilities(model)

    def made(result: xr.Dataset) -> FloatArray:
        production = result["production"].to_numpy()
        return item_output(model, production, europe)[..., positions]

    ordered = edit_events(scenario, full_orders(month))
    idle = simulate(model, ordered, draws, seed, uncertain=uncertain)
    output = {"base": made(base), "idle": made(idle)}
    if expansions:
        plan = options_plan(model, month)
        output["built"] = made(
            simulate(model, ordered, draws, seed, plan=plan, uncertain=uncertain)
        )

    pair = holder_pairs(base, actor, items)
    wanted = pair_values(base, "wanted", pair)
    shortfall = pair_values(base, "shortfall", pair)
    stocks = np.zeros_like(shortfall)
    held = donor_stocks(model, scenario, base, month, items, actor, seed=seed, uncertain=uncertain)
    stocks[:, month] = release * held
    supply = {
        "stocks": stocks,
        "idle_capacity": np.maximum(output["idle"] - output["base"], 0.0),
    }
    if expansions:
        supply["expansions"] = np.maximum(output["built"] - output["idle"], 0.0)
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
        need=holder_need(model, scenario, base, actor, items, seed=seed, uncertain=uncertain),
        shortfall=shortfall,
        delivered=pair_values(base, "delivered", pair),
        supply=supply,
        filled=filled,
        residual=residual,
        base=base,
    )
