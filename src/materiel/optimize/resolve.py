"""Re-solving a solved plan LP after changing bounds: one interface, two solvers.

The finite-difference values of :mod:`materiel.optimize.results` (capacity, budget, option
values) change right-hand sides or column bounds and re-solve warm. A plan solved whole
re-solves on its HiGHS instance (:class:`HighsResolver`); a plan solved by scenario
decomposition re-solves through :class:`materiel.optimize.decompose.Decomposition`. Row and
column positions are those of ``lp.matrices``.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from materiel.model.compiled import FloatArray, IntArray


class Resolver(Protocol):
    """What a re-solve needs from a solved LP."""

    def set_row_bounds(self, rows: IntArray, lower: FloatArray, upper: FloatArray) -> None:
        """Lower and upper bounds of the rows at positions ``rows``."""

    def set_col_bounds(self, cols: IntArray, lower: FloatArray, upper: FloatArray) -> None:
        """Lower and upper bounds of the columns at positions ``cols``."""

    def run(self) -> float:
        """Re-solve to optimality (warm); return the objective."""

    def col_value(self) -> FloatArray:
        """The current solution by column position."""

    def objective(self) -> float:
        """The current objective (EUR-equivalent)."""


class HighsResolver:
    """A :class:`Resolver` on the HiGHS instance of a plan solved whole (silenced)."""

    def __init__(self, h: Any) -> None:
        self.h = h
        h.setOptionValue("output_flag", False)

    def set_row_bounds(self, rows: IntArray, lower: FloatArray, upper: FloatArray) -> None:
        self.h.changeRowsBounds(len(rows), rows, lower, upper)

    def set_col_bounds(self, cols: IntArray, lower: FloatArray, upper: FloatArray) -> None:
        self.h.changeColsBounds(len(cols), cols, lower, upper)

    def run(self) -> float:
        self.h.run()
        return self.objective()

    def col_value(self) -> FloatArray:
        return np.asarray(self.h.getSolution().col_value)

    def objective(self) -> float:
        return float(self.h.getInfo().objective_function_value)
