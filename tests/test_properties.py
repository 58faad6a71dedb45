"""Invariants of the simulator, checked with hypothesis over random parameters and events."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import tiny_tables, write_dataset
from materiel.io.dataset import load_dataset
from materiel.model import rules
from materiel.model.compiled import Model, compile_model
from materiel.model.events import compile_scenario
from materiel.model.plan import Plan
from materiel.model.sampling import sample
from materiel.scenario import parse_scenario
from materiel.simulation import simulate
from materiel.simulation.engine import Layout, run
from materiel.synthetic import synthetic_dataset

MONTHS = 8


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Model:
    tables = tiny_tables()
    for r in tables["facilities"]:  # wide ranges so draws differ
        r["capacity_low"], r["capacity_high"] = 0.2 * r["capacity"], 2.0 * r["capacity"]
    tables["consumption"][0].update(rate_low=5_000.0, rate_high=40_000.0)
    tables["stocks"].append(
        {
            "actor": "DEU",
            "item": "shell",
            **{f"quantity{k}": v for k, v in _fig(20_000.0).items()},
            **{f"floor{k}": v for k, v in _fig(5_000.0).items()},
        }
    )
    return compile_model(load_dataset(write_dataset(tmp_path_factory.mktemp("p"), tables)))


def _fig(value: float) -> dict[str, Any]:
    return {"": value, "_low": value, "_high": value, "_source": "src_test"}


positive = st.floats(0.0, 1e5, allow_nan=False)
share = st.floats(0.0, 1.0)
month = st.integers(0, MONTHS - 1)
events = st.lists(
    st.one_of(
        st.builds(lambda m: {"type": "us_supply_stops", "month": m}, month),
        st.builds(
            lambda m, x: {"type": "ceasefire", "month": m, "intensity": x}, month, st.floats(0, 2)
        ),
        st.builds(
            lambda m, f, k: {
                "type": "deep_strike",
                "target": "RUS",
                "month": m,
                "fraction": f,
                "stock_fraction": k,
            },
            month,
            share,
            share,
        ),
        st.builds(
            lambda n, m, f: {"type": "supplier_outage", "node": n, "month": m, "fraction": f},
            st.sampled_from(["powder_plant", "shell_plant", "USA", "DEU"]),
            month,
            share,
        ),
        st.builds(lambda m, x: {"type": "orders", "month": m, "level": x}, month, share),
        st.builds(
            lambda m, f, n: {
                "type": "flow",
                "supplier": "USA",
                "recipient": "UKR",
                "factor": f,
                "month": m,
                "months": n,
            },
            month,
            st.floats(0, 4),
            st.integers(1, MONTHS),
        ),
        st.builds(
            lambda m, q, n: {
                "type": "transfer",
                "from": "DEU",
                "to": "UKR",
                "item": "shell",
                "quantity": q,
                "month": m,
                "months": n,
            },
            month,
            positive,
            st.integers(1, 3),
        ),
        st.builds(
            lambda m, x: {"type": "allocation", "recipient": "UKR", "share": x, "month": m},
            month,
            st.floats(0, 2),
        ),
        st.builds(
            lambda m, x: {"type": "capacity", "node": "DEU", "factor": x, "month": m},
            month,
            st.floats(0, 3),
        ),
    ),
    max_size=4,
)


@st.composite
def parameters(draw: Any, model: Model) -> dict[str, np.ndarray]:
    """One draw of every parameter (shape (1, n)), anywhere in a wide plausible range."""
    p = {}
    for name, figure in model.uncertain().items():
        hi = {"utilisation": 1.0, "claim_share": 1.0, "sustain_months": 6.0}.get(name, 1e5)
        lo = {"recipe_quantity": 1e-3, "sustain_months": 1.0}.get(name, 0.0)
        values = draw(
            st.lists(
                st.floats(lo, hi, allow_nan=False, allow_subnormal=False),
                min_size=len(figure),
                max_size=len(figure),
            )
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
    for key in ("stock", "fired", "served", "production", "delivered"):
        assert out[key].min() >= -1e-3 * max(1.0, float(np.abs(out[key]).max())), key
    assert (out["fired"] <= out["wanted"] * (1 + 1e-5) + 1e-3).all()


@SETTINGS
@given(data=st.data(), ev=events)
def test_mass_balance_every_month(
    model: Model, data: st.DataObject, ev: list[dict[str, Any]]
) -> None:
    """Per item: held(t) = held(t-1) x (1 - losses) + flows + made - inputs used - fired."""
    p = data.draw(parameters(model))
    sc = compile_scenario(model, parse_scenario({"name": "h", "months": MONTHS, "events": ev}))
    out = run(model, sc, p)
    lay = Layout.of(model, sc)
    n_i = len(model.items)
    per_item = np.eye(n_i)[lay.pair_item]  # (P, I)
    stock = out["stock"].astype(float)
    start = np.zeros_like(stock[:, 0])
    start[:, lay.stock_pair] = p["stock_quantity"]
    previous = np.concatenate([start[:, None], stock[:, :-1]], axis=1)
    keep = 1.0 - sc.stock_loss[:, lay.pair_actor]  # (M, P)
    flows = np.where(np.isnan(sc.flow_rate), p["flow_rate"] * sc.flow_factor, sc.flow_rate)
    flow_item = flows @ np.eye(n_i)[model.flow_item]  # (M, I)
    made = out["production"].astype(float) @ np.eye(n_i)[model.facility_item]
    chain = model.facility_inputs == "chain"
    used = np.zeros_like(made)
    for r, (out_item, in_item) in enumerate(
        zip(model.recipe_item, model.recipe_input, strict=True)
    ):
        if not model.item_limited[in_item]:
            continue
        lines = np.flatnonzero((model.facility_item == out_item) & chain)
        used[..., in_item] += out["production"][..., lines].sum(-1) * p["recipe_quantity"][0, r]
    fired = out["fired"].astype(float) @ np.eye(n_i)[model.consumption_item]
    expected = (previous * keep) @ per_item + flow_item + made - used - fired
    # results are float32: allow a few ulps of the largest quantity moved
    moved = (previous, made, flow_item, fired)
    scale = max(1.0, *(float(np.abs(a).max()) for a in moved))
    np.testing.assert_allclose(stock @ per_item, expected, atol=2e-4 * scale)


@SETTINGS
@given(data=st.data(), ev=events)
def test_transfers_never_take_a_holder_below_its_floor(
    model: Model, data: st.DataObject, ev: list[dict[str, Any]]
) -> None:
    p = data.draw(parameters(model))
    out = run_case(model, p, ev)
    sc = compile_scenario(model, parse_scenario({"name": "h", "months": MONTHS, "events": ev}))
    lay = Layout.of(model, sc)
    deu = lay.stock_pair[1]
    floor = p["stock_floor"][0, 1]
    start = min(p["stock_quantity"][0, 1], floor)  # a holder already below keeps what it has
    assert (out["stock"][0, :, deu] >= min(floor, start) * (1 - 1e-5) - 1e-3).all()


@SETTINGS
@given(data=st.data(), ev=events, factor=st.floats(1.0, 5.0), which=st.integers(0, 1))
def test_more_capacity_never_increases_weighted_shortfall(
    model: Model, data: st.DataObject, ev: list[dict[str, Any]], factor: float, which: int
) -> None:
    p = data.draw(parameters(model))
    bigger = {k: v.copy() for k, v in p.items()}
    bigger["capacity"][0, which] *= factor
    base, more = run_case(model, p, ev), run_case(model, bigger, ev)
    total = base["weighted_shortfall"].sum()
    assert more["weighted_shortfall"].sum() <= total + 1e-4 * max(1.0, float(total))


@SETTINGS
@given(data=st.data(), ev=events, month=month)
def test_building_an_option_never_increases_weighted_shortfall(
    model: Model, data: st.DataObject, ev: list[dict[str, Any]], month: int
) -> None:
    p = data.draw(parameters(model))
    plan = Plan(np.array([0]), np.array([float(month)]), np.array([1.0]))
    base, more = run_case(model, p, ev), run_case(model, p, ev, plan)
    total = base["weighted_shortfall"].sum()
    assert more["weighted_shortfall"].sum() <= total + 1e-4 * max(1.0, float(total))


@settings(max_examples=200, deadline=None)
@given(
    supply=st.lists(st.floats(0, 1e4), min_size=2, max_size=2),
    requests=st.lists(
        st.tuples(st.integers(0, 1), st.integers(1, 3), st.floats(0, 1e4)), min_size=1, max_size=8
    ),
)
def test_higher_priority_is_never_served_less(
    supply: list[float], requests: list[tuple[int, int, float]]
) -> None:
    """In a short month a higher-priority request is served at least the share of a lower one
    drawing on the same supply, and a lower class gets something only if the higher are full."""
    source = np.array([r[0] for r in requests])
    priority = np.array([r[1] for r in requests])
    asked = np.array([[r[2] for r in requests]])
    served, left = rules.PriorityFill.of(source, priority, 2)(np.array([supply]).T, asked.T)
    served, left = served.T, left.T
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(asked > 0, served / asked, 1.0)[0]
    for a in range(len(requests)):
        for b in range(len(requests)):
            if source[a] == source[b] and priority[a] < priority[b] and asked[0, b] > 0:
                assert share[a] >= share[b] - 1e-9
                if served[0, b] > 1e-9:
                    assert share[a] >= 1 - 1e-9
    used = np.bincount(source, weights=served[0], minlength=2)
    np.testing.assert_allclose(used + left[0], supply, rtol=1e-9, atol=1e-6)


def test_same_seed_same_result_whatever_the_chunking(model: Model) -> None:
    sc = parse_scenario({"name": "s", "months": MONTHS})
    a = simulate(model, sc, draws=50, seed=7)
    b = simulate(model, sc, draws=50, seed=7, chunk=13)
    c = simulate(model, sc, draws=50, seed=8)
    a.attrs.clear()
    b.attrs.clear()
    assert a.identical(b)
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


@pytest.fixture(scope="module")
def synthetic_models() -> dict[int, Model]:
    return {}


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 40), line=st.integers(0, 10_000), factor=st.floats(1.1, 4.0))
def test_more_capacity_never_increases_weighted_shortfall_on_synthetic_chains(
    synthetic_models: dict[int, Model], seed: int, line: int, factor: float
) -> None:
    """Random synthetic chains (three end items sharing explosives, ~50 lines), sampled
    parameters, a US stop: doubling any line's capacity never raises the weighted total."""
    if seed not in synthetic_models:
        synthetic_models[seed] = compile_model(synthetic_dataset(1, seed))
    model = synthetic_models[seed]
    stop = [{"type": "us_supply_stops", "month": 2}]
    sc = compile_scenario(model, parse_scenario({"name": "s", "months": 12, "events": stop}))
    p = sample(model, 16, seed)
    bigger = {k: v.copy() for k, v in p.items()}
    bigger["capacity"][:, line % len(model.facilities)] *= factor
    base = run(model, sc, p)["weighted_shortfall"].sum(axis=1)
    more = run(model, sc, bigger)["weighted_shortfall"].sum(axis=1)
    assert (more <= base * (1 + 1e-5) + 1.0).all()
