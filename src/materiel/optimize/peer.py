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


def build_pyomo(d: PlanData) -> Any:
    """A ``pyomo.environ.ConcreteModel`` of the plan LP over ``d`` (same rows as linopy's)."""
    import pyomo.environ as pyo

    S, T, F = (
        range(len(d.coords["scenario"])),
        range(len(d.coords["month"])),
        range(len(d.coords["facility"])),
    )
    n_i, n_e = len(d.coords["item"]), len(d.options)
    n_q, n_d = len(d.coords["allocation"]), len(d.coords["demand"])
    avail, cap = d.availability.to_numpy(), d.capacity.to_numpy()
    added, upper = d.added.to_numpy(), d.build_upper.to_numpy()
    price, tie = d.price.to_numpy(), d.tiebreak.to_numpy()
    share, wanted, inflow = d.share.to_numpy(), d.wanted.to_numpy(), d.inflow.to_numpy()
    keep, initial, penalty = d.keep.to_numpy(), d.initial.to_numpy(), d.penalty.to_numpy()
    weight, capex, budget = d.weight.to_numpy(), d.capex.to_numpy(), d.budget.to_numpy()
    year, year_share = d.year.to_numpy(), d.year_share.to_numpy()

    options_at: dict[int, list[int]] = defaultdict(list)
    for e, f in enumerate(d.expansion_facility):
        options_at[int(f)].append(e)
    makers: dict[int, list[int]] = defaultdict(list)
    for f, i in enumerate(d.facility_item):
        makers[int(i)].append(f)
    uses: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for f, i, q in zip(d.input_facility, d.input_item, d.input_quantity, strict=True):
        uses[int(i)].append((int(f), float(q)))
    shipped: dict[int, list[int]] = defaultdict(list)
    for q, i in enumerate(d.allocation_item):
        shipped[int(i)].append(q)
    feeds: dict[int, list[int]] = defaultdict(list)
    for q, k in enumerate(d.allocation_demand):
        if k >= 0:
            feeds[int(k)].append(q)

    m = pyo.ConcreteModel()
    m.S, m.T, m.F = pyo.Set(initialize=S), pyo.Set(initialize=T), pyo.Set(initialize=F)
    m.I, m.E = pyo.Set(initialize=range(n_i)), pyo.Set(initialize=range(n_e))
    m.Q, m.D = pyo.Set(initialize=range(n_q)), pyo.Set(initialize=range(n_d))
    m.Y = pyo.Set(initialize=range(len(year_share)))
    m.build = pyo.Var(m.E, m.T, bounds=lambda m, e, t: (0.0, float(upper[e, t])))
    m.prod = pyo.Var(m.S, m.T, m.F, within=pyo.NonNegativeReals)
    m.stock = pyo.Var(m.S, m.T, m.I, within=pyo.NonNegativeReals)
    m.ship = pyo.Var(m.S, m.T, m.Q, within=pyo.NonNegativeReals)
    m.hold = pyo.Var(m.S, m.T, m.D, within=pyo.NonNegativeReals)
    m.fired = pyo.Var(m.S, m.T, m.D, within=pyo.NonNegativeReals)
    m.unmet = pyo.Var(m.S, m.T, m.D, within=pyo.NonNegativeReals)

    m.FO = pyo.Set(initialize=sorted(options_at))  # facilities with options
    m.new = pyo.Var(m.T, m.FO, within=pyo.NonNegativeReals)
    m.build_once = pyo.Constraint(m.E, rule=lambda m, e: sum(m.build[e, t] for t in m.T) <= 1)

    def new_capacity(m: Any, t: int, f: int) -> Any:
        return m.new[t, f] == sum(
            added[e, u, t] * m.build[e, u]
            for e in options_at[f]
            for u in m.T
            if added[e, u, t] != 0
        )

    m.new_capacity = pyo.Constraint(m.T, m.FO, rule=new_capacity)

    def capacity(m: Any, s: int, t: int, f: int) -> Any:
        new = avail[s, t, f] * m.new[t, f] if f in options_at else 0.0
        return m.prod[s, t, f] - new <= cap[s, t, f]

    m.capacity = pyo.Constraint(m.S, m.T, m.F, rule=capacity)

    def balance(m: Any, s: int, t: int, i: int) -> Any:
        prev = m.stock[s, t - 1, i] if t > 0 else 0.0
        return m.stock[s, t, i] == prev + sum(m.prod[s, t, f] for f in makers[i]) - sum(
            q * m.prod[s, t, f] for f, q in uses[i]
        ) - sum(m.ship[s, t, q] for q in shipped[i])

    m.balance = pyo.Constraint(m.S, m.T, m.I, rule=balance)

    def allocation(m: Any, s: int, t: int, q: int) -> Any:
        made = sum(m.prod[s, t, f] for f in makers[int(d.allocation_item[q])])
        return m.ship[s, t, q] == share[s, t, q] * made

    m.allocation = pyo.Constraint(m.S, m.T, m.Q, rule=allocation)
    m.demand = pyo.Constraint(
        m.S,
        m.T,
        m.D,
        rule=lambda m, s, t, k: m.fired[s, t, k] + m.unmet[s, t, k] == wanted[s, t, k],
    )

    def holder(m: Any, s: int, t: int, k: int) -> Any:
        prev = m.hold[s, t - 1, k] if t > 0 else initial[k]
        arrivals = sum(m.ship[s, t, q] for q in feeds[k])
        return (
            m.hold[s, t, k] == keep[s, t, k] * prev + arrivals + inflow[s, t, k] - m.fired[s, t, k]
        )

    m.holder = pyo.Constraint(m.S, m.T, m.D, rule=holder)

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
            weight[s] * penalty[t, k] * m.unmet[s, t, k] for s in m.S for t in m.T for k in m.D
        )
        + sum(
            weight[s] * (price[f] + tie[f]) * m.prod[s, t, f] for s in m.S for t in m.T for f in m.F
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
