"""Monte Carlo stock-flow simulator, vectorised over draws (see docs/methodology.md).

Each month: stock losses -> flows and transfers arrive -> users state their needs -> claims
on lines -> requirements pulled down the bill of materials -> production tier by tier (scarce
inputs rationed by priority class, then in proportion to need; Leontief) -> end items served
to claims by recipient priority (what nobody takes stays with the producer country) -> users
fire under their sustainment policy. The rules are in :mod:`materiel.model.rules`; the only
Python loops here are over months, bill-of-materials tiers and priority classes.

Stocks are tracked per (actor, item) *pair*: users' stocks, donors' stocks and the producer
countries' holdings of what their lines made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from materiel.model import rules
from materiel.model.compiled import FloatArray, IntArray, Model
from materiel.model.events import ScenarioArrays
from materiel.model.plan import Plan, builds
from materiel.model.sampling import sample

Scatter = rules.SumInto
MIN_FIRE = 1.0
"""Rounds/month Russia must fire for the fire ratio to be defined (NaN below)."""


@dataclass(frozen=True)
class Layout:
    """Static positions of one model + scenario: which (actor, item) pairs are tracked and
    where each table's rows, each claim link and each transfer land among them."""

    pair_actor: IntArray
    pair_item: IntArray
    stock_pair: IntArray  # (S,)
    use_pair: IntArray  # (C,)
    flow_pair: IntArray  # (L,)
    claim_pair: IntArray  # (Q,)
    line_pair: IntArray  # (F,) the producer country's holding of the line's item
    giver_pair: IntArray  # (X,)
    taker_pair: IntArray  # (X,)
    claim_use: IntArray  # (Q,) the recipient's consumption row, -1 if it has none
    link_facility: IntArray  # (N,)
    link_claim: IntArray  # (N,)

    @property
    def pairs(self) -> int:
        return len(self.pair_actor)

    @classmethod
    def of(cls, model: Model, sc: ScenarioArrays) -> Layout:
        n_i = len(model.items)
        x = sc.transfers
        keys = np.concatenate(
            [
                model.stock_actor * n_i + model.stock_item,
                model.consumption_actor * n_i + model.consumption_item,
                model.flow_recipient * n_i + model.flow_item,
                model.claim_recipient * n_i + model.claim_item,
                model.facility_country * n_i + model.facility_item,
                x.giver * n_i + x.item,
                x.taker * n_i + x.item,
            ]
        ).astype(np.int64)
        unique = np.unique(keys)
        pos = pd.Index(unique)

        def at(actor: IntArray, item: IntArray) -> IntArray:
            return np.asarray(pos.get_indexer(np.asarray(actor) * n_i + np.asarray(item)))

        uses = pd.Index(model.consumption_actor * n_i + model.consumption_item)
        links = rules.claim_links(model)
        return cls(
            pair_actor=unique // n_i,
            pair_item=unique % n_i,
            stock_pair=at(model.stock_actor, model.stock_item),
            use_pair=at(model.consumption_actor, model.consumption_item),
            flow_pair=at(model.flow_recipient, model.flow_item),
            claim_pair=at(model.claim_recipient, model.claim_item),
            line_pair=at(model.facility_country, model.facility_item),
            giver_pair=at(x.giver, x.item),
            taker_pair=at(x.taker, x.item),
            claim_use=np.asarray(uses.get_indexer(model.claim_recipient * n_i + model.claim_item)),
            link_facility=links[0],
            link_claim=links[1],
        )


@dataclass(frozen=True)
class _Tier:
    """Lines of one bill-of-materials depth, with their modelled inputs in K slots."""

    facilities: IntArray  # (Fk,)
    inputs: IntArray  # (Fk, K) item of each input slot; I = no input (padding, unlimited, own)
    slot_row: IntArray  # (Fk, K) recipe row of each slot, -1 for padding
    groups: rules.Groups  # the tier's lines by rationing class
    class_inputs: tuple[Scatter, ...]  # per class: (Fc*K, D) slot uses -> (I+1, D)
    scatter_inputs: Scatter  # (Fk*K, D) -> (I+1, D)

    def quantity(self, recipe_quantity: FloatArray) -> FloatArray:
        """(Fk, K, D) input per unit of output of each slot (0 for padding)."""
        q = np.where(self.slot_row[..., None] >= 0, recipe_quantity[self.slot_row], 0.0)
        return np.ascontiguousarray(q)


