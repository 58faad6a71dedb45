"""Sweeps and large Monte Carlo runs on a Dask LocalCluster (tiny dataset).

One 2-worker cluster serves the module. Runners that fail or kill their worker are
module-level functions, pickled by value so the worker processes can run them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
import xarray as xr
from distributed import Client

from conftest import tiny_tables, write_dataset
from materiel.io.dataset import load_dataset
from materiel.model.compiled import Model, compile_model
from materiel.model.events import compile_scenario
from materiel.model.sampling import BLOCK
from materiel.optimize import PlanData, build_problem, prepare, solve
from materiel.scenario import parse_scenario
from materiel.schema.validate import DatasetError
from materiel.simulation import simulate, simulate_to_file
from materiel.simulation.summary import summarize
from materiel.sweep.cases import Case, expand, parse_path
from materiel.sweep.cluster import choose_backend, dask_client
from materiel.sweep.lp import ReusableLP, structural_changes
from materiel.sweep.montecarlo import (
    chunks,
    draw_totals,
    simulate_distributed,
    stream_distributed,
    summarize_totals,
)
from materiel.sweep.run import case_dir, run_case, run_sweep
from materiel.sweep.spec import SweepSpec, load_spec, parse_spec

# Dask clusters and whole sweeps (~30 s): CI runs them with -m slow
pytestmark = pytest.mark.slow

cloudpickle.register_pickle_by_value(sys.modules[__name__])

SCENARIO = """\
name: base
months: 8
events:
  - type: us_supply_stops
    month: 2
  - type: allocation
    recipient: UKR
    share: 0.9
