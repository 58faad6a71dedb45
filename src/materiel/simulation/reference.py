"""A plain per-draw implementation of the simulator: the test oracle and benchmark peer.

Slow on purpose: it spells out the equations of docs/methodology.md one draw, line, claim and
month at a time with Python scalars, written independently of the compiled kernel and its
plain-NumPy reference (which apply :mod:`materiel.model.rules`), so the tests can compare them.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from materiel.model.compiled import FloatArray, Model
from materiel.model.events import ScenarioArrays
from materiel.model.plan import Plan, builds
from materiel.model.rules import claim_links, fire_ratio_items, line_classes, weighted_rows

Pair = tuple[int, int]


def _rate(base: float, factor: float, absolute: float) -> float:
    return base * factor if math.isnan(absolute) else absolute


def run_reference(
    model: Model, sc: ScenarioArrays, p: dict[str, FloatArray], plan: Plan | None = None
) -> dict[str, FloatArray]:
    """Production (D, M, F), fired (D, M, C) and weighted_shortfall (D, M), draw by draw.

    Plans may add builds; plan orders are not supported here."""
    assert plan is None or plan.orders is None
    n_draws, months = p["capacity"].shape[0], sc.months
    n_f, n_c = len(model.facilities), len(model.consumption_rate)
    kind = model.item_kind.to_numpy()
    end = [kind[model.facility_item[f]] in ("end", "service") for f in range(n_f)]
    depth = [int(model.item_depth[model.facility_item[f]]) for f in range(n_f)]
    classes = line_classes(model)
    link_f, link_q = claim_links(model)
    weights = weighted_rows(model)
    counted = fire_ratio_items(model)
    inputs: dict[int, list[tuple[int, int]]] = defaultdict(list)  # facility -> (recipe, item)
    for r, (out_item, in_item) in enumerate(
        zip(model.recipe_item, model.recipe_input, strict=True)
    ):
        if not model.item_limited[in_item]:
            continue
        for f in range(n_f):
            if model.facility_item[f] == out_item and model.facility_inputs[f] == "chain":
                inputs[f].append((r, int(in_item)))
    exp, decided, scale = builds(model, plan)
    production = np.zeros((n_draws, months, n_f))
    fired_out = np.zeros((n_draws, months, n_c))
    weighted = np.zeros((n_draws, months))
    ratio = np.full((n_draws, months), np.nan)

    for d in range(n_draws):
        stock: dict[Pair, float] = defaultdict(float)
        floor: dict[Pair, float] = defaultdict(float)
        for s in range(len(model.stock_actor)):
            pair = (int(model.stock_actor[s]), int(model.stock_item[s]))
            stock[pair] += p["stock_quantity"][d, s]
            floor[pair] = p["stock_floor"][d, s]
        for t in range(months):
            for pair in stock:
                stock[pair] *= 1.0 - sc.stock_loss[t, pair[0]]
            # 1. flows and transfers
            for n in range(len(model.flow_rate)):
                pair = (int(model.flow_recipient[n]), int(model.flow_item[n]))
                stock[pair] += _rate(p["flow_rate"][d, n], sc.flow_factor[t, n], sc.flow_rate[t, n])
            x = sc.transfers
            asked: dict[Pair, float] = defaultdict(float)
            amounts = []
            for k in range(len(x)):
                giver = (int(x.giver[k]), int(x.item[k]))
                spare = max(0.0, stock[giver] - floor[giver])
                q = x.quantity[t, k]
                amount = (0.0 if math.isnan(x.share[t, k]) else x.share[t, k]) * spare
                amount = amount if math.isnan(q) else q
                amounts.append(amount)
                asked[giver] += amount
            for k in range(len(x)):
                giver, taker = (int(x.giver[k]), int(x.item[k])), (int(x.taker[k]), int(x.item[k]))
                spare = max(0.0, stock[giver] - floor[giver])
                moved = amounts[k] * (spare / asked[giver] if asked[giver] > spare else 1.0)
                stock[giver] -= moved
                stock[taker] += moved
            # 2. needs and claims
            wanted, need = [], {}
            for c in range(n_c):
                a, i = int(model.consumption_actor[c]), int(model.consumption_item[c])
                w = _rate(
                    p["consumption_rate"][d, c] * sc.intensity[t, a],
                    sc.consumption_factor[t, c],
                    sc.consumption_rate[t, c],
                )
                wanted.append(w)
                need[(a, i)] = max(0.0, p["sustain_months"][d, a] * w - stock[(a, i)])
            claims = []
            for q in range(len(model.claim_share)):
                share = sc.claim_share[t, q]
                share = p["claim_share"][d, q] if math.isnan(share) else share
                fixed = sc.claim_rate[t, q]
                fixed = p["claim_rate"][d, q] if math.isnan(fixed) else fixed
                key = (int(model.claim_recipient[q]), int(model.claim_item[q]))
                claims.append((share * need.get(key, 0.0) + fixed) * sc.claim_factor[t, q])
            # 3. capacity and requirements
            cap = []
            for f in range(n_f):
                built = p["capacity"][d, f]
                for k, e in enumerate(exp):
                    if model.expansion_facility[e] != f:
                        continue
                    online = decided[k] + p["lead_time"][d, e]
                    frac = min(1.0, max(0.0, (t - online + 1.0) / (p["ramp_time"][d, e] + 1.0)))
                    built += frac * p["added_capacity"][d, e] * scale[k]
                absolute = sc.capacity_rate[t, f]
                cap.append(built * sc.availability[t, f] if math.isnan(absolute) else absolute)
            group_cap: dict[int, float] = defaultdict(float)
            for f, q in zip(link_f, link_q, strict=True):
                group_cap[int(q)] += cap[f]
            link_req = []
            req = [0.0] * n_f
            for f, q in zip(link_f, link_q, strict=True):
                part = claims[q] * cap[f] / group_cap[int(q)] if group_cap[int(q)] > 0 else 0.0
                link_req.append(part)
                req[f] += part
            for f in range(n_f):
                level = sc.order_level[t, f]
                if not math.isnan(level):
                    req[f] = max(req[f], level * cap[f])
            held: dict[int, float] = defaultdict(float)  # intermediate holdings per item
            for (_holder, i), v in stock.items():
                if any(not end[f] and model.facility_item[f] == i for f in range(n_f)):
                    held[i] += v
            demand: dict[int, float] = defaultdict(float)
            for level in sorted(set(depth), reverse=True):
                tier = [f for f in range(n_f) if depth[f] == level]
                for f in tier:
                    if end[f]:
                        continue
                    i = int(model.facility_item[f])
                    total = sum(cap[g] for g in range(n_f) if model.facility_item[g] == i)
                    target = max(0.0, demand[i] * (1.0 + model.buffer_months) - held[i])
                    req[f] = max(req[f], target * cap[f] / total if total > 0 else 0.0)
                for f in tier:
                    for r, j in inputs[f]:
                        demand[j] += min(cap[f], req[f]) * p["recipe_quantity"][d, r]
            # 4. production: class by class, each class up the bill of materials; inputs in
            # proportion to the requests of the lines of one class and tier
            made = [0.0] * n_f
            available = dict(held)
            for cls in sorted({int(c) for c in classes}):
                for level in sorted(set(depth)):
                    members = [f for f in range(n_f) if depth[f] == level and classes[f] == cls]
                    ask: dict[int, float] = defaultdict(float)
                    for f in members:
                        for r, j in inputs[f]:
                            ask[j] += min(cap[f], req[f]) * p["recipe_quantity"][d, r]
                    for f in members:
                        fill = 1.0
                        for _r, j in inputs[f]:
                            if ask[j] > 0:
                                fill = min(fill, min(1.0, available.get(j, 0.0) / ask[j]))
                        made[f] = min(cap[f], req[f]) * fill
                    for f in members:
                        for r, j in inputs[f]:
                            use = made[f] * p["recipe_quantity"][d, r]
                            available[j] = max(0.0, available.get(j, 0.0) - use)
                            _take(stock, j, use, end, model)
                    for f in members:
                        if not end[f]:
                            pair = (int(model.facility_country[f]), int(model.facility_item[f]))
                            stock[pair] += made[f]
                            available[int(model.facility_item[f])] = (
                                available.get(int(model.facility_item[f]), 0.0) + made[f]
                            )
            # 5. deliveries by recipient priority
            left = [made[f] if end[f] else 0.0 for f in range(n_f)]
            for pri in sorted({int(model.claim_priority[q]) for q in link_q}):
                asked_f: dict[int, float] = defaultdict(float)
                for n, (f, q) in enumerate(zip(link_f, link_q, strict=True)):
                    if model.claim_priority[q] == pri:
                        asked_f[int(f)] += link_req[n]
                give = {
                    f: min(1.0, left[f] / total) if total > 0 else 0.0
                    for f, total in asked_f.items()
                }
                for n, (f, q) in enumerate(zip(link_f, link_q, strict=True)):
                    if model.claim_priority[q] == pri:
                        pair = (int(model.claim_recipient[q]), int(model.claim_item[q]))
                        stock[pair] += link_req[n] * give[int(f)]
                for f, total in asked_f.items():
                    left[f] -= min(left[f], total)
            for f in range(n_f):
                if end[f] and left[f] > 0:
                    stock[(int(model.facility_country[f]), int(model.facility_item[f]))] += left[f]
            # 6. consumption policy
            ua = ru = 0.0
            for c in range(n_c):
                a, i = int(model.consumption_actor[c]), int(model.consumption_item[c])
                fire = min(wanted[c], max(stock[(a, i)], 0.0) / p["sustain_months"][d, a])
                stock[(a, i)] -= fire
                fired_out[d, t, c] = fire
                weighted[d, t] += weights[c] * (wanted[c] - fire)
                if counted[i] and model.actors[a] == "UKR":
                    ua += fire
                if counted[i] and model.actors[a] == "RUS":
                    ru += fire
            ratio[d, t] = ua / ru if ru >= 1.0 else np.nan
            production[d, t] = made
    return {
        "production": production,
        "fired": fired_out,
        "weighted_shortfall": weighted,
        "fire_ratio": ratio,
    }


def _take(stock: dict[Pair, float], item: int, use: float, end: list[bool], model: Model) -> None:
    """Draw ``use`` of an intermediate from its producers in proportion to their holdings."""
    makers = {
        (int(model.facility_country[f]), item)
        for f in range(len(end))
        if not end[f] and model.facility_item[f] == item
    }
    total = sum(stock[p] for p in makers)
    if total <= 0:
        return
    for pair in makers:
        stock[pair] -= min(stock[pair], stock[pair] / total * use)
