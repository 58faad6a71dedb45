"""Invariants of the simulator, checked with hypothesis over random parameters and events."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import tiny_tables, write_dataset
from materiel.io.dataset import load_dataset
from materiel.model.compiled import Model, compile_model
from materiel.model.events import compile_scenario
from materiel.model.plan import Plan
from materiel.model.sampling import sample
from materiel.scenario import parse_scenario
from materiel.simulation import simulate
from materiel.simulation.engine import run

MONTHS = 8


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Model:
    tables = tiny_tables()
    for r in tables["facilities"]:  # wide ranges so draws differ
        r["capacity_low"], r["capacity_high"] = 0.2 * r["capacity"], 2.0 * r["capacity"]
        r["utilisation_low"] = 0.3
    tables["consumption"][0].update(rate_low=5_000.0, rate_high=40_000.0)
    return compile_model(load_dataset(write_dataset(tmp_path_factory.mktemp("p"), tables)))


positive = st.floats(0.0, 1e5, allow_nan=False)
share = st.floats(0.0, 1.0)
events = st.lists(
    st.one_of(
        st.builds(lambda m: {"type": "us_supply_stops", "month": m}, st.integers(0, MONTHS - 1)),
        st.builds(
            lambda m, x: {"type": "ceasefire", "month": m, "intensity": x},
            st.integers(0, MONTHS - 1),
            st.floats(0, 2),
        ),
        st.builds(
            lambda m, f, k: {
                "type": "deep_strike",
                "target": "RUS",
                "month": m,
                "fraction": f,
                "stock_fraction": k,
            },
            st.integers(0, MONTHS - 1),
            share,
            share,
        ),
        st.builds(
            lambda n, m, f: {"type": "supplier_outage", "node": n, "month": m, "fraction": f},
            st.sampled_from(["powder_plant", "shell_plant", "USA", "DEU"]),
            st.integers(0, MONTHS - 1),
            share,
        ),
        st.builds(
            lambda m, x: {"type": "orders", "month": m, "level": x},
            st.integers(0, MONTHS - 1),
            share,
        ),
    ),
    max_size=4,
)


@st.composite
def parameters(draw: Any, model: Model) -> dict[str, np.ndarray]:
    """One draw of every parameter (shape (1, n)), anywhere in a wide plausible range."""
    p = {}
    for name, figure in model.uncertain().items():
        hi = 1.0 if name in ("utilisation", "allocation_share") else 1e5
        lo = 1e-3 if name == "recipe_quantity" else 0.0
        values = draw(
            st.lists(st.floats(lo, hi, allow_nan=False), min_size=len(figure), max_size=len(figure))
        )
        p[name] = np.array([values], dtype=float)
    return p


def run_case(
    model: Model, p: dict[str, np.ndarray], ev: list[dict[str, Any]], plan: Plan | None = None
) -> dict[str, np.ndarray]:
    sc = compile_scenario(model, parse_scenario({"name": "h", "months": MONTHS, "events": ev}))
    return run(model, sc, p, plan)


SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(data=st.data(), ev=events)
def test_stocks_never_negative(model: Model, data: st.DataObject, ev: list[dict[str, Any]]) -> None:
    out = run_case(model, data.draw(parameters(model)), ev)
    for key in ("industry_stock", "stock", "fired", "shortfall", "production"):
        assert out[key].min() >= -1e-3 * max(1.0, float(np.abs(out[key]).max())), key


@SETTINGS
@given(data=st.data(), ev=events)
def test_mass_balance_every_month(
    model: Model, data: st.DataObject, ev: list[dict[str, Any]]
) -> None:
    p = data.draw(parameters(model))
    out = run_case(model, p, ev)
    made = out["production"].astype(float) @ np.eye(len(model.items))[model.facility_item]
    industry = out["industry_stock"].astype(float)
    before = np.concatenate([np.zeros_like(industry[:, :1]), industry[:, :-1]], axis=1)
    expected = before + made - out["input_use"] - out["allocated"]
    scale = max(1.0, float(np.abs(before).max()), float(np.abs(made).max()))  # float32 results
    np.testing.assert_allclose(industry, expected, atol=1e-4 * scale)
    # holders: stock(t) = stock(t-1) * (1 - loss) + delivered - fired
    sc = compile_scenario(model, parse_scenario({"name": "h", "months": MONTHS, "events": ev}))
    keep = (1 - sc.stock_loss[:, model.holders])[None, :, :, None]
    stock = out["stock"].astype(float)
    start = np.zeros_like(stock[:, 0])
    start[:, np.searchsorted(model.holders, model.stock_actor), model.stock_item] = p[
        "stock_quantity"
    ]
    previous = np.concatenate([start[:, None], stock[:, :-1]], axis=1)
    expected = previous * keep + out["delivered"] - out["fired"]
    scale = max(1.0, float(np.abs(previous).max()), float(np.abs(out["delivered"]).max()))
    np.testing.assert_allclose(stock, expected, atol=1e-4 * scale)


@SETTINGS
@given(data=st.data(), ev=events, factor=st.floats(1.0, 5.0), which=st.integers(0, 1))
def test_more_capacity_never_increases_shortfall(
    model: Model, data: st.DataObject, ev: list[dict[str, Any]], factor: float, which: int
) -> None:
    p = data.draw(parameters(model))
    bigger = {k: v.copy() for k, v in p.items()}
    bigger["capacity"][0, which] *= factor
    base, more = run_case(model, p, ev), run_case(model, bigger, ev)
    scale = max(1.0, float(base["shortfall"].max()))
    assert (more["shortfall"] <= base["shortfall"] + 1e-4 * scale).all()


@SETTINGS
@given(data=st.data(), ev=events, month=st.integers(0, MONTHS - 1))
def test_building_an_option_never_increases_shortfall(
    model: Model, data: st.DataObject, ev: list[dict[str, Any]], month: int
) -> None:
    p = data.draw(parameters(model))
    plan = Plan(np.array([0]), np.array([float(month)]), np.array([1.0]))
    base, more = run_case(model, p, ev), run_case(model, p, ev, plan)
    scale = max(1.0, float(base["shortfall"].max()))
    assert (more["shortfall"] <= base["shortfall"] + 1e-4 * scale).all()


def test_same_seed_same_result_whatever_the_chunking(model: Model) -> None:
    sc = parse_scenario({"name": "s", "months": MONTHS})
    a = simulate(model, sc, draws=50, seed=7)
    b = simulate(model, sc, draws=50, seed=7, chunk=13)
    c = simulate(model, sc, draws=50, seed=8)
    assert a.drop_attrs().identical(b.drop_attrs())
    assert not np.array_equal(a["production"], c["production"])
    # draws 20..49 computed on their own equal the same draws of the full run
    part = simulate(model, sc, draws=30, seed=7, first_draw=20)
    np.testing.assert_array_equal(part["shortfall"], a["shortfall"].sel(draw=slice(20, 49)))


def test_sampled_values_stay_in_their_ranges(model: Model) -> None:
    p = sample(model, 2000, seed=1)
    for name, figure in model.uncertain().items():
        assert (p[name] >= figure.low - 1e-9).all() and (p[name] <= figure.high + 1e-9).all()
    # the triangular mean is (low + central + high) / 3
    cap = model.capacity
    np.testing.assert_allclose(
        p["capacity"].mean(0), (cap.low + cap.central + cap.high) / 3, rtol=0.03
    )
