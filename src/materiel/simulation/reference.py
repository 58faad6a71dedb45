"""A plain per-draw Python implementation of the simulator.

Slow on purpose: it spells out the same equations as :mod:`materiel.simulation.engine` one draw,
facility and month at a time. It is the oracle the tests compare the vectorised engine with,
and the peer baseline in ``benchmarks/``.
"""

from __future__ import annotations

import math

import numpy as np

from materiel.model.compiled import FloatArray, Model
from materiel.model.events import ScenarioArrays
from materiel.model.plan import Plan, builds
from materiel.simulation.engine import order_share


def run_reference(
    model: Model, sc: ScenarioArrays, p: dict[str, FloatArray], plan: Plan | None = None
) -> dict[str, FloatArray]:
    """Return production (D, M, F) and shortfall (D, M, H, I) computed draw by draw."""
    n_draws, months = p["capacity"].shape[0], sc.months
    n_f, n_i = len(model.facilities), len(model.items)
    holders = list(model.holders)
    production = np.zeros((n_draws, months, n_f))
    shortfall = np.zeros((n_draws, months, len(holders), n_i))
    recipes: dict[int, list[tuple[int, int]]] = {}
    for r, (out_item, in_item) in enumerate(
        zip(model.recipe_item, model.recipe_input, strict=True)
    ):
        recipes.setdefault(int(out_item), []).append((r, int(in_item)))
    order = sorted(range(n_f), key=lambda f: model.item_depth[model.facility_item[f]])
    tiers: dict[int, list[int]] = {}
    for f in order:
        tiers.setdefault(int(model.item_depth[model.facility_item[f]]), []).append(f)

    share = None if plan is None or plan.orders is None else order_share(model, sc, plan)
    for d in range(n_draws):
        additions = list(zip(*builds(model, plan), strict=True))
        industry = [0.0] * n_i
        stock = {(a, i): 0.0 for a in holders for i in range(n_i)}
        for s in range(len(model.stock_actor)):
            stock[(int(model.stock_actor[s]), int(model.stock_item[s]))] += p["stock_quantity"][
                d, s
            ]
        for t in range(months):
            made_now = [0.0] * n_f
            for level in sorted(tiers):
                planned = {}
                for f in tiers[level]:
                    cap = p["capacity"][d, f]
                    for e, month, scale in additions:
                        if model.expansion_facility[e] != f:
                            continue
                        online = month + p["lead_time"][d, e]
                        frac = (t - online + 1) / (p["ramp_time"][d, e] + 1)
                        cap += scale * p["added_capacity"][d, e] * min(1.0, max(0.0, frac))
                    cap *= sc.availability[t, f]
                    level_t = sc.order_level[t, f]
                    want = cap * (p["utilisation"][d, f] if math.isnan(level_t) else level_t)
                    if share is not None and not math.isnan(share[t, f]):
                        want = cap * share[t, f]
                    planned[f] = want
                request = [0.0] * n_i
                for f in tiers[level]:
                    for r, i in recipes.get(int(model.facility_item[f]), []):
                        if model.item_limited[i]:
                            request[i] += planned[f] * p["recipe_quantity"][d, r]
                for f in tiers[level]:
                    frac = 1.0
                    for _r, i in recipes.get(int(model.facility_item[f]), []):
                        if model.item_limited[i] and request[i] > 0:
                            frac = min(frac, min(1.0, industry[i] / request[i]))
                    made_now[f] = planned[f] * frac
                for f in tiers[level]:
                    for r, i in recipes.get(int(model.facility_item[f]), []):
                        if model.item_limited[i]:
                            industry[i] = max(
                                0.0, industry[i] - made_now[f] * p["recipe_quantity"][d, r]
                            )
                for f in tiers[level]:
                    industry[int(model.facility_item[f])] += made_now[f]
            produced_item = [0.0] * n_i
            for f in range(n_f):
                produced_item[int(model.facility_item[f])] += made_now[f]
                production[d, t, f] = made_now[f]
            shares = []
            for q in range(len(model.allocation_item)):
                s = sc.allocation_share[t, q]
                shares.append(p["allocation_share"][d, q] if math.isnan(s) else s)
            totals: dict[int, float] = {}
            for q, s in enumerate(shares):
                totals[int(model.allocation_item[q])] = (
                    totals.get(int(model.allocation_item[q]), 0.0) + s
                )
            for a in holders:
                for i in range(n_i):
                    stock[(a, i)] *= 1.0 - sc.stock_loss[t, a]
            for q, s in enumerate(shares):
                i = int(model.allocation_item[q])
                amount = s / max(1.0, totals[i]) * produced_item[i]
                industry[i] -= amount
                stock[(int(model.allocation_recipient[q]), i)] += amount
            for ell in range(len(model.flow_item)):
                key = (int(model.flow_recipient[ell]), int(model.flow_item[ell]))
                stock[key] += p["flow_rate"][d, ell] * sc.flow_factor[t, ell]
            for c in range(len(model.consumption_item)):
                a, i = int(model.consumption_actor[c]), int(model.consumption_item[c])
                wanted = p["consumption_rate"][d, c] * sc.intensity[t, a]
                fired = min(wanted, stock[(a, i)])
                stock[(a, i)] -= fired
                shortfall[d, t, holders.index(a), i] = wanted - fired
    return {"production": production, "shortfall": shortfall}
