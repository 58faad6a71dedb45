"""The plain-NumPy reference of the simulator: the equations of docs/methodology.md
vectorised over draws (arrays laid out draws last), month by month.

It is the peer the compiled kernel (:mod:`materiel.simulation.kernel`) is tested against
(bit-identical results) and benchmarked against; the package simulates with the kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from materiel.model import rules
from materiel.model.compiled import FloatArray, IntArray, Model
from materiel.model.events import ScenarioArrays
from materiel.model.plan import Plan
from materiel.simulation import engine
from materiel.simulation.engine import (
    MIN_FIRE,
    Layout,
    Lines,
    Scatter,
    Tier,
    draws_last,
    order_share,
    output_arrays,
)


def _total(rows: FloatArray) -> FloatArray:
    """Sum over the leading axis in row order (as a sequential loop rounds), shape (D,)."""
    if not len(rows):
        return np.zeros(rows.shape[1:])
    out: FloatArray = np.add.accumulate(rows, axis=0)[-1]
    return out


def _rate(base: FloatArray, factor: FloatArray, absolute: FloatArray) -> FloatArray:
    """A sampled base rate (n, D) times its month's factor (n,), or the absolute rate (n,)."""
    return rules.scaled_rate(base, factor[:, None], absolute[:, None])


def run_numpy_reference(
    model: Model,
    sc: ScenarioArrays,
    p: dict[str, FloatArray],
    plan: Plan | None = None,
    progress: Callable[[int], None] | None = None,
    out: dict[str, FloatArray] | None = None,
) -> dict[str, FloatArray]:
    """Simulate sampled parameters ``p`` (each (D, n)); return arrays keyed by variable.

    ``out``: zeroed arrays from :func:`output_arrays` (or slices of them along the draw axis)
    to write into; by default they are allocated here. Shapes are in :func:`output_arrays`.
    Inside, every array is laid out draws last, (n, D), so gathers copy whole rows and sums
    over lines run along contiguous memory.
    """
    d, m = p["capacity"].shape[0], sc.months
    n_f, n_i = len(model.facilities), len(model.items)
    lay = Layout.of(model, sc)
    n_p = lay.pairs
    result = output_arrays(model, sc, d) if out is None else out
    pt = draws_last(p)
    lines = Lines.of(model, pt, plan)
    tiers = engine.tiers(model)
    quantity = [tier.quantity(pt["recipe_quantity"]) for tier in tiers]
    floor_share = None if plan is None or plan.orders is None else order_share(model, sc, plan)

    to_pair = {
        "flow": Scatter.of(lay.flow_pair, n_p),
        "claim": Scatter.of(lay.claim_pair, n_p),
        "line": Scatter.of(lay.line_pair, n_p),
        "taker": Scatter.of(lay.taker_pair, n_p),
        "giver": Scatter.of(lay.giver_pair, n_p),
    }
    line_to_item = Scatter.of(model.facility_item, n_i)
    link_to_line = Scatter.of(lay.link_facility, n_f)
    link_to_claim = Scatter.of(lay.link_claim, len(model.claim_share))
    end_line = np.isin(model.item_kind.to_numpy()[model.facility_item], ("end", "service"))
    end_lines = np.flatnonzero(end_line)
    end_pos = np.searchsorted(end_lines, lay.link_facility)  # links serve end lines only
    serve = rules.PriorityFill.of(end_pos, model.claim_priority[lay.link_claim], len(end_lines))
    sustain_use = pt["sustain_months"][model.consumption_actor]  # (C, D)
    floor = np.zeros((n_p, d))
    floor[lay.stock_pair] = pt["stock_floor"]
    keep = 1.0 - sc.stock_loss[:, lay.pair_actor]  # (M, P)
    end_to_pair = Scatter.of(lay.line_pair[end_lines], n_p)
    # intermediate holdings of producer countries, kept compact: (H, D) over pairs `held_pair`
    held_pair = np.unique(lay.line_pair[~end_line])
    held_item = lay.pair_item[held_pair]
    held_to_item = Scatter.of(held_item, n_i)
    holds = [_Holdings.of(tier, model, held_item) for tier in tiers]
    steps = engine.steps(model, tiers, held_pair, lay.line_pair)
    price = pt["unit_cost"][end_lines]
    plan = plan or Plan.empty()
    capex = pt["capex"][plan.expansion] * plan.scale[:, None]  # charged in the decision month
    weight = rules.weighted_rows(model)
    ratio_items = rules.fire_ratio_items(model)
    ua = (model.actors[model.consumption_actor] == "UKR") & ratio_items[model.consumption_item]
    ru = (model.actors[model.consumption_actor] == "RUS") & ratio_items[model.consumption_item]
    has_use = (lay.claim_use >= 0)[:, None]
    claim_use = np.maximum(lay.claim_use, 0)

    stock = np.zeros((n_p, d))
    stock[lay.stock_pair] += pt["stock_quantity"]
    for t in range(m):
        if sc.stock_loss[t].any():
            stock *= keep[t][:, None]
        # 1. flows and transfers arrive
        delivered = to_pair["flow"](_rate(pt["flow_rate"], sc.flow_factor[t], sc.flow_rate[t]))
        x = sc.transfers
        if len(x) and not (np.isnan(x.quantity[t]) & np.isnan(x.share[t])).all():
            spare = rules.above_floor(stock, floor)[lay.giver_pair]
            amount = np.where(
                np.isnan(x.quantity[t])[:, None],
                np.nan_to_num(x.share[t])[:, None] * spare,
                np.nan_to_num(x.quantity[t])[:, None],
            )
            asked = to_pair["giver"](amount)[lay.giver_pair]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                scale = np.where(asked > spare, spare / asked, 1.0)
            moved = amount * np.nan_to_num(scale)
            stock -= to_pair["giver"](moved)
            delivered += to_pair["taker"](moved)
        stock += delivered
        # 2. needs and claims
        wanted = _rate(
            pt["consumption_rate"] * sc.intensity[t, model.consumption_actor][:, None],
            sc.consumption_factor[t],
            sc.consumption_rate[t],
        )
        needs = rules.need(sustain_use, wanted, stock[lay.use_pair])
        share = rules.override(pt["claim_share"], sc.claim_share[t][:, None])
        fixed = rules.override(pt["claim_rate"], sc.claim_rate[t][:, None])
        need_q = np.where(has_use, needs[claim_use], 0.0)
        claims = (share * need_q + fixed) * sc.claim_factor[t][:, None]
        # 3. requirements: claims split over the lines that can serve them, by capacity
        capacity = lines.at(t, sc)
        cap_link = capacity[lay.link_facility]
        group_cap = link_to_claim(cap_link)[lay.link_claim]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            link_req = np.where(group_cap > 0, claims[lay.link_claim] * cap_link / group_cap, 0.0)
        required = link_to_line(link_req)
        level = sc.order_level[t]
        if floor_share is not None:
            level = rules.override(level, floor_share[t])
        if not np.isnan(level).all():
            required = np.maximum(required, np.nan_to_num(level)[:, None] * capacity)
        inventory = stock[held_pair]
        held = held_to_item(inventory)
        cap_item = line_to_item(capacity)
        demand = np.zeros((n_i + 1, d))
        for tier, q in zip(reversed(tiers), reversed(quantity), strict=True):  # pull
            fac = tier.facilities
            mid = fac[~end_line[fac]]
            if len(mid):
                item = model.facility_item[mid]
                target = demand[item] * (1.0 + model.buffer_months) - held[item]
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    split = np.where(cap_item[item] > 0, capacity[mid] / cap_item[item], 0.0)
                required[mid] = np.maximum(required[mid], np.maximum(0.0, target) * split)
            if tier is tiers[0]:
                break  # the lowest tier's inputs are made by no line: nothing to pull
            request = np.minimum(capacity[fac], required[fac])
            demand += tier.scatter_inputs((request[:, None, :] * q).reshape(-1, d))
        # 4. production, bottom-up; scarce inputs by class, then in proportion to need
        produced = np.zeros((n_f, d))
        available = np.full((n_i + 1, d), np.inf)
        available[:n_i] = held
        requests = [np.minimum(capacity[t_.facilities], required[t_.facilities]) for t_ in tiers]
        for step in steps:  # class by class; within a class, up the bill of materials
            tier, hold = tiers[step.tier], holds[step.tier]
            q = quantity[step.tier][step.members]
            request = requests[step.tier][step.members]
            asked = step.to_inputs((request[:, None, :] * q).reshape(-1, d))
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                frac = np.where(asked > 0, np.minimum(1.0, available / asked), 1.0)
            made = request * frac[tier.inputs[step.members]].min(axis=1)
            produced[tier.facilities[step.members]] = made
            used = step.to_inputs((made[:, None, :] * q).reshape(-1, d))
            available = np.maximum(available - used, 0.0)
            hold.withdraw(inventory, used)
            if len(step.mid):
                inventory += step.mid_to_held(made[step.mid])
                available[:n_i] += step.mid_to_item(made[step.mid])
        stock[held_pair] = inventory
        # 5. end items to claims by recipient priority; the rest stays with the producer
        served_link, left = serve(produced[end_lines], link_req)
        served = link_to_claim(served_link)
        arrivals = to_pair["claim"](served)
        stock += arrivals + end_to_pair(left)
        delivered += arrivals
        # 6. users fire under their sustainment policy
        fired = rules.fired(sustain_use, wanted, stock[lay.use_pair])
        stock[lay.use_pair] -= fired

        result["capacity"][:, t] = capacity.T
        result["production"][:, t] = produced.T
        result["stock"][:, t] = stock.T
        result["delivered"][:, t] = delivered.T
        result["served"][:, t] = served.T
        result["wanted"][:, t] = wanted.T
        result["fired"][:, t] = fired.T
        result["weighted_shortfall"][:, t] = _total(weight[:, None] * (wanted - fired))
        cost = _total(produced[end_lines] * price)
        result["cost"][:, t] = cost + _total(capex[plan.month == t])
        if "fire_ratio" in result:
            theirs = _total(fired[ru])
            defined = theirs >= MIN_FIRE
            ratio = _total(fired[ua]) / np.where(defined, theirs, 1.0)
            result["fire_ratio"][:, t] = np.where(defined, ratio, np.nan)
        if progress is not None:
            progress(t)
    return result


@dataclass(frozen=True)
class _Holdings:
    """Where a tier takes its inputs from and puts its intermediates: positions among the
    producer countries' holdings (H, D) of intermediate items."""

    items: IntArray  # input items the tier's lines draw on
    uses: IntArray  # (U,) holdings of those items
    uses_item: IntArray  # (U,) item of each
    to_item: Scatter  # (U, D) -> (I, D)

    @classmethod
    def of(cls, tier: Tier, model: Model, held_item: IntArray) -> _Holdings:
        n_i = len(model.items)
        items = np.unique(tier.inputs[tier.inputs < n_i])
        uses = np.flatnonzero(np.isin(held_item, items))
        return cls(items, uses, held_item[uses], Scatter.of(held_item[uses], n_i))

    def withdraw(self, inventory: FloatArray, used: FloatArray) -> None:
        """Take ``used`` (I+1, D) of each input from its producers' holdings, in proportion
        to what each holds (in place)."""
        if not len(self.uses):
            return
        mine = inventory[self.uses]
        held = self.to_item(mine)[self.uses_item]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            share = np.where(held > 0, mine / held, 0.0)
        inventory[self.uses] = mine - np.minimum(mine, share * used[self.uses_item])
