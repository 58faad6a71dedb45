"""Helpers shared by the analyses: scenario edits, engine runs on edited parameters, the
bill-of-materials matrices and the layer-filling recursion.

Units follow docs/methodology.md: item units, item units per month, EUR, months.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from materiel.model.compiled import FloatArray, IntArray, Model
from materiel.model.plan import Plan, builds
from materiel.model.rules import EUROPEAN_REGIONS
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


def with_events(
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


def us_stop_month(scenario: Scenario) -> int | None:
    """The month of the scenario's first ``us_supply_stops`` event, if any."""
    months = [e.month for e in scenario.events if isinstance(e, USSupplyStops)]
    return min(months) if months else None


def full_orders(month: int) -> Orders:
    """European facilities ordered to full capacity from ``month`` on."""
    return Orders(type="orders", month=month, level=1.0)


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


def european_facilities(model: Model) -> np.ndarray:
    """Boolean (F,): facilities located with an actor on the European or Ukrainian side."""
    side = model.actor_region.to_numpy()[model.facility_country]
    return np.isin(side, EUROPEAN_REGIONS)


def central_capacity(model: Model, month: int = 0) -> FloatArray:
    """Central capacity per facility in ``month`` with committed expansions ramping up,
    item units/month, shape (F,)."""
    exp, decided, scale = builds(model, None)
    online = decided + model.lead_time.central[exp]
    ramp = model.ramp_time.central[exp]
    frac = np.clip((month - online + 1.0) / (ramp + 1.0), 0.0, 1.0)  # (K,) simulator's ramp
    added = np.bincount(
        model.expansion_facility[exp],
        frac * model.added_capacity.central[exp] * scale,
        minlength=len(model.facilities),
    )
    return np.asarray(model.capacity.central + added, dtype=float)


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
