"""Sample uncertain figures from their low/central/high ranges.

Each figure is drawn from a triangular distribution (mode = central). Uniforms come in fixed
blocks of draws, each seeded by (seed, block), so draw ``d`` gets the same values however the
draws are split into chunks or across workers.
"""

from __future__ import annotations

import numpy as np

from materiel.model.compiled import FloatArray, Model, Uncertain

BLOCK = 1024


def uniforms(seed: int, start: int, stop: int, width: int) -> FloatArray:
    """Uniform(0, 1) numbers for draws ``start..stop-1``, shape (stop - start, width).

    Row r of block b is the r-th row of ``default_rng([seed, b]).random((BLOCK, width))``;
    rows before ``start`` are skipped by advancing the generator, not drawn."""
    if stop <= start:
        return np.empty((0, width))
    parts = []
    for b in range(start // BLOCK, (stop - 1) // BLOCK + 1):
        lo, hi = max(start, b * BLOCK) - b * BLOCK, min(stop, (b + 1) * BLOCK) - b * BLOCK
        generator = np.random.PCG64([seed, b])
        generator.advance(lo * width)  # one 64-bit output per double
        parts.append(np.random.Generator(generator).random((hi - lo, width)))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def triangular(u: FloatArray, fig: Uncertain) -> FloatArray:
    """Inverse CDF of the triangular distribution (low, central, high) at ``u``."""
    a, c, b = fig.low, fig.central, fig.high
    span = b - a
    with np.errstate(divide="ignore", invalid="ignore"):
        split = np.where(span > 0, (c - a) / span, 0.0)
        left = a + np.sqrt(u * span * (c - a))
        right = b - np.sqrt((1 - u) * span * (b - c))
    return np.where(span > 0, np.where(u < split, left, right), c)


def sample(
    model: Model, draws: int, seed: int, start: int = 0, uncertain: bool = True
) -> dict[str, FloatArray]:
    """Draw every uncertain figure: name -> array (draws, n).

    With ``uncertain=False`` every draw takes the central values.
    """
    figures = model.uncertain()
    if not uncertain:
        return {k: np.broadcast_to(f.central, (draws, len(f))).copy() for k, f in figures.items()}
    width = sum(len(f) for f in figures.values())
    u = uniforms(seed, start, start + draws, width)
    out, col = {}, 0
    for name, fig in figures.items():
        out[name] = triangular(u[:, col : col + len(fig)], fig)
        col += len(fig)
    return out
