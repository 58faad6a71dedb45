"""``materiel deterrence``: after a ceasefire, does the balance hold while Russia restocks?
And what would a European air campaign against air defences need, against stock and output?"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from materiel.analysis.common import date_labels, main_actor, with_events
from materiel.analysis.layers import european_holdings
from materiel.model.compiled import Model
from materiel.model.rules import EUROPEAN_REGIONS
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


def _ceasefire_month(scenario: Scenario, month: int | None) -> tuple[Scenario, int]:
    """The scenario with its ceasefire at ``month`` (kept, moved or added at intensity 0.1)."""
    fires = [e for e in scenario.events if isinstance(e, Ceasefire)]
    default = min(DEFAULT_CEASEFIRE, scenario.months // 2)
    k = month if month is not None else (fires[0].month if fires else default)
    if not 0 <= k < scenario.months:
        raise ValueError(f"the ceasefire month must be in 0-{scenario.months - 1}, got {k}")
    if fires and fires[0].month == k:
        return scenario, k
    level = fires[0].intensity if fires else 0.1
    event = {"type": "ceasefire", "month": k, "intensity": level}
    return with_events(scenario, [event], drop=["ceasefire"]), k


def _west_holders(model: Model, result: xr.Dataset) -> list[str]:
    return [str(a) for a in result["actor"].to_numpy() if model.actor_region[a] in EUROPEAN_REGIONS]


def deterrence(
    model: Model,
    scenario: Scenario,
    *,
    draws: int = 200,
    seed: int = 0,
    ceasefire_month: int | None = None,
    threshold: float = 3.0,
    months: int | None = None,
    category: str = "artillery",
) -> pd.DataFrame:
    """The artillery balance month by month after a ceasefire.

    The scenario runs with its ceasefire moved to ``ceasefire_month`` (or one added at
    intensity 0.1; default the scenario's own, else month 6 or half the horizon), over
    ``months`` (default the scenario's horizon). The balance ratio is Russia's stock of
    ``category`` end items (rounds held by RUS) over the West's: Ukraine's and European
    holders' stocks plus the European industry stock of those items (output not allocated,
    i.e. in European hands). Rounds of different calibres count alike.

    One row per month. Columns: phase (war | ceasefire), russia_stock and west_stock
    (medians, rounds), ratio_p10/p50/p90 (Russia:West, across draws; inf when the West
    holds nothing), p_above (probability the ratio is at or above ``threshold`` that month),
    p_crossed_by (probability it has been so in some month since the ceasefire),
    russia_supply and west_supply (mean arrivals per month: Russian production and imports;
    European output plus deliveries to Ukraine from outside the industry), threshold, and
    first_crossing (True on the first month after the ceasefire when the median ratio
    reaches the threshold; no row is True if it never does).
    """
    if threshold <= 0:
        raise ValueError(f"the threshold must be positive, got {threshold}")
    horizon = months or scenario.months
    run, k = _ceasefire_month(scenario.model_copy(update={"months": horizon}), ceasefire_month)
    items = list(model.items[(model.item_category == category).to_numpy()])
    ends = [i for i in items if model.item_kind[i] == "end"]
    if not ends:
        raise ValueError(f"the dataset has no end items of category '{category}'")
    russia = main_actor(model, "russia")
    result = simulate(model, run, draws=draws, seed=seed).sel(item=ends)
    if russia not in result["actor"].to_numpy():
        raise ValueError(f"'{russia}' holds no {category} items in this dataset")
    west = _west_holders(model, result)
    ru_stock = result["stock"].sel(actor=russia).sum("item").to_numpy().astype(float)
    west_stock = (
        (
            result["stock"].sel(actor=west).sum(["actor", "item"])
            + result["industry_stock"].sum("item")
        )
        .to_numpy()
        .astype(float)
    )
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
    # supply per month: Russia's arrivals; European output plus arrivals to Western holders
    # from outside the European industry (delivered - allocated)
    european = np.isin(model.actor_region.to_numpy()[model.facility_country], EUROPEAN_REGIONS)
    makes = np.isin(model.facility_item, model.items.get_indexer(pd.Index(ends))) & european
    made_eu = result["production"].to_numpy().astype(float)[..., makes].sum(-1)
    arrivals = result["delivered"].sel(actor=west).sum(["actor", "item"]).to_numpy()
    external = np.maximum(arrivals - result["allocated"].sum("item").to_numpy(), 0.0)
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
            "russia_supply": result["delivered"].sel(actor=russia).sum("item").mean("draw"),
            "west_supply": (made_eu + external).mean(axis=0),
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

    One row per item. Columns (item units; means over draws): need, stock (European holders'
    stocks plus the European industry stock at the start month), production_per_month
    (simulated European output in the start month), capacity_per_month (European working
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
    fires = [e.month for e in scenario.events if isinstance(e, Ceasefire)]
    default = min(DEFAULT_CEASEFIRE, scenario.months // 2)
    start = month if month is not None else (fires[0] if fires else default)
    if not 0 <= start < scenario.months:
        raise ValueError(f"the campaign month must be in 0-{scenario.months - 1}, got {start}")
    result = simulate(model, scenario, draws=draws, seed=seed).sel(item=list(candidates))
    held = european_holdings(model, result, start, list(candidates))  # (D, I) at the start
    at = result.isel(month=start)
    european = np.isin(model.actor_region.to_numpy()[model.facility_country], EUROPEAN_REGIONS)
    positions = model.items.get_indexer(candidates)
    onehot = (model.facility_item[:, None] == positions[None, :]) & european[:, None]
    made = at["production"].to_numpy().astype(float) @ onehot
    capacity = at["capacity"].to_numpy().astype(float) @ onehot
    cons = pd.DataFrame(
        {
            "actor": model.actors[model.consumption_actor],
            "item": model.items[model.consumption_item],
            "rate": model.consumption_rate.central,
        }
    )
    side = cons["actor"].map(model.actor_region)
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
