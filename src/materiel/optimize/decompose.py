"""Solve the sample-average LP by scenario decomposition (multi-cut L-shaped method).

The scenario rows of the plan LP share only the first stage (``build`` and the
``new_capacity`` it adds); with those fixed the LP falls apart into one small LP per row.
:func:`solve_decomposed` alternates between

- a **master** LP over the first stage and one value ``theta[s]`` per scenario row,
  minimising capex + sum of ``theta``, bounded from below by the cuts found so far, and
- the **subproblems**: each row's LP at the master's builds (HiGHS's dual simplex, warm from
  the row's previous basis: only right-hand sides change), whose optimal value and duals give
  a cut ``theta[s] >= Q_s(x_k) + g_s . (x - x_k)`` (``Q_s`` is convex in the builds).

The master's optimum is a lower bound on the LP's optimum and every evaluated plan an upper
bound; the loop stops when they agree within ``gap`` (relative). Separation points are
stabilised (in-out, Ben-Ameur and Neto 2007): the subproblems are evaluated between the
master's point and the best plan so far, which keeps the builds from jumping between
extremes. The answer is the same LP optimum as :func:`materiel.optimize.solve.solve` on the
whole LP, within ``gap``; the solution and the duals are written back onto the linopy model
(:meth:`linopy.Model.assign_result`), so everything that reads a solved plan works unchanged.

The LP and its matrices come from linopy's public API (``Model.matrices``); HiGHS is driven
through highspy. Rows are solved in threads (HiGHS releases the GIL while it solves).
Docs: docs/methodology-optimiser.md, "Solve time".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import highspy
import linopy
import numpy as np
import scipy.sparse as sp
from linopy.constants import Result, Solution, SolverStatus, Status, TerminationCondition

from materiel.model.compiled import FloatArray, IntArray
from materiel.optimize.blocks import columns, owners, row_bounds, split
from materiel.optimize.solve import (
    PLAIN,
    TUNING,
    PlanError,
    absorb_banner,
    cost_scale,
    highs_options,
)

GAP = 1e-6
"""Relative gap between the best plan's objective and the master's lower bound at which the
decomposition stops (HiGHS's own optimality tolerances are about 1e-7)."""
MAX_ITERATIONS = 200
"""Master iterations before the decomposition gives up (a :class:`PlanError`)."""
SOLVER_MEMORY = 3 * 2**30
"""Bytes of HiGHS instances kept between iterations (rows beyond it are reloaded each time)."""
INSTANCE_BYTES = 500
"""Estimated bytes of a solved HiGHS instance per column and row of its LP (measured: about
20 MB for one scenario row of the bundled plan LP, 23 k columns and 17 k rows)."""
MASTER_SIZE = 1e4
"""The master sees its objective in units of the first plan's objective / this: large enough
that no cut coefficient falls under HiGHS's ``small_matrix_value`` (1e-9; a dropped
coefficient would make a cut claim too much), small enough to keep the master well scaled."""
IN_OUT = 0.5
"""Weight of the best plan so far in the point evaluated next (0: plain L-shaped)."""
STALL = 0.1
"""When the lower bound rose by less than this share of the gap in an iteration, the next
plan evaluated is the master's own point (no in-out step): near the optimum the stabilised
step would only halve the gap each time."""


def _highs(options: dict[str, Any]) -> Any:
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    for key, value in options.items():
        h.setOptionValue(key, value)
    return h


class Subproblem:
    """One scenario row's LP with the first stage as a parameter: min c.y subject to
    lower - B x <= A y <= upper - B x and the column bounds of y.

    A row may own a HiGHS instance (``own``): it is then loaded once and re-solved after
    changing only its row bounds, which keeps HiGHS's factorisation and dual simplex
    pricing weights (about 3x faster than reloading). Otherwise the row holds only its data
    and last optimal basis and is loaded into whichever instance solves it."""

    def __init__(
        self,
        a: sp.csr_array,
        link: sp.csr_array,
        bounds: tuple[FloatArray, FloatArray],
        c: FloatArray,
        y_bounds: tuple[FloatArray, FloatArray],
        options: dict[str, Any],
        own: Any = None,
    ) -> None:
        self.a, self.link = a, link
        self.options = options
        self.lower, self.upper = bounds
        self.c, self.lb, self.ub = c, *y_bounds
        self.scale = cost_scale(c)
        self.own = own
        self.basis: Any = None
        self.col_value: FloatArray = np.zeros(0)
        self.row_dual: FloatArray = np.zeros(0)

    def feasibility(
        self, x_bounds: tuple[FloatArray, FloatArray]
    ) -> tuple[sp.csr_array, FloatArray, FloatArray]:
        """This row's :func:`feasibility_rows` at its current bounds."""
        bounds = (self.lower, self.upper)
        return feasibility_rows(self.a, self.link, bounds, (self.lb, self.ub), x_bounds)

    def set_bounds(self, cols: IntArray, lower: FloatArray, upper: FloatArray) -> None:
        """Bounds of the row's own columns at positions ``cols``."""
        self.lb[cols], self.ub[cols] = lower, upper
        if self.own is not None and self.basis is not None:
            self.own.changeColsBounds(len(cols), cols.astype(np.int32), lower, upper)

    def _load(
        self, h: Any, lower: FloatArray, upper: FloatArray, basis: Any, scale: int | None = None
    ) -> None:
        n, a = len(self.c), self.a
        h.clearModel()
        h.setOptionValue("user_objective_scale", self.scale if scale is None else scale)
        h.addVars(n, self.lb, self.ub)
        h.changeColsCost(n, np.arange(n, dtype=np.int32), self.c)
        h.addRows(len(lower), lower, upper, a.nnz, a.indptr, a.indices, a.data)
        if basis is not None:
            h.setBasis(basis)

    def solve(self, h: Any, x: FloatArray, basis: Any = None) -> tuple[float, FloatArray]:
        """Optimal value Q(x) (EUR-equivalent) and a subgradient dQ/dx (one per first-stage
        column). Solved on the row's own instance if it has one (else on ``h``), from
        ``basis`` when the row was never solved (none: from scratch, with presolve)."""
        shift = self.link @ x
        lower, upper = self.lower - shift, self.upper - shift
        if self.own is not None and self.basis is not None:
            h = self.own
            rows = np.arange(len(lower), dtype=np.int32)
            h.changeRowsBounds(len(rows), rows, lower, upper)
        else:
            h = self.own if self.own is not None else h
            self._load(h, lower, upper, self.basis if self.basis is not None else basis)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            # numerical trouble: from scratch with HiGHS's defaults, as solve.solve does
            h = _highs({**self.options, **PLAIN, "user_objective_scale": 0})
            self._load(h, lower, upper, None, scale=0)
            h.run()
            if self.own is not None:
                self.own, self.basis = h, None
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            status = h.modelStatusToString(h.getModelStatus())
            raise PlanError(
                f"a scenario row's LP ended '{status}' in the decomposition; solve the whole "
                "LP instead (materiel plan --whole; plan(..., decompose=False))"
            )
        sol = h.getSolution()
        self.col_value = np.asarray(sol.col_value)
        self.row_dual = np.asarray(sol.row_dual)
        self.basis = h.getBasis()
        value = float(h.getInfo().objective_function_value)
        return value, -np.asarray(self.link.T @ self.row_dual)


class Master:
    """min c.x + sum of theta subject to the first-stage rows, the feasibility rows and the
    cuts found so far. Objective and cuts are divided by ``scale`` (about the LP's optimum,
    EUR) so that HiGHS sees values near 1 rather than 1e13."""

    def __init__(
        self,
        a: sp.csr_array,
        bounds: tuple[FloatArray, FloatArray],
        c: FloatArray,
        x_bounds: tuple[FloatArray, FloatArray],
        n_theta: int,
        scale: float,
        options: dict[str, Any],
    ) -> None:
        self.n_x, self.n_theta, self.scale = len(c), n_theta, scale
        self.h = _highs({**options, "small_matrix_value": 1e-12})
        n = self.n_x + n_theta
        free = np.full(n_theta, np.inf)
        self.h.addVars(n, np.concatenate([x_bounds[0], -free]), np.concatenate([x_bounds[1], free]))
        cost = np.concatenate([c / scale, np.ones(n_theta)])
        self.h.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
        a = sp.csr_array((a.data, a.indices, a.indptr), shape=(a.shape[0], n))
        self.h.addRows(len(bounds[0]), *bounds, a.nnz, a.indptr, a.indices, a.data)
        self.n_first_rows = len(bounds[0])

    def add_cuts(self, x: FloatArray, values: FloatArray, grads: FloatArray) -> None:
        """theta[s] - g_s . x >= Q_s(x_k) - g_s . x_k for every row s (scaled)."""
        n_s = len(values)
        g = grads / self.scale
        cuts = sp.csr_array(np.concatenate([-g, np.eye(n_s)], axis=1))
        rhs = values / self.scale - g @ x
        free = np.full(n_s, np.inf)
        self.h.addRows(n_s, rhs, free, cuts.nnz, cuts.indptr, cuts.indices, cuts.data)

    def solve(self) -> tuple[FloatArray, float]:
        """The master's optimal first stage and its objective (a lower bound, EUR)."""
        self.h.run()
        status = self.h.modelStatusToString(self.h.getModelStatus())
        if status != "Optimal":
            raise PlanError(f"the decomposition's master LP ended '{status}'")
        x = np.asarray(self.h.getSolution().col_value)[: self.n_x]
        return x, float(self.h.getInfo().objective_function_value) * self.scale

    def first_row_duals(self) -> FloatArray:
        """Duals of the first-stage rows (EUR per unit of the row's right-hand side)."""
        dual = np.asarray(self.h.getSolution().row_dual)[: self.n_first_rows]
        return dual * self.scale


def _activity(m: sp.csr_array, lo: FloatArray, hi: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Least and greatest value of each row of ``m @ v`` for ``lo <= v <= hi`` (+-inf where
    unbounded)."""
    coo = m.tocoo()
    a, col = coo.data, coo.col
    with np.errstate(invalid="ignore"):  # 0 x inf of stored zeros, discarded below
        least = np.where(a > 0, a * lo[col], np.where(a < 0, a * hi[col], 0.0))
        most = np.where(a > 0, a * hi[col], np.where(a < 0, a * lo[col], 0.0))
    n = m.shape[0]
    return (
        np.bincount(coo.row, weights=least, minlength=n),
        np.bincount(coo.row, weights=most, minlength=n),
    )


def feasibility_rows(
    a: sp.csr_array,
    link: sp.csr_array,
    bounds: tuple[FloatArray, FloatArray],
    y_bounds: tuple[FloatArray, FloatArray],
    x_bounds: tuple[FloatArray, FloatArray],
) -> tuple[sp.csr_array, FloatArray, FloatArray]:
    """Rows ``lower - max(A y) <= B x <= upper - min(A y)`` of one scenario row that a first
    stage within its bounds could violate. They keep every row's LP feasible whatever the
    master chooses (for the plan LP: capex within each budget, purchases being >= 0)."""
    lower, upper = bounds
    least_y, most_y = _activity(a, *y_bounds)
    least_x, most_x = _activity(link, *x_bounds)
    top, bottom = upper - least_y, lower - most_y
    linked = np.diff(link.indptr) > 0
    keep = np.flatnonzero(linked & ((most_x > top + 1e-9) | (least_x < bottom - 1e-9)))
    return link[keep], bottom[keep], top[keep]


Progress = Callable[[str], None]


class Decomposition:
    """The plan LP cut into its first stage and one :class:`Subproblem` per scenario row.

    Rows own a HiGHS instance while their estimated size fits in ``memory`` (bytes); the
    others are reloaded, from their last basis, into one shared instance per worker thread.
    Besides :meth:`run` it offers what the finite-difference values of
    :mod:`materiel.optimize.results` need (:class:`materiel.optimize.resolve.Resolver`):
    change row or column bounds of the whole LP (positions in ``lp.matrices``), re-solve
    from the current plan, read the solution."""

    def __init__(
        self,
        lp: linopy.Model,
        workers: int = 1,
        memory: int = SOLVER_MEMORY,
        gap: float = GAP,
        progress: Progress | None = None,
        **options: Any,
    ) -> None:
        mat = lp.matrices
        if mat.A is None or (len(mat.vtypes) and (mat.vtypes != "C").any()):
            raise PlanError("the decomposition solves LPs only (integer builds: solve whole)")
        self.parts = parts = split(lp, mat)
        a = sp.csr_array(mat.A)
        lower, upper = row_bounds(np.asarray(mat.sense), np.asarray(mat.b, dtype=float))
        c = np.asarray(mat.c, dtype=float)
        lb, ub = np.asarray(mat.lb, dtype=float), np.asarray(mat.ub, dtype=float)
        first = parts.first_cols
        self.vlabels, self.clabels = np.asarray(mat.vlabels), np.asarray(mat.clabels)
        self.col_owner, self.col_local = owners(parts.cols, first, len(self.vlabels))
        top = a[parts.first_rows]
        if (self.col_owner[top.indices] >= 0).any():
            raise PlanError("a first-stage row involves a scenario row's variable")
        self.first_a = columns(top, self.col_owner < 0, self.col_local, len(first))
        self.first_bounds = (lower[parts.first_rows], upper[parts.first_rows])
        self.c_first = c[first]
        self.x_bounds = (lb[first], ub[first])
        self.options = highs_options(False, **{**TUNING, **options})
        self.master_options = highs_options(False, **options)
        self.rows: list[Subproblem] = []
        budget = memory
        for s, (cols, rows) in enumerate(zip(parts.cols, parts.rows, strict=True)):
            block = a[rows]
            size = INSTANCE_BYTES * (len(cols) + len(rows))
            keep = _highs(self.options) if size <= budget else None
            budget -= size if keep is not None else 0
            own = columns(block, self.col_owner == s, self.col_local, len(cols))
            link = columns(block, self.col_owner < 0, self.col_local, len(first))
            bounds = (lower[rows], upper[rows])
            sub = Subproblem(own, link, bounds, c[cols], (lb[cols], ub[cols]), self.options, keep)
            self.rows.append(sub)
        self.row_owner, self.row_local = owners(parts.rows, parts.first_rows, len(self.clabels))
        self.workers, self.gap, self.say = workers, gap, progress or (lambda _line: None)
        self.x = np.zeros(len(first))
        self.value = np.nan
        self.first_duals = np.zeros(len(parts.first_rows))

    def _master(self, scale: float) -> Master:
        feas = [row.feasibility(self.x_bounds) for row in self.rows]
        return Master(
            sp.vstack([self.first_a, *(f[0] for f in feas)], format="csr"),
            (
                np.concatenate([self.first_bounds[0], *(f[1] for f in feas)]),
                np.concatenate([self.first_bounds[1], *(f[2] for f in feas)]),
            ),
            self.c_first,
            self.x_bounds,
            len(self.rows),
            scale,
            self.master_options,
        )

    def _evaluate(self, pool: ThreadPoolExecutor, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Every row's optimal value (EUR-equivalent) and subgradient at first stage ``x``.
        Rows never solved before: one row of each shape from scratch, the others from its
        optimal basis (about 3x faster than from scratch)."""
        local = threading.local()

        def highs() -> Any:
            if not hasattr(local, "h"):
                local.h = _highs(self.options)
            return local.h

        new = [i for i, row in enumerate(self.rows) if row.basis is None]
        shape = {i: (len(self.rows[i].c), len(self.rows[i].lower)) for i in new}
        leader = {shape[i]: i for i in reversed(new)}

        def solve(i: int) -> tuple[float, FloatArray]:
            basis = self.rows[leader[shape[i]]].basis if i in shape else None
            return self.rows[i].solve(highs(), x, basis)

        heads = list(leader.values())
        found = dict(zip(heads, pool.map(solve, heads), strict=True))
        rest = [i for i in range(len(self.rows)) if i not in found]
        found.update(zip(rest, pool.map(solve, rest), strict=True))
        out = [found[i] for i in range(len(self.rows))]
        return np.array([v for v, _ in out]), np.stack([g for _, g in out])

    def run(self) -> float:
        """Solve from the current plan (zero builds at first) to within the relative gap;
        return the optimal objective (EUR-equivalent). Each row keeps its solution at the
        plan found."""
        x = self.x
        best, best_x, bound, previous, evaluated = np.inf, x, -np.inf, -np.inf, x
        master: Master | None = None
        with ThreadPoolExecutor(self.workers) as pool:
            for k in range(1, MAX_ITERATIONS + 1):
                values, grads = self._evaluate(pool, x)
                evaluated = x
                total = float(self.c_first @ x + values.sum())
                if total < best:
                    best, best_x = total, x
                if master is None:
                    master = self._master(max(abs(total), 1.0) / MASTER_SIZE)
                master.add_cuts(x, values, grads)
                x_master, bound = master.solve()
                closed = best - bound <= self.gap * max(abs(best), 1.0)
                self.say(
                    f"decomposition iteration {k}: best plan within "
                    f"{max(best - bound, 0.0) / max(abs(best), 1.0):.1e} of the optimum"
                )
                if closed:
                    break
                stalled = bound - previous < STALL * (best - bound)
                x = x_master if stalled else IN_OUT * best_x + (1.0 - IN_OUT) * x_master
                previous = bound
            else:
                raise PlanError(
                    f"the decomposition did not close the gap to {self.gap:g} in "
                    f"{MAX_ITERATIONS} iterations (plan {best:,.6g}, bound {bound:,.6g})"
                )
            if evaluated is not best_x:
                self._evaluate(pool, best_x)
        assert master is not None
        self.x, self.value = best_x, best
        self.first_duals = master.first_row_duals()[: len(self.parts.first_rows)]
        return best

    # --- the Resolver protocol (materiel.optimize.resolve) ---------------------------------

    def set_row_bounds(self, rows: IntArray, lower: FloatArray, upper: FloatArray) -> None:
        """Bounds of the whole LP's rows at positions ``rows`` (as in ``lp.matrices``)."""
        owner, local = self.row_owner[rows], self.row_local[rows]
        first = owner < 0
        self.first_bounds[0][local[first]] = lower[first]
        self.first_bounds[1][local[first]] = upper[first]
        for s in np.unique(owner[~first]):
            at = owner == s
            self.rows[s].lower[local[at]] = lower[at]
            self.rows[s].upper[local[at]] = upper[at]

    def set_col_bounds(self, cols: IntArray, lower: FloatArray, upper: FloatArray) -> None:
        """Bounds of the whole LP's columns at positions ``cols``."""
        owner, local = self.col_owner[cols], self.col_local[cols]
        first = owner < 0
        self.x_bounds[0][local[first]] = lower[first]
        self.x_bounds[1][local[first]] = upper[first]
        self.x = np.clip(self.x, *self.x_bounds)
        for s in np.unique(owner[~first]):
            at = owner == s
            self.rows[s].set_bounds(local[at], lower[at], upper[at])

    def col_value(self) -> FloatArray:
        """The solution by column position of the whole LP."""
        out = np.full(len(self.vlabels), np.nan)
        out[self.parts.first_cols] = self.x
        for row, cols in zip(self.rows, self.parts.cols, strict=True):
            out[cols] = row.col_value
        return out

    def row_dual(self) -> FloatArray:
        """The duals by row position of the whole LP (EUR-equivalent per unit of the row)."""
        out = np.full(len(self.clabels), np.nan)
        out[self.parts.first_rows] = self.first_duals
        for row, rows in zip(self.rows, self.parts.rows, strict=True):
            out[rows] = row.row_dual
        return out

    def objective(self) -> float:
        """The objective of the last :meth:`run` (EUR-equivalent)."""
        return float(self.value)

    def assign(self, lp: linopy.Model) -> None:
        """Write the solution and the duals onto ``lp`` as linopy's own solvers do."""
        n_vars = max(v.range[1] for v in lp.variables.data.values())
        n_cons = max(con.range[1] for con in lp.constraints.data.values())
        primal = np.full(n_vars, np.nan)
        primal[self.vlabels] = self.col_value()
        dual = np.full(n_cons, np.nan)
        dual[self.clabels] = self.row_dual()
        status = Status(SolverStatus.ok, TerminationCondition.optimal)
        solution = Solution(primal, dual, self.objective())
        lp.assign_result(Result(status, solution, solver_name="highs"))


def solve_decomposed(
    lp: linopy.Model,
    gap: float = GAP,
    progress: Progress | None = None,
    workers: int | None = None,
    memory: int = SOLVER_MEMORY,
    **options: Any,
) -> Decomposition:
    """Solve the plan LP ``lp`` by scenario decomposition and write the solution and the
    duals onto ``lp`` (its objective: ``lp.objective.value``, EUR-equivalent, as
    :func:`materiel.optimize.solve.solve`). ``gap``: relative optimality gap at which to
    stop; ``workers``: threads solving scenario rows (default: the simulator's
    :func:`materiel.simulation.engine.threads`); ``memory``: bytes of HiGHS instances kept
    between iterations (:class:`Decomposition`); ``options`` go to HiGHS. ``progress`` gets
    a line per master iteration. Returns the decomposition, ready to re-solve. Raises
    :class:`PlanError` if a row's LP or the master does not solve to optimality or the gap
    does not close in :data:`MAX_ITERATIONS` iterations."""
    from materiel.simulation.engine import threads

    absorb_banner()
    dec = Decomposition(lp, workers or threads(), memory, gap, progress, **options)
    dec.say(f"{len(dec.rows)} scenario rows set up")
    dec.run()
    dec.assign(lp)
    dec.say = lambda _line: None  # re-solves for finite differences run quietly
    return dec
