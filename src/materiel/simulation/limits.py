"""Bounds on the work one simulation may ask for, checked before anything is allocated.

The simulator keeps every result array in memory as float32: per draw and month the arrays
:func:`materiel.simulation.engine.output_arrays` allocates (two per facility, four per tracked
(holder, item) pair, one per claim, three more), plus the derived shortfall (one per pair).
"""

from __future__ import annotations

import numpy as np

from materiel.errors import LimitError
from materiel.model.compiled import Model

BYTES_PER_FLOAT = 4
"""Results are float32."""
DEFAULT_MAX_BYTES = 2 * 1024**3
"""Default limit: 2 GiB of results."""


class WorkTooLargeError(LimitError):
    """A simulation whose estimated memory exceeds the limit (raised before it starts)."""

    def __init__(self, needed: int, limit: int, months: int, draws: int) -> None:
        super().__init__(
            f"this simulation would need about {_gib(needed)} of memory for its results "
            f"({draws:,} draws x {months} months), more than the limit of {_gib(limit)}; "
            f"use fewer draws (at most {max_draws_for(needed, limit, draws):,} at this horizon) "
            "or fewer months"
        )
        self.needed = needed
        self.limit = limit


def _gib(n: int) -> str:
    return f"{n / 1024**3:.2f} GiB" if n >= 1024**3 else f"{n / 1024**2:.0f} MiB"


def floats_per_draw_month(model: Model) -> int:
    """Result values the simulator stores per draw and month for ``model`` (no events)."""
    from materiel.model.events import compile_scenario
    from materiel.scenario import Scenario
    from materiel.simulation.engine import output_arrays

    arrays = output_arrays(model, compile_scenario(model, Scenario(name="size", months=1)), 0)
    stored = sum(int(np.prod(a.shape[2:], dtype=np.int64)) for a in arrays.values())
    return stored + int(np.prod(arrays["wanted"].shape[2:]))  # + the derived shortfall


def estimate_bytes(model: Model, months: int, draws: int) -> int:
    """Estimated memory of a simulation's results: draws x months x floats x 4 bytes."""
    return max(0, draws) * max(0, months) * floats_per_draw_month(model) * BYTES_PER_FLOAT


def max_draws_for(needed: int, limit: int, draws: int) -> int:
    """The most draws that fit ``limit`` when ``draws`` draws need ``needed`` bytes."""
    per_draw = needed // max(1, draws)
    return max(0, limit // max(1, per_draw))


def check_limits(model: Model, months: int, draws: int, max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """The estimate in bytes; raises :class:`WorkTooLargeError` if it exceeds ``max_bytes``
    or if ``months`` or ``draws`` is not a positive count."""
    if months < 1 or draws < 1:
        raise ValueError(f"months and draws must be at least 1 (got {months} and {draws})")
    needed = estimate_bytes(model, months, draws)
    if needed > max_bytes:
        raise WorkTooLargeError(needed, max_bytes, months, draws)
    return needed