"""


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with dask_client(workers=2) as c:
        yield c


@pytest.fixture
def uncertain_dir(tmp_path: Path) -> Path:
    """The tiny dataset with a few uncertain figures, so draws differ."""
    t = tiny_tables()
    t["facilities"][0].update(capacity_low=900.0, capacity_high=1500.0)
    t["consumption"][0].update(rate_low=12_000.0, rate_high=18_000.0)
    return write_dataset(tmp_path / "uncertain", t)


def make_spec(folder: Path, data: Path, **extra: object) -> SweepSpec:
    (folder / "base.yaml").write_text(SCENARIO)
    content = {
        "scenario": "base.yaml",
        "dataset": str(data),
        "draws": 40,
        "seed": 3,
        "parameters": [
            {"path": "events[type=us_supply_stops].month", "values": [0, 6]},
            {"path": "events[type=allocation].share", "name": "claim_share", "values": [0.5, 1.0]},
        ],
        **extra,
    }
    (folder / "spec.yaml").write_text(json.dumps(content))
    return load_spec(folder / "spec.yaml")


# ---------------------------------------------------------------- runners used on workers


def fail_once(
    case: Case, model: Model, draws: int, seed: int, actor: str, marks: str
) -> xr.Dataset:
    """Raise the first time a case runs (a marker file remembers), then run normally."""
    mark = Path(marks) / case.id
    if not mark.exists():
        mark.touch()
        raise RuntimeError(f"transient failure of {case.id}")
    return run_case(case, model, draws, seed, actor)


def fail_month_6(case: Case, model: Model, draws: int, seed: int, actor: str) -> xr.Dataset:
    if case.values["us_supply_stops_month"] == 6:
        raise ValueError("this case always fails")
    return run_case(case, model, draws, seed, actor)


def kill_worker_once(
    case: Case, model: Model, draws: int, seed: int, actor: str, marks: str
) -> xr.Dataset:
    """The first case to run kills its worker process outright (as the OOM killer would)."""
    mark = Path(marks) / "killed"
    try:
        fd = os.open(mark, os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return run_case(case, model, draws, seed, actor)
    os.close(fd)
    os._exit(1)


# ---------------------------------------------------------------------------------- tests


def test_sweep_on_two_worker_local_cluster(client: Client, tiny_dir: Path, tmp_path: Path) -> None:
    assert len(client.scheduler_info()["workers"]) == 2
    spec = make_spec(tmp_path, tiny_dir)
    outcome = run_sweep(spec, client, tmp_path / "out.nc")
    res = xr.load_dataset(tmp_path / "out.nc")
    assert res.sizes["case"] == 4 and len(outcome.computed) == 4 and not outcome.failed
    assert list(res["status"].values) == ["ok"] * 4
    assert list(res["us_supply_stops_month"].values) == [0, 0, 6, 6]
    assert list(res["claim_share"].values) == [0.5, 1.0, 0.5, 1.0]
    short = res["shortfall_mean"].sel(item="shell")
    # a later US stop and a larger claim on European lines both cut the shortfall
    assert short[0] > short[2] and short[0] > short[1]
    # a case on the cluster equals the same case computed here
    case = outcome.cases[3]
    here = run_case(case, compile_model(load_dataset(tiny_dir)), spec.draws, spec.seed, "UKR")
    assert float(short[3]) == float(here["shortfall_mean"].sel(item="shell"))


def test_resume_recomputes_only_missing_cases(
    client: Client, tiny_dir: Path, tmp_path: Path
) -> None:
    spec = make_spec(tmp_path, tiny_dir)
    out = tmp_path / "out.nc"
    first = run_sweep(spec, client, out)
    files = sorted(case_dir(out).glob("*.nc"))
    mtimes = {f: f.stat().st_mtime_ns for f in files}
    out.unlink()
    files[0].unlink()
    second = run_sweep(spec, client, out)
    assert second.computed == [files[0].stem]
    assert sorted(second.reused) == sorted(f.stem for f in files[1:])
    assert all(f.stat().st_mtime_ns == mtimes[f] for f in files[1:])
    assert second.result.identical(first.result)


def test_interrupted_sweep_resumes(client: Client, tiny_dir: Path, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, tiny_dir)
    out = tmp_path / "out.nc"
    done: list[str] = []

    def stop_after_two(case: Case, status: str) -> None:
        done.append(case.id)
        if len(done) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, client, out, progress=stop_after_two)
    assert not out.exists()
    saved = {f.stem for f in case_dir(out).glob("*.nc")}
    assert set(done) <= saved and len(saved) >= 2
    again = run_sweep(spec, client, out)
    assert set(again.reused) == saved
    assert len(again.computed) == 4 - len(saved)
    assert list(again.result["status"].values) == ["ok"] * 4


def test_failed_case_is_retried(client: Client, tiny_dir: Path, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, tiny_dir)
    marks = tmp_path / "marks"
    marks.mkdir()
    runner = partial(fail_once, marks=str(marks))
    outcome = run_sweep(spec, client, tmp_path / "out.nc", runner=runner)
    assert not outcome.failed and len(outcome.computed) == 4
    assert len(list(marks.iterdir())) == 4  # every case failed once and was retried


def test_case_failing_every_retry_is_reported_not_dropped(
    client: Client, tiny_dir: Path, tmp_path: Path
) -> None:
    spec = make_spec(tmp_path, tiny_dir)
    out = tmp_path / "out.parquet"
    outcome = run_sweep(spec, client, out, runner=fail_month_6, retries=1)
    assert len(outcome.failed) == 2
    assert all("this case always fails" in e for e in outcome.failed.values())
    res = outcome.result
    assert list(res["status"].values) == ["ok", "ok", "failed", "failed"]
    assert np.isnan(res["shortfall_mean"].sel(case=list(outcome.failed))).all()
    assert "always fails" in str(res["error"].values[2])
    import pandas as pd

    table = pd.read_parquet(out)
    assert set(table["status"]) == {"ok", "failed"} and len(table) == 4


def test_sweep_survives_a_killed_worker(client: Client, tiny_dir: Path, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, tiny_dir)
    marks = tmp_path / "marks"
    marks.mkdir()
    runner = partial(kill_worker_once, marks=str(marks))
    outcome = run_sweep(spec, client, tmp_path / "out.nc", runner=runner)
    assert (marks / "killed").exists()  # a worker really died mid-sweep
    assert not outcome.failed and len(outcome.computed) == 4
    assert list(outcome.result["status"].values) == ["ok"] * 4
    client.wait_for_workers(2, timeout=30)  # the nanny restarted it for the next tests


def test_monte_carlo_same_result_on_one_and_two_workers(
    client: Client, uncertain_dir: Path
) -> None:
    model = compile_model(load_dataset(uncertain_dir))
    scenario = parse_scenario({"name": "s", "months": 6})
    draws = 2 * BLOCK + 300
    serial = simulate(model, scenario, draws=draws, seed=11)
    two = simulate_distributed(model, scenario, draws, 11, client, chunk=BLOCK)
    with dask_client(workers=1) as one_client:
        one = simulate_distributed(model, scenario, draws, 11, one_client, chunk=BLOCK)
    assert two.identical(one)
    assert two.identical(serial)
    assert two["shortfall"].std("draw").max() > 0  # the draws really differ
    totals = simulate_distributed(
        model, scenario, draws, 11, client, chunk=BLOCK, reduce=partial(draw_totals, actor="UKR")
    )
    assert totals.identical(draw_totals(serial))


def test_summary_from_draw_totals_equals_summarize(uncertain_dir: Path) -> None:
    model = compile_model(load_dataset(uncertain_dir))
    result = simulate(model, parse_scenario({"name": "s", "months": 6}), draws=300, seed=2)
    full = summarize(result)
    small = summarize_totals(draw_totals(result))
    for col in full.columns.drop("unit"):
        np.testing.assert_allclose(small[col].to_numpy(), full[col].to_numpy(), err_msg=col)


def test_chunks_cover_draws_on_block_boundaries() -> None:
    assert chunks(10, 8192) == [(0, 10)]
    assert chunks(3000, 1000, first_draw=500) == [
        (500, 524),
        (1024, 1024),
        (2048, 1024),
        (3072, 428),
    ]
    parts = chunks(100_000)
    assert sum(n for _, n in parts) == 100_000
    assert all(lo % BLOCK == 0 for lo, _ in parts)


def test_grid_and_sampled_designs(tiny_dir: Path, tmp_path: Path) -> None:
    grid = expand(make_spec(tmp_path, tiny_dir))
    assert [c.values["claim_share"] for c in grid] == [0.5, 1.0, 0.5, 1.0]
    assert [c.id for c in grid] == [c.id for c in expand(make_spec(tmp_path, tiny_dir))]
    assert len({c.id for c in grid}) == 4
    assert grid[2].scenario.events[0].month == 6  # type: ignore[union-attr]
    params = [
        {"path": "events[type=us_supply_stops].month", "low": 0, "high": 7},
        {"path": "budget", "low": 1e9, "high": 2e9},
    ]
    for method in ("lhs", "sobol"):
        cases = expand(make_spec(tmp_path, tiny_dir, method=method, samples=8, parameters=params))
        months = [c.values["us_supply_stops_month"] for c in cases]
        budgets = [c.scenario.budget for c in cases]
        assert len(cases) == 8 and all(isinstance(m, int) and 0 <= m <= 7 for m in months)
        assert all(b is not None and 1e9 <= b <= 2e9 for b in budgets)
    # a different draw count gives different case ids (no stale reuse)
    assert expand(make_spec(tmp_path, tiny_dir, draws=41))[0].id != grid[0].id


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"parameters": []}, "parameters", "at least 1"),
        ({"method": "lhs"}, None, "needs 'samples'"),
        ({"draws": 0}, "draws", "greater than or equal to 1"),
        ({"parameters": [{"path": "months"}]}, "parameters.0", "give 'values'"),
        ({"parameters": [{"path": "months", "low": 5, "high": 2}]}, "parameters.0", "below"),
        ({"parameters": [{"path": "events[type=ceasefire].month", "values": [1]}]},
         "parameters.0.path", "events[type=ceasefire]"),
        ({"parameters": [{"path": "events[type=allocation", "values": [1]}]},
         "parameters.0.path", "cannot read path"),
        ({"parameters": [{"path": "events[type=allocation].share", "values": [20.0]}]},
         "parameters", "less than or equal to 10"),
        ({"colour": "red"}, "colour", "Extra inputs"),
    ],
)  # fmt: skip
def test_spec_errors_name_file_and_field(
    tiny_dir: Path, tmp_path: Path, change: dict[str, object], field: str | None, text: str
) -> None:
    with pytest.raises(DatasetError) as info:
        expand(make_spec(tmp_path, tiny_dir, **change))
    issue = info.value.issues[0]
    assert issue.file == "spec.yaml"
    assert (issue.field or "").startswith(field or "")
    assert text in str(issue)


def test_parse_path() -> None:
    assert parse_path("events[type=supplier_outage,node=x].fraction") == [
        "events",
        {"type": "supplier_outage", "node": "x"},
        "fraction",
    ]
    assert parse_path("events[1].profile[0].factor") == ["events", 1, "profile", 0, "factor"]


def test_bundled_example_spec_expands() -> None:
    spec = load_spec("us-stop-month")
    cases = expand(spec)
    assert len(cases) == 13 * 4
    assert {c.values["us_stop_month"] for c in cases} == set(range(13))


def materiel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "materiel", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_sweep_json_then_resume(tiny_dir: Path, tmp_path: Path) -> None:
    make_spec(tmp_path, tiny_dir)
    out = tmp_path / "res" / "sweep.nc"
    args = ("sweep", str(tmp_path / "spec.yaml"), "--workers", "1", "--out", str(out), "--json")
    proc = materiel(*args)
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["computed"] == 4 and payload["failed"] == []
    assert payload["results"][0]["us_supply_stops_month"] == 0
    again = json.loads(materiel(*args).stdout)
    assert again["computed"] == 0 and again["reused"] == 4


def test_cli_sweep_bad_spec_is_a_clear_error(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "scenario: imposed-deal\nparameters:\n  - path: events[type=nope].month\n    values: [1]\n"
    )
    proc = materiel("sweep", str(spec))
    assert proc.returncode == 2
    assert "bad.yaml" in proc.stderr and "parameters.0" in proc.stderr
    assert "events[type=nope]" in proc.stderr and "Traceback" not in proc.stderr


# ------------------------------------------------------------------------------ LP sweeps

PLAN_SCENARIO = {
    "name": "plan",
    "months": 12,
    "events": [
        {"type": "us_supply_stops", "month": 2},
        {"type": "budget", "eur_per_year": 1.0e9},
    ],
}


def _plan_case(
    model: Model, month: int, budget: float, event: dict[str, object] | None = None
) -> PlanData:
    events: list[dict[str, object]] = [
        {"type": "us_supply_stops", "month": month},
        {"type": "budget", "eur_per_year": budget},
    ]
    if event:
        events.append(event)
    scenario = parse_scenario({**PLAN_SCENARIO, "events": events})
    return prepare(model, [compile_scenario(model, scenario)])


def test_lp_resolved_in_place_equals_a_fresh_build(tiny_dir: Path) -> None:
    model = compile_model(load_dataset(tiny_dir))
    reusable = ReusableLP(_plan_case(model, 2, 1e9))
    reusable.solve(reusable.base)
    for month, budget in ((0, 1e9), (6, 4e8), (9, 5e9)):
        data = _plan_case(model, month, budget)
        assert structural_changes(reusable.base, data) == []
        got = reusable.solve(data)
        fresh = build_problem(data)
        a, b = reusable.lp.matrices, fresh.matrices
        np.testing.assert_array_equal(a.b, b.b)
        np.testing.assert_array_equal(a.c, b.c)
        np.testing.assert_array_equal(a.ub, b.ub)
        assert (a.A != b.A).nnz == 0
        assert got.objective == pytest.approx(solve(fresh), rel=1e-9)
    assert reusable.updates == 3 and reusable.rebuilds == 0


def test_lp_transfer_bounds_updated_in_place(tmp_path: Path) -> None:
    # A transfer's quantity is a variable bound (and moves the excess bound): a sweep over it
    # re-solves in place and matches a fresh build, bounds included.
    tables = tiny_tables()
    tables["stocks"].append(
        {
            **tables["stocks"][0],
            "actor": "DEU",
            "floor": 5_000.0,
            "floor_low": 5_000.0,
            "floor_high": 5_000.0,
        }
    )
    model = compile_model(load_dataset(write_dataset(tmp_path / "transfer", tables)))

    def case(quantity: float) -> PlanData:
        event = {
            "type": "transfer",
            "from": "DEU",
            "to": "UKR",
            "item": "shell",
            "quantity": quantity,
            "month": 1,
            "months": 2,
        }
        return _plan_case(model, 2, 1e9, event)

    reusable = ReusableLP(case(6_000.0))
    first = reusable.solve(reusable.base)
    data = case(2_000.0)
    assert structural_changes(reusable.base, data) == []
    got = reusable.solve(data)
    fresh = build_problem(data)
    a, b = reusable.lp.matrices, fresh.matrices
    np.testing.assert_array_equal(a.ub, b.ub)
    np.testing.assert_array_equal(a.b, b.b)
    assert got.objective == pytest.approx(solve(fresh), rel=1e-9)
    assert got.objective != pytest.approx(first.objective, rel=1e-9)  # the bound matters
    assert reusable.updates == 1 and reusable.rebuilds == 0


def test_lp_coefficient_change_rebuilds(tiny_dir: Path) -> None:
    model = compile_model(load_dataset(tiny_dir))
    reusable = ReusableLP(_plan_case(model, 2, 1e9))
    reusable.solve(reusable.base)
    outage = {"type": "supplier_outage", "node": "powder_plant", "month": 3, "fraction": 0.5}
    data = _plan_case(model, 2, 1e9, outage)
    assert "availability" in structural_changes(reusable.base, data)
    result = reusable.solve(data)
    assert reusable.rebuilds == 1
    assert result.objective == pytest.approx(solve(build_problem(data)), rel=1e-9)


def test_plan_sweep_on_cluster(client: Client, tiny_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text(json.dumps(PLAN_SCENARIO))
    spec = parse_spec(
        {
            "scenario": "plan.yaml",
            "dataset": str(tiny_dir),
            "engine": "plan",
            "parameters": [
                {"path": "events[type=us_supply_stops].month", "values": [0, 4, 8]},
                {"path": "budget", "values": [4e8, 2e9]},
            ],
        },
        "plan-sweep.yaml",
        tmp_path,
    )
    outcome = run_sweep(spec, client, tmp_path / "plan.nc")
    res = outcome.result
    assert list(res["status"].values) == ["ok"] * 6 and not outcome.failed
    obj = res["expected_weighted_shortfall_eur"].to_numpy()
    # a later US stop never leaves more shortfall; nor does a larger budget
    assert obj[0] >= obj[2] - 1e-6 * abs(obj[0]) and obj[0] >= obj[1] - 1e-6 * abs(obj[0])
    assert not [v for v in res.data_vars if "objective" in v or "penalty" in v]
    assert set(res["unmet_share"].dims) == {"case", "item"}


# ------------------------------------------------------- in process or on Dask (issue 17.5)


def test_choose_backend() -> None:
    assert not choose_backend(cores=2).dask
    assert "2 core(s)" in choose_backend(cores=2).describe("running")
    assert choose_backend(cores=8).dask
    assert not choose_backend(cores=8, in_process=True).dask
    assert not choose_backend(cores=8, small=True).dask
    assert choose_backend(cores=1, workers=2).dask
    on = choose_backend("tcp://10.0.0.5:8786", cores=1)
    assert on.dask and "tcp://10.0.0.5:8786" in on.describe("running")
    with pytest.raises(ValueError, match="not both"):
        choose_backend("tcp://10.0.0.5:8786", in_process=True)


def test_in_process_sweep_equals_the_dask_sweep(
    client: Client, tiny_dir: Path, tmp_path: Path
) -> None:
    spec = make_spec(tmp_path, tiny_dir)
    here = run_sweep(spec, None, tmp_path / "here.nc")
    there = run_sweep(spec, client, tmp_path / "there.nc")
    assert len(here.computed) == 4 and not here.failed
    assert here.result.drop_attrs().identical(there.result.drop_attrs())


def test_in_process_sweep_retries_and_reports_failures(tiny_dir: Path, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, tiny_dir)
    marks = tmp_path / "marks"
    marks.mkdir()
    outcome = run_sweep(spec, None, tmp_path / "a.nc", runner=partial(fail_once, marks=str(marks)))
    assert not outcome.failed and len(list(marks.iterdir())) == 4
    outcome = run_sweep(spec, None, tmp_path / "b.nc", runner=fail_month_6, retries=1)
    assert len(outcome.failed) == 2
    assert list(outcome.result["status"].values) == ["ok", "ok", "failed", "failed"]


def test_cli_sweep_in_process_says_so(tiny_dir: Path, tmp_path: Path) -> None:
    make_spec(tmp_path, tiny_dir)
    out = tmp_path / "sweep.nc"
    proc = materiel("sweep", str(tmp_path / "spec.yaml"), "--in-process", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "running 4 case(s) in this process (--in-process)" in proc.stderr
    assert list(xr.load_dataset(out)["status"].values) == ["ok"] * 4


def test_streamed_from_dask_equals_in_process(
    client: Client, uncertain_dir: Path, tmp_path: Path
) -> None:
    import yaml

    model = compile_model(load_dataset(uncertain_dir))
    scenario = parse_scenario(yaml.safe_load(SCENARIO))
    here = simulate_to_file(model, scenario, tmp_path / "here.nc", draws=3 * BLOCK, seed=4)
    there = stream_distributed(
        model, scenario, tmp_path / "there.nc", 3 * BLOCK, 4, client, chunk=BLOCK
    )
    xr.testing.assert_identical(xr.load_dataset(here), xr.load_dataset(there))
    kept = ("wanted", "fired", "cost")  # the same subset of variables either way
    here = simulate_to_file(model, scenario, tmp_path / "h.nc", 2 * BLOCK, 4, variables=kept)
    there = stream_distributed(
        model, scenario, tmp_path / "t.nc", 2 * BLOCK, 4, client, chunk=BLOCK, variables=kept
    )
    assert set(xr.load_dataset(there).data_vars) == set(kept)
    xr.testing.assert_identical(xr.load_dataset(here), xr.load_dataset(there))


def test_the_local_dashboard_listens_on_loopback_only(client: Client) -> None:
    """The LocalCluster's dashboard binds 127.0.0.1 (not every interface)."""
    server = client.cluster.scheduler.http_server  # type: ignore[union-attr]
    bound = {sock.getsockname()[0] for sock in server._sockets.values()}
    assert bound == {"127.0.0.1"}
    assert client.dashboard_link.startswith("http://127.0.0.1:")
