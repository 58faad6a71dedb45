"""The inverse question: the least yearly budget that covers a share of the need.

``least_budget(model, scenarios, share, by)`` minimises B in one LP (the planning LP of
:func:`materiel.optimize.plan` with every scenario's budget replaced by one variable B, EUR
per year, the objective replaced by B, and a coverage row):

    sum_s pi_s sum_{t >= by, c} w_c unmet_{s,t,c} <= (1 - share) sum_s pi_s sum_{t >= by, c}
    w_c wanted_{s,t,c}                                                             [EUR]

(w_c the item weight of demand row c, EUR per unit short: the weighted shortfall from month
``by`` on is at most (1 - share) of the weighted need). Then it plans at budget B* with the
coverage row kept, so the reported plan reaches the share. A first LP with unlimited money
and the weighted shortfall from ``by`` as objective gives the most that can be covered; if
that is below the share, no budget can reach it and the answer says why
(:mod:`materiel.optimize.binding`): options that arrive too late, are capped, or inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import linopy
import numpy as np
import pandas as pd

from materiel.model.compiled import Model
from materiel.optimize import plan
from materiel.optimize.data import PlanData
from materiel.optimize.results import PlanResult
from materiel.optimize.terms import Terms, expression, labels
from materiel.scenario import Scenario

SLACK = 1e-6
"""Relative margin on B* when re-planning at that budget (solver tolerance)."""
TOL = 1e-7
"""A share this close to the most that can be covered counts as reachable."""


@dataclass
class InverseResult:
    """Answer to ``--target SHARE --by MONTH``."""

    share: float
    """Share of the weighted need asked for (0-1)."""
    by: int
    """First month (index from the dataset start) the share must hold."""
    budget_eur: float | None
    """Least budget, EUR/year; None when no budget reaches the share."""
    need_eur: float
    """Probability-weighted need from month ``by`` on, weighted by item weights, EUR."""
    covered: float
    """Share of that need the reported plan covers (0-1): ``share`` or, when infeasible,
    the most unlimited money can cover."""
    plan: PlanResult
    """The plan at the least budget, or the maximum-coverage plan with no budget."""

    @property
    def feasible(self) -> bool:
        return self.budget_eur is not None

    def binding(self) -> pd.DataFrame:
        """What binds for each item still short from month ``by`` on."""
        from materiel.optimize.binding import binding_table

        return binding_table(self.plan, start=self.by)


def _weighted(m: linopy.Model, d: PlanData, by: int) -> tuple[Terms, float]:
    """Probability-weighted shortfall terms from month ``by`` on (one row) and the weighted
    need over the same months, EUR."""
    p = d.weight.to_numpy()[:, None, None]
    w = d.shortfall_weight.to_numpy()[None, None, :]
    late = (d.coords["month"].to_numpy() >= by)[None, :, None]
    coeff = p * w * late
    need = float((coeff * d.wanted.to_numpy()).sum())
    unmet = labels(m, "unmet")
    shape = np.broadcast_shapes(unmet.shape, coeff.shape)
    return (
        Terms(unmet.reshape(1, -1), np.broadcast_to(coeff, shape).reshape(1, -1)),
        need,
    )


def coverage_hook(share: float, by: int) -> Any:
    """An ``extra`` hook adding the coverage row ``coverage`` (divided by its largest
    coefficient, so HiGHS's absolute tolerances stay meaningful next to a need of EUR bn)."""

    def hook(m: linopy.Model, d: PlanData) -> None:
        terms, need = _weighted(m, d, by)
        scale = float(np.abs(terms.coeffs).max(initial=0.0)) or 1.0
        lhs = expression(m, [pd.Index([0], name="coverage")], terms.scaled(1.0 / scale))
        m.add_constraints(lhs, "<=", (1.0 - share) * need / scale, name="coverage")

    return hook


LEVEL_UNIT = 1e9
"""``budget_level`` is in EUR bn per year; the budget rows are divided by 1e6 (EUR m) so their
coefficients (prices, capex, the level) stay within a few orders of magnitude."""


def _least_budget_hook(m: linopy.Model, d: PlanData) -> None:
    """Replace every budget row's right-hand side by B x months in the year / 12 and
    minimise B (``budget_level``, EUR bn/year)."""
    level = m.add_variables(lower=0.0, name="budget_level")
    con = m.constraints["budget"]
    lhs = con.lhs
    m.remove_constraints("budget")
    per_m = LEVEL_UNIT / 1e6 * d.year_share
    m.add_constraints(lhs * 1e-6 - level * per_m <= 0.0, name="budget")
    m.add_objective(1.0 * level, overwrite=True)


def _max_coverage_hook(by: int) -> Any:
    def hook(m: linopy.Model, d: PlanData) -> None:
        """Unlimited money: no budget rows; minimise the weighted shortfall from ``by``."""
        if "budget" in m.constraints:
            m.remove_constraints("budget")
        terms, _ = _weighted(m, d, by)
        m.add_objective(
            expression(m, [pd.Index([0], name="coverage")], terms).sum(), overwrite=True
        )

    return hook


def least_budget(
    model: Model,
    scenarios: Sequence[Scenario],
    share: float,
    by: int,
    months: int | None = None,
    lumpy: bool = False,
    log: bool = False,
    **solver_options: Any,
) -> InverseResult:
    """The least budget (EUR/year, the same in every scenario and year) whose plan leaves a
    probability-weighted weighted shortfall from month ``by`` on of at most (1 - ``share``)
    of the weighted need, or, if none does, the most coverage unlimited money buys."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"the target share must be in [0, 1], got {share}")
    horizon = months or scenarios[0].months
    if not 0 <= by < horizon:
        raise ValueError(
            f"the month asked must fall in the horizon (months 0-{horizon - 1} from the "
            f"dataset start {model.start}), got month {by}"
        )
    options = dict(months=months, log=log, lumpy=lumpy, **solver_options)
    # the most unlimited money can cover first: a well-posed LP, and the answer when the
    # share is out of reach (HiGHS is slow to prove the least-budget LP infeasible)
    best = plan(model, scenarios, extra=[_max_coverage_hook(by)], **options)
    _, need = _weighted(best.lp, best.data, by)
    most = 1.0 - float(best.objective) / need if need > 0 else 1.0
    if most < share - TOL:
        return InverseResult(share, by, None, need, most, best)
    least = plan(
        model,
        scenarios,
        budget=1.0,
        extra=[coverage_hook(share, by), _least_budget_hook],
        **options,
    )
    level = float(least.lp.solution["budget_level"]) * LEVEL_UNIT
    result = plan(
        model,
        scenarios,
        budget=level * (1.0 + SLACK) + 1.0,
        extra=[coverage_hook(share, by)],
        **options,
    )
    _, need = _weighted(result.lp, result.data, by)
    covered = _covered(result, by, need)
    return InverseResult(share, by, level, need, covered, result)


def _covered(result: PlanResult, by: int, need: float) -> float:
    """Share of the weighted need from month ``by`` on that ``result`` covers."""
    terms, _ = _weighted(result.lp, result.data, by)
    unmet = result.lp.solution["unmet"].to_numpy().reshape(1, -1)
    short = float((unmet * terms.coeffs).sum())
    return 1.0 - short / need if need > 0 else 1.0
