"""The scenario decomposition (optimize.decompose) solves the same LP as the whole solve.

Hand-computed case (two facilities, two scenario rows, one item):
- f1 has 5 units/month and can grow at EUR 3 per unit/month; f2 has none and can grow by at
  most 4 units/month at EUR 1 each; demand is 10 or 20 units (probability 1/2 each) and a unit
  short costs EUR 10.
- The value of one more unit of total capacity C is 10 below C = 10 (both rows short), 5 up
  to C = 20 (only the high row), 0 above. Both options cost less than 5, so both are built
  until C = 20: x2 = 4 (its limit), x1 = 11; nothing is short; objective 3 x 11 + 4 = 37.
- With a budget of EUR 30 in each row (capex 3 x1 + x2 <= 30, a scenario row's constraint
  that only the first stage enters): x2 = 4, x1 = 26 / 3, C = 5 + 26/3 + 4 = 17.667, the high
  row is short 2.333, objective 30 + 0.5 x 2.333 x 10 = 41.667.
"""

from __future__ import annotations

import linopy
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from materiel.optimize import solve
from materiel.optimize.blocks import split
from materiel.optimize.decompose import solve_decomposed


def two_stage(
    demand: list[float],
    base: list[float],
    capex: list[float],
    most: list[float],
    penalty: float = 10.0,
    budget: float | None = None,
) -> linopy.Model:
    """min capex . x + mean over rows of penalty x unmet, production[s, f] <= base[f] +
    x[f], sum over f of production + unmet = demand[s] (optionally capex . x <= budget in
    every row)."""
    m = linopy.Model(force_dim_names=True)
    rows = pd.Index([f"row{i}" for i in range(len(demand))], name="scenario")
    fac = pd.Index([f"f{i}" for i in range(len(base))], name="facility")
    x = m.add_variables(lower=0, upper=xr.DataArray(most, coords=[fac]), name="build")
    prod = m.add_variables(lower=0, coords=[rows, fac], name="production")
    unmet = m.add_variables(lower=0, coords=[rows], name="unmet")
    m.add_constraints(prod - x <= xr.DataArray(base, coords=[fac]), name="capacity")
    m.add_constraints(
        prod.sum("facility") + unmet == xr.DataArray(demand, coords=[rows]), name="demand"
    )
    cost = xr.DataArray(capex, coords=[fac])
    if budget is not None:
        spend = (x * cost).sum() + 0 * unmet
        m.add_constraints(spend <= budget, name="budget")
    m.add_objective((x * cost).sum() + (unmet * (penalty / len(demand))).sum())
    return m


def test_split_finds_first_stage_and_rows() -> None:
    m = two_stage([10, 20], [5, 0], [3, 1], [100, 4])
    parts = split(m)
    assert len(parts.first_cols) == 2 and len(parts.first_rows) == 0
    assert [len(c) for c in parts.cols] == [3, 3]  # two productions and unmet per row
    assert [len(r) for r in parts.rows] == [3, 3]  # two capacity rows and the demand row


def test_two_facilities_by_hand() -> None:
    m = two_stage([10, 20], [5, 0], [3, 1], [100, 4])
    assert solve_decomposed(m).objective() == pytest.approx(37.0, rel=1e-6)
    assert m.variables["build"].solution.values == pytest.approx([11.0, 4.0], abs=1e-4)
    assert m.variables["unmet"].solution.values == pytest.approx([0.0, 0.0], abs=1e-4)
    assert m.termination_condition == "optimal"


def test_budget_rows_with_first_stage_only() -> None:
    m = two_stage([10, 20], [5, 0], [3, 1], [100, 4], budget=30.0)
    assert solve_decomposed(m).objective() == pytest.approx(
        30 + 0.5 * (20 - 5 - 26 / 3 - 4) * 10, rel=1e-6
    )
    assert m.variables["build"].solution.values == pytest.approx([26 / 3, 4.0], abs=1e-4)
    # the duals written back: a unit more capacity at f1 saves 5 EUR in the short row
    assert m.constraints["capacity"].dual.sel(scenario="row1", facility="f0") == pytest.approx(
        -5.0, abs=1e-6
    )


