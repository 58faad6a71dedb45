"""Sample average approximation and the out-of-sample proof of a plan, on the tiny chain
(tests/conftest.py) with wide ranges."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import tiny_tables, write_dataset
from materiel.io.dataset import load_dataset
from materiel.model.compiled import Model, compile_model
from materiel.model.sampling import sample
from materiel.optimize import plan, saa_data, save_plan
from materiel.optimize.evaluate import Estimate, evaluate
from materiel.scenario import Scenario, parse_scenario


def scenario(months: int, name: str = "test", probability: float = 1.0) -> Scenario:
    return parse_scenario(
        {"name": name, "months": months, "events": [], "probability": probability}
    )


def set_range(r: dict[str, Any], name: str, central: float, low: float, high: float) -> None:
    r[name], r[f"{name}_low"], r[f"{name}_high"] = central, low, high


def wide_tables() -> dict[str, list[dict[str, Any]]]:
    """The tiny chain with wide ranges on consumption, capacity, stocks and US supply; the
    powder option costs EUR 20 M and delivers after a month."""
    t = tiny_tables()
    set_range(t["consumption"][0], "rate", 15_000.0, 5_000.0, 30_000.0)
    set_range(t["facilities"][0], "capacity", 1200.0, 600.0, 1800.0)
    set_range(t["stocks"][0], "quantity", 10_000.0, 0.0, 40_000.0)
    set_range(t["flows"][0], "rate", 5_000.0, 0.0, 8_000.0)
    set_range(t["expansions"][0], "capex", 2e7, 2e7, 2e7)
    set_range(t["expansions"][0], "lead_time", 1.0, 1.0, 1.0)
    return t


def wide_model(tmp: Path, lead_time: float = 1.0) -> Model:
    t = wide_tables()
    set_range(t["expansions"][0], "lead_time", lead_time, lead_time, lead_time)
    return compile_model(load_dataset(write_dataset(tmp / "wide", t)))


def test_saa_rows_are_the_simulators_draws(tmp_path: Path) -> None:
    model = wide_model(tmp_path)
    d = saa_data(model, [scenario(4)], draws=5, seed=7)
    p = sample(model, 5, 7)
    assert list(d.coords["scenario"]) == [f"test/{n}" for n in range(5)]
    assert d.weight.to_numpy() == pytest.approx(np.full(5, 0.2))
    # month-0 arrivals hold each draw's starting stock and flows, as the simulator's draw n
    ukr = list(d.coords["pair"]).index("UKR/shell")
    arrived = d.arrivals.to_numpy()[:, 0, ukr]
    assert arrived == pytest.approx(p["stock_quantity"][:, 0] + p["flow_rate"][:, 0])
    central = saa_data(model, [scenario(4)], draws=0)
    assert list(central.coords["scenario"]) == ["test"]


@pytest.mark.slow
def test_saa_objective_converges_as_draws_grow(tmp_path: Path) -> None:
    # the optimal SAA objective over 5 independent samples: its spread shrinks about as
    # 1 / sqrt(N) and its mean approaches a large-sample reference
    model = wide_model(tmp_path)
    sc = [scenario(6)]

    def objectives(n: int) -> np.ndarray:
        return np.array([plan(model, sc, draws=n, seed=s).objective for s in range(5)])

    small, large = objectives(8), objectives(128)
    assert large.std() < small.std() / 2
    # a 512-draw reference: within three standard errors (of the 5-sample mean at N = 128 and of
    # the reference, whose spread is about that at N = 128 / 2)
    reference = plan(model, sc, draws=512, seed=99).objective
    error = np.sqrt(large.var(ddof=1) / 5 + large.var(ddof=1) / 4)
    assert abs(large.mean() - reference) < 3 * error


def test_plan_that_pays_beats_the_baseline_out_of_sample(tmp_path: Path) -> None:
    model = wide_model(tmp_path)
    sc = [scenario(8)]
    result = plan(model, sc, draws=8, seed=0)
    assert len(result.investments) >= 1
    ev = evaluate(model, sc, result.builds(), draws=200, seed=1_000_003)
    assert ev.beats_baseline()
    assert ev.plan.weighted.mean() < ev.baseline.weighted.mean()
    assert ev.plan.cost.mean() > ev.baseline.cost.mean()  # capex and more purchases
    assert "beats the baseline" in ev.verdict(len(result.investments), 1)


def test_build_that_cannot_arrive_leaves_the_baseline(tmp_path: Path) -> None:
    model = wide_model(tmp_path, lead_time=24.0)
    sc = [scenario(8)]
    result = plan(model, sc, draws=8, seed=0)
    assert result.investments.empty
    ev = evaluate(model, sc, result.builds(), draws=50, seed=1_000_003)
    assert ev.plan.weighted == pytest.approx(ev.baseline.weighted)
    assert not ev.beats_baseline()
    assert "builds nothing" in ev.verdict(0, 0)


def test_confidence_interval_of_the_mean() -> None:
    est = Estimate.of(np.array([1.0, 2.0, 3.0, 4.0]))
    half = 1.6448536269514722 * np.std([1, 2, 3, 4], ddof=1) / 2.0
    assert (est.mean, est.ci90_low, est.ci90_high) == pytest.approx((2.5, 2.5 - half, 2.5 + half))


# --- the command line ---------------------------------------------------------------------


def materiel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "materiel", *args], capture_output=True, text=True, timeout=300
    )


def test_plan_json_carries_the_evaluation(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "wide", wide_tables())
    plan_file = tmp_path / "plan.json"
    proc = materiel(
        "plan",
        "imposed-deal",
        "--data",
        str(data),
        "--months",
        "8",
        "--draws",
        "4",
        "--eval-draws",
        "30",
        "--evpi-draws",
        "1",
        "--json",
        "--out",
        str(plan_file),
    )
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    ev = payload["evaluation"]
    assert set(ev) == {"baseline", "plan", "vss", "evpi"}
    assert payload["evaluation_draws"] == 30 and payload["evaluation_seed"] == 1_000_003
    assert 0.0 <= payload["assumption_share"] <= 1.0  # data confidence (issue 12)
    for side in ("baseline", "plan"):
        assert set(ev[side]) == {"weighted_shortfall", "cost_eur"}
        assert set(ev[side]["weighted_shortfall"]) == {"mean", "ci90_low", "ci90_high"}
    assert {"mean", "ci90_low", "ci90_high"} <= set(ev["vss"])
    assert {"mean", "ci90_low", "ci90_high"} <= set(ev["evpi"])
    assert payload["status"] == "ok"
    assert payload["termination_condition"] == "optimal"
    assert payload["draws"] == 4
    assert "objective" not in payload["summary"]
    assert "penalty" not in json.dumps(payload["summary"])
    doc = json.loads(plan_file.read_text())
    assert "objective" not in doc and list(doc["orders"]) == ["imposed-deal"]


def test_simulate_plan_writes_its_own_file(tmp_path: Path, monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from materiel.cli import app

    data = write_dataset(tmp_path / "wide", wide_tables())
    model = compile_model(load_dataset(data))
    plan_file = save_plan(plan(model, [scenario(8, "imposed-deal")]), tmp_path / "myplan.json")
    monkeypatch.chdir(tmp_path)
    common = ["simulate", "imposed-deal", "--data", str(data), "--months", "8", "--draws", "20"]
    runner = CliRunner()
    base = runner.invoke(app, [*common, "--json"])
    assert base.exit_code == 0, base.output
    replay = runner.invoke(app, [*common, "--json", "--plan", str(plan_file)])
    assert replay.exit_code == 0, replay.output
    first, second = json.loads(base.stdout), json.loads(replay.stdout)
    assert first["results_file"] != second["results_file"]
    assert second["results_file"].endswith("imposed-deal-myplan.nc")
    assert (tmp_path / first["results_file"]).exists()
    assert (tmp_path / second["results_file"]).exists()
    # the builds pay: the replay (demand pull, no fixed orders) is short of less
    assert second["weighted_shortfall"]["mean"] < first["weighted_shortfall"]["mean"]


def test_capacity_value_matches_a_fresh_solve(tmp_path: Path) -> None:
    import dataclasses

    from materiel.optimize import build_problem, solve
    from materiel.optimize.results import budget_value, dual_check

    model = wide_model(tmp_path)
    result = plan(model, [scenario(6)], draws=4, seed=0, budget=1e9)
    table = dual_check(result, top=1)
    (row,) = table.itertuples()
    assert row.facility == "powder_plant" and row.value_eur_per_unit_month > 0
    # the same unit/month more, built and solved from scratch
    d = result.data
    f = d.coords["facility"].get_loc("powder_plant")
    bump = np.zeros(d.capacity.shape)
    bump[..., f] = d.availability.to_numpy()[..., f]  # delta = 1 unit/month (capacity ~100 t)
    more = dataclasses.replace(d, capacity=d.capacity + bump)
    lp = build_problem(more)
    solve(lp)

    def shortfall(lp_: Any, data: Any) -> float:
        unmet = (lp_.solution["unmet"] * data.shortfall_weight).sum(["month", "demand"])
        # unserved fixed orders at the item weight (both claims are shells, EUR 4,000)
        short = lp_.solution["short"].sum("month").to_numpy().sum(axis=-1) * 4_000.0
        return float(data.weight.to_numpy() @ (unmet.to_numpy() + short))

    avoided = shortfall(result.lp, d) - shortfall(lp, more)
    assert row.value_eur_per_unit_month == pytest.approx(avoided, rel=1e-6, abs=1e-3)
    assert row.value_low <= row.value_eur_per_unit_month <= row.value_high
    money = budget_value(result)
    assert set(money) == {"binding", "shortfall_avoided_eur_per_eur_m", "extra_cost_eur"}


def test_non_unique_dual_at_a_line_without_capacity_is_a_range(tmp_path: Path) -> None:
    from materiel.optimize.results import dual_check

    t = wide_tables()
    set_range(t["facilities"][1], "capacity", 0.0, 0.0, 0.0)  # the shell line makes nothing
    model = compile_model(load_dataset(write_dataset(tmp_path / "idle", t)))
    result = plan(model, [scenario(6)], draws=0)
    row = dual_check(result, top=1).iloc[0]
    assert row["facility"] == "shell_plant"
    # one round/month more relieves one round short a month for 6 months, EUR 4,000 each, and
    # costs 6 rounds at EUR 4,000
    assert row["value_eur_per_unit_month"] == pytest.approx(6 * 4_000.0)
    assert row["cost_eur_per_unit_month"] == pytest.approx(6 * 4_000.0)
    # the LP's dual there is not the upward slope: reported as a range
    assert not row["unique"]
    assert row["value_low"] == pytest.approx(24_000.0) and row["value_high"] > 24_000.0
