"""Bounds on simulation work, checked before anything is allocated.

The simulator keeps its result arrays as float32: per draw and month the arrays
:func:`materiel.simulation.engine.output_arrays` allocates, plus the derived shortfall.
Draws run in chunks sized by a memory budget (see :func:`materiel.simulation.chunk_size`),
so a run streamed to a results file needs little memory whatever its size; what can still
grow without bound is the results file, the time, and results kept in memory. Each limit is
configurable (the web service passes its own memory limit, ``max_bytes``); defaults can be
changed through environment variables:

- ``MATERIEL_MAX_MEMORY`` (default 2 GiB): results held in memory (Python API, analyses);
- ``MATERIEL_MAX_FILE`` (default 64 GiB): uncompressed size of a results file;
- ``MATERIEL_MAX_SECONDS`` (default 3600): estimated run time.

Sizes accept a unit: ``512MiB``, ``2GB``, ``1.5GiB`` (bare numbers are bytes).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from materiel.errors import LimitError

if TYPE_CHECKING:
    from materiel.model.compiled import Model

GiB = 2**30
BYTES_PER_FLOAT = 4
"""Results are float32."""
DEFAULT_MAX_BYTES = 2 * GiB
"""Default limit of results held in memory: 2 GiB."""
DRAW_MONTHS_PER_SECOND = 100_000.0
"""Conservative engine + write speed for the time estimate (draw-months per second; this
2-core machine runs `materiel simulate --draws 100000` over 36 months, results saved, at about
160,000, and the compiled kernel alone at about 800,000)."""

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


class WorkTooLargeError(LimitError):
    """A simulation whose estimated memory exceeds the limit (raised before it starts)."""

    def __init__(self, needed: int, limit: int, months: int, draws: int) -> None:
        super().__init__(
            f"this simulation would need about {_gib(needed)} of memory for its results "
            f"({draws:,} draws x {months} months), more than the limit of {_gib(limit)}; "
            f"use fewer draws (at most {max_draws_for(needed, limit, draws):,} at this horizon) "
            "or fewer months, or stream the results to a file (materiel simulate --out, "
            "materiel.simulation.simulate_to_file)"
        )
        self.needed = needed
        self.limit = limit


def _gib(n: int) -> str:
    return f"{n / 1024**3:.2f} GiB" if n >= 1024**3 else f"{n / 1024**2:.0f} MiB"


def parse_size(text: str) -> int:
    """Bytes from ``"512MiB"``, ``"2GB"``, ``"1e9"``; ValueError naming the allowed units."""
    match = re.fullmatch(r"\s*([0-9.eE+]+)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ValueError(
            f"cannot read the size '{text}': use a number with an optional unit "
            "(B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)"
        )
    try:
        value = float(match.group(1))
    except ValueError:
        raise ValueError(f"cannot read the size '{text}'") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"the size '{text}' must be a finite number >= 0")
    return int(value * _UNITS[unit])


def format_size(n: float) -> str:
    """``3.2 GiB``, ``512 MiB``, ``12 kiB``."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("kiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


@dataclass(frozen=True)
class Limits:
    """Largest allowed work: bytes in memory, bytes in a file (uncompressed), seconds."""

    memory_bytes: int = DEFAULT_MAX_BYTES
    file_bytes: int = 64 * GiB
    seconds: float = 3600.0

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults overridden by MATERIEL_MAX_MEMORY, MATERIEL_MAX_FILE, MATERIEL_MAX_SECONDS."""
        base = cls()
        env = os.environ
        seconds = env.get("MATERIEL_MAX_SECONDS")
        try:
            secs = float(seconds) if seconds else base.seconds
        except ValueError:
            raise ValueError(f"MATERIEL_MAX_SECONDS must be a number, got '{seconds}'") from None
        return cls(
            memory_bytes=_env_size("MATERIEL_MAX_MEMORY", base.memory_bytes),
            file_bytes=_env_size("MATERIEL_MAX_FILE", base.file_bytes),
            seconds=secs,
        )


def _env_size(name: str, default: int) -> int:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        return parse_size(text)
    except ValueError as e:
        raise ValueError(f"{name}: {e}") from None


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


def estimate_seconds(months: int, draws: int) -> float:
    """Rough run time in seconds (see :data:`DRAW_MONTHS_PER_SECOND`)."""
    return draws * months / DRAW_MONTHS_PER_SECOND


def check_limits(
    model: Model,
    months: int,
    draws: int,
    max_bytes: int | None = None,
    *,
    streamed: bool = False,
    limits: Limits | None = None,
) -> int:
    """The estimate in bytes; raises a :class:`LimitError` if ``draws`` x ``months`` would
    exceed a limit, or ValueError if ``months`` or ``draws`` is not a positive count.

    ``max_bytes``: memory limit for results held in memory (default: ``limits``, else
    :meth:`Limits.from_env`). ``streamed``: results go chunk by chunk to a file (memory is
    bounded by the chunk budget; the file size is checked instead of memory).
    """
    if months < 1 or draws < 1:
        raise ValueError(f"months and draws must be at least 1 (got {months} and {draws})")
    lim = limits or Limits.from_env()
    needed = estimate_bytes(model, months, draws)
    what = f"{draws:,} draws x {months} months"
    if streamed and needed > lim.file_bytes:
        raise LimitError(
            f"{what} would write about {format_size(needed)} of results (uncompressed), "
            f"more than the limit of {format_size(lim.file_bytes)}: use fewer draws or "
            "months, or raise MATERIEL_MAX_FILE"
        )
    memory = lim.memory_bytes if max_bytes is None else max_bytes
    if not streamed and needed > memory:
        raise WorkTooLargeError(needed, memory, months, draws)
    seconds = estimate_seconds(months, draws)
    if seconds > lim.seconds:
        raise LimitError(
            f"{what} would take about {seconds / 60:,.0f} minutes, more than the limit of "
            f"{lim.seconds / 60:,.0f} minutes: use fewer draws or months, or raise "
            "MATERIEL_MAX_SECONDS"
        )
    return needed
