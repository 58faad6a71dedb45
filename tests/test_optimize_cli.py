"""``materiel plan`` and ``materiel simulate --plan`` end to end, as real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import tiny_tables, write_dataset


def materiel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "materiel", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_plan_json_then_simulate_the_plan(tmp_path: Path) -> None:
    # The tiny chain without Germany's orders and with a budget that does not bind: the
    # conditions under which the simulator replays the LP exactly (tests/test_optimize.py).
    tables = tiny_tables()
    tables["allocations"] = tables["allocations"][:1]
    data = write_dataset(tmp_path / "tiny", tables)
    plan_file = tmp_path / "plan.json"
    proc = materiel(
        "plan",
        "imposed-deal",
        "--data",
        str(data),
        "--months",
        "13",
        "--budget",
        "5e10",
        "--scenarios",
        "protracted-talks",
        "--central",
        "--eval-draws",
        "20",
        "--evpi-draws",
        "0",
        "--json",
        "--out",
        str(plan_file),
    )
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)  # no solver banner on stdout
    assert payload["scenarios"] == ["imposed-deal", "protracted-talks"]
    assert sum(payload["weights"].values()) == pytest.approx(1.0)
    assert payload["investments"][0]["expansion"] == "powder_line"
    assert {r["scenario"] for r in payload["budget_duals"]} == set(payload["scenarios"])
    assert {"facility", "value_eur_per_unit_month"} <= set(payload["capacity_duals"][0])
    lp_short = sum(
        r["unmet"] for r in payload["shortfall_monthly"] if r["scenario"] == "imposed-deal"
    )
    # the tiny dataset has no uncertainty: with the plan's orders imposed (--with-orders) every
    # draw replays the LP exactly (the default replay lets production follow the simulator's
    # demand pull, which does not make powder ahead of need as the LP may)
    sim = materiel(
        "simulate",
        "imposed-deal",
        "--data",
        str(data),
        "--months",
        "13",
        "--draws",
        "2",
        "--plan",
        str(plan_file),
        "--with-orders",
        "--json",
        "--out",
        str(tmp_path / "sim.nc"),
    )
    assert sim.returncode == 0, sim.stderr
    (shell,) = json.loads(sim.stdout)["summary"]
    assert shell["shortfall_mean"] == pytest.approx(lp_short, rel=1e-5)


def test_plan_prints_tables(tiny_dir: Path, tmp_path: Path) -> None:
    proc = materiel(
        "plan",
        "imposed-deal",
        "--data",
        str(tiny_dir),
        "--months",
        "6",
        "--draws",
        "3",
        "--eval-draws",
        "10",
        "--evpi-draws",
        "1",
        "--out",
        str(tmp_path / "p.json"),
    )
    assert proc.returncode == 0, proc.stderr
    for title in (
        "Investments",
        "Shortfall remaining",
        "Value of capacity",
        "Out of sample",
        "stochastic solution",
        "perfect information",
        "Plan saved",
    ):
        assert title in proc.stdout


@pytest.mark.slow
def test_plan_user_errors_exit_2(tiny_dir: Path, tmp_path: Path) -> None:
    bad_out = materiel("plan", "imposed-deal", "--data", str(tiny_dir), "--out", "p.txt")
    assert bad_out.returncode == 2 and ".json" in bad_out.stderr
    unknown = materiel("plan", "no-such-scenario", "--data", str(tiny_dir))
    assert unknown.returncode == 2 and "no such scenario" in unknown.stderr
    junk = tmp_path / "junk.json"
    junk.write_text("{}")
    sim = materiel(
        "simulate",
        "imposed-deal",
        "--data",
        str(tiny_dir),
        "--plan",
        str(junk),
        "--out",
        str(tmp_path / "s.nc"),
    )
    assert sim.returncode == 2 and "not a materiel plan file" in sim.stderr


def test_default_draws_keep_the_lp_small() -> None:
    from materiel.cli.plan import DEFAULT_DRAWS, default_draws
    from materiel.optimize import DRAWS

    assert DEFAULT_DRAWS == DRAWS  # --help stays fast without importing the optimiser
    # 5 draws for one scenario; several scenarios share about 12 rows, at least 2 draws each
    assert [default_draws(n) for n in (1, 2, 3, 4, 8)] == [5, 5, 4, 3, 2]
