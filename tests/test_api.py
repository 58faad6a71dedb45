"""The public API: ``import materiel`` is light, every public name resolves and is documented,
and the facade runs load -> scenario -> simulate -> plan -> replay -> analyses -> report."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

import materiel
import materiel.analysis
from materiel.model.compiled import Model
from materiel.optimize.io import replay_plan, save_plan
from materiel.scenario import USSupplyStops

UNIT_WORDS = ("unit", "EUR", "month", "0-1", "share")


@pytest.fixture(scope="module")
def model() -> Model:
    return materiel.load_model()


def test_every_public_name_resolves_and_has_a_docstring() -> None:
    assert materiel.__version__
    assert len(materiel.__all__) == len(set(materiel.__all__))
    for name in materiel.__all__:
        value = getattr(materiel, name)
        doc = inspect.getdoc(value) or ""
        assert doc.strip(), f"materiel.{name} has no docstring"
        if inspect.isclass(value):
            # a dataclass without a docstring gets its signature as __doc__
            assert not doc.startswith(f"{value.__name__}("), f"materiel.{name}: write a docstring"
        assert name in dir(materiel)


def test_functions_state_units() -> None:
    functions = [
        "simulate",
        "summarize",
        "plan",
        "gap",
        "outlook",
        "chokepoints",
        "dependencies",
        "coordination",
        "deterrence",
        "efficiency",
        "sources",
    ]
    for name in functions:
        doc = inspect.getdoc(getattr(materiel, name)) or ""
        assert any(word in doc for word in UNIT_WORDS), f"materiel.{name}: state the units"


def test_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        _ = materiel.nonsense  # type: ignore[attr-defined]


def test_import_is_lazy_and_subpackages_are_modules() -> None:
    code = (
        "import sys, materiel\n"
        "heavy = [m for m in ('pandas', 'xarray', 'numpy', 'materiel.api') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "import materiel.simulation.engine, materiel.reporting.static\n"
        "from materiel.simulation import summarize\n"
        "import types\n"
        "assert materiel.simulate.__module__ == 'materiel.api', materiel.simulate\n"
        "assert materiel.report.__module__ == 'materiel.api', materiel.report\n"
        "assert isinstance(sys.modules['materiel.simulation'], types.ModuleType)\n"
        "assert sys.modules['materiel.simulation'].summarize is summarize\n"
        "assert type(materiel) is types.ModuleType  # no module-class override\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_scenarios_and_events(model: Model) -> None:
    assert "imposed-deal" in materiel.available_scenarios()
    base = materiel.load_scenario("imposed-deal")
    moved = materiel.with_events(
        "imposed-deal", {"type": "us_supply_stops", "month": 3}, name="stop-3", months=12
    )
    stops = [e for e in moved.events if isinstance(e, USSupplyStops)]
    assert [e.month for e in stops] == [3]
    assert moved.name == "stop-3" and moved.months == 12
    assert base.name == "imposed-deal" and base.months != 12  # the original is unchanged
    added = materiel.with_events(
        base, USSupplyStops(type="us_supply_stops", month=5), replace=False
    )
    assert len(added.events) == len(base.events) + 1
    with pytest.raises(materiel.DatasetError) as info:
        materiel.with_events(base, {"type": "us_supply_stops", "month": -1})
    assert info.value.issues


def test_sources(model: Model) -> None:
    everything = materiel.sources(model)
    assert {"table", "field", "central", "low", "high", "unit", "source", "url"} <= set(
        everything.columns
    )
    assert (everything["low"] <= everything["high"]).all()
    facilities = materiel.sources(status="achieved", table="facilities")
    assert len(facilities) and set(facilities["status"]) == {"achieved"}
    assert set(facilities["table"]) == {"facilities"}


def test_simulate_plan_and_replay(model: Model, tmp_path: Path) -> None:
    scenario = materiel.with_events("imposed-deal", {"type": "us_supply_stops", "month": 3})
    result = materiel.simulate(model, scenario, draws=40, seed=1, months=12)
    assert isinstance(result, xr.Dataset)
    assert dict(result.sizes)["draw"] == 40 and dict(result.sizes)["month"] == 12
    assert result["shortfall"].attrs["units"] == "item unit/month"
    assert result["cost"].attrs["units"] == "EUR/month"
    table = materiel.summarize(result)
    assert isinstance(table, pd.DataFrame) and "shell_155" in table.index
    assert set(materiel.by_month(result)["month"]) == set(range(12))

    best = materiel.plan(model, scenario, budget=20e9, months=12)
    assert isinstance(best, materiel.PlanResult)
    assert best.summary["capex_eur"] >= 0
    replay = materiel.simulate(model, scenario, draws=40, seed=1, months=12, plan=best)
    assert replay.attrs["plan"] == 1
    # one path with `simulate --plan`: the builds as a policy (the ordering rule reacts to
    # each draw), never the LP's orders unless asked; the plan file replays the same
    builds = materiel.simulate(model, scenario, draws=40, seed=1, months=12, plan=best.builds())
    xr.testing.assert_equal(replay["shortfall"], builds["shortfall"])
    plan_file = save_plan(best, tmp_path / "plan.json")
    from_file = materiel.simulate(model, scenario, draws=40, seed=1, months=12, plan=plan_file)
    xr.testing.assert_equal(replay["production"], from_file["production"])
    assert replay_plan(best, model, scenario.name, 12).orders is None
    ordered = replay_plan(best, model, scenario.name, 12, with_orders=True)
    assert ordered.orders is not None and ordered.orders.shape[0] == 12
    floors = materiel.simulate(
        model, scenario, draws=1, months=12, plan=best, with_orders=True, uncertain=False
    )
    assert floors.attrs["plan"] == 1
    # the replay carries the plan's builds: capacity never below the run without the plan
    # (tests/test_optimize.py checks that the replay reproduces the LP where the rules coincide)
    central = materiel.simulate(model, scenario, draws=1, months=12, plan=best, uncertain=False)
    bare = materiel.simulate(model, scenario, draws=1, months=12, uncertain=False)
    assert (central["capacity"] >= bare["capacity"] - 1e-3).all()
    assert float(central["production"].sum()) > 0
    # a longer simulation than the plan's horizon, and a plan made for another scenario
    longer = materiel.simulate(model, scenario, draws=5, months=18, plan=best)
    assert dict(longer.sizes)["month"] == 18
    other = materiel.simulate(model, "protracted-talks", draws=5, months=12, plan=best)
    assert other.attrs["plan"] == 1

    path = tmp_path / "result.nc"
    materiel.save_result(result, path)
    assert materiel.load_result(path)["shortfall"].shape == result["shortfall"].shape


def test_analyses_plot_and_report(model: Model, tmp_path: Path) -> None:
    scenario = materiel.load_scenario("imposed-deal")
    deps = materiel.dependencies(model, scenario)
    assert isinstance(deps, pd.DataFrame) and len(deps)
    # the analyses take a scenario's name too, with the original's options and docstring
    by_name = materiel.dependencies(model, "imposed-deal", basis="capacity")
    assert set(by_name["end_item"]) == set(deps["end_item"])
    assert materiel.gap.__doc__ == materiel.analysis.gap.__doc__
    assert "stop_month" in inspect.signature(materiel.gap).parameters
    figure = materiel.plot("dependencies", deps)
    assert figure.axes
    with pytest.raises(ValueError, match="unknown analysis"):
        materiel.plot("nonsense", deps)
    html = tmp_path / "out" / "report.html"
    report = materiel.report(model, "imposed-deal", html=html, analyses=["dependencies"])
    assert isinstance(report, materiel.Report)
    assert [s.spec.name for s in report.sections] == ["dependencies"]
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    "page",
    [
        "README.md",
        "docs/index.md",
        # the guide runs a full report, plans and every analysis (~50 s): CI runs it
        pytest.param("docs/guide/python.md", marks=pytest.mark.slow),
    ],
)
def test_python_examples_in_the_docs_run(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ```python block of the page, run in order (fewer draws), in a temp folder."""
    text = (Path(__file__).resolve().parents[1] / page).read_text(encoding="utf-8")
    code = "\n".join(re.findall(r"```python\n(.*?)```", text, flags=re.S))
    assert code.strip()
    code = re.sub(r"draws=\d+", "draws=50", code)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, page, "exec"), {})
