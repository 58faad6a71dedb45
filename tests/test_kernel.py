"""The compiled kernel against the plain-NumPy reference: bit-identical results for every
output, on the bundled futures, plans, transfers and random events; its compile is cached."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from materiel.io.dataset import load_dataset
from materiel.model.compiled import Model, compile_model
from materiel.model.events import ScenarioArrays, compile_scenario
from materiel.model.plan import Plan
from materiel.model.sampling import sample
from materiel.scenario import load_scenario, parse_scenario
from materiel.simulation.engine import BLOCK_DRAWS, run
from materiel.simulation.reference_numpy import run_numpy_reference
from materiel.synthetic import synthetic_dataset
from test_properties import MONTHS, events
from test_properties import model as model


@pytest.fixture(scope="module")
def default() -> Model:
    return compile_model(load_dataset())


def assert_identical(
    model: Model, sc: ScenarioArrays, p: dict[str, np.ndarray], plan: Plan | None = None
) -> None:
    fast = run(model, sc, p, plan)
    slow = run_numpy_reference(model, sc, p, plan)
    assert fast.keys() == slow.keys()
    for name in slow:
        np.testing.assert_array_equal(fast[name], slow[name], err_msg=name, strict=True)


@pytest.mark.parametrize(
    "name", ["imposed-deal", "protracted-talks", "fragile-ceasefire", "european-surge"]
)
def test_kernel_equals_numpy_reference_on_the_bundled_futures(default: Model, name: str) -> None:
    sc = compile_scenario(default, load_scenario(name), 36)
    # more draws than one block, so several threads share the work
    assert_identical(default, sc, sample(default, BLOCK_DRAWS + 37, seed=3))


def test_kernel_equals_numpy_reference_with_one_draw_and_central_values(default: Model) -> None:
    sc = compile_scenario(default, load_scenario("imposed-deal"), 36)
    assert_identical(default, sc, sample(default, 1, seed=0, uncertain=False))


def test_kernel_equals_numpy_reference_with_a_plan_of_builds_and_orders(default: Model) -> None:
    sc = compile_scenario(default, load_scenario("imposed-deal"), 24)
    options = np.flatnonzero(np.isnan(default.decided))[:6]
    orders = np.full((24, len(default.facilities)), np.nan)
    orders[3:, :10] = 5_000.0
    plan = Plan(options, np.array([0.0, 1, 2, 3, 4, 5]), np.full(6, 0.5), orders)
    assert_identical(default, sc, sample(default, 40, seed=5), plan)


def test_kernel_equals_numpy_reference_with_transfers_losses_and_restarts(default: Model) -> None:
    ev = [
        {"type": "us_supply_stops", "month": 1},
        {"type": "flow", "supplier": "us", "recipient": "UKR", "factor": 2.0, "month": 6},
        {"type": "transfer", "from": "DEU", "to": "UKR", "item": "shell_155",
         "quantity": 50_000, "month": 2, "months": 5},
        {"type": "transfer", "from": "FRA", "to": "UKR", "item": "shell_155",
         "share": 0.3, "month": 3, "months": 2},
        {"type": "deep_strike", "target": "RUS", "month": 4, "fraction": 0.2,
         "stock_fraction": 0.1},
    ]  # fmt: skip
    sc = compile_scenario(default, parse_scenario({"name": "x", "months": 12, "events": ev}))
    assert len(sc.transfers) == 2
    assert_identical(default, sc, sample(default, 50, seed=9))


SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(ev=events, seed=st.integers(0, 1_000))
def test_kernel_equals_numpy_reference_under_random_events(
    model: Model,
    ev: list[dict[str, Any]],
    seed: int,
) -> None:
    sc = compile_scenario(model, parse_scenario({"name": "h", "months": MONTHS, "events": ev}))
    assert_identical(model, sc, sample(model, 8, seed))


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 40))
def test_kernel_equals_numpy_reference_on_synthetic_chains(seed: int) -> None:
    model = compile_model(synthetic_dataset(1, seed))
    stop = [{"type": "us_supply_stops", "month": 2}]
    sc = compile_scenario(model, parse_scenario({"name": "s", "months": 12, "events": stop}))
    assert_identical(model, sc, sample(model, 16, seed))


def test_a_dataset_without_recipes(tmp_path: Path) -> None:
    # Germany orders 5 rounds a month from two German lines of 10 a month each and no line
    # needs an input: each line makes 2.5 a month (split by capacity), in both engines
    from test_analysis_chokepoints import two_lines
    from test_analysis_common import model_of, scenario

    tables = two_lines(5.0)
    tables["recipes"] = []
    model = model_of(tmp_path, tables)
    sc = compile_scenario(model, scenario(2))
    p = sample(model, 1, seed=0, uncertain=False)
    assert_identical(model, sc, p)
    assert run(model, sc, p)["production"][0] == pytest.approx(np.full((2, 2), 2.5))


def test_progress_counts_every_draw_month(default: Model) -> None:
    sc = compile_scenario(default, load_scenario("imposed-deal"), 6)
    seen: list[int] = []
    run(default, sc, sample(default, 2 * BLOCK_DRAWS + 1, seed=1), progress=seen.append)
    assert sum(seen) == (2 * BLOCK_DRAWS + 1) * 6 and len(seen) == 3


CACHED = """
from materiel.io.dataset import load_dataset
from materiel.model.compiled import compile_model
from materiel.model.events import compile_scenario
from materiel.model.sampling import sample
from materiel.scenario import load_scenario
from materiel.simulation import kernel
from materiel.simulation.engine import run
model = compile_model(load_dataset())
run(model, compile_scenario(model, load_scenario("imposed-deal"), 2), sample(model, 2, 0))
stats = kernel.simulate.stats
print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
"""


@pytest.mark.slow
def test_the_compiled_kernel_is_cached_on_disk(tmp_path: Path) -> None:
    """A second process loads the kernel from the disk cache instead of compiling it."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}

    def hits_and_misses() -> tuple[int, int]:
        done = subprocess.run(
            [sys.executable, "-c", CACHED], env=env, capture_output=True, text=True, check=True
        )
        hits, misses = done.stdout.split()
        return int(hits), int(misses)

    assert hits_and_misses() == (0, 1)
    assert hits_and_misses() == (1, 0)
    assert any(tmp_path.rglob("*.nbi"))
