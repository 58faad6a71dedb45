"""Helpers shared by the analyses: scenario edits, the result's (actor, item) pairs, output
by item, the bill-of-materials matrices and the layer-filling recursion.

The supply-chain rules themselves (regions, ramps, need, floors) are in
:mod:`materiel.model.rules`; nothing here re-states them. Units follow docs/methodology.md:
item units, item units per month, EUR, months.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import xarray as xr

from materiel.model import rules
from materiel.model.compiled import FloatArray, IntArray, Model, month_index
from materiel.model.plan import Plan, builds
from materiel.model.sampling import sample
from materiel.scenario import Event, Orders, Scenario, USSupplyStops, parse_scenario


def main_actor(model: Model, side: str) -> str:
    """Code of the main actor of ``side`` (``UKR`` / ``RUS`` as the engine uses, else the first
    actor of that side). Raises ValueError if the dataset has none."""
    code = {"ukraine": "UKR", "russia": "RUS"}.get(side)
    if code is not None and code in model.actors:
        return code
    found = model.actor_region.index[model.actor_region == side]
    if len(found) == 0:
        raise ValueError(f"the dataset has no actor on the '{side}' side")
    return str(found[0])


def edit_events(
    scenario: Scenario,
    add: Iterable[Event | dict[str, object]] = (),
    drop: Iterable[str] = (),
    months: int | None = None,
) -> Scenario:
    """A copy of ``scenario`` without events of the types in ``drop`` and with ``add`` appended
    (later events override earlier ones). ``add`` may hold plain dicts, validated here."""
    drop = set(drop)
    kept = [e.model_dump() for e in scenario.events if e.type not in drop]
    extra = [e if isinstance(e, dict) else e.model_dump() for e in add]
    content = scenario.model_dump() | {"events": kept + extra}
    if months is not None:
        content["months"] = months
    return parse_scenario(content, scenario.name)


def event_month(model: Model, month: int | str) -> int:
    """An event's month as an index from the dataset start (events may give 'YYYY-MM')."""
    return month if isinstance(month, int) else month_index(model.start, month)


def us_stop_month(model: Model, scenario: Scenario) -> int | None:
    """The month index of the scenario's first ``us_supply_stops`` event, if any."""
    months = [event_month(model, e.month) for e in scenario.events if isinstance(e, USSupplyStops)]
    return min(months) if months else None


def full_orders(month: int) -> list[Orders]:
    """Lines in every European region (``rules.EUROPEAN_REGIONS``: Europe and Ukraine)
    ordered to full capacity from ``month`` on."""
    return [
        Orders(type="orders", month=month, level=1.0, supplier=region)
        for region in rules.EUROPEAN_REGIONS
    ]


def options_plan(model: Model, month: float, options: IntArray | None = None) -> Plan:
    """Every expansion option (or those in ``options``) decided in ``month`` at full scale."""
    chosen = np.flatnonzero(np.isnan(model.decided)) if options is None else options
    return Plan(
        expansion=np.asarray(chosen, dtype=np.int64),
        month=np.full(len(chosen), float(month)),
        scale=np.ones(len(chosen)),
    )


PRODUCTS = ("end", "service")
"""Kinds of item that are bought and used (end items and services such as training)."""


def end_item_mask(model: Model) -> np.ndarray:
    """Boolean (I,): end items and services (what buyers use, as opposed to inputs)."""
    return np.asarray(model.item_kind.isin(PRODUCTS).to_numpy(), dtype=bool)


def central_capacity(model: Model, month: int = 0) -> FloatArray:
    """Central capacity per facility in ``month`` with committed expansions ramping up
    (``rules.ramp_at``), item units/month, shape (F,)."""
    exp, decided, scale = builds(model, None)
    online = decided + model.lead_time.central[exp]
    frac = rules.ramp_at(month, online, model.ramp_time.central[exp])  # (K,)
    added = np.bincount(
        model.expansion_facility[exp],
        frac * model.added_capacity.central[exp] * scale,
        minlength=len(model.facilities),
    )
    return np.asarray(model.capacity.central + added, dtype=float)


def item_output(
    model: Model, production: FloatArray, lines: np.ndarray | None = None
) -> FloatArray:
    """Output per item summed over facilities (optionally only those in the (F,) mask
    ``lines``): ``production`` (..., F) -> (..., I), item units/month."""
    onehot = np.zeros((len(model.facilities), len(model.items)))
    onehot[np.arange(len(model.facilities)), model.facility_item] = 1.0
    if lines is not None:
        onehot *= np.asarray(lines, dtype=float)[:, None]
    out: FloatArray = np.asarray(production, dtype=float) @ onehot
    return out


