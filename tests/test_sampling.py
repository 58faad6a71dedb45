"""The sampler's uniforms depend only on (seed, draw), however the draws are split."""

from __future__ import annotations

import numpy as np
import pytest

from materiel.model.sampling import BLOCK, uniforms


def _blocks(seed: int, blocks: int, width: int) -> np.ndarray:
    """Every number of the first ``blocks`` blocks, generated whole."""
    return np.concatenate(
        [np.random.default_rng([seed, b]).random((BLOCK, width)) for b in range(blocks)]
    )


@pytest.mark.parametrize(
    ("start", "stop"),
    [(0, 0), (0, 1), (0, BLOCK), (5, 2000), (479, 958), (BLOCK - 1, BLOCK + 1), (3000, 3001)],
)
def test_any_span_draws_the_numbers_of_whole_blocks(start: int, stop: int) -> None:
    whole = _blocks(11, 3, 17)
    part = uniforms(11, start, stop, 17)
    assert part.shape == (stop - start, 17)
    assert part.tobytes() == whole[start:stop].tobytes()
