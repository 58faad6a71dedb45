"""The charts' data, not just that they render: stacked shares sum to what the data says."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
import pytest

from materiel.analysis.dependencies import dependencies
from materiel.api import load_model
from materiel.reporting.plots import NOT_MODELLED, plot_dependencies
from materiel.scenario import load_scenario


def _stacks(fig: object) -> tuple[dict[tuple[str, str], float], set[str]]:
    """Sum of the stacked x-values per (axis, bar); the bars marked not modelled."""
    sums: dict[tuple[str, str], float] = defaultdict(float)
    marked: set[str] = set()
    for trace in fig.data:  # type: ignore[attr-defined]
        if trace.name == NOT_MODELLED:
            marked |= set(trace.y)
            continue
        for y, x in zip(trace.y, trace.x, strict=True):
            assert x == x, f"NaN reaches Plotly's stacking: {trace.name} {y}"
            sums[(trace.xaxis, y)] += float(x)
    return sums, marked


def test_dependency_bars_sum_to_100_percent_or_are_marked_not_modelled() -> None:
    model = load_model()
    table = dependencies(model, load_scenario("imposed-deal"))
    fig = plot_dependencies(table)
    sums, marked = _stacks(fig)
    ends = set(table["end_item"])
    assert {"fpv_drone", "long_range_drone"} <= ends  # drones are in the table
    assert {"fpv_drone", "long_range_drone"} <= marked
    for (axis, bar), total in sums.items():
        assert total == pytest.approx(1.0, abs=1e-9), (axis, bar, total)
    end_bars = {bar for (axis, bar) in sums if axis == "x"}
    assert end_bars | marked == ends and not end_bars & marked
    inputs = set(table.loc[table["origin"] != NOT_MODELLED, "input"])
    assert {bar for (axis, bar) in sums if axis == "x2"} == inputs


def test_missing_country_rows_are_zeros_not_gaps() -> None:
    """Input 'fuze' made only in DEU, 'powder' in DEU and CHN: the CHN trace has no fuze row,
    and the fuze bar must still reach 100 %."""
    rows = [
        ("shell", "powder", "DEU", "europe", 0.6, 0.3),
        ("shell", "powder", "CHN", "outside", 0.4, 0.2),
        ("shell", "fuze", "DEU", "europe", 1.0, 0.5),
        ("drone", "", "", NOT_MODELLED, float("nan"), float("nan")),
    ]
    table = pd.DataFrame(
        rows, columns=["end_item", "input", "country", "origin", "input_share", "value_share"]
    )
    sums, marked = _stacks(plot_dependencies(table))
    assert marked == {"drone"}
    assert sums[("x", "shell")] == pytest.approx(1.0)
    assert sums[("x2", "fuze")] == pytest.approx(1.0)
    assert sums[("x2", "powder")] == pytest.approx(1.0)
