"""Bounds on simulation work, checked before any work starts.

Draws run in chunks sized by a memory budget (see :func:`materiel.simulation.chunk_size`),
so a run streamed to a results file needs little memory whatever its size; what can still
grow without bound is the results file, the time, and results kept in memory. Each limit is
configurable through an environment variable:

- ``MATERIEL_MAX_MEMORY`` (default 4 GiB): results held in memory (Python API, analyses);
- ``MATERIEL_MAX_FILE`` (default 64 GiB): uncompressed size of a results file;
- ``MATERIEL_MAX_SECONDS`` (default 3600): estimated run time.

Sizes accept a unit: ``512MiB``, ``2GB``, ``1.5GiB`` (bare numbers are bytes).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from materiel.model.compiled import Model

GiB = 2**30
DRAW_MONTHS_PER_SECOND = 20_000.0
"""Conservative engine + write speed for the time estimate (draw-months per second; this
2-core machine does about 150,000 in the engine alone)."""

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


class LimitError(ValueError):
    """The requested work exceeds a configured limit (raised before any work starts)."""


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

    memory_bytes: int = 4 * GiB
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


def draw_bytes(model: Model, months: int) -> int:
    """Bytes of the engine's result arrays for one draw over ``months`` months."""
    from materiel.simulation.engine import output_arrays

    return sum(int(a.nbytes) for a in output_arrays(model, months, 1).values())


def estimate_bytes(model: Model, months: int, draws: int) -> int:
    """Bytes of the full results of ``draws`` draws over ``months`` months (uncompressed)."""
    return draw_bytes(model, months) * draws


def estimate_seconds(months: int, draws: int) -> float:
    """Rough run time in seconds (see :data:`DRAW_MONTHS_PER_SECOND`)."""
    return draws * months / DRAW_MONTHS_PER_SECOND


def check_limits(
    model: Model,
    months: int,
    draws: int,
    *,
    streamed: bool = False,
    limits: Limits | None = None,
) -> None:
    """Raise :class:`LimitError` if ``draws`` x ``months`` would exceed a limit.

    ``streamed``: results go chunk by chunk to a file (memory is bounded by the chunk
    budget; the file size is checked instead of memory).
    """
    lim = limits or Limits.from_env()
    size = estimate_bytes(model, months, draws)
    what = f"{draws:,} draws x {months} months"
    if streamed and size > lim.file_bytes:
        raise LimitError(
            f"{what} would write about {format_size(size)} of results (uncompressed), more "
            f"than the limit of {format_size(lim.file_bytes)}: use fewer draws or months, or "
            "raise MATERIEL_MAX_FILE"
        )
    if not streamed and size > lim.memory_bytes:
        raise LimitError(
            f"{what} would hold about {format_size(size)} of results in memory, more than "
            f"the limit of {format_size(lim.memory_bytes)}: use fewer draws or months, stream "
            "the results to a file (materiel simulate --out, or "
            "materiel.simulation.simulate_to_file), or raise MATERIEL_MAX_MEMORY"
        )
    seconds = estimate_seconds(months, draws)
    if seconds > lim.seconds:
        raise LimitError(
            f"{what} would take about {seconds / 60:,.0f} minutes, more than the limit of "
            f"{lim.seconds / 60:,.0f} minutes: use fewer draws or months, or raise "
            "MATERIEL_MAX_SECONDS"
        )
