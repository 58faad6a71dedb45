"""HiGHS tuning of the plan LP (materiel.optimize.solve): the objective scale, and the fallback
to HiGHS's defaults when the tuned solve ends in numerical trouble."""

from __future__ import annotations

import linopy
import pytest

from materiel.io.dataset import load_dataset
from materiel.model.compiled import compile_model
from materiel.optimize import PlanError, build_problem, saa_data, solve
from materiel.optimize.solve import COST_TARGET, TUNING, objective_scale
from materiel.scenario import load_scenario


def test_objective_scale_brings_the_largest_cost_to_the_target() -> None:
    m = linopy.Model()
    x = m.add_variables(lower=0, upper=1, name="x")
    m.add_objective(4e9 * x)
    k = objective_scale(m)
    assert 4e9 * 2.0**k <= COST_TARGET < 4e9 * 2.0 ** (k + 1)
    m.add_objective(5.0 * x, overwrite=True)
    assert objective_scale(m) == 0


def test_central_imposed_deal_solves_where_max_value_scaling_alone_fails() -> None:
    # HiGHS's max-value scaling without the objective scale stops on this LP ("excessive dual
    # values"); solve() scales the objective and would fall back to HiGHS's defaults
    model = compile_model(load_dataset())
    lp = build_problem(saa_data(model, [load_scenario("imposed-deal")], draws=0))
    with pytest.raises(PlanError, match="unknown"):
        solve(lp, user_objective_scale=0, **TUNING)  # explicit options bind the retry too
    tuned = solve(lp)
    plain = solve(lp, simplex_scale_strategy=1, user_objective_scale=0)
    assert tuned == pytest.approx(plain, rel=1e-9)
