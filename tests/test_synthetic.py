"""The synthetic dataset generator: valid under the schema, sized as asked, plannable."""

from __future__ import annotations

from pathlib import Path

import pytest

from materiel.io.dataset import load_dataset
from materiel.model.compiled import compile_model
from materiel.optimize import plan
from materiel.scenario import load_scenario
from materiel.synthetic import synthetic_dataset, synthetic_tables, write_synthetic


def test_sizes_scale_and_validate() -> None:
    small, large = synthetic_dataset(1, seed=1), synthetic_dataset(10, seed=1)
    for table in ("facilities", "expansions", "recipes", "consumption"):
        assert len(large.tables[table]) == 10 * len(small.tables[table])
    assert len(small.tables["facilities"]) >= 40
    assert (large.tables["expansions"]["decided"] == "").sum() == 110  # options


def test_same_seed_same_data() -> None:
    a, b = synthetic_tables(2, seed=5), synthetic_tables(2, seed=5)
    assert all(a[k].equals(b[k]) for k in a)
    assert not synthetic_tables(2, seed=6)["facilities"].equals(a["facilities"])


def test_written_folder_loads_and_plans(tmp_path: Path) -> None:
    folder = write_synthetic(tmp_path / "syn", scale=2, seed=0)
    dataset = load_dataset(folder)
    assert dataset.meta.name == "synthetic-x2"
    model = compile_model(dataset)
    result = plan(model, [load_scenario("imposed-deal")], months=12)
    assert result.objective > 0
    assert set(result.shortfall["actor"]) == {"UKR"}


def test_scale_must_be_positive() -> None:
    with pytest.raises(ValueError, match="scale"):
        synthetic_tables(0)
