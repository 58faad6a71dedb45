"""Capacity-expansion optimiser: a two-stage stochastic LP solved with linopy and HiGHS.

>>> result = plan(model, [load_scenario("imposed-deal")], budget=20e9)   # doctest: +SKIP
>>> result.investments, result.capacity_duals, result.budget_duals      # doctest: +SKIP

See docs/methodology-optimiser.md for the formulation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from materiel.model.compiled import Model
from materiel.model.events import compile_scenario
from materiel.optimize.build import ExtraConstraint, build_problem, weighted_shortfall
from materiel.optimize.data import DECAY, TIEBREAK, PlanData, prepare, sampled_params
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
    "saa_data",
    "save_plan",
    "solve",
    "weighted_shortfall",
]


DECOMPOSE_ROWS = 16
"""From this many scenario rows on, :func:`plan` solves by scenario decomposition
(:mod:`materiel.optimize.decompose`) unless told otherwise: measured on the bundled data,
20 rows (5 draws x 4 futures) solve in about 5 s decomposed against about 20 s whole, and
200 rows in under a minute against 16 minutes; below it the whole LP is as fast and its
finite-difference re-solves are cheaper."""
DRAWS = 5
"""Default parameter draws per future of :func:`saa_data` and the most ``materiel plan`` takes
per scenario (it takes fewer with several scenarios, about 12 rows in all; see
docs/methodology-optimiser.md: 4 futures x 5 draws solve in about 24 s of CPU on 2 cores)."""


def saa_data(
    model: Model,
    scenarios: Sequence[Scenario],
    months: int | None = None,
    budget: float | None = None,
    draws: int = DRAWS,
    seed: int = 0,
    decay: float = DECAY,
    tiebreak: float = TIEBREAK,
) -> PlanData:
    """LP data over ``draws`` parameter draws of every scenario (``draws=0``: one row per
    scenario at central values). Row ``future/n`` holds draw ``n`` of
    :func:`materiel.model.sampling.sample` with ``seed`` (the simulator's draw ``n``) and
    weighs the scenario's probability / ``draws``."""
    if not scenarios:
        raise ValueError("at least one scenario is needed")
    if draws < 0:
        raise ValueError(f"draws must be >= 0 (0 = central values), got {draws}")
    horizon = months or scenarios[0].months
    arrays = [compile_scenario(model, s, horizon) for s in scenarios]
    if draws == 0:
        return prepare(model, arrays, budget, decay, tiebreak)
    params = sampled_params(model, draws, seed)
    rows = [(a, n) for a in arrays for n in range(draws)]
    return prepare(
        model,
        [a for a, _ in rows],
        budget,
        decay,
        tiebreak,
        params=[params[n] for _, n in rows],
        labels=[f"{a.name}/{n}" for a, n in rows],
        weights=[a.probability / draws for a, _ in rows],
        draws=draws,
    )


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
    draws: int = 0,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    decompose: bool | None = None,
    **solver_options: Any,
) -> PlanResult:
    """Optimise investments (shared, first stage) and monthly production, shipments and
    stocks (recourse, per scenario row) over ``scenarios``, weighted by their probabilities.

    ``draws`` > 0: sample average approximation over that many parameter draws per scenario,
    drawn as the simulator draws them with ``seed``; ``draws=0``: central values (one row per
    scenario). ``months`` defaults to the first scenario's horizon; ``budget`` (EUR/year)
    overrides the scenarios' budgets; ``decay`` (per month) makes an earlier shortfall weigh
    more in the objective; ``extra`` hooks ``f(lp, data)`` add policy constraints before
    solving. ``lumpy``: whole modules (a HiGHS MIP) with capex paid over the lead time; the
    duals are then those of the LP with the builds fixed.
    ``decompose``: solve by scenario decomposition (the same optimum within
    :data:`materiel.optimize.decompose.GAP`; LPs only), the whole LP at once (False), or
    decide by size (None: decomposed from :data:`DECOMPOSE_ROWS` rows on, unless ``lumpy``).
    ``progress`` is called with a line before each step (data, build, solve, and each
    iteration of a decomposition).
    Raises :class:`PlanError` if HiGHS does not report an optimal solution.
    """
    say = progress or (lambda _line: None)
    rows = len(scenarios) * max(draws, 1)
    basis = "central values" if draws == 0 else f"{draws} draws"
    say(f"preparing {rows} scenario row(s) ({basis} x {len(scenarios)} scenario(s)) ...")
    data = saa_data(model, scenarios, months, budget, draws, seed, decay, tiebreak)
    say("building the LP ...")
    lp = build_problem(data, extra, lumpy=lumpy)
    size = f"{lp.nvars:,} variables, {lp.ncons:,} constraints"
    if decompose is None:
        decompose = not lumpy and rows >= DECOMPOSE_ROWS
    if decompose and lumpy:
        raise ValueError("whole modules (lumpy) are solved as one MIP, not decomposed")
    if decompose:
        from materiel.optimize.decompose import solve_decomposed

        say(f"solving by scenario decomposition ({lp.nvars:,} variables, {lp.ncons:,} rows)")
        dec = solve_decomposed(lp, progress=say, **solver_options)
        return collect(data, lp, dec.objective(), decomposition=dec)
    say(f"solving the LP with HiGHS ({size}) ...")
    objective = (solve_lumpy if lumpy else solve)(lp, log=log, **solver_options)
    return collect(data, lp, objective)