def _tiers(model: Model) -> list[_Tier]:
    n_items = len(model.items)
    depth = model.item_depth[model.facility_item]
    own = model.facility_inputs == "own"
    classes = rules.line_classes(model)
    tiers = []
    for level in np.unique(depth):
        fac = np.flatnonzero(depth == level)
        rows = [np.flatnonzero(model.recipe_item == model.facility_item[f]) for f in fac]
        k = max([len(r) for r in rows] + [1])
        slot_row = np.full((len(fac), k), -1)
        for j, r in enumerate(rows):
            if not own[fac[j]]:
                slot_row[j, : len(r)] = r
        pad = slot_row < 0
        inputs = np.where(pad, n_items, model.recipe_input[slot_row])
        limited = model.item_limited[np.minimum(inputs, n_items - 1)]
        inputs = np.where(pad | ~limited, n_items, inputs)
        slot_row = np.where(inputs == n_items, -1, slot_row)
        groups = rules.Groups.of(classes[fac])
        tiers.append(
            _Tier(
                fac,
                inputs,
                slot_row,
                groups,
                tuple(Scatter.of(inputs[g].ravel(), n_items + 1) for g in groups.members),
                Scatter.of(inputs.ravel(), n_items + 1),
            )
        )
    return tiers


@dataclass(frozen=True)
class _Lines:
    """Working capacity month by month (units/month), shape (F, D)."""

    base: FloatArray  # (F, D)
    online: FloatArray  # (K, D) month of first output of each build (inf: never)
    ramp: FloatArray  # (K, D) ramp time, months
    added: FloatArray  # (K, D) units/month at full rate, times the build's scale
    to_facility: Scatter

    @classmethod
    def of(cls, model: Model, p: dict[str, FloatArray], plan: Plan | None) -> _Lines:
        """From parameters ``p`` laid out draws last, each (n, D)."""
        exp, month, scale = builds(model, plan)
        return cls(
            p["capacity"],
            month[:, None] + p["lead_time"][exp],
            p["ramp_time"][exp],
            p["added_capacity"][exp] * scale[:, None],
            Scatter.of(model.expansion_facility[exp], len(model.facilities)),
        )

    def at(self, t: int, sc: ScenarioArrays) -> FloatArray:
        built = self.base + self.to_facility(rules.ramp_at(t, self.online, self.ramp) * self.added)
        return rules.working_capacity(
            built, sc.availability[t][:, None], sc.capacity_rate[t][:, None]
        )


def _draws_last(p: dict[str, FloatArray], dtype: type = np.float64) -> dict[str, FloatArray]:
    """Parameters (D, n) as contiguous (n, D) arrays: the engine's layout."""
    return {k: np.ascontiguousarray(v.T, dtype=dtype) for k, v in p.items()}


def capacity_path(
    model: Model, p: dict[str, FloatArray], sc: ScenarioArrays, plan: Plan | None
) -> FloatArray:
    """Working capacity per draw, month and facility (units/month), shape (D, M, F)."""
    lines = _Lines.of(model, _draws_last(p), plan)
    return np.stack([lines.at(t, sc).T for t in range(sc.months)], axis=1)


def order_share(model: Model, sc: ScenarioArrays, plan: Plan) -> FloatArray:
    """A plan's orders as shares of each line's central working capacity, shape (M, F);
    NaN where the plan gives no order. A draw's line then makes at least that share."""
    assert plan.orders is not None
    orders = plan.orders[: sc.months]
    central = capacity_path(model, sample(model, 1, 0, uncertain=False), sc, plan)[0]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        share = np.where(central > 0, np.minimum(1.0, orders / central), 0.0)
    return np.where(np.isnan(orders), np.nan, share)


def _rate(base: FloatArray, factor: FloatArray, absolute: FloatArray) -> FloatArray:
    """A sampled base rate (n, D) times its month's factor (n,), or the absolute rate (n,)."""
    return np.where(np.isnan(absolute)[:, None], base * factor[:, None], absolute[:, None])


