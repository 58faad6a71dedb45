"""Money buys capacity: module limits (max_builds), what binds, whole modules (--lumpy) and
the inverse question (least budget for a coverage target), on the hand-solvable chain of
tests/test_optimize.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import write_dataset
from materiel.optimize import plan
from materiel.optimize.build import capex_schedule
from materiel.optimize.inverse import least_budget
from test_optimize import hand_tables, model_of, scenario, set_fig

# The chain (test_optimize.hand_tables): powder 100 t/month = 10,000 rounds/month at 10 kg a
# round; Ukraine wants 15,000 rounds/month, holds nothing and fires all it has; one option
# adds 50 t/month of powder (5,000 rounds/month) for EUR 20 M, one month after the decision,
# no ramp. Rounds cost EUR 4,000. Horizon 3 months: one plan year of 3 months, so a budget of
# B EUR/year allows B x 3/12 in total.


def tables(max_builds: float | None = None, wanted: float | None = None, **fig: float) -> Any:
    t = hand_tables()
    if max_builds is not None:
        t["expansions"][0]["max_builds"] = max_builds
    if wanted is not None:
        set_fig(t["consumption"][0], "rate", wanted)
    for name, value in fig.items():
        set_fig(t["expansions"][0], name, value)
    return t


def model(tmp: Path, name: str, **kw: Any) -> Any:
    return model_of(write_dataset(tmp / name, tables(**kw)))


def test_max_builds_allows_several_modules_and_is_reported(tmp_path: Path) -> None:
    # Ukraine wants 25,000 rounds/month. A round short costs EUR 400,000 of penalty, a round
    # from the option EUR 2,000 of capex + 4,000: build all it may. Two modules decided in
    # month 0 give 10,000 + 2 x 5,000 = 20,000 rounds in months 1 and 2 (the shell line's
    # 20,000/month would allow no more anyway).
    r = plan(model(tmp_path, "two", max_builds=2, wanted=25_000.0), [scenario(3)])
    inv = r.investments
    assert list(inv["month"]) == [0] and inv["scale"].iloc[0] == pytest.approx(2.0)
    assert inv["capex_eur"].iloc[0] == pytest.approx(40e6)
    shells = r.production.query("facility == 'shell_plant'")["production"].to_numpy()
    assert shells == pytest.approx([10_000, 20_000, 20_000])
    # the simulator gets whole modules (scale <= 1 each)
    replay = r.plan_for()
    assert list(replay.scale) == pytest.approx([1.0, 1.0]) and list(replay.month) == [0, 0]
    # what binds: 15,000 rounds short in month 0, before any option can deliver (lead time);
    # the option is at its limit of 2; the powder line (an input of shells) is at capacity.
    binding = r.binding().set_index("item")
    binds = binding.loc["shell", "binds"]
    assert {"lead time", "option limit", "input"} <= set(binds.split(", "))
    assert "budget" not in binds
    assert binding.loc["shell", "unmet"] == pytest.approx(15_000 + 5_000 + 5_000)


def test_one_module_by_default(tmp_path: Path) -> None:
    r = plan(model(tmp_path, "one", wanted=25_000.0), [scenario(3)])
    assert r.investments["scale"].sum() == pytest.approx(1.0)


def test_least_budget_for_a_share(tmp_path: Path) -> None:
    # Cover 80 % of the need over months 0-2: 45,000 rounds needed, at most 9,000 short, so
    # 36,000 delivered. Existing powder makes 30,000; the other 6,000 come cheapest from the
    # option decided in month 0 (5,000 rounds a month in months 1 and 2 per module): 0.6 of a
    # module, EUR 12 M. Money spent: 36,000 x 4,000 = EUR 144 M + 12 M = 156 M in the
    # 3-month year, so B x 3/12 >= 156 M: B = EUR 624 M per year.
    m = model(tmp_path, "inv")
    answer = least_budget(m, [scenario(3)], share=0.8, by=0)
    assert answer.feasible
    assert answer.budget_eur == pytest.approx(624e6, rel=1e-6)
    assert answer.need_eur == pytest.approx(45_000 * 4_000.0)
    assert answer.covered >= 0.8 - 1e-6
    inv = answer.plan.investments
    assert inv["scale"].sum() == pytest.approx(0.6, rel=1e-4)  # B* x (1 + 1e-6) is spent
    assert list(inv["month"]) == [0]
    # From month 1 on (30,000 needed, 24,000 delivered): powder made in month 0 is kept for
    # month 1 (the existing line then covers 15,000 in months 1 and 2, no option needed),
    # but the rounds must still be bought: 24,000 x 4,000 = EUR 96 M -> B = EUR 384 M.
    later = least_budget(m, [scenario(3)], share=0.8, by=1)
    assert later.budget_eur == pytest.approx(384e6, rel=1e-6)
    assert later.plan.investments.empty


def test_no_budget_reaches_the_share(tmp_path: Path) -> None:
    # 95 % of 45,000 = 42,750 rounds. Month 0 has only the existing 10,000 (the option
    # delivers from month 1), months 1-2 at most 15,000 each (the need): 40,000 at most,
    # 88.9 %, whatever the money. Lead time binds (month 0 is short before any option).
    m = model(tmp_path, "late")
    answer = least_budget(m, [scenario(3)], share=0.95, by=0)
    assert not answer.feasible and answer.budget_eur is None
    assert answer.covered == pytest.approx(40_000 / 45_000, rel=1e-6)
    binds = answer.binding().set_index("item").loc["shell", "binds"]
    assert "lead time" in binds
    # With at most half a module: 30,000 + 5,000 = 35,000 rounds, 77.8 %: 80 % is out of
    # reach and the option limit binds.
    capped = model(tmp_path, "capped", max_builds=0.5)
    answer = least_budget(capped, [scenario(3)], share=0.8, by=0)
    assert not answer.feasible
    assert answer.covered == pytest.approx(35_000 / 45_000, rel=1e-6)
    assert "option limit" in answer.binding().set_index("item").loc["shell", "binds"]


@pytest.mark.slow  # a MIP
def test_lumpy_builds_whole_modules(tmp_path: Path) -> None:
    # The LP builds half the option under EUR 150 M over the 3 months (test_optimize's
    # hand-solved optimum). Whole modules: one module (EUR 20 M, paid in month 0 since the
    # lead time is one month) leaves EUR 130 M: 32,500 rounds, 12,500 short; no module
    # leaves 30,000 rounds (the powder limit), 15,000 short. The MIP builds one module.
    m = model(tmp_path, "lumpy")
    lp = plan(m, [scenario(3)], budget=600e6)
    assert lp.investments["scale"].iloc[0] == pytest.approx(0.5)
    mip = plan(m, [scenario(3)], budget=600e6, lumpy=True)
    assert list(mip.investments["scale"]) == pytest.approx([1.0])
    assert list(mip.investments["month"]) == [0]
    shells = mip.production.query("facility == 'shell_plant'")["production"].sum()
    assert shells == pytest.approx(32_500)
    assert mip.budget_duals["spent_eur"].iloc[0] == pytest.approx(150e6)
    assert np.isfinite(mip.capacity_duals["value_eur_per_unit_month"]).all()


def test_capex_is_spread_over_the_lead_time(tmp_path: Path) -> None:
    # Lead time 2.5 months: 40 %, 40 % and 20 % of the capex in the three months after the
    # decision.
    r = plan(model(tmp_path, "spread", lead_time=2.5), [scenario(5)])
    pay = capex_schedule(r.data)
    assert pay[0, 0] == pytest.approx([0.4, 0.4, 0.2, 0.0, 0.0])
    assert pay[0, 1] == pytest.approx([0.0, 0.4, 0.4, 0.2, 0.0])
    assert pay[0, 4].sum() == pytest.approx(0.4)  # the rest falls after the horizon


@pytest.mark.slow  # three CLI plans, one a MIP
def test_plan_cli_target_and_lumpy(tmp_path: Path) -> None:
    # The inverse question through `materiel plan` (same arithmetic as
    # test_least_budget_for_a_share: EUR 624 M a year for 80 % from the start), as JSON.
    from typer.testing import CliRunner

    from materiel.cli import app

    data = write_dataset(tmp_path / "cli", tables())
    scen = tmp_path / "three.yaml"
    scen.write_text("name: three\nmonths: 3\nevents: []\n")
    runner = CliRunner()
    args = ["plan", str(scen), "--data", str(data), "--out", str(tmp_path / "p.json"), "--json"]
    result = runner.invoke(app, [*args, "--target", "0.8", "--by", "2027-01"])
    assert result.exit_code == 0, result.output
    target = json.loads(result.stdout)["target"]
    assert target["feasible"] and target["budget_eur_per_year"] == pytest.approx(624e6, rel=1e-6)
    result = runner.invoke(app, [*args, "--target", "0.95", "--by", "2027-01"])
    assert result.exit_code == 0, result.output
    target = json.loads(result.stdout)["target"]
    assert not target["feasible"] and target["covered"] == pytest.approx(40 / 45, rel=1e-6)
    assert "lead time" in target["binding"][0]["binds"]
    result = runner.invoke(app, [*args, "--budget", "6e8", "--lumpy"])
    assert result.exit_code == 0, result.output
    assert [b["scale"] for b in json.loads(result.stdout)["investments"]] == [1.0]
    for bad in (["--target", "0.8"], ["--target", "0.8", "--by", "2027-13"]):
        result = runner.invoke(app, [*args, *bad])
        assert result.exit_code == 2 and "--by" in result.output
    result = runner.invoke(app, [*args, "--target", "0.8", "--by", "2031-01"])
    assert result.exit_code == 2 and "horizon" in result.output
