"""The same LP written idiomatically in Pyomo (sets, params, rule-based constraints).

It exists as the peer in ``benchmarks/bench_plan.py`` and as a cross-check in the tests; the
optimiser itself uses linopy (:mod:`materiel.optimize.build`). Pyomo is an optional
dependency (``pip install materiel[bench]``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from materiel.optimize.data import PlanData


def _grouped(keys: np.ndarray) -> dict[int, list[int]]:
    """Positions of each value of ``keys``."""
    out: dict[int, list[int]] = defaultdict(list)
    for n, k in enumerate(keys):
        out[int(k)].append(n)
    return out


def _upper(value: Any) -> float | None:
    """A Pyomo bound: None for an infinite one."""
    return None if np.isinf(value) else float(value)


def build_pyomo(d: PlanData) -> Any:
    """A ``pyomo.environ.ConcreteModel`` of the plan LP over ``d`` (same rows as linopy's)."""
    import pyomo.environ as pyo

    c = d.coords
    n_s, n_t, n_f = len(c["scenario"]), len(c["month"]), len(c["facility"])
    n_e, n_p = len(d.options), len(c["pair"])
    n_d, n_q, n_n = len(c["demand"]), len(c["claim"]), len(c["link"])
    n_x, n_h = len(c["transfer"]), len(c["held"])
    avail, cap = d.availability.to_numpy(), d.capacity.to_numpy()
    added, upper = d.added.to_numpy(), d.build_upper.to_numpy()
    price, tie = d.price.to_numpy(), d.tiebreak.to_numpy()
    tie_max = float(tie.max()) if len(tie) else 0.0
    wanted, penalty, sustain = d.wanted.to_numpy(), d.penalty.to_numpy(), d.sustain.to_numpy()
    keep, arrivals, initial = d.keep.to_numpy(), d.arrivals.to_numpy(), d.initial.to_numpy()
    share, rate, cweight = d.claim_share.to_numpy(), d.claim_rate.to_numpy(), d.claim_weight
    cweight_v = cweight.to_numpy()
    excess_upper = d.excess_upper.to_numpy()
    t_max, t_share, floor = (
        d.transfer_quantity.to_numpy(),
        d.transfer_share.to_numpy(),
        d.floor.to_numpy(),
    )
    weight, capex, budget = d.weight.to_numpy(), d.capex.to_numpy(), d.budget.to_numpy()
    year, year_share = d.year.to_numpy(), d.year_share.to_numpy()

    options_at = _grouped(d.expansion_facility)
    links_of_line = _grouped(d.link_facility)
    links_of_claim = _grouped(d.link_claim)
    lines_at = _grouped(d.facility_pair)
    out_of = _grouped(d.facility_pair[d.link_facility])
    into = _grouped(d.claim_pair[d.link_claim])
    held_at = _grouped(d.held_pair)
    held_of = _grouped(d.held_item)
    users_at = _grouped(d.demand_pair)
    taken_by = _grouped(d.transfer_taker)
    given_by = _grouped(d.transfer_giver)
    uses: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for f, i, q in zip(d.input_facility, d.input_item, d.input_quantity, strict=True):
        uses[int(i)].append((int(f), float(q)))
    inputs = sorted(set(uses) | set(held_of))

    m = pyo.ConcreteModel()
    m.S, m.T, m.F = pyo.RangeSet(0, n_s - 1), pyo.RangeSet(0, n_t - 1), pyo.RangeSet(0, n_f - 1)
    m.E, m.P, m.D = (
        pyo.Set(initialize=range(n_e)),
        pyo.Set(initialize=range(n_p)),
        pyo.Set(initialize=range(n_d)),
    )
    m.Q, m.N = pyo.Set(initialize=range(n_q)), pyo.Set(initialize=range(n_n))
    m.X, m.H = pyo.Set(initialize=range(n_x)), pyo.Set(initialize=range(n_h))
    m.Y = pyo.Set(initialize=range(len(year_share)))
    m.build = pyo.Var(m.E, m.T, bounds=lambda m, e, t: (0.0, float(upper[e, t])))
    m.FO = pyo.Set(initialize=sorted(options_at))  # facilities with options
    m.new = pyo.Var(m.T, m.FO, within=pyo.NonNegativeReals)
    m.prod = pyo.Var(m.S, m.T, m.F, within=pyo.NonNegativeReals)
    m.ship = pyo.Var(m.S, m.T, m.N, within=pyo.NonNegativeReals)
    m.draw = pyo.Var(m.S, m.T, m.H, within=pyo.NonNegativeReals)
    m.moved = pyo.Var(m.S, m.T, m.X, bounds=lambda m, s, t, x: (0.0, _upper(t_max[s, t, x])))
    m.stock = pyo.Var(m.S, m.T, m.P, within=pyo.NonNegativeReals)
    m.fired = pyo.Var(m.S, m.T, m.D, within=pyo.NonNegativeReals)
    m.unmet = pyo.Var(m.S, m.T, m.D, within=pyo.NonNegativeReals)
    m.excess = pyo.Var(
        m.S, m.T, m.D, bounds=lambda m, s, t, k: (0.0, _upper(excess_upper[s, t, k]))
    )
    m.short = pyo.Var(m.S, m.T, m.Q, within=pyo.NonNegativeReals)

    def prev(m: Any, s: int, t: int, p: int) -> Any:
        return m.stock[s, t - 1, p] if t > 0 else 0.0

    m.build_once = pyo.Constraint(m.E, rule=lambda m, e: sum(m.build[e, t] for t in m.T) <= 1)

    def new_capacity(m: Any, t: int, f: int) -> Any:
        return m.new[t, f] == sum(
            added[e, u, t] * m.build[e, u] for e in options_at[f] for u in m.T if added[e, u, t]
        )

    m.new_capacity = pyo.Constraint(m.T, m.FO, rule=new_capacity)

    def capacity(m: Any, s: int, t: int, f: int) -> Any:
        new = avail[s, t, f] * m.new[t, f] if f in options_at else 0.0
        return m.prod[s, t, f] - new <= cap[s, t, f]

    m.capacity = pyo.Constraint(m.S, m.T, m.F, rule=capacity)

    def ship_limit(m: Any, s: int, t: int, f: int) -> Any:
        if not d.end_line[f]:
            return pyo.Constraint.Skip
        return sum(m.ship[s, t, n] for n in links_of_line[f]) <= m.prod[s, t, f]

    m.ship_limit = pyo.Constraint(m.S, m.T, m.F, rule=ship_limit)

    def balance(m: Any, s: int, t: int, p: int) -> Any:
        change = (
            sum(m.prod[s, t, f] for f in lines_at[p])
            - sum(m.ship[s, t, n] for n in out_of[p])
            + sum(m.ship[s, t, n] for n in into[p])
            - sum(m.draw[s, t, h] for h in held_at[p])
            - sum(m.fired[s, t, k] for k in users_at[p])
            + sum(m.moved[s, t, x] for x in taken_by[p])
            - sum(m.moved[s, t, x] for x in given_by[p])
        )
        return m.stock[s, t, p] == keep[s, t, p] * prev(m, s, t, p) + arrivals[s, t, p] + change

    m.balance = pyo.Constraint(m.S, m.T, m.P, rule=balance)
    m.I = pyo.Set(initialize=inputs)

    def input_rule(m: Any, s: int, t: int, i: int) -> Any:
        drawn = sum(m.draw[s, t, h] for h in held_of[i])
        return drawn == sum(q * m.prod[s, t, f] for f, q in uses[i])

    m.inputs = pyo.Constraint(m.S, m.T, m.I, rule=input_rule)
    m.demand = pyo.Constraint(
        m.S,
        m.T,
        m.D,
        rule=lambda m, s, t, k: m.fired[s, t, k] + m.unmet[s, t, k] == wanted[s, t, k],
    )

    def sustain_rule(m: Any, s: int, t: int, k: int) -> Any:
        if sustain[k] <= 1.0:
            return pyo.Constraint.Skip
        return (sustain[k] - 1.0) * m.fired[s, t, k] <= m.stock[s, t, int(d.demand_pair[k])]

    m.sustain = pyo.Constraint(m.S, m.T, m.D, rule=sustain_rule)

    def claim(m: Any, s: int, t: int, q: int) -> Any:
        served = sum(m.ship[s, t, n] for n in links_of_claim[q])
        k, p = int(d.claim_demand[q]), int(d.claim_pair[q])
        if k < 0:
            return served <= rate[s, t, q]
        before = (
            keep[s, t, p] * prev(m, s, t, p)
            + arrivals[s, t, p]
            + sum(m.moved[s, t, x] for x in taken_by[p])
            - sum(m.moved[s, t, x] for x in given_by[p])
        )
        need = sustain[k] * wanted[s, t, k] - before + m.excess[s, t, k]
        return served <= rate[s, t, q] + share[s, t, q] * need

    m.claim = pyo.Constraint(m.S, m.T, m.Q, rule=claim)

    def orders(m: Any, s: int, t: int, q: int) -> Any:
        if rate[s, t, q] <= 0:
            return pyo.Constraint.Skip
        served = sum(m.ship[s, t, n] for n in links_of_claim[q])
        return served + m.short[s, t, q] >= rate[s, t, q]

    m.orders = pyo.Constraint(m.S, m.T, m.Q, rule=orders)

    def floor_rule(m: Any, s: int, t: int, p: int) -> Any:
        if not given_by.get(p):
            return pyo.Constraint.Skip
        first = keep[s, t, p] * initial[s, p] if t == 0 else 0.0
        moved = sum(m.moved[s, t, x] for x in given_by[p])
        return moved - keep[s, t, p] * prev(m, s, t, p) <= first - floor[s, t, p]

    m.floor = pyo.Constraint(m.S, m.T, m.P, rule=floor_rule)

    def share_rule(m: Any, s: int, t: int, x: int) -> Any:
        if t_share[s, t, x] <= 0:
            return pyo.Constraint.Skip
        g = int(d.transfer_giver[x])
        spare = keep[s, t, g] * (prev(m, s, t, g) + (initial[s, g] if t == 0 else 0.0))
        return m.moved[s, t, x] <= t_share[s, t, x] * (spare - floor[s, t, g])

    m.transfer_share = pyo.Constraint(m.S, m.T, m.X, rule=share_rule)

    def budget_rule(m: Any, s: int, y: int) -> Any:
        if np.isnan(budget[s]):
            return pyo.Constraint.Skip
        months = [t for t in m.T if year[t] == y]
        spend = sum(price[f] * m.prod[s, t, f] for t in months for f in m.F if price[f])
        spend += sum(capex[e] * m.build[e, t] for e in m.E for t in months)
        return spend <= budget[s] * year_share[y]

    m.budget = pyo.Constraint(m.S, m.Y, rule=budget_rule)
    m.obj = pyo.Objective(
        expr=sum(
            weight[s]
            * (
                sum(penalty[t, k] * m.unmet[s, t, k] + tie_max * m.excess[s, t, k] for k in m.D)
                + sum(cweight_v[t, q] * m.short[s, t, q] for q in m.Q)
                + sum((price[f] + tie[f]) * m.prod[s, t, f] for f in m.F)
                - sum(tie_max * m.moved[s, t, x] for x in m.X)
            )
            for s in m.S
            for t in m.T
        )
        + sum(capex[e] * m.build[e, t] for e in m.E for t in m.T),
        sense=pyo.minimize,
    )
    return m


def solve_pyomo(m: Any) -> float:
    """Solve a :func:`build_pyomo` model with HiGHS (appsi); return the optimal objective."""
    import pyomo.environ as pyo

    solver = pyo.SolverFactory("appsi_highs")
    results = solver.solve(m)
    condition = str(results.solver.termination_condition)
    if condition != "optimal":
        raise RuntimeError(f"Pyomo/HiGHS did not solve to optimality: {condition}")
    return float(pyo.value(m.obj))