@settings(max_examples=10, deadline=None)
@given(
    demand=st.lists(st.floats(0, 50), min_size=1, max_size=4),
    base=st.lists(st.floats(0, 20), min_size=2, max_size=2),
    capex=st.lists(st.floats(0.1, 12), min_size=2, max_size=2),
    most=st.lists(st.floats(0, 30), min_size=2, max_size=2),
    budget=st.one_of(st.none(), st.floats(0, 200)),
)
def test_same_optimum_as_the_whole_lp(
    demand: list[float],
    base: list[float],
    capex: list[float],
    most: list[float],
    budget: float | None,
) -> None:
    whole = solve(two_stage(demand, base, capex, most, budget=budget))
    m = two_stage(demand, base, capex, most, budget=budget)
    assert solve_decomposed(m).objective() == pytest.approx(whole, rel=1e-6, abs=1e-6)
    built = m.variables["build"].solution.values
    assert np.all(built >= -1e-9) and np.all(built <= np.asarray(most) + 1e-9)


def test_rows_without_their_own_solver_give_the_same_answer() -> None:
    # memory=0: every row is reloaded from its last basis into a shared instance
    m = two_stage([10, 20, 15], [5, 0], [3, 1], [100, 4])
    whole = solve(two_stage([10, 20, 15], [5, 0], [3, 1], [100, 4]))
    assert solve_decomposed(m, memory=0, workers=2).objective() == pytest.approx(whole, rel=1e-6)


def test_resolve_after_changing_bounds() -> None:
    # +3 units/month at f1 in both rows: C = 20 is reached with x1 = 8, objective 3 x 8 + 4
    m = two_stage([10, 20], [5, 0], [3, 1], [100, 4])
    dec = solve_decomposed(m)
    con = m.constraints["capacity"]
    labels = con.labels.sel(facility="f0").values
    rows = np.searchsorted(np.asarray(m.matrices.clabels), labels)
    dec.set_row_bounds(rows, np.full(2, -np.inf), np.full(2, 8.0))
    assert dec.run() == pytest.approx(28.0, rel=1e-6)
    # builds held at x1 = 2, x2 = 4: C = 14, the high row is 6 short: 6 + 4 + 0.5 x 6 x 10
    build = np.searchsorted(np.asarray(m.matrices.vlabels), m.variables["build"].labels.values)
    dec.set_col_bounds(build, np.array([2.0, 4.0]), np.array([2.0, 4.0]))
    assert dec.run() == pytest.approx(40.0, rel=1e-6)
    assert dec.col_value()[build] == pytest.approx([2.0, 4.0])


@pytest.mark.slow
def test_bundled_plan_decomposed_equals_whole() -> None:
    # 3 draws of imposed-deal: the same optimum within the gap, and the same values of
    # capacity and budget by finite differences (the decomposition re-solves them)
    from materiel.io.dataset import load_dataset
    from materiel.model.compiled import compile_model
    from materiel.optimize import plan
    from materiel.optimize.decompose import GAP
    from materiel.optimize.results import budget_value, dual_check
    from materiel.scenario import load_scenario

    model = compile_model(load_dataset())
    sc = [load_scenario("imposed-deal")]
    whole = plan(model, sc, draws=3, decompose=False)
    split_ = plan(model, sc, draws=3, decompose=True)
    assert split_.decomposition is not None and whole.decomposition is None
    assert split_.objective == pytest.approx(whole.objective, rel=GAP)
    assert split_.lp.termination_condition == "optimal"
    a, b = dual_check(whole, 2), dual_check(split_, 2)
    assert list(a["facility"]) == list(b["facility"])
    assert b["value_eur_per_unit_month"].to_numpy() == pytest.approx(
        a["value_eur_per_unit_month"].to_numpy(), rel=1e-3
    )
    assert budget_value(split_)["shortfall_avoided_eur_per_eur_m"] == pytest.approx(
        budget_value(whole)["shortfall_avoided_eur_per_eur_m"], rel=1e-3
    )
