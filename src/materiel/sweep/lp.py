"""LP sweeps: build the plan LP once, then re-solve each case in place.

When cases differ only in right-hand sides (budgets, demand, flows, capacity), bounds or
costs, the linopy model is updated in place and the HiGHS model kept alive through linopy's
persistent solver (``track_updates=True``): no rebuild, and the simplex warm-starts from the
previous basis. A case that changes a coefficient or the LP's shape (e.g. a supplier outage
at a facility with expansion options, a deep strike's stock losses, a budget appearing) is
rebuilt instead, and counted in :attr:`ReusableLP.rebuilds`.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import xarray as xr

from materiel.model.compiled import Model
from materiel.model.events import compile_scenario
from materiel.optimize import PlanData, PlanError, PlanResult, build_problem, prepare
from materiel.optimize.build import RHS, UPPER, define_objective
from materiel.optimize.results import collect
from materiel.optimize.solve import absorb_banner, highs_options
from materiel.sweep.cases import Case

RHS_ONLY = frozenset(
    {"capacity", "wanted", "arrivals", "initial", "floor", "transfer_quantity", "excess_upper"}
)
"""PlanData fields that enter the LP only as right-hand sides or bounds
(:data:`materiel.optimize.build.RHS` and :data:`~materiel.optimize.build.UPPER`)."""
COST_ONLY = frozenset({"weight", "penalty", "tiebreak", "claim_weight", "shortfall_weight"})
"""PlanData fields that enter only the objective."""
COST_AND_BUDGET = frozenset({"price", "capex"})
"""Objective coefficients that are also budget-row coefficients when a budget is set."""
IGNORED = frozenset({"model", "scenarios", "budget"})
"""Checked separately (model identity, budget rows) or fully reflected in other fields."""


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, xr.DataArray):
        return bool(a.equals(b))
    if isinstance(a, np.ndarray):
        return a.shape == np.shape(b) and bool(np.array_equal(a, b, equal_nan=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return bool(a.equals(b)) if hasattr(a, "equals") else bool(a == b)


def structural_changes(base: PlanData, new: PlanData) -> list[str]:
    """Fields of ``new`` that change the LP's coefficients or shape relative to ``base``.

    Every field not known to be a right-hand side or cost counts as structural (so a field
    added to PlanData later is safe by default). Empty list: an in-place update suffices.
    """
    changed = []
    budget_rows = bool(base.budget.notnull().any())
    if new.model is not base.model:
        changed.append("model")
    if not np.array_equal(base.budget.notnull(), new.budget.notnull()):
        changed.append("budget (set or unset)")
    rates = base.claim_rate.to_numpy() > 0, new.claim_rate.to_numpy() > 0
    if rates[0].shape != rates[1].shape or not np.array_equal(*rates):
        changed.append("claim_rate (rows with fixed orders)")
    for f in dataclasses.fields(PlanData):
        name = f.name
        if name in RHS_ONLY | COST_ONLY | IGNORED | {"claim_rate"}:
            continue
        if name in COST_AND_BUDGET and not budget_rows:
            continue
        if not _equal(getattr(base, name), getattr(new, name)):
            changed.append(name)
    return changed


def update_in_place(lp: Any, d: PlanData) -> None:
    """Set the right-hand sides, bounds and objective of ``lp`` (built from data of the same
    structure) to those of ``d``, looping over the same families as the build
    (:data:`materiel.optimize.build.RHS`, :data:`~materiel.optimize.build.UPPER`);
    tests/test_sweep.py checks the result equals a fresh build."""
    for name, rhs in RHS.items():
        if name in lp.constraints:
            lp.constraints[name].update(rhs=rhs(d))
    for name, upper in UPPER.items():
        if name in lp.variables:
            lp.variables[name].update(upper=upper(d))
    define_objective(lp, d)


class ReusableLP:
    """A plan LP kept alive across cases. ``solve(data)`` returns the case's PlanResult."""

    def __init__(self, data: PlanData, **options: Any) -> None:
        self.options = highs_options(**options)
        self.updates = 0
        self.rebuilds = 0
        self._build(data)

    def _build(self, data: PlanData) -> None:
        from linopy.solvers import Solver

        self.base = data
        self.lp = build_problem(data)
        absorb_banner()
        self.solver = Solver.from_name(
            "highs", self.lp, io_api="direct", options=self.options, track_updates=True
        )
        self._fresh = True

    def solve(self, data: PlanData) -> PlanResult:
        """Solve ``data`` in place if only right-hand sides and costs changed, else rebuild.
        Raises PlanError unless HiGHS reports an optimal solution."""
        if not self._fresh:
            if structural_changes(self.base, data):
                self.rebuilds += 1
                self._build(data)
            else:
                update_in_place(self.lp, data)
                self.updates += 1
        if self._fresh:
            result = self.solver.solve(assign=True)
            self._fresh = False
        else:
            result = self.solver.solve(self.lp, assign=True, disallow_rebuild=True)
        condition = str(result.status.termination_condition.value)
        if str(result.status.status.value) != "ok" or condition != "optimal":
            raise PlanError(f"HiGHS did not report an optimal plan: termination '{condition}'")
        self.lp.assign_result(result, solver=self.solver)
        if result.solution is None:
            raise PlanError("HiGHS reported optimal but returned no solution")
        return collect(data, self.lp, float(result.solution.objective))


def plan_summary(result: PlanResult) -> xr.Dataset:
    """Per-case figures of a plan in planner units: capex and expected purchases (EUR), the
    expected priority-weighted shortfall (EUR-equivalent), the expected unmet demand per item
    over the horizon (item units) and its share of what was wanted. Nothing in the LP's
    penalty units (its objective, penalty or duals) is kept."""
    table = result.shortfall_by_item().groupby("item").sum(numeric_only=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(table["wanted"] > 0, table["unmet"] / table["wanted"], 0.0)
    kept = ("capex_eur", "expected_purchases_eur", "expected_weighted_shortfall_eur")
    return xr.Dataset(
        {
            **{k: xr.DataArray(float(result.summary[k])) for k in kept},
            "unmet": ("item", table["unmet"].to_numpy(dtype=float)),
            "wanted": ("item", table["wanted"].to_numpy(dtype=float)),
            "unmet_share": ("item", share),
        },
        coords={"item": table.index.to_numpy()},
    )


def run_plan_cases(cases: list[Case], model: Model) -> list[xr.Dataset]:
    """Plan every case in order on one reusable LP (runs on a worker); one summary each,
    with attrs ``case_id``, ``seconds`` and ``in_place`` (1 if re-solved without rebuild)."""
    out: list[xr.Dataset] = []
    lp: ReusableLP | None = None
    for case in cases:
        t0 = time.perf_counter()
        data = prepare(model, [compile_scenario(model, case.scenario)])
        if lp is None:
            lp = ReusableLP(data)
        updates = lp.updates
        summary = plan_summary(lp.solve(data))
        in_place = int(lp.updates > updates)
        summary.attrs.update(
            case_id=case.id,
            scenario_json=case.scenario.model_dump_json(),
            seconds=time.perf_counter() - t0,
            in_place=in_place,
        )
        out.append(summary)
    return out
