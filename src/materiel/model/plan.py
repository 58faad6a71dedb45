"""A plan: expansion options to build (when, how much) and production orders.

The optimiser writes plans; the simulator reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from materiel.model.compiled import FloatArray, IntArray, Model


@dataclass(frozen=True)
class Plan:
    """Decisions to test in the simulator.

    Builds, shape (K,) each: ``expansion`` (index into ``model.expansions``; options only),
    ``month`` (decision month; output starts ``lead_time`` months later) and ``scale`` (share
    of the option's added capacity and capex, in (0, 1]). ``orders``: production ordered per
    month and facility (item units/month at central capacity), shape (months, F); NaN = the
    scenario's order level. The simulator scales an order with the line's sampled capacity.
    """

    expansion: IntArray
    month: FloatArray
    scale: FloatArray
    orders: FloatArray | None = None

    @classmethod
    def empty(cls) -> Plan:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))


def builds(model: Model, plan: Plan | None) -> tuple[IntArray, FloatArray, FloatArray]:
    """All capacity additions: committed expansions (scale 1) followed by the plan's builds.

    Returns (expansion index, decision month, scale), each shape (K,).
    """
    committed = np.flatnonzero(~np.isnan(model.decided))
    plan = plan or Plan.empty()
    return (
        np.concatenate([committed, plan.expansion]).astype(np.int64),
        np.concatenate([model.decided[committed], plan.month]),
        np.concatenate([np.ones(len(committed)), plan.scale]),
    )
