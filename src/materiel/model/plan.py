"""A plan: which expansion options start when, and production orders per facility and month.

The optimiser writes plans; the simulator reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from materiel.model.compiled import FloatArray, Model


@dataclass(frozen=True)
class Plan:
    """Decisions to test in the simulator.

    ``expansion_start``: month each expansion option is decided (NaN = not built), shape (E,).
    Committed expansions ignore it. ``orders``: production ordered, item units per month, shape
    (months, F); NaN means "use the scenario's order level".
    """

    expansion_start: FloatArray
    orders: FloatArray | None = None

    @classmethod
    def empty(cls, model: Model) -> Plan:
        return cls(np.full(len(model.expansions), np.nan))