def run(
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
    pt = _draws_last(p)
    lines = _Lines.of(model, pt, plan)
    tiers = _tiers(model)
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
    steps = _steps(model, tiers, held_pair, lay.line_pair)
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
        share = np.where(
            np.isnan(sc.claim_share[t])[:, None], pt["claim_share"], sc.claim_share[t][:, None]
        )
        fixed = np.where(
            np.isnan(sc.claim_rate[t])[:, None], pt["claim_rate"], sc.claim_rate[t][:, None]
        )
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
            level = np.where(np.isnan(floor_share[t]), level, floor_share[t])
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
        result["weighted_shortfall"][:, t] = weight @ (wanted - fired)
        cost = (produced[end_lines] * price).sum(axis=0)
        result["cost"][:, t] = cost + capex[plan.month == t].sum(axis=0)
        if "fire_ratio" in result:
            theirs = fired[ru].sum(axis=0)
            defined = theirs >= MIN_FIRE
            ratio = fired[ua].sum(axis=0) / np.where(defined, theirs, 1.0)
            result["fire_ratio"][:, t] = np.where(defined, ratio, np.nan)
        if progress is not None:
            progress(t)
    return result


@dataclass(frozen=True)
class _Step:
    """The lines of one rationing class in one tier: production runs class by class (all
    tiers of class 1, then class 2...), each class up the bill of materials, so a scarce input
    goes by class whatever the depth of the lines asking for it."""

    tier: int
    members: IntArray  # positions in the tier
    to_inputs: Scatter  # (members*K, D) slot uses -> (I+1, D)
    mid: IntArray  # positions among members of intermediate lines
    mid_to_held: Scatter  # (len(mid), D) -> (H, D)
    mid_to_item: Scatter  # (len(mid), D) -> (I, D)


def _steps(
    model: Model, tiers: list[_Tier], held_pair: IntArray, line_pair: IntArray
) -> list[_Step]:
    n_i = len(model.items)
    end = np.isin(model.item_kind.to_numpy(), ("end", "service"))
    steps = []
    for cls in np.unique(np.concatenate([t.groups.classes for t in tiers])):
        for k, tier in enumerate(tiers):
            where = np.flatnonzero(tier.groups.classes == cls)
            if not len(where):
                continue
            members = tier.groups.members[where[0]]
            lines = tier.facilities[members]
            mid = np.flatnonzero(~end[model.facility_item[lines]])
            steps.append(
                _Step(
                    k,
                    members,
                    tier.class_inputs[where[0]],
                    mid,
                    Scatter.of(np.searchsorted(held_pair, line_pair[lines[mid]]), len(held_pair)),
                    Scatter.of(model.facility_item[lines[mid]], n_i),
                )
            )
    return steps


@dataclass(frozen=True)
class _Holdings:
    """Where a tier takes its inputs from and puts its intermediates: positions among the
    producer countries' holdings (H, D) of intermediate items."""

    items: IntArray  # input items the tier's lines draw on
    uses: IntArray  # (U,) holdings of those items
    uses_item: IntArray  # (U,) item of each
    to_item: Scatter  # (U, D) -> (I, D)

    @classmethod
    def of(cls, tier: _Tier, model: Model, held_item: IntArray) -> _Holdings:
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


def output_arrays(model: Model, sc: ScenarioArrays, draws: int) -> dict[str, FloatArray]:
    """Zeroed float32 result arrays for ``draws`` draws.

    Shapes: capacity, production (D, M, F); stock, delivered (D, M, P) over tracked (actor,
    item) pairs; served (D, M, Q) per claim; wanted, fired (D, M, C) per consumption row;
    weighted_shortfall, cost and fire_ratio (D, M). ``fire_ratio`` only when UKR and RUS
    both use items counted in it.
    """
    lay = Layout.of(model, sc)
    shapes = {
        "capacity": (len(model.facilities),),
        "production": (len(model.facilities),),
        "stock": (lay.pairs,),
        "delivered": (lay.pairs,),
        "served": (len(model.claim_share),),
        "wanted": (len(model.consumption_rate),),
        "fired": (len(model.consumption_rate),),
        "weighted_shortfall": (),
        "cost": (),
    }
    out = {k: np.zeros((draws, sc.months, *v), np.float32) for k, v in shapes.items()}
    counted = rules.fire_ratio_items(model)[model.consumption_item]
    users = set(model.actors[model.consumption_actor[counted]])
    if {"UKR", "RUS"} <= users:
        out["fire_ratio"] = np.zeros((draws, sc.months), np.float32)
    return out
