"""Capacity-expansion optimiser: a two-stage stochastic LP solved with linopy and HiGHS.

>>> result = plan(model, [load_scenario("imposed-deal")], budget=20e9)   # doctest: +SKIP
>>> result.investments, result.capacity_duals, result.budget_duals      # doctest: +SKIP

See docs/methodology-optimiser.md for the formulation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from materiel.model.compiled import Model
from materiel.model.events import compile_scenario
from materiel.optimize.build import ExtraConstraint, build_problem, weighted_shortfall
from materiel.optimize.data import DECAY, TIEBREAK, PlanData, prepare
from materiel.optimize.io import load_plan, save_plan
from materiel.optimize.results import PlanResult, collect
from materiel.optimize.solve import PlanError, solve, solve_lumpy
from materiel.scenario import Scenario

__all__ = [
    "ExtraConstraint",
    "PlanData",
    "PlanError",
    "PlanResult",
    "build_problem",
    "load_plan",
    "plan",
    "prepare",
    "save_plan",
    "solve",
    "weighted_shortfall",
]


def plan(
    model: Model,
    scenarios: Sequence[Scenario],
    months: int | None = None,
    budget: float | None = None,
    extra: Sequence[ExtraConstraint] = (),
    decay: float = DECAY,
    tiebreak: float = TIEBREAK,
    log: bool = False,
    lumpy: bool = False,
    **solver_options: Any,
) -> PlanResult:
    """Optimise investments (shared) and monthly orders (per scenario) over ``scenarios``,
    weighted by their probabilities, with central values of every figure.

    ``months`` defaults to the first scenario's horizon; ``budget`` (EUR/year) overrides the
    scenarios' budgets; ``decay`` (per month) makes an earlier shortfall weigh more in the
    objective; ``extra`` hooks ``f(lp, data)`` add policy constraints before solving.
    ``lumpy``: whole modules (a HiGHS MIP) with capex paid over the lead time; the duals
    are then those of the LP with the builds fixed.
    Raises :class:`PlanError` if HiGHS does not report an optimal solution.
    """
    if not scenarios:
        raise ValueError("at least one scenario is needed")
    horizon = months or scenarios[0].months
    arrays = [compile_scenario(model, s, horizon) for s in scenarios]
    data = prepare(model, arrays, budget, decay, tiebreak)
    lp = build_problem(data, extra, lumpy=lumpy)
    objective = (solve_lumpy if lumpy else solve)(lp, log=log, **solver_options)
    return collect(data, lp, objective)
