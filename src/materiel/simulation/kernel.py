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
    """Result arrays (float32) with a leading draw axis; see ``engine.output_arrays``. A
    (D, M, 0) array is an output not stored (its figures are still computed)."""

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


LANES = 64
"""Draws simulated side by side: every state array is (n, LANES), so each step of the
equations runs on LANES draws at once (vector instructions)."""


@_jit
def simulate(
    lo: int, hi: int, ix: Index, k: Constants, pr: Draws, sc: Monthly, out: Outputs
) -> None:
    """Simulate draws ``lo .. hi-1`` of ``pr`` into the same rows of ``out``, LANES at a time.

    Each month: stock losses -> flows and transfers arrive -> needs and claims -> claims
    split over their lines by capacity, requirements pulled down the bill of materials ->
    production class by class, each class up the tiers (scarce inputs in proportion to the
    requests of a class) -> end items to claims by recipient priority, the rest to the
    producer country -> users fire under their sustainment policy."""
    n_m, L = sc.intensity.shape[0], LANES
    n_p, n_f, n_i = ix.pair_actor.shape[0], ix.facility_item.shape[0], k.items
    n_c, n_q, n_n = ix.use_pair.shape[0], ix.claim_pair.shape[0], ix.link_claim.shape[0]
    n_e, n_h, n_u = ix.end_lines.shape[0], ix.held_pair.shape[0], ix.build_facility.shape[0]
    n_x, n_v = ix.giver_pair.shape[0], ix.slot_input.shape[0]
    n_tiers, n_steps = ix.tier_start.shape[0] - 1, ix.step_start.shape[0] - 1
    stock, floor, delivered = np.zeros((n_p, L)), np.zeros((n_p, L)), np.zeros((n_p, L))
    pair_a, pair_b, pair_c = np.zeros((n_p, L)), np.zeros((n_p, L)), np.zeros((n_p, L))
    online, ramp, added = np.zeros((n_u, L)), np.zeros((n_u, L)), np.zeros((n_u, L))
    sustain, wanted = np.zeros((n_c, L)), np.zeros((n_c, L))
    needs, fired = np.zeros((n_c, L)), np.zeros((n_c, L))
    claims, served, group_cap = np.zeros((n_q, L)), np.zeros((n_q, L)), np.zeros((n_q, L))
    link_req = np.zeros((n_n, L))
    capacity, extra, required = np.zeros((n_f, L)), np.zeros((n_f, L)), np.zeros((n_f, L))
    request, produced = np.zeros((n_f, L)), np.zeros((n_f, L))
    cap_item, held, demand = np.zeros((n_i, L)), np.zeros((n_i, L)), np.zeros((n_i, L))
    available, asked, used = np.zeros((n_i, L)), np.zeros((n_i, L)), np.zeros((n_i, L))
    add_item, ratio = np.zeros((n_i, L)), np.zeros((n_i, L))
    inventory, add_held = np.zeros((n_h, L)), np.zeros((n_h, L))
    amount, spare = np.zeros((n_x, L)), np.zeros((n_x, L))
    fill_asked, fill = np.zeros((k.classes * n_e, L)), np.zeros((k.classes * n_e, L))
    remaining, price = np.zeros((n_e, L)), np.zeros((n_e, L))
    per_unit = np.zeros((n_v, L))
    total, share, shortfall = np.zeros(L), np.zeros(L), np.zeros(L)
    ours, theirs, cost = np.zeros(L), np.zeros(L), np.zeros(L)
    grow = 1.0 + k.buffer
    losses = np.zeros(n_m, np.bool_)  # months with stock losses
    moves = np.zeros(n_m, np.bool_)  # months with transfers
    for t in range(n_m):
        for a in range(sc.stock_loss.shape[1]):
            losses[t] |= sc.stock_loss[t, a] != 0.0
        for x in range(n_x):
            q, part = sc.transfer_quantity[t, x], sc.transfer_share[t, x]
            moves[t] |= not (math.isnan(q) and math.isnan(part))
    lane = np.zeros(L, np.int64)  # draw of each lane

    for first in range(lo, hi, L):
        count = min(L, hi - first)
        for b in range(L):  # lanes past the last draw repeat it; their results are dropped
            lane[b] = first + min(b, count - 1)
        stock[:] = 0.0
        floor[:] = 0.0
        for s in range(ix.stock_pair.shape[0]):
            for b in range(L):
                stock[ix.stock_pair[s], b] = pr.stock_quantity[lane[b], s]
                floor[ix.stock_pair[s], b] = pr.stock_floor[lane[b], s]
        for u in range(n_u):
            e = ix.build_option[u]
            for b in range(L):
                online[u, b] = k.build_month[u] + pr.lead_time[lane[b], e]
                ramp[u, b] = pr.ramp_time[lane[b], e]
                added[u, b] = pr.added_capacity[lane[b], e] * k.build_scale[u]
        for c in range(n_c):
            for b in range(L):
                sustain[c, b] = pr.sustain_months[lane[b], ix.use_actor[c]]
        for e in range(n_e):
            for b in range(L):
                price[e, b] = pr.unit_cost[lane[b], ix.end_lines[e]]
        for v in range(n_v):
            for b in range(L):
                per_unit[v, b] = pr.recipe_quantity[lane[b], ix.slot_row[v]]

        for t in range(n_m):
            if losses[t]:
                for p in range(n_p):
                    keep = 1.0 - sc.stock_loss[t, ix.pair_actor[p]]
                    if keep != 1.0:
                        for b in range(L):
                            stock[p, b] *= keep
            # 1. flows and transfers arrive
            delivered[:] = 0.0
            for n in range(pr.flow_rate.shape[1]):
                absolute, factor, to = sc.flow_rate[t, n], sc.flow_factor[t, n], ix.flow_pair[n]
                for b in range(L):
                    delivered[to, b] += _set(pr.flow_rate[lane[b], n] * factor, absolute)
            if moves[t]:
                pair_a[:] = 0.0
                pair_b[:] = 0.0
                pair_c[:] = 0.0
                for x in range(n_x):
                    g = ix.giver_pair[x]
                    q, part = sc.transfer_quantity[t, x], sc.transfer_share[t, x]
                    part = 0.0 if math.isnan(part) else part
                    for b in range(L):
                        spare[x, b] = _above_floor(stock[g, b], floor[g, b])
                        amount[x, b] = part * spare[x, b] if math.isnan(q) else q
                        pair_a[g, b] += amount[x, b]
                for x in range(n_x):
                    g = ix.giver_pair[x]
                    for b in range(L):
                        moved = amount[x, b]
                        if pair_a[g, b] > spare[x, b]:
                            moved = amount[x, b] * (spare[x, b] / pair_a[g, b])
                        pair_b[g, b] += moved
                        pair_c[ix.taker_pair[x], b] += moved
                for p in range(n_p):
                    for b in range(L):
                        stock[p, b] -= pair_b[p, b]
                        delivered[p, b] += pair_c[p, b]
            for p in range(n_p):
                for b in range(L):
                    stock[p, b] += delivered[p, b]
            # 2. needs and claims
            for c in range(n_c):
                intensity, use = sc.intensity[t, ix.use_actor[c]], ix.use_pair[c]
                factor, absolute = sc.consumption_factor[t, c], sc.consumption_rate[t, c]
                for b in range(L):
                    base = pr.consumption_rate[lane[b], c] * intensity
                    wanted[c, b] = _set(base * factor, absolute)
                    needs[c, b] = _need(sustain[c, b], wanted[c, b], stock[use, b])
            for q in range(n_q):
                use, factor = ix.claim_use[q], sc.claim_factor[t, q]
                for b in range(L):
                    part = _set(pr.claim_share[lane[b], q], sc.claim_share[t, q])
                    fixed = _set(pr.claim_rate[lane[b], q], sc.claim_rate[t, q])
                    need = needs[use, b] if use >= 0 else 0.0
                    claims[q, b] = _claimed(part, need, fixed, factor)
            # 3. capacity; claims split over their lines by capacity; demand pulled down
            extra[:] = 0.0
            for u in range(n_u):
                f = ix.build_facility[u]
                for b in range(L):
                    extra[f, b] += _ramp_at(t, online[u, b], ramp[u, b]) * added[u, b]
            cap_item[:] = 0.0
            for f in range(n_f):
                i, factor, absolute = (
                    ix.facility_item[f],
                    sc.availability[t, f],
                    sc.capacity_rate[t, f],
                )
                for b in range(L):
                    built = pr.capacity[lane[b], f] + extra[f, b]
                    capacity[f, b] = _set(built * factor, absolute)
                    cap_item[i, b] += capacity[f, b]
            group_cap[:] = 0.0
            for n in range(n_n):
                q, f = ix.link_claim[n], ix.link_facility[n]
                for b in range(L):
                    group_cap[q, b] += capacity[f, b]
            required[:] = 0.0
            for n in range(n_n):
                q, f = ix.link_claim[n], ix.link_facility[n]
                for b in range(L):
                    g = group_cap[q, b]
                    link_req[n, b] = claims[q, b] * capacity[f, b] / g if g > 0 else 0.0
                    required[f, b] += link_req[n, b]
            for f in range(n_f):
                level = sc.order_level[t, f]
                if not math.isnan(level):
                    for b in range(L):
                        required[f, b] = max(required[f, b], level * capacity[f, b])
            held[:] = 0.0
            for h in range(n_h):
                pair, i = ix.held_pair[h], ix.held_item[h]
                for b in range(L):
                    inventory[h, b] = stock[pair, b]
                    held[i, b] += inventory[h, b]
            demand[:] = 0.0
            for tier in range(n_tiers - 1, -1, -1):  # pull, from end items down
                for j in range(ix.tier_start[tier], ix.tier_start[tier + 1]):
                    f = ix.tier_lines[j]
                    if ix.facility_held[f] < 0:
                        continue
                    i = ix.facility_item[f]
                    for b in range(L):
                        target = max(0.0, demand[i, b] * grow - held[i, b])
                        split = capacity[f, b] / cap_item[i, b] if cap_item[i, b] > 0 else 0.0
                        required[f, b] = max(required[f, b], target * split)
                if tier == 0:
                    break  # the lowest tier's inputs are made by no line
                add_item[:] = 0.0
                for j in range(ix.tier_start[tier], ix.tier_start[tier + 1]):
                    f = ix.tier_lines[j]
                    for v in range(ix.line_slots[f], ix.line_slots[f + 1]):
                        i = ix.slot_input[v]
                        for b in range(L):
                            want = min(capacity[f, b], required[f, b])
                            add_item[i, b] += want * per_unit[v, b]
                for i in range(n_i):
                    for b in range(L):
                        demand[i, b] += add_item[i, b]
            # 4. production, class by class, each class up the bill of materials
            for f in range(n_f):
                for b in range(L):
                    request[f, b] = min(capacity[f, b], required[f, b])
            available[:] = held
            for step in range(n_steps):
                lines = ix.step_lines[ix.step_start[step] : ix.step_start[step + 1]]
                inputs = ix.step_inputs[ix.step_input_start[step] : ix.step_input_start[step + 1]]
                for i in inputs:
                    for b in range(L):
                        asked[i, b] = 0.0
                        used[i, b] = 0.0
                for f in lines:
                    for v in range(ix.line_slots[f], ix.line_slots[f + 1]):
                        i = ix.slot_input[v]
                        for b in range(L):
                            asked[i, b] += request[f, b] * per_unit[v, b]
                for i in inputs:  # share of each input's asks it can meet
                    for b in range(L):
                        a = asked[i, b]
                        ratio[i, b] = min(1.0, available[i, b] / a) if a > 0 else 1.0
                for f in lines:
                    share[:] = 1.0
                    for v in range(ix.line_slots[f], ix.line_slots[f + 1]):
                        i = ix.slot_input[v]
                        for b in range(L):
                            share[b] = min(share[b], ratio[i, b])
                    for b in range(L):
                        produced[f, b] = request[f, b] * share[b]
                    for v in range(ix.line_slots[f], ix.line_slots[f + 1]):
                        i = ix.slot_input[v]
                        for b in range(L):
                            used[i, b] += produced[f, b] * per_unit[v, b]
                for i in inputs:
                    holders = ix.item_held[ix.item_held_start[i] : ix.item_held_start[i + 1]]
                    total[:] = 0.0
                    for h in holders:
                        for b in range(L):
                            total[b] += inventory[h, b]
                    for b in range(L):
                        if used[i, b] > 0:
                            available[i, b] = max(available[i, b] - used[i, b], 0.0)
                            if total[b] > 0:
                                for h in holders:
                                    mine = inventory[h, b]
                                    inventory[h, b] = mine - min(mine, mine / total[b] * used[i, b])
                made_held = ix.step_held[ix.step_made_start[step] : ix.step_made_start[step + 1]]
                made_items = ix.step_items[ix.step_item_start[step] : ix.step_item_start[step + 1]]
                for h in made_held:
                    for b in range(L):
                        add_held[h, b] = 0.0
                for i in made_items:
                    for b in range(L):
                        add_item[i, b] = 0.0
                for f in lines:
                    h, i = ix.facility_held[f], ix.facility_item[f]
                    if h >= 0:
                        for b in range(L):
                            add_held[h, b] += produced[f, b]
                            add_item[i, b] += produced[f, b]
                for h in made_held:
                    for b in range(L):
                        inventory[h, b] += add_held[h, b]
                for i in made_items:
                    for b in range(L):
                        available[i, b] += add_item[i, b]
            for h in range(n_h):
                pair = ix.held_pair[h]
                for b in range(L):
                    stock[pair, b] = inventory[h, b]
            # 5. end items to claims by recipient priority; the rest stays with the producer
            fill_asked[:] = 0.0
            for n in range(n_n):
                slot = ix.link_slot[n]
                for b in range(L):
                    fill_asked[slot, b] += link_req[n, b]
            for e in range(n_e):
                f = ix.end_lines[e]
                for b in range(L):
                    remaining[e, b] = produced[f, b]
            for rank in range(k.classes):
                for e in range(n_e):
                    slot = rank * n_e + e
                    for b in range(L):
                        a = fill_asked[slot, b]
                        fill[slot, b] = min(1.0, remaining[e, b] / a) if a > 0 else 0.0
                        remaining[e, b] -= min(remaining[e, b], a)
            served[:] = 0.0
            for n in range(n_n):
                q, slot = ix.link_claim[n], ix.link_slot[n]
                for b in range(L):
                    served[q, b] += link_req[n, b] * fill[slot, b]
            pair_a[:] = 0.0
            pair_b[:] = 0.0
            for q in range(n_q):
                pair = ix.claim_pair[q]
                for b in range(L):
                    pair_a[pair, b] += served[q, b]
            for e in range(n_e):
                pair = ix.end_pair[e]
                for b in range(L):
                    pair_b[pair, b] += remaining[e, b]
            for p in range(n_p):
                for b in range(L):
                    stock[p, b] += pair_a[p, b] + pair_b[p, b]
                    delivered[p, b] += pair_a[p, b]
            # 6. users fire under their sustainment policy
            for c in range(n_c):
                use = ix.use_pair[c]
                for b in range(L):
                    fired[c, b] = _fired(sustain[c, b], wanted[c, b], stock[use, b])
            shortfall[:] = 0.0
            ours[:] = 0.0
            theirs[:] = 0.0
            for c in range(n_c):
                use, weight, side = ix.use_pair[c], k.use_weight[c], ix.ratio_side[c]
                for b in range(L):
                    stock[use, b] -= fired[c, b]
                    shortfall[b] += weight * (wanted[c, b] - fired[c, b])
                    if side > 0:
                        ours[b] += fired[c, b]
                    elif side < 0:
                        theirs[b] += fired[c, b]
            cost[:] = 0.0
            for e in range(n_e):
                f = ix.end_lines[e]
                for b in range(L):
                    cost[b] += produced[f, b] * price[e, b]

            for b in range(count):
                d = first + b
                capex = 0.0
                for j in range(ix.plan_option.shape[0]):
                    if k.plan_month[j] == t:
                        capex += pr.capex[d, ix.plan_option[j]] * k.plan_scale[j]
                # as many columns as each output has: one of width 0 is not stored
                for f in range(out.capacity.shape[2]):
                    out.capacity[d, t, f] = capacity[f, b]
                for f in range(out.production.shape[2]):
                    out.production[d, t, f] = produced[f, b]
                for p in range(out.stock.shape[2]):
                    out.stock[d, t, p] = stock[p, b]
                for p in range(out.delivered.shape[2]):
                    out.delivered[d, t, p] = delivered[p, b]
                for q in range(out.served.shape[2]):
                    out.served[d, t, q] = served[q, b]
                for c in range(out.wanted.shape[2]):
                    out.wanted[d, t, c] = wanted[c, b]
                for c in range(out.fired.shape[2]):
                    out.fired[d, t, c] = fired[c, b]
                out.weighted_shortfall[d, t] = shortfall[b]
                out.cost[d, t] = cost[b] + capex
                if k.ratio:
                    ratio_defined = theirs[b] >= k.min_fire
                    out.fire_ratio[d, t] = ours[b] / theirs[b] if ratio_defined else np.nan
