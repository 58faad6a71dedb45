"""The simulator's compiled kernel: the monthly equations of docs/methodology.md for a block
of draws, one draw at a time, compiled by numba (no GIL held, so blocks run in threads).

The elementwise rules (need, consumption policy, stock above floor, ramp, capacity, claims)
are :mod:`materiel.model.rules`' own functions, compiled here; the structure (which lines
serve which claim, rationing classes, tiers, priority slots) comes as index arrays that
:mod:`materiel.simulation.engine` derives from the same rules. The compiled code is cached
on disk (numba ``cache=True``: ``__pycache__`` next to this file, or ``NUMBA_CACHE_DIR``).

Sums run in the same order as the plain-NumPy reference
(:mod:`materiel.simulation.reference_numpy`), so both give bit-identical results.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, cast

import numba
import numpy as np

from materiel.model import rules
from materiel.model.compiled import FloatArray, IntArray

F = TypeVar("F", bound=Callable[..., Any])


def _jit(fn: F) -> F:
    """Compile ``fn`` (cached on disk, releasing the GIL, NumPy's float semantics)."""
    return cast(F, numba.njit(cache=True, nogil=True, error_model="numpy")(fn))


def _scalar(rule: Callable[..., FloatArray]) -> Callable[..., float]:
    """A rule of :mod:`materiel.model.rules`, compiled for scalars."""
    return cast(Callable[..., float], _jit(rule))


_need = _scalar(rules.need)
_fired = _scalar(rules.fired)
_above_floor = _scalar(rules.above_floor)
_ramp_at = _scalar(rules.ramp_at)
_claimed = _scalar(rules.claimed)


@_jit
def _set(value: float, absolute: float) -> float:
    """An event's absolute value where it sets one (not NaN), else ``value``
    (the scalar form of :func:`materiel.model.rules.override`)."""
    return value if math.isnan(absolute) else absolute


class Index(NamedTuple):
    """Static positions (int64) of one model + scenario; shapes in brackets.

    Pairs P are the tracked (actor, item) stocks; N claim links; E end lines; H holdings of
    intermediates; K slots of inputs per line; T tiers; steps are (class, tier) groups."""

    pair_actor: IntArray  # (P,)
    stock_pair: IntArray  # (S,)
    use_pair: IntArray  # (C,)
    use_actor: IntArray  # (C,)
    flow_pair: IntArray  # (L,)
    claim_pair: IntArray  # (Q,)
    claim_use: IntArray  # (Q,) consumption row of the claim's recipient, -1 if none
    giver_pair: IntArray  # (X,)
    taker_pair: IntArray  # (X,)
    link_facility: IntArray  # (N,)
    link_claim: IntArray  # (N,)
    link_slot: IntArray  # (N,) priority rank x E + the line's position among end lines
    end_lines: IntArray  # (E,)
    end_pair: IntArray  # (E,) producer country's holding of the end line's item
    build_facility: IntArray  # (B,) line of each capacity addition
    build_option: IntArray  # (B,) expansion option of each
    plan_option: IntArray  # (J,) the plan's builds (capex charged in their month)
    facility_item: IntArray  # (F,)
    facility_held: IntArray  # (F,) holding of an intermediate line's output, -1 for end
    line_slots: IntArray  # (F+1,) offsets into slot_input and slot_row
    slot_input: IntArray  # (V,) limited input item of each line's input slots, line by line
    slot_row: IntArray  # (V,) recipe row of each slot
    tier_start: IntArray  # (T+1,) offsets into tier_lines
    tier_lines: IntArray  # (F,) lines tier by tier
    step_start: IntArray  # (steps+1,) offsets into step_lines
    step_lines: IntArray  # (F,) lines step by step
    step_input_start: IntArray  # (steps+1,) offsets into step_inputs
    step_inputs: IntArray  # limited input items of each step's lines, step by step
    step_made_start: IntArray  # (steps+1,) offsets into step_held
    step_held: IntArray  # holdings each step's intermediate lines add to (unique per step)
    step_item_start: IntArray  # (steps+1,) offsets into step_items
    step_items: IntArray  # intermediate items each step makes (unique per step)
    held_pair: IntArray  # (H,)
    held_item: IntArray  # (H,)
    item_held_start: IntArray  # (I+1,) offsets into item_held
    item_held: IntArray  # (H,) holdings item by item
    ratio_side: IntArray  # (C,) 1 UKR rows counted in the fire ratio, -1 RUS, 0 neither


class Constants(NamedTuple):
    """Scalars and float vectors that do not vary by draw."""

    items: int
    classes: int  # recipient priority ranks
    buffer: float  # months of downstream need intermediate lines produce ahead
    min_fire: float  # rounds/month Russia must fire for the fire ratio to be defined
    ratio: bool  # whether the fire ratio is an output
    use_weight: FloatArray  # (C,) weight of each consumption row in the weighted shortfall
    build_month: FloatArray  # (B,) decision month of each capacity addition
    build_scale: FloatArray  # (B,)
    plan_month: FloatArray  # (J,)
    plan_scale: FloatArray  # (J,)


class Draws(NamedTuple):
    """Sampled figures, each (D, n) float64."""

    capacity: FloatArray
    lead_time: FloatArray
    ramp_time: FloatArray
    added_capacity: FloatArray
    recipe_quantity: FloatArray
    sustain_months: FloatArray
    stock_quantity: FloatArray
    stock_floor: FloatArray
    unit_cost: FloatArray
    capex: FloatArray
    flow_rate: FloatArray
    consumption_rate: FloatArray
    claim_share: FloatArray
    claim_rate: FloatArray


class Monthly(NamedTuple):
    """The scenario month by month, each (M, n) float64 (NaN: no absolute value set)."""

    intensity: FloatArray  # (M, A)
    consumption_factor: FloatArray  # (M, C)
    consumption_rate: FloatArray
    availability: FloatArray  # (M, F)
    capacity_rate: FloatArray
    order_level: FloatArray  # (M, F) the scenario's, or a plan's order shares
    flow_factor: FloatArray  # (M, L)
    flow_rate: FloatArray
    claim_factor: FloatArray  # (M, Q)
    claim_share: FloatArray
    claim_rate: FloatArray
    stock_loss: FloatArray  # (M, A)
    transfer_quantity: FloatArray  # (M, X)
    transfer_share: FloatArray


class Outputs(NamedTuple):
    """Result arrays (float32) with a leading draw axis; see ``engine.output_arrays``."""

    capacity: FloatArray  # (D, M, F)
    production: FloatArray  # (D, M, F)
    stock: FloatArray  # (D, M, P)
    delivered: FloatArray  # (D, M, P)
    served: FloatArray  # (D, M, Q)
    wanted: FloatArray  # (D, M, C)
    fired: FloatArray  # (D, M, C)
    weighted_shortfall: FloatArray  # (D, M)
    cost: FloatArray  # (D, M)
    fire_ratio: FloatArray  # (D, M), or (D, 0) when not an output


@_jit
def simulate(
    lo: int, hi: int, ix: Index, k: Constants, pr: Draws, sc: Monthly, out: Outputs
) -> None:
    """Simulate draws ``lo .. hi-1`` of ``pr`` into the same rows of ``out``.

    Each month: stock losses -> flows and transfers arrive -> needs and claims -> claims
    split over their lines by capacity, requirements pulled down the bill of materials ->
    production class by class, each class up the tiers (scarce inputs in proportion to the
    requests of a class) -> end items to claims by recipient priority, the rest to the
    producer country -> users fire under their sustainment policy."""
    n_m = sc.intensity.shape[0]
    n_p, n_f, n_i = ix.pair_actor.shape[0], ix.facility_item.shape[0], k.items
    n_c, n_q, n_n = ix.use_pair.shape[0], ix.claim_pair.shape[0], ix.link_claim.shape[0]
    n_e, n_h, n_b = ix.end_lines.shape[0], ix.held_pair.shape[0], ix.build_facility.shape[0]
    n_x, n_v = ix.giver_pair.shape[0], ix.slot_input.shape[0]
    n_tiers, n_steps = ix.tier_start.shape[0] - 1, ix.step_start.shape[0] - 1
    stock, floor, delivered = np.zeros(n_p), np.zeros(n_p), np.zeros(n_p)
    pair_a, pair_b, pair_c = np.zeros(n_p), np.zeros(n_p), np.zeros(n_p)
    online, ramp, added = np.zeros(n_b), np.zeros(n_b), np.zeros(n_b)
    sustain, wanted, needs, fired = np.zeros(n_c), np.zeros(n_c), np.zeros(n_c), np.zeros(n_c)
    claims, served, group_cap = np.zeros(n_q), np.zeros(n_q), np.zeros(n_q)
    link_req = np.zeros(n_n)
    capacity, extra, required = np.zeros(n_f), np.zeros(n_f), np.zeros(n_f)
    request, produced = np.zeros(n_f), np.zeros(n_f)
    cap_item, held, demand = np.zeros(n_i + 1), np.zeros(n_i + 1), np.zeros(n_i + 1)
    available, asked, used = np.zeros(n_i + 1), np.zeros(n_i + 1), np.zeros(n_i + 1)
    add_item, ratio = np.zeros(n_i + 1), np.zeros(n_i + 1)
    inventory, add_held = np.zeros(n_h), np.zeros(n_h)
    amount, spare = np.zeros(n_x), np.zeros(n_x)
    fill_asked, fill = np.zeros(k.classes * n_e), np.zeros(k.classes * n_e)
    remaining, price = np.zeros(n_e), np.zeros(n_e)
    per_unit = np.zeros(n_v)
    grow = 1.0 + k.buffer
    losses = np.zeros(n_m, np.bool_)  # months with stock losses
    moves = np.zeros(n_m, np.bool_)  # months with transfers
    for t in range(n_m):
        for a in range(sc.stock_loss.shape[1]):
            losses[t] |= sc.stock_loss[t, a] != 0.0
        for x in range(n_x):
            q, share = sc.transfer_quantity[t, x], sc.transfer_share[t, x]
            moves[t] |= not (math.isnan(q) and math.isnan(share))

    for d in range(lo, hi):
        stock[:] = 0.0
        floor[:] = 0.0
        for s in range(ix.stock_pair.shape[0]):
            stock[ix.stock_pair[s]] = pr.stock_quantity[d, s]
            floor[ix.stock_pair[s]] = pr.stock_floor[d, s]
        for b in range(n_b):
            e = ix.build_option[b]
            online[b] = k.build_month[b] + pr.lead_time[d, e]
            ramp[b] = pr.ramp_time[d, e]
            added[b] = pr.added_capacity[d, e] * k.build_scale[b]
        for c in range(n_c):
            sustain[c] = pr.sustain_months[d, ix.use_actor[c]]
        for e in range(n_e):
            price[e] = pr.unit_cost[d, ix.end_lines[e]]
        for v in range(n_v):
            per_unit[v] = pr.recipe_quantity[d, ix.slot_row[v]]

        for t in range(n_m):
            if losses[t]:
                for p in range(n_p):
                    loss = sc.stock_loss[t, ix.pair_actor[p]]
                    if loss != 0.0:
                        stock[p] *= 1.0 - loss
            # 1. flows and transfers arrive
            delivered[:] = 0.0
            for n in range(pr.flow_rate.shape[1]):
                rate = _set(pr.flow_rate[d, n] * sc.flow_factor[t, n], sc.flow_rate[t, n])
                delivered[ix.flow_pair[n]] += rate
            if moves[t]:
                pair_a[:] = 0.0
                pair_b[:] = 0.0
                pair_c[:] = 0.0
                for x in range(n_x):
                    g = ix.giver_pair[x]
                    spare[x] = _above_floor(stock[g], floor[g])
                    q, share = sc.transfer_quantity[t, x], sc.transfer_share[t, x]
                    if math.isnan(q):
                        amount[x] = (0.0 if math.isnan(share) else share) * spare[x]
                    else:
                        amount[x] = q
                    pair_a[g] += amount[x]
                for x in range(n_x):
                    g = ix.giver_pair[x]
                    moved = amount[x]
                    if pair_a[g] > spare[x]:
                        moved = amount[x] * (spare[x] / pair_a[g])
                    pair_b[g] += moved
                    pair_c[ix.taker_pair[x]] += moved
                for p in range(n_p):
                    stock[p] -= pair_b[p]
                    delivered[p] += pair_c[p]
            for p in range(n_p):
                stock[p] += delivered[p]
            # 2. needs and claims
            for c in range(n_c):
                base = pr.consumption_rate[d, c] * sc.intensity[t, ix.use_actor[c]]
                wanted[c] = _set(base * sc.consumption_factor[t, c], sc.consumption_rate[t, c])
                needs[c] = _need(sustain[c], wanted[c], stock[ix.use_pair[c]])
            for q in range(n_q):
                share = _set(pr.claim_share[d, q], sc.claim_share[t, q])
                fixed = _set(pr.claim_rate[d, q], sc.claim_rate[t, q])
                use = ix.claim_use[q]
                claims[q] = _claimed(
                    share, needs[use] if use >= 0 else 0.0, fixed, sc.claim_factor[t, q]
                )
            # 3. capacity; claims split over their lines by capacity; demand pulled down
            extra[:] = 0.0
            for b in range(n_b):
                extra[ix.build_facility[b]] += _ramp_at(t, online[b], ramp[b]) * added[b]
            cap_item[:] = 0.0
            for f in range(n_f):
                built = pr.capacity[d, f] + extra[f]
                capacity[f] = _set(built * sc.availability[t, f], sc.capacity_rate[t, f])
                cap_item[ix.facility_item[f]] += capacity[f]
            group_cap[:] = 0.0
            for n in range(n_n):
                group_cap[ix.link_claim[n]] += capacity[ix.link_facility[n]]
            required[:] = 0.0
            for n in range(n_n):
                q, f = ix.link_claim[n], ix.link_facility[n]
                link_req[n] = claims[q] * capacity[f] / group_cap[q] if group_cap[q] > 0 else 0.0
                required[f] += link_req[n]
            for f in range(n_f):
                level = sc.order_level[t, f]
                if not math.isnan(level):
                    required[f] = max(required[f], level * capacity[f])
            held[:] = 0.0
            for h in range(n_h):
                inventory[h] = stock[ix.held_pair[h]]
                held[ix.held_item[h]] += inventory[h]
            demand[:] = 0.0
            for tier in range(n_tiers - 1, -1, -1):  # pull, from end items down
                for j in range(ix.tier_start[tier], ix.tier_start[tier + 1]):
                    f = ix.tier_lines[j]
                    if ix.facility_held[f] < 0:
                        continue
                    i = ix.facility_item[f]
                    target = max(0.0, demand[i] * grow - held[i])
                    split = capacity[f] / cap_item[i] if cap_item[i] > 0 else 0.0
                    required[f] = max(required[f], target * split)
                if tier == 0:
                    break  # the lowest tier's inputs are made by no line
                add_item[:] = 0.0
                for j in range(ix.tier_start[tier], ix.tier_start[tier + 1]):
                    f = ix.tier_lines[j]
                    want = min(capacity[f], required[f])
                    for v in range(ix.line_slots[f], ix.line_slots[f + 1]):
                        add_item[ix.slot_input[v]] += want * per_unit[v]
                for i in range(n_i):
                    demand[i] += add_item[i]
            # 4. production, class by class, each class up the bill of materials
            for f in range(n_f):
                request[f] = min(capacity[f], required[f])
            available[:n_i] = held[:n_i]
            for step in range(n_steps):
                lines = ix.step_lines[ix.step_start[step] : ix.step_start[step + 1]]
                inputs = ix.step_inputs[ix.step_input_start[step] : ix.step_input_start[step + 1]]
                for i in inputs:
                    asked[i] = 0.0
                    used[i] = 0.0
                for f in lines:
                    for v in range(ix.line_slots[f], ix.line_slots[f + 1]):
                        asked[ix.slot_input[v]] += request[f] * per_unit[v]
                for i in inputs:  # share of each input's asks it can meet
                    ratio[i] = min(1.0, available[i] / asked[i]) if asked[i] > 0 else 1.0
                for f in lines:
                    share = 1.0
                    for v in range(ix.line_slots[f], ix.line_slots[f + 1]):
                        share = min(share, ratio[ix.slot_input[v]])
                    produced[f] = request[f] * share
                    for v in range(ix.line_slots[f], ix.line_slots[f + 1]):
                        used[ix.slot_input[v]] += produced[f] * per_unit[v]
                for i in inputs:
                    if used[i] > 0:
                        available[i] = max(available[i] - used[i], 0.0)
                        holders = ix.item_held[ix.item_held_start[i] : ix.item_held_start[i + 1]]
                        total = 0.0
                        for h in holders:
                            total += inventory[h]
                        if total > 0:
                            for h in holders:
                                mine = inventory[h]
                                inventory[h] = mine - min(mine, mine / total * used[i])
                made_held = ix.step_held[ix.step_made_start[step] : ix.step_made_start[step + 1]]
                made_items = ix.step_items[ix.step_item_start[step] : ix.step_item_start[step + 1]]
                for h in made_held:
                    add_held[h] = 0.0
                for i in made_items:
                    add_item[i] = 0.0
                for f in lines:
                    if ix.facility_held[f] >= 0:
                        add_held[ix.facility_held[f]] += produced[f]
                        add_item[ix.facility_item[f]] += produced[f]
                for h in made_held:
                    inventory[h] += add_held[h]
                for i in made_items:
                    available[i] += add_item[i]
            for h in range(n_h):
                stock[ix.held_pair[h]] = inventory[h]
            # 5. end items to claims by recipient priority; the rest stays with the producer
            fill_asked[:] = 0.0
            for n in range(n_n):
                fill_asked[ix.link_slot[n]] += link_req[n]
            for e in range(n_e):
                remaining[e] = produced[ix.end_lines[e]]
            for rank in range(k.classes):
                for e in range(n_e):
                    a = fill_asked[rank * n_e + e]
                    fill[rank * n_e + e] = min(1.0, remaining[e] / a) if a > 0 else 0.0
                    remaining[e] -= min(remaining[e], a)
            served[:] = 0.0
            for n in range(n_n):
                served[ix.link_claim[n]] += link_req[n] * fill[ix.link_slot[n]]
            pair_a[:] = 0.0
            pair_b[:] = 0.0
            for q in range(n_q):
                pair_a[ix.claim_pair[q]] += served[q]
            for e in range(n_e):
                pair_b[ix.end_pair[e]] += remaining[e]
            for p in range(n_p):
                stock[p] += pair_a[p] + pair_b[p]
                delivered[p] += pair_a[p]
            # 6. users fire under their sustainment policy
            shortfall, ours, theirs = 0.0, 0.0, 0.0
            for c in range(n_c):
                fired[c] = _fired(sustain[c], wanted[c], stock[ix.use_pair[c]])
            for c in range(n_c):
                stock[ix.use_pair[c]] -= fired[c]
                shortfall += k.use_weight[c] * (wanted[c] - fired[c])
                if ix.ratio_side[c] > 0:
                    ours += fired[c]
                elif ix.ratio_side[c] < 0:
                    theirs += fired[c]
            cost = 0.0
            for e in range(n_e):
                cost += produced[ix.end_lines[e]] * price[e]
            capex = 0.0
            for j in range(ix.plan_option.shape[0]):
                if k.plan_month[j] == t:
                    capex += pr.capex[d, ix.plan_option[j]] * k.plan_scale[j]

            out.capacity[d, t, :] = capacity
            out.production[d, t, :] = produced
            out.stock[d, t, :] = stock
            out.delivered[d, t, :] = delivered
            out.served[d, t, :] = served
            out.wanted[d, t, :] = wanted
            out.fired[d, t, :] = fired
            out.weighted_shortfall[d, t] = shortfall
            out.cost[d, t] = cost + capex
            if k.ratio:
                out.fire_ratio[d, t] = ours / theirs if theirs >= k.min_fire else np.nan
