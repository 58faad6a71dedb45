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


@dataclass(frozen=True)
class Scatter:
    """Sum columns into target columns, ``out[:, target[j]] += x[:, j]``.

    Equivalent to ``x @ one_hot(target, width)`` but O(columns) instead of O(columns x width).
    """

    order: IntArray
    starts: IntArray
    targets: IntArray
    width: int

    @classmethod
    def of(cls, target: IntArray, width: int) -> Scatter:
        order = np.argsort(target, kind="stable")
        ordered = np.asarray(target)[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(order) else order
        return cls(order, starts, ordered[starts], width)

    def __call__(self, x: FloatArray) -> FloatArray:
        out = np.zeros((x.shape[0], self.width))
        if len(self.order):
            out[:, self.targets] = np.add.reduceat(x[:, self.order], self.starts, axis=1)
        return out


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
    fraction: FloatArray = np.clip(np.nan_to_num(frac, nan=0.0, neginf=0.0), 0.0, 1.0)
    return fraction


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
    per_build = frac * (p["added_capacity"][:, exp] * scale)[:, None, :]  # (D, M, K)
    d, m, k = per_build.shape
    to_facility = Scatter.of(model.expansion_facility[exp], len(model.facilities))
    added = to_facility(per_build.reshape(d * m, k)).reshape(d, m, -1)
    capacity: FloatArray = (p["capacity"][:, None, :] + added) * sc.availability[None]
    return capacity


@dataclass(frozen=True)
class _Tier:
    facilities: IntArray  # (Fk,)
    inputs: IntArray  # (Fk, K) item column of each input slot; unlimited/padding -> I
    quantity: FloatArray  # (D, Fk, K) input per unit output
    scatter_inputs: Scatter  # (D, Fk*K) -> (D, I+1)
    scatter_outputs: Scatter  # (D, Fk) -> (D, I)


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
                Scatter.of(inputs.ravel(), n_items + 1),
                Scatter.of(model.facility_item[fac], n_items),
            )
        )
    return tiers


