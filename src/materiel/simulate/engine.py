"""Monte Carlo stock-flow simulator, vectorised over draws (see docs/methodology.md).

Each month: capacity -> planned production -> production tier by tier up the bill of
materials (proportional rationing of scarce inputs, Leontief: the scarcest input sets the
rate) -> allocations of European end items and external flows arrive -> actors fire from
stock. The only Python loops are over months and bill-of-materials tiers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from materiel.model.compiled import FloatArray, IntArray, Model
from materiel.model.events import ScenarioArrays
from materiel.model.plan import Plan, builds
from materiel.model.sampling import sample


def _one_hot(index: IntArray, width: int) -> FloatArray:
    out = np.zeros((len(index), width))
    out[np.arange(len(index)), index] = 1.0
    return out


def ramp_fraction(months: int, online: FloatArray, ramp_time: FloatArray) -> FloatArray:
    """Share of added capacity working in each month, shape online.shape[:-1] + (M, E).

    Output starts in month ``online`` at 1/(ramp+1) and rises linearly to full rate at month
    ``online + ramp``; an expansion never built has ``online = inf``.
    """
    t = np.arange(months, dtype=float)[:, None]
    frac = (t - online[..., None, :] + 1.0) / (ramp_time[..., None, :] + 1.0)
    return np.clip(np.nan_to_num(frac, nan=0.0, neginf=0.0), 0.0, 1.0)


def capacity_path(
    model: Model, p: dict[str, FloatArray], sc: ScenarioArrays, plan: Plan | None
) -> FloatArray:
    """Working capacity per draw, month and facility (units/month), shape (D, M, F).

    Base capacity plus every build (committed expansions and the plan's) ramping up from
    ``decision month + lead time``, times the scenario's availability.
    """
    exp, month, scale = builds(model, plan)
    online = month + p["lead_time"][:, exp]
    frac = ramp_fraction(sc.months, online, p["ramp_time"][:, exp])  # (D, M, K)
    added = (frac * (p["added_capacity"][:, exp] * scale)[:, None, :]) @ _one_hot(
        model.expansion_facility[exp], len(model.facilities)
    )
    return (p["capacity"][:, None, :] + added) * sc.availability[None]


@dataclass(frozen=True)
class _Tier:
    facilities: IntArray  # (Fk,)
    inputs: IntArray  # (Fk, K) item column of each input slot; unlimited/padding -> I
    quantity: FloatArray  # (D, Fk, K) input per unit output
    scatter_inputs: FloatArray  # (Fk*K, I+1)
    scatter_outputs: FloatArray  # (Fk, I+1)


def _tiers(model: Model, recipe_quantity: FloatArray) -> list[_Tier]:
    n_items = len(model.items)
    depth = model.item_depth[model.facility_item]
    tiers = []
    for level in np.unique(depth):
        fac = np.flatnonzero(depth == level)
        rows = [np.flatnonzero(model.recipe_item == model.facility_item[f]) for f in fac]
        k = max([len(r) for r in rows] + [1])
        slot_row = np.full((len(fac), k), -1)
        for j, r in enumerate(rows):
            slot_row[j, : len(r)] = r
        pad = slot_row < 0
        inputs = np.where(pad, n_items, model.recipe_input[slot_row])
        inputs = np.where(
            pad | ~model.item_limited[np.minimum(inputs, n_items - 1)], n_items, inputs
        )
        quantity = np.where(pad[None], 0.0, recipe_quantity[:, slot_row])
        tiers.append(
            _Tier(
                fac,
                inputs,
                quantity,
                _one_hot(inputs.ravel(), n_items + 1),
                _one_hot(model.facility_item[fac], n_items + 1),
            )
        )
    return tiers


def planned_production(
    model: Model,
    p: dict[str, FloatArray],
    sc: ScenarioArrays,
    capacity: FloatArray,
    plan: Plan | None,
) -> FloatArray:
    """Production ordered per draw, month and facility (units/month), shape (D, M, F)."""
    level = np.where(
        np.isnan(sc.order_level)[None], p["utilisation"][:, None, :], sc.order_level[None]
    )
    planned = capacity * level
    if plan is not None and plan.orders is not None:
        share = order_share(model, sc, plan)
        planned = np.where(np.isnan(share)[None], planned, capacity * np.nan_to_num(share)[None])
    return planned


def order_share(model: Model, sc: ScenarioArrays, plan: Plan) -> FloatArray:
    """A plan's orders as shares of each line's central working capacity, shape (M, F).

    The plan orders O units/month where the central capacity is C; a draw with capacity C'
    then makes C' * min(1, O / C): a line that turns out bigger or smaller scales its order.
    With central values this is exactly O. NaN where the plan gives no order.
    """
    assert plan.orders is not None
    orders = plan.orders[: sc.months]
    central = capacity_path(model, sample(model, 1, 0, uncertain=False), sc, plan)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(central > 0, np.minimum(1.0, orders / central), 0.0)
    return np.where(np.isnan(orders), np.nan, share)


def run(
    model: Model,
    sc: ScenarioArrays,
    p: dict[str, FloatArray],
    plan: Plan | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, FloatArray]:
    """Simulate sampled parameters ``p`` (each (D, n)); return arrays keyed by variable name.

    Shapes: production/capacity (D, M, F); industry_stock/input_use/allocated (D, M, I);
    delivered/stock/wanted/fired/shortfall (D, M, H, I) over holder actors H; cost and
    fire_ratio (D, M).
    """
    d, m = p["capacity"].shape[0], sc.months
    n_items, holders = len(model.items), model.holders
    n_h = len(holders)
    hpos = np.full(len(model.actors), -1)
    hpos[holders] = np.arange(n_h)

    capacity = capacity_path(model, p, sc, plan)
    planned = planned_production(model, p, sc, capacity, plan)
    tiers = _tiers(model, p["recipe_quantity"])

    # where allocations and flows land: flat (holder, item) positions
    q_item = model.allocation_item
    q_dest = _one_hot(hpos[model.allocation_recipient] * n_items + q_item, n_h * n_items)
    q_from = _one_hot(q_item, n_items + 1)
    l_dest = _one_hot(hpos[model.flow_recipient] * n_items + model.flow_item, n_h * n_items)
    c_flat = hpos[model.consumption_actor] * n_items + model.consumption_item
    s_flat = hpos[model.stock_actor] * n_items + model.stock_item
    fac_item = _one_hot(model.facility_item, n_items)
    artillery = (model.item_category == "artillery").to_numpy()

    industry = np.zeros((d, n_items + 1))
    industry[:, n_items] = np.inf
    stock = np.zeros((d, n_h * n_items))
    stock += p["stock_quantity"] @ _one_hot(s_flat, n_h * n_items)

    f32 = np.float32
    out = {
        "capacity": capacity.astype(f32),
        "production": np.zeros((d, m, len(model.facilities)), f32),
        "industry_stock": np.zeros((d, m, n_items), f32),
        "input_use": np.zeros((d, m, n_items), f32),
        "allocated": np.zeros((d, m, n_items), f32),
        "delivered": np.zeros((d, m, n_h * n_items), f32),
        "stock": np.zeros((d, m, n_h * n_items), f32),
        "wanted": np.zeros((d, m, n_h * n_items), f32),
        "fired": np.zeros((d, m, n_h * n_items), f32),
        "cost": np.zeros((d, m), f32),
    }
    # purchases: end items and services are bought (their price covers their inputs)
    bought = np.isin(model.item_kind.to_numpy()[model.facility_item], ("end", "service"))
    price = p["unit_cost"] * bought
    plan = plan or Plan.empty()
    capex = p["capex"][:, plan.expansion] * plan.scale  # (D, K) charged in the decision month

    for t in range(m):
        produced = np.zeros((d, len(model.facilities)))
        used = np.zeros((d, n_items + 1))
        for tier in tiers:
            ordered = planned[:, t, tier.facilities]
            request = ordered[:, :, None] * tier.quantity
            total = request.reshape(d, -1) @ tier.scatter_inputs
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                ratio = np.where(total > 0, np.minimum(1.0, industry / total), 1.0)
            made = ordered * ratio[:, tier.inputs].min(axis=-1)
            take = (made[:, :, None] * tier.quantity).reshape(d, -1) @ tier.scatter_inputs
            industry -= take
            np.maximum(industry, 0.0, out=industry)
            industry[:, :n_items] += made @ tier.scatter_outputs[:, :n_items]
            industry[:, n_items] = np.inf
            used += take
            produced[:, tier.facilities] = made

        share = np.where(
            np.isnan(sc.allocation_share[t]), p["allocation_share"], sc.allocation_share[t]
        )
        share = share / np.maximum(1.0, _per_item_total(share, q_item, n_items))
        allocated = share * (produced @ fac_item)[:, q_item]
        allocated_item = allocated @ q_from[:, :n_items]
        industry[:, :n_items] -= allocated_item
        arrivals = allocated @ q_dest + (p["flow_rate"] * sc.flow_factor[t]) @ l_dest

        stock *= np.repeat(1.0 - sc.stock_loss[t, holders], n_items)
        stock += arrivals
        wanted = p["consumption_rate"] * sc.intensity[t, model.consumption_actor]
        fired = np.minimum(wanted, stock[:, c_flat])
        stock[:, c_flat] -= fired

        out["production"][:, t] = produced
        out["industry_stock"][:, t] = industry[:, :n_items]
        out["input_use"][:, t] = used[:, :n_items]
        out["allocated"][:, t] = allocated_item
        out["delivered"][:, t] = arrivals
        out["stock"][:, t] = stock
        out["wanted"][:, t, c_flat] = wanted
        out["fired"][:, t, c_flat] = fired
        out["cost"][:, t] = (produced * price).sum(axis=1) + capex[:, plan.month == t].sum(axis=1)
        if progress is not None:
            progress(t)

    for key in ("delivered", "stock", "wanted", "fired"):
        out[key] = out[key].reshape(d, m, n_h, n_items)
    out["shortfall"] = out["wanted"] - out["fired"]
    ua, ru = _actor_pos(model, holders, "ukraine"), _actor_pos(model, holders, "russia")
    if ua is not None and ru is not None:
        fired_ua = out["fired"][:, :, ua][..., artillery].sum(-1)
        fired_ru = out["fired"][:, :, ru][..., artillery].sum(-1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out["fire_ratio"] = np.where(fired_ru > 0, fired_ua / fired_ru, np.nan).astype(f32)
    return out


def _per_item_total(share: FloatArray, item: IntArray, n_items: int) -> FloatArray:
    """For each allocation row, the total share allocated of its item (to rescale > 1)."""
    totals: FloatArray = (share @ _one_hot(item, n_items))[..., item]
    return totals


def _actor_pos(model: Model, holders: IntArray, side: str) -> int | None:
    """Position among holders of the main actor of ``side`` (UKR, RUS), if tracked."""
    code = {"ukraine": "UKR", "russia": "RUS"}[side]
    match = np.flatnonzero(model.actors[holders] == code)
    return int(match[0]) if len(match) else None
