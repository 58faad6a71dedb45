"""Solve the LP with HiGHS and check the outcome every time."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import linopy


class PlanError(RuntimeError):
    """The solver did not return an optimal solution."""


@contextmanager
def stdout_redirected(to_stderr: bool = False) -> Iterator[None]:
    """Send file descriptor 1 to stderr or /dev/null: HiGHS prints a banner from C++ when it is
    created, before any option can silence it (research/stack.md section 6, item 4)."""
    sys.stdout.flush()
    saved = os.dup(1)
    target = os.dup(2) if to_stderr else os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(target, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(target)


def solve(m: linopy.Model, log: bool = False, **options: Any) -> float:
    """Solve ``m`` with HiGHS (direct API); return the optimal objective.

    ``log=True`` shows the HiGHS log on stderr. ``options`` go to HiGHS (e.g.
    ``solver="simplex"``, ``time_limit=60``). Raises :class:`PlanError` unless the status is
    "ok" and the termination condition "optimal".
    """
    with stdout_redirected(to_stderr=log):
        status, condition = m.solve(
            solver_name="highs", io_api="direct", output_flag=log, **options
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
