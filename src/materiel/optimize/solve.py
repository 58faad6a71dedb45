"""Solve the LP with HiGHS and check the outcome every time.

HiGHS output is controlled by its own options, per solver instance: ``output_flag`` off by
default; with ``log=True`` the log goes to stderr through HiGHS's ``log_file`` option, never
to stdout. The one thing options cannot reach is the banner HiGHS prints once per process,
when its first instance is created ("Running HiGHS ..."): :func:`absorb_banner` creates that
first instance once, under a lock, with stdout pointed at stderr, so no later solve (in any
thread) touches file descriptors.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from typing import Any

import linopy
import numpy as np

_BANNER_LOCK = threading.Lock()
_banner_done = False


class PlanError(RuntimeError):
    """The solver did not return an optimal solution."""


def absorb_banner() -> None:
    """Create this process's first HiGHS instance with file descriptor 1 on stderr, once.

    HiGHS prints its banner on stdout when the first instance in a process is created,
    before any option can apply (research/stack.md section 6, item 4); later instances are
    silent under ``output_flag=False``. Idempotent and thread-safe: the redirect happens at
    most once per process, under a lock, and sends stray output to stderr, not /dev/null.
    """
    global _banner_done
    if _banner_done:
        return
    with _BANNER_LOCK:
        if _banner_done:
            return
        import highspy

        sys.stdout.flush()
        saved = os.dup(1)
        try:
            os.dup2(2, 1)
            highspy.Highs()  # type: ignore[no-untyped-call]
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
        _banner_done = True


TUNING: dict[str, Any] = {"simplex_scale_strategy": 4}
"""HiGHS options the plan LP is solved with unless overridden, chosen by measurement
(benchmarks/bench_saa.py; docs/methodology-optimiser.md, "Solve time"): the LP's coefficients
span 13 orders of magnitude (priority-weighted penalties next to EUR 1e-3 tie-breaks), and
HiGHS's max-value scaling (strategy 4) with the objective scaled down (:func:`objective_scale`)
halves the dual simplex's CPU time against HiGHS's defaults (5 draws x 4 futures: 24 s vs
51 s) with the same optimum. Interior point (``solver="ipm"``, with or without
crossover) was 3x slower at 2 draws x 4 futures and worse at 5. Should HiGHS still stop short
of optimal, :func:`solve` solves again with HiGHS's defaults."""
PLAIN: dict[str, Any] = {"simplex_scale_strategy": 1, "user_objective_scale": 0}
"""HiGHS's own defaults for the options :data:`TUNING` and :func:`objective_scale` set."""
COST_TARGET = 1e6
"""Largest objective coefficient HiGHS should see after its user objective scaling."""


def cost_scale(coeffs: np.ndarray) -> int:
    """HiGHS ``user_objective_scale`` (a power of 2) bringing the largest of the objective
    coefficients ``coeffs`` to at most :data:`COST_TARGET` (0 if it already is)."""
    big = float(np.abs(coeffs).max()) if np.size(coeffs) else 0.0
    return -max(0, math.ceil(math.log2(big / COST_TARGET))) if big > 0 else 0


def objective_scale(m: linopy.Model) -> int:
    """:func:`cost_scale` of the objective of ``m``."""
    return cost_scale(np.asarray(m.objective.coeffs.values, dtype=float))


def highs_options(log: bool = False, **options: Any) -> dict[str, Any]:
    """HiGHS options: silent, or (``log=True``) the log on stderr via ``log_file``
    (``options`` override them)."""
    quiet: dict[str, Any] = {"output_flag": log, "log_to_console": False}
    if log:
        quiet["log_file"] = "/dev/stderr"
    return {**quiet, **options}


def solve(m: linopy.Model, log: bool = False, **options: Any) -> float:
    """Solve ``m`` with HiGHS (direct API); return the optimal objective.

    Solved with :data:`TUNING` and :func:`objective_scale`; if HiGHS ends in numerical
    trouble (termination "unknown") it is solved again with HiGHS's defaults (:data:`PLAIN`).
    ``log=True`` shows the HiGHS log on stderr. ``options`` go to HiGHS (e.g.
    ``solver="simplex"``, ``time_limit=60``) and override both. Raises :class:`PlanError`
    unless the status is "ok" and the termination condition "optimal". Safe to call from
    several threads.
    """
    absorb_banner()
    tuned = {**TUNING, "user_objective_scale": objective_scale(m), **options}
    status, condition = m.solve(solver_name="highs", io_api="direct", **highs_options(log, **tuned))
    if condition == "unknown":  # numerical trouble (not a limit): HiGHS's defaults instead
        plain = {**PLAIN, **options}
        status, condition = m.solve(
            solver_name="highs", io_api="direct", **highs_options(log, **plain)
        )
    if status != "ok" or condition != "optimal":
        raise PlanError(
            f"the optimiser did not find an optimal plan: status '{status}', termination "
            f"'{condition}'. The LP is feasible by construction (unmet demand is a slack), so "
            "this points to numerical trouble, a solver limit (time_limit?) or an extra "
            "constraint that cannot be met."
        )
    value = m.objective.value
    if value is None:
        raise PlanError("the solver reported optimal but returned no objective value")
    return float(value)


MIP_GAP = 1e-4
"""Relative optimality gap at which HiGHS stops branching (``--lumpy``)."""


def solve_lumpy(m: linopy.Model, log: bool = False, **options: Any) -> float:
    """Solve ``m`` with integer builds (a HiGHS MIP), then fix the builds at the solution,
    relax them and re-solve the LP, so that the duals exist (they hold for those builds).
    Returns the objective of the fixed-build LP (equal to the MIP's)."""
    solve(m, log=log, mip_rel_gap=options.pop("mip_rel_gap", MIP_GAP), **options)
    build = m.variables["build"]
    build.fix()
    build.relax()
    return solve(m, log=log, **options)
