"""``materiel deterrence``: after a ceasefire, does the balance hold while Russia restocks?
And what would a European air campaign against air defences need, against stock and output?"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from materiel.analysis.common import (
    date_labels,
    edit_events,
    event_month,
    item_output,
    pair_floors,
    pairs_of,
    region_pairs,
    stock_before,
)
from materiel.model import rules
from materiel.model.compiled import FloatArray, Model
from materiel.model.events import compile_scenario
from materiel.scenario import Ceasefire, Scenario
from materiel.simulation import simulate

DEFAULT_CEASEFIRE = 6
"""Ceasefire month used when neither the option nor the scenario sets one (half the horizon
if that is earlier)."""
CAMPAIGN_CATEGORIES = ("sead", "strike")
BALANCE_COLUMNS = [
    "month",
    "date",
    "phase",
    "russia_stock",
    "west_stock",
    "ratio_p10",
    "ratio_p50",
    "ratio_p90",
    "p_above",
    "p_crossed_by",
    "russia_supply",
    "west_supply",
    "threshold",
    "first_crossing",
]


def _ceasefire_month(model: Model, scenario: Scenario, month: int | None) -> tuple[Scenario, int]:
    """The scenario with its ceasefire at ``month`` (kept, moved or added at intensity 0.1)."""
    fires = [e for e in scenario.events if isinstance(e, Ceasefire)]
    own = event_month(model, fires[0].month) if fires else None
    default = min(DEFAULT_CEASEFIRE, scenario.months // 2)
    k = month if month is not None else (own if own is not None else default)
    if not 0 <= k < scenario.months:
        raise ValueError(f"the ceasefire month must be in 0-{scenario.months - 1}, got {k}")
    if own == k:
        return scenario, k
    level = fires[0].intensity if fires else 0.1
    event: dict[str, object] = {"type": "ceasefire", "month": k, "intensity": level}
    return edit_events(scenario, [event], drop=["ceasefire"]), k


def _keep(model: Model, scenario: Scenario, result: xr.Dataset) -> FloatArray:
    """(M, P) share of each pair's stock surviving each month's stock losses."""
    actor, _ = pairs_of(result)
    loss = compile_scenario(model, scenario, result.sizes["month"]).stock_loss
    kept: FloatArray = 1.0 - loss[:, model.actors.get_indexer(pd.Index(actor))]
    return kept


def _side_supply(
    result: xr.Dataset, opening: FloatArray, keep: FloatArray, side: np.ndarray
) -> FloatArray:
    """(D, M) net arrivals to a side's pairs each month, item units/month: closing stock -
    stock at the start of the month + fired (what its lines made and it received from
    outside the side, less what it gave away outside the side)."""
    stock = result["stock"].to_numpy().astype(float)[..., side]
    fired = result["fired"].to_numpy().astype(float)[..., side]
    previous = np.concatenate([opening[:, None, side], stock[:, :-1]], axis=1)
    net: FloatArray = (stock - previous * keep[None, :, side] + fired).sum(axis=-1)
    return net


def deterrence(
    model: Model,
    scenario: Scenario,
    *,
    draws: int = 200,
    seed: int = 0,
    ceasefire_month: int | None = None,
    threshold: float = 3.0,
    months: int | None = None,
    category: str | None = None,
) -> pd.DataFrame:
    """The artillery balance month by month after a ceasefire.

    The scenario runs with its ceasefire moved to ``ceasefire_month`` (or one added at
    intensity 0.1; default the scenario's own, else month 6 or half the horizon), over
    ``months`` (default the scenario's horizon). The items are those of the fire ratio
    (``rules.fire_ratio_items``: tube artillery rounds, the same set for both sides), or the
    end items of ``category`` if given; rounds of different calibres count alike. The balance
    ratio is Russia's stock over the West's: Russia's is the stock of every pair held by an
    actor of the ``russia`` region, the West's of every pair held by an actor of
    ``rules.EUROPEAN_REGIONS`` (Ukraine's and European users' stocks, donors' stocks and the
    producer countries' holdings of their lines' output).

    One row per month. Columns: phase (war | ceasefire), russia_stock and west_stock
    (medians, rounds), ratio_p10/p50/p90 (Russia:West, across draws; inf when the West
    holds nothing), p_above (probability the ratio is at or above ``threshold`` that month),
    p_crossed_by (probability it has been so in some month since the ceasefire),
    russia_supply and west_supply (mean net arrivals per month to each side's stocks: closing
    stock - opening stock + fired, i.e. what its lines made and it received from outside
    the side), threshold, and first_crossing (True on the first month after the ceasefire
    when the median ratio reaches the threshold; no row is True if it never does).
    """
    if threshold <= 0:
        raise ValueError(f"the threshold must be positive, got {threshold}")
    horizon = months or scenario.months
    run, k = _ceasefire_month(
        model, scenario.model_copy(update={"months": horizon}), ceasefire_month
    )
    if category is None:
        counted = rules.fire_ratio_items(model)
        label = "fire-ratio"
    else:
        counted = (model.item_category == category).to_numpy()
        label = f"'{category}'"
    ends = [str(i) for i in model.items[counted & (model.item_kind == "end").to_numpy()]]
    if not ends:
        raise ValueError(f"the dataset has no {label} end items")
    result = simulate(model, run, draws=draws, seed=seed)
    russia = region_pairs(model, result, ("russia",), ends)
    west = region_pairs(model, result, rules.EUROPEAN_REGIONS, ends)
    if not russia.any():
        raise ValueError(f"no actor of the russia region holds {label} items in this dataset")
    stock = result["stock"].to_numpy().astype(float)
    ru_stock = stock[..., russia].sum(-1)
    west_stock = stock[..., west].sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(west_stock > 0, ru_stock / west_stock, np.inf)
    above = ratio >= threshold
    after = np.arange(horizon) >= k
    crossed_by = np.maximum.accumulate(above & after[None, :], axis=1)
    q = {p: np.percentile(ratio, p, axis=0, method="nearest") for p in (10, 50, 90)}
    first = np.zeros(horizon, dtype=bool)
    crossing = np.flatnonzero(after & (q[50] >= threshold))
    if len(crossing):
        first[crossing[0]] = True
    opening, _ = pair_floors(model, result, draws, seed)
    keep = _keep(model, run, result)
    frame = pd.DataFrame(
        {
            "month": np.arange(horizon),
            "date": date_labels(model, range(horizon)),
            "phase": np.where(after, "ceasefire", "war"),
            "russia_stock": np.median(ru_stock, axis=0),
            "west_stock": np.median(west_stock, axis=0),
            "ratio_p10": q[10],
            "ratio_p50": q[50],
            "ratio_p90": q[90],
            "p_above": above.mean(axis=0),
            "p_crossed_by": crossed_by.mean(axis=0),
            "russia_supply": _side_supply(result, opening, keep, russia).mean(axis=0),
            "west_supply": _side_supply(result, opening, keep, west).mean(axis=0),
            "threshold": threshold,
            "first_crossing": first,
        }
    )
    return frame[BALANCE_COLUMNS]


def _months_to(short: float, capacity: float) -> float:
    """Months of output at ``capacity`` to make ``short`` units (NaN if unknown)."""
    if np.isnan(short) or short == 0:
        return short
    return short / capacity if capacity > 0 else np.inf


def sead(
    model: Model,
    scenario: Scenario,
    *,
    draws: int = 200,
    seed: int = 0,
    month: int | None = None,
    campaign_months: int = 3,
    need: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Munitions a European air campaign to suppress air defences would need, against what
    Europe holds and makes of them.

    Items of category ``sead`` or ``strike`` that Europe makes, holds or Ukraine uses. The
    campaign starts in ``month`` (default the scenario's ceasefire month, else 6 or half
    the horizon) and lasts
    ``campaign_months``. ``need`` (item -> units over the campaign) is an input: the dataset
    holds no campaign plan. Without it, consumption rows of European actors are used (rate
    x months) if the dataset has any, else Ukraine's reference consumption rate x months as
    a proxy for a campaign of the same intensity; ``need_basis`` says which.

    One row per item. Columns (item units; means over draws): need, stock (the stock of every
    pair held by an actor of the ``europe`` region at the start of the start month: national
    stocks and the producer countries' holdings), production_per_month (simulated output of
    European lines, ``rules.european_facilities``, in the start month), capacity_per_month
    (their working
    capacity that month, median), available (stock + production_per_month x
    campaign_months), coverage (available / need), months_to_need (months of full-capacity
    output to make up need - stock; 0 if the stock suffices, inf without capacity),
    need_basis, note.
    """
    columns = [
        "item",
        "unit",
        "category",
        "need",
        "stock",
        "production_per_month",
        "capacity_per_month",
        "available",
        "coverage",
        "months_to_need",
        "need_basis",
        "note",
    ]
    if campaign_months < 1:
        raise ValueError("the campaign needs at least one month")
    cats = model.item_category.to_numpy()
    candidates = model.items[
        np.isin(cats, CAMPAIGN_CATEGORIES) & (model.item_kind == "end").to_numpy()
    ]
    if len(candidates) == 0:
        note = "the dataset has no items of category sead or strike"
        return pd.DataFrame([{c: (note if c == "note" else np.nan) for c in columns}])[columns]
    fires = [event_month(model, e.month) for e in scenario.events if isinstance(e, Ceasefire)]
    default = min(DEFAULT_CEASEFIRE, scenario.months // 2)
    start = month if month is not None else (fires[0] if fires else default)
    if not 0 <= start < scenario.months:
        raise ValueError(f"the campaign month must be in 0-{scenario.months - 1}, got {start}")
    result = simulate(model, scenario, draws=draws, seed=seed)
    opening, _ = pair_floors(model, result, draws, seed)
    keep = _keep(model, scenario, result)[start]
    before = stock_before(result, opening, keep, start)  # (D, P) at the start of the month
    _, pair_item = pairs_of(result)
    europe = region_pairs(model, result, ("europe",), list(candidates))
    held = np.stack([before[:, europe & (pair_item == c)].sum(axis=1) for c in candidates], 1)
    at = result.isel(month=start)
    positions = model.items.get_indexer(candidates)
    lines = rules.european_facilities(model)
    made = item_output(model, at["production"].to_numpy(), lines)[:, positions]
    capacity = item_output(model, at["capacity"].to_numpy(), lines)[:, positions]
    cons = pd.DataFrame(
        {
            "actor": model.actors[model.consumption_actor],
            "item": model.items[model.consumption_item],
            "rate": model.consumption_rate.central,
        }
    )
    side = pd.Series(rules.region_of(model, model.consumption_actor), index=cons.index)
    europe_rate = cons[side == "europe"].groupby("item")["rate"].sum()
    ukraine_rate = cons[side == "ukraine"].groupby("item")["rate"].sum()
    rows = []
    for j, item in enumerate(candidates):
        if need is not None:
            wanted, basis = float(need.get(item, np.nan)), "given"
        elif item in europe_rate.index:
            wanted, basis = float(europe_rate[item]) * campaign_months, "European consumption"
        elif item in ukraine_rate.index:
            wanted, basis = float(ukraine_rate[item]) * campaign_months, "proxy: UKR reference use"
        else:
            wanted, basis = np.nan, "none"
        stock, output = float(held[:, j].mean()), float(made[:, j].mean())
        cap = float(np.median(capacity[:, j]))
        if stock <= 0 and cap <= 0 and basis == "none":
            continue  # neither European nor used by Ukraine (e.g. Russian missiles)
        available = stock + output * campaign_months
        short = max(wanted - stock, 0.0) if np.isfinite(wanted) else np.nan
        months_to = _months_to(short, cap)
        note = "" if cap > 0 else "no European series production"
        rows.append(
            {
                "item": item,
                "unit": model.item_unit[item],
                "category": model.item_category[item],
                "need": wanted,
                "stock": stock,
                "production_per_month": output,
                "capacity_per_month": cap,
                "available": available,
                "coverage": available / wanted if wanted and np.isfinite(wanted) else np.nan,
                "months_to_need": months_to,
                "need_basis": basis,
                "note": note,
            }
        )
    return pd.DataFrame(rows, columns=columns)