def pairs_of(result: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Actor and item code of each tracked (actor, item) pair of a result, each (P,)."""
    index = result.indexes["pair"]
    return (
        np.asarray(index.get_level_values("actor"), dtype=object),
        np.asarray(index.get_level_values("item"), dtype=object),
    )


def holder_pairs(result: xr.Dataset, actor: str, items: Iterable[str]) -> IntArray:
    """Positions on the result's ``pair`` dim of (``actor``, item) for each of ``items``
    (-1 where the pair is not tracked)."""
    codes = list(items)
    keys = pd.MultiIndex.from_arrays([[actor] * len(codes), codes])
    return np.asarray(result.indexes["pair"].get_indexer(keys), dtype=np.int64)


def pair_values(result: xr.Dataset, name: str, pairs: IntArray) -> FloatArray:
    """Variable ``name`` of the result at pair positions ``pairs`` (0 where -1), float
    (draw, month, len(pairs))."""
    values = result[name].to_numpy()[..., np.maximum(pairs, 0)].astype(float)
    return np.where(pairs >= 0, values, 0.0)


def region_pairs(
    model: Model, result: xr.Dataset, regions: Iterable[str], items: Iterable[str]
) -> np.ndarray:
    """(P,) True for pairs held by an actor of ``regions`` (``rules.region_of``) of ``items``."""
    actor, item = pairs_of(result)
    region = rules.region_of(model, model.actors.get_indexer(pd.Index(actor)))
    return np.isin(region, list(regions)) & np.isin(item, list(items))


def pair_floors(
    model: Model, result: xr.Dataset, draws: int, seed: int, uncertain: bool = True
) -> tuple[FloatArray, FloatArray]:
    """The sampled opening stock and stock floor of each pair, each (D, P) in item units (0
    where the stocks table has no row). Draw d matches draw d of ``simulate`` with the same
    seed."""
    p = sample(model, draws, seed, uncertain=uncertain)
    keys = pd.MultiIndex.from_arrays(
        [model.actors[model.stock_actor], model.items[model.stock_item]]
    )
    where = result.indexes["pair"].get_indexer(keys)
    opening = np.zeros((result.sizes["pair"], draws))
    floor = np.zeros_like(opening)
    np.add.at(opening, where, p["stock_quantity"].T)
    np.add.at(floor, where, p["stock_floor"].T)
    return opening.T.copy(), floor.T.copy()


def stock_before(
    result: xr.Dataset, opening: FloatArray, keep: FloatArray, month: int
) -> FloatArray:
    """Stock of every pair at the start of ``month``, before that month's arrivals: the
    previous month's closing stock (the opening stock in month 0) times ``keep`` (P,), the
    share surviving that month's stock losses; (D, P) in item units."""
    if month == 0:
        return np.asarray(opening * keep, dtype=float)
    closing = result["stock"].isel(month=month - 1).to_numpy().astype(float)
    return np.asarray(closing * keep, dtype=float)


def item_price(model: Model, capacity: FloatArray | None = None) -> FloatArray:
    """Capacity-weighted mean central unit cost of the facilities making each item (EUR per
    item unit), shape (I,); the plain mean where capacity is zero; 0 where nobody makes it."""
    n = len(model.items)
    cap = model.capacity.central if capacity is None else capacity
    cost = model.unit_cost.central
    weighted = np.bincount(model.facility_item, cost * cap, minlength=n)
    total = np.bincount(model.facility_item, cap, minlength=n)
    plain = np.bincount(model.facility_item, cost, minlength=n)
    count = np.bincount(model.facility_item, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(total > 0, weighted / total, np.where(count > 0, plain / count, 0.0))
    return np.asarray(mean, dtype=float)


def technical_matrix(model: Model) -> FloatArray:
    """A[i, j]: central units of input i per unit of item j (direct requirements), (I, I)."""
    n = len(model.items)
    a = np.zeros((n, n))
    np.add.at(a, (model.recipe_input, model.recipe_item), model.recipe_quantity.central)
    return a


def leontief(model: Model) -> FloatArray:
    """L = (I - A)^-1: total (direct and indirect) units of item i per unit of item j."""
    a = technical_matrix(model)
    return np.asarray(np.linalg.solve(np.eye(len(a)) - a, np.eye(len(a))), dtype=float)


def fill(gap: FloatArray, supply: FloatArray, keep: FloatArray | None = None) -> FloatArray:
    """How much of ``gap`` an extra ``supply`` stream fills, both (D, M, I), item units/month.

    Extra arrivals join the holder's stock and are fired when the holder is short, exactly as
    the simulator's holder balance does: carry_t = keep_t * carry_{t-1} + supply_t;
    filled_t = min(gap_t, carry_t); carry_t -= filled_t. ``keep`` (M,) is the share of stock
    surviving each month (1 - stock loss). Returns filled, shape (D, M, I).
    """
    d, m, n = gap.shape
    keep = np.ones(m) if keep is None else keep
    carry = np.zeros((d, n))
    filled = np.zeros_like(gap, dtype=float)
    for t in range(m):
        carry = carry * keep[t] + supply[:, t]
        filled[:, t] = np.minimum(gap[:, t], carry)
        carry -= filled[:, t]
    return filled


def percentile(values: FloatArray, q: float, axis: int = 0) -> FloatArray:
    """Percentile ``q`` (0-100) along ``axis`` ignoring NaN; NaN where every value is NaN."""
    values = np.asarray(values, dtype=float)
    empty = np.isnan(values).all(axis=axis)
    safe = np.where(np.isnan(values).all(axis=axis, keepdims=True), 0.0, values)
    out = np.nanpercentile(safe, q, axis=axis)
    return np.asarray(np.where(empty, np.nan, out), dtype=float)


def date_labels(model: Model, months: Iterable[int]) -> list[str]:
    """YYYY-MM of each month index counted from the dataset start."""
    y0, m0 = map(int, model.start.split("-"))
    return [f"{y0 + (m0 - 1 + t) // 12:04d}-{(m0 - 1 + t) % 12 + 1:02d}" for t in months]