@dataclass(frozen=True)
class _Capacity:
    """Working capacity and planned production month by month, without (D, M, F) temporaries."""

    base: FloatArray  # (D, F) units/month
    online: FloatArray  # (D, K) month of first output of each build (inf: never)
    ramp: FloatArray  # (D, K) ramp time + 1, months
    added: FloatArray  # (D, K) units/month at full rate, times the build's scale
    to_facility: Scatter
    utilisation: FloatArray  # (D, F)
    plan_share: FloatArray | None  # (M, F) plan orders as capacity shares, NaN = none

    @classmethod
    def of(
        cls, model: Model, p: dict[str, FloatArray], sc: ScenarioArrays, plan: Plan | None
    ) -> _Capacity:
        exp, month, scale = builds(model, plan)
        share = None if plan is None or plan.orders is None else order_share(model, sc, plan)
        return cls(
            p["capacity"],
            month + p["lead_time"][:, exp],
            p["ramp_time"][:, exp] + 1.0,
            p["added_capacity"][:, exp] * scale,
            Scatter.of(model.expansion_facility[exp], len(model.facilities)),
            p["utilisation"],
            share,
        )

    def at(self, t: int, sc: ScenarioArrays) -> tuple[FloatArray, FloatArray]:
        """(capacity, planned production) in month ``t``, each (D, F) units/month."""
        frac = np.clip((t - self.online + 1.0) / self.ramp, 0.0, 1.0)
        capacity = (self.base + self.to_facility(frac * self.added)) * sc.availability[t]
        level = sc.order_level[t]
        planned = capacity * np.where(np.isnan(level), self.utilisation, level)
        if self.plan_share is not None:
            share = self.plan_share[t]
            planned = np.where(np.isnan(share), planned, capacity * np.nan_to_num(share))
        return capacity, planned


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
    out: dict[str, FloatArray] | None = None,
) -> dict[str, FloatArray]:
    """Simulate sampled parameters ``p`` (each (D, n)); return arrays keyed by variable name.

    ``out``: zeroed arrays from :func:`output_arrays` (or slices of them along the draw axis)
    to write into; by default they are allocated here.

    Shapes: production/capacity (D, M, F); industry_stock/input_use/allocated (D, M, I);
    delivered/stock/wanted/fired/shortfall (D, M, H, I) over holder actors H; cost and
    fire_ratio (D, M).
    """
    d, m = p["capacity"].shape[0], sc.months
    n_items, holders = len(model.items), model.holders
    n_h = len(holders)
    hpos = np.full(len(model.actors), -1)
    hpos[holders] = np.arange(n_h)

    lines = _Capacity.of(model, p, sc, plan)
    tiers = _tiers(model, p["recipe_quantity"])

    # where allocations and flows land: flat (holder, item) positions
    q_item = model.allocation_item
    q_dest = Scatter.of(hpos[model.allocation_recipient] * n_items + q_item, n_h * n_items)
    q_from = Scatter.of(q_item, n_items)
    l_dest = Scatter.of(hpos[model.flow_recipient] * n_items + model.flow_item, n_h * n_items)
    c_flat = hpos[model.consumption_actor] * n_items + model.consumption_item
    s_flat = hpos[model.stock_actor] * n_items + model.stock_item
    fac_item = Scatter.of(model.facility_item, n_items)
    artillery = (model.item_category == "artillery").to_numpy()

    industry = np.zeros((d, n_items + 1))
    industry[:, n_items] = np.inf
    stock = np.zeros((d, n_h * n_items))
    stock += p["stock_quantity"] @ _one_hot(s_flat, n_h * n_items)

    result = output_arrays(model, m, d) if out is None else out
    # holder variables are written through flat (holder * item) views
    flat = {k: v.reshape(d, m, -1) for k, v in result.items() if v.ndim == 4}
    out = {**result, **flat}
    # purchases: end items and services are bought (their price covers their inputs)
    bought = np.isin(model.item_kind.to_numpy()[model.facility_item], ("end", "service"))
    price = p["unit_cost"] * bought
    plan = plan or Plan.empty()
    capex = p["capex"][:, plan.expansion] * plan.scale  # (D, K) charged in the decision month

    for t in range(m):
        capacity, planned = lines.at(t, sc)
        out["capacity"][:, t] = capacity
        produced = np.zeros((d, len(model.facilities)))
        used = np.zeros((d, n_items + 1))
        for tier in tiers:
            ordered = planned[:, tier.facilities]
            request = ordered[:, :, None] * tier.quantity
            total = tier.scatter_inputs(request.reshape(d, -1))
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                ratio = np.where(total > 0, np.minimum(1.0, industry / total), 1.0)
            made = ordered * ratio[:, tier.inputs].min(axis=-1)
            take = tier.scatter_inputs((made[:, :, None] * tier.quantity).reshape(d, -1))
            industry -= take
            np.maximum(industry, 0.0, out=industry)
            industry[:, :n_items] += tier.scatter_outputs(made)
            industry[:, n_items] = np.inf
            used += take
            produced[:, tier.facilities] = made

        share = np.where(
            np.isnan(sc.allocation_share[t]), p["allocation_share"], sc.allocation_share[t]
        )
        share = share / np.maximum(1.0, q_from(share)[:, q_item])  # rescale if > 1 per item
        allocated = share * fac_item(produced)[:, q_item]
        allocated_item = q_from(allocated)
        industry[:, :n_items] -= allocated_item
        arrivals = q_dest(allocated) + l_dest(p["flow_rate"] * sc.flow_factor[t])

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

    np.subtract(result["wanted"], result["fired"], out=result["shortfall"])
    if "fire_ratio" in result:
        ua, ru = _actor_pos(model, holders, "ukraine"), _actor_pos(model, holders, "russia")
        fired_ua = result["fired"][:, :, ua][..., artillery].sum(-1)
        fired_ru = result["fired"][:, :, ru][..., artillery].sum(-1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            result["fire_ratio"][...] = np.where(fired_ru > 0, fired_ua / fired_ru, np.nan)
    return result


def output_arrays(model: Model, months: int, draws: int) -> dict[str, FloatArray]:
    """Zeroed float32 result arrays for ``draws`` draws (see :func:`run` for the shapes).

    ``fire_ratio`` is present only if both UKR and RUS are tracked holders.
    """
    n_f, n_i, n_h = len(model.facilities), len(model.items), len(model.holders)
    shapes = {
        "capacity": (n_f,),
        "production": (n_f,),
        "industry_stock": (n_i,),
        "input_use": (n_i,),
        "allocated": (n_i,),
        "delivered": (n_h, n_i),
        "stock": (n_h, n_i),
        "wanted": (n_h, n_i),
        "fired": (n_h, n_i),
        "shortfall": (n_h, n_i),
        "cost": (),
    }
    out = {k: np.zeros((draws, months, *v), np.float32) for k, v in shapes.items()}
    holders = model.holders
    if (
        _actor_pos(model, holders, "ukraine") is not None
        and _actor_pos(model, holders, "russia") is not None
    ):
        out["fire_ratio"] = np.zeros((draws, months), np.float32)
    return out


def _actor_pos(model: Model, holders: IntArray, side: str) -> int | None:
    """Position among holders of the main actor of ``side`` (UKR, RUS), if tracked."""
    code = {"ukraine": "UKR", "russia": "RUS"}[side]
    match = np.flatnonzero(model.actors[holders] == code)
    return int(match[0]) if len(match) else None
