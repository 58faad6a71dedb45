"""The benchmark suite: one command, one table, one JSON file.

Run: ``.venv/bin/python benchmarks/run_all.py [--quick] [--skip-lp] [--only TEXT]``

Rows (each measured in a fresh subprocess, so peak memory belongs to that row alone; simulator
rows below 100k draws report the best of 3 runs):
- simulator draws/s at 1k, 10k and 100k draws (default dataset, imposed-deal, 36 months) in
  process and on a Dask LocalCluster of 1 and 2 workers. Large runs reduce each chunk to
  per-draw totals on the worker (``reduce=draw_totals``), as a million-draw run must;
- how the model reaches the workers: scattered once vs shipped in a task (10k draws, 2 workers);
- sweep throughput: the bundled us-stop-month spec (52 cases x 500 draws) on 2 workers;
- LP: build and solve at 1x (default) and 10x (synthetic) dataset size, linopy vs the Pyomo
  peer (benchmarks/bench_plan.py), and an LP sweep re-solved in place vs rebuilt per case;
- the sample-average plan LP at ``--saa-draws`` draws (default 50) x the 4 futures, built and
  solved, with the Pyomo peer's build at the same size (benchmarks/bench_saa.py).
Peak RSS: the row's own process, and the largest child (a Dask worker) where there is one.
Writes benchmarks/results/latest.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCENARIO = "imposed-deal"
MONTHS = 36


def _peaks() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_mb": own, "worker_peak_mb": child}


def _default_model() -> Any:
    from materiel.io.dataset import load_dataset
    from materiel.model.compiled import compile_model

    return compile_model(load_dataset())


def row_simulate(draws: int, workers: int, share: str = "task") -> dict[str, Any]:
    """Draws/s of a reduced Monte Carlo run; workers = 0 runs in this process."""
    from functools import partial

    from distributed import wait

    from materiel.scenario import load_scenario
    from materiel.sweep.cluster import dask_client
    from materiel.sweep.montecarlo import (
        chunks,
        concat_draws,
        draw_totals,
        share_model,
        simulate_chunk,
        simulate_distributed,
    )

    model, scenario = _default_model(), load_scenario(SCENARIO)
    reduce = partial(draw_totals, actor="UKR")
    if workers == 0:
        simulate_chunk(model, scenario, 0, 256, 0, MONTHS, reduce=reduce)  # warm-up
        times = []
        for _ in range(_repeats(draws)):
            t0 = time.perf_counter()
            parts = [
                simulate_chunk(model, scenario, lo, n, 0, MONTHS, reduce=reduce)
                for lo, n in chunks(draws)
            ]
            concat_draws(parts, draws)
            times.append(time.perf_counter() - t0)
        return {"seconds": min(times), "rate": draws / min(times), "runs": times, **_peaks()}
    with dask_client(workers=workers) as client:
        client.run(importlib.import_module, "materiel.sweep.montecarlo")  # imports, untimed
        t0 = time.perf_counter()
        shared = share_model(client, model, how=share)
        wait([shared])
        setup = time.perf_counter() - t0
        # warm-up: one chunk per worker (imports, first calls)
        simulate_distributed(model, scenario, 1024 * workers, 0, client, chunk=1024,
                             months=MONTHS, reduce=reduce, model_future=shared)  # fmt: skip
        times = []
        for _ in range(_repeats(draws)):
            t0 = time.perf_counter()
            simulate_distributed(
                model, scenario, draws, 0, client, months=MONTHS, reduce=reduce, model_future=shared
            )
            times.append(time.perf_counter() - t0)
    seconds = min(times)
    return {"seconds": seconds, "rate": draws / seconds, "runs": times, "setup_s": setup,
            **_peaks()}  # fmt: skip


def _repeats(draws: int) -> int:
    """Best of 3 below 100k draws: the machine may be shared, the minimum is the signal."""
    return 3 if draws < 100_000 else 1


def _spin(n: int) -> float:
    """Seconds for n additions in a Python loop."""
    t0, total = time.perf_counter(), 0
    for i in range(n):
        total += i
    return time.perf_counter() - t0


def row_cpu_control(processes: int, n: int = 20_000_000) -> dict[str, Any]:
    """A pure-Python loop in 1 or 2 processes: how much parallelism the machine offers right
    now (other load shows as a 2-process rate well under twice the 1-process rate)."""
    import multiprocessing

    if processes == 1:
        seconds = _spin(n)
    else:  # time inside the processes: process start-up is not the point
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            seconds = max(pool.map(_spin, [n] * processes))
    return {"seconds": seconds, "rate": processes * n / seconds / 1e6, **_peaks()}


def row_sweep(workers: int) -> dict[str, Any]:
    """Cases per minute of the bundled us-stop-month sweep, from an empty case folder."""
    from materiel.sweep.cluster import dask_client
    from materiel.sweep.run import prepare, run_sweep
    from materiel.sweep.spec import load_spec

    ready = prepare(load_spec("us-stop-month"))
    with tempfile.TemporaryDirectory() as tmp, dask_client(workers=workers) as client:
        t0 = time.perf_counter()
        outcome = run_sweep(ready, client, Path(tmp) / "sweep.nc")
        seconds = time.perf_counter() - t0
    n = len(outcome.computed)
    assert not outcome.failed, outcome.failed
    return {"seconds": seconds, "rate": n / seconds * 60, "cases": n, **_peaks()}


def row_lp_sweep(scale: int, reuse: bool, cases: int = 6) -> dict[str, Any]:
    """Seconds per case of an LP sweep (US stop month x budget): one LP re-solved in place,
    or a fresh build and solve per case."""
    from materiel.io.dataset import load_dataset
    from materiel.model.compiled import compile_model
    from materiel.model.events import compile_scenario
    from materiel.optimize import build_problem, prepare, solve
    from materiel.scenario import load_scenario
    from materiel.sweep.lp import ReusableLP
    from materiel.synthetic import synthetic_dataset

    model = compile_model(load_dataset() if scale == 1 else synthetic_dataset(scale, seed=0))
    base = load_scenario(SCENARIO)
    data = []
    for k in range(cases):
        scen = base.model_copy(deep=True)
        scen.events[0].month = 2 * k  # type: ignore[union-attr]
        data.append(prepare(model, [compile_scenario(model, scen, MONTHS)], budget=1e10 + 2e9 * k))
    t0 = time.perf_counter()
    objectives = []
    if reuse:
        lp = ReusableLP(data[0])
        objectives = [lp.solve(d).objective for d in data]
        extra = {"in_place": lp.updates, "rebuilds": lp.rebuilds}
    else:
        objectives = [solve(build_problem(d)) for d in data]
        extra = {}
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rate": cases / seconds * 60, "objectives": objectives,
            **extra, **_peaks()}  # fmt: skip


ROWS: dict[str, tuple[str, dict[str, Any], str, str]] = {}
"""name -> (function, kwargs, size label, rate unit)."""
for k in (1, 2):
    ROWS[f"CPU control: pure-Python loop, {k} process(es)"] = (
        "row_cpu_control", {"processes": k}, f"{k} x 20M adds", "M adds/s")  # fmt: skip
for n in (1_000, 10_000, 100_000):
    for w in (0, 1, 2):
        ROWS[f"simulate {n // 1000}k draws, {w or 'no'} Dask workers"] = (
            "row_simulate", {"draws": n, "workers": w}, f"{n:,} draws", "draws/s")  # fmt: skip
ROWS["simulate 10k draws, no Dask workers, BLAS 1 thread"] = (
    "row_simulate",
    {"draws": 10_000, "workers": 0},
    "10,000 draws",
    "draws/s",
)
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Dask's nanny sets these for its workers; rows named 'BLAS 1 thread' get them in process."""
ROWS["model shipped in a task, 10k, 2 workers"] = (
    "row_simulate",
    {"draws": 10_000, "workers": 2, "share": "task"},
    "10,000 draws",
    "draws/s",
)
ROWS["model scattered, 10k, 2 workers"] = (
    "row_simulate",
    {"draws": 10_000, "workers": 2, "share": "scatter"},
    "10,000 draws",
    "draws/s",
)
ROWS["sweep us-stop-month, 2 workers"] = (
    "row_sweep",
    {"workers": 2},
    "52 x 500 draws",
    "cases/min",
)
for s in (1, 10):
    for reuse in (True, False):
        ROWS[f"LP sweep {s}x, {'re-solved in place' if reuse else 'rebuilt per case'}"] = (
            "row_lp_sweep",
            {"scale": s, "reuse": reuse},
            f"{s}x, 6 cases",
            "cases/min",
        )


def run_row(name: str) -> dict[str, Any]:
    """Run one row in a fresh subprocess; its last stdout line is the JSON result."""
    env = {**os.environ, **(ONE_THREAD if "BLAS 1 thread" in name else {})}
    proc = subprocess.run(
        [sys.executable, __file__, "--row", name],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def lp_rows(repeat: int) -> dict[str, dict[str, Any]]:
    """LP build and solve against the Pyomo peer, from benchmarks/bench_plan.py."""
    sys.path.insert(0, str(HERE))
    import bench_plan

    out = {}
    for name in bench_plan.CASES:
        r = bench_plan.measure(name, repeat, MONTHS)
        out[f"LP {name}"] = {
            "seconds": r["build_s"] + r["solve_s"],
            "build_s": r["build_s"],
            "solve_s": r["solve_s"],
            "peak_mb": r["peak_mb"],
            "size": f"{r['variables']:,} vars",
            "objective": r["objective"],
        }
    return out


def saa_rows(draws: int) -> dict[str, dict[str, Any]]:
    """The sample-average LP at ``draws`` x 4 futures, from benchmarks/bench_saa.py."""
    sys.path.insert(0, str(HERE))
    import bench_saa

    size = f"{draws} x {len(bench_saa.FUTURES)} rows"
    out: dict[str, dict[str, Any]] = {}
    for tool in ("linopy", "pyomo"):
        r = bench_saa.measure(tool, draws, MONTHS, 11.0 if tool == "pyomo" else 0.0, 1800.0)
        name = f"LP SAA {draws} draws x 4 futures, {tool}{' build' if tool == 'pyomo' else ''}"
        if "error" in r:
            out[name] = {"size": size, **r}
            continue
        solve = r["solve_s"] if tool == "linopy" else 0.0
        out[name] = {
            "seconds": r["data_s"] + r["build_s"] + solve,
            "build_s": r["build_s"],
            "solve_s": solve,
            "peak_mb": r["peak_mb"],
            "size": size,
            "objective": r["objective"],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--row", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="skip the 100k-draw rows")
    parser.add_argument("--only", help="run only rows whose name contains this text")
    parser.add_argument("--skip-lp", action="store_true", help="skip the LP rows")
    parser.add_argument("--lp-repeat", type=int, default=1, help="runs per LP peer case")
    parser.add_argument("--saa-draws", type=int, default=50, help="draws per future, SAA LP")
    args = parser.parse_args()
    if args.row:
        func, kwargs, _size, _unit = ROWS[args.row]
        print(json.dumps(globals()[func](**kwargs)))
        return

    results: dict[str, dict[str, Any]] = {}
    for name, (func, _kw, size, unit) in ROWS.items():
        if (args.quick and "100k" in name) or (args.skip_lp and func == "row_lp_sweep"):
            continue
        if args.only and args.only not in name:
            continue
        print(f"running: {name} ...", file=sys.stderr, flush=True)
        results[name] = {"size": size, "unit": unit, **run_row(name)}
    if not args.skip_lp and not args.only:
        print("running: LP build and solve vs Pyomo (bench_plan.py) ...", file=sys.stderr)
        try:
            results.update(lp_rows(args.lp_repeat))
        except Exception as e:  # a peer failure must not lose the other rows
            results["LP vs Pyomo"] = {"error": f"{type(e).__name__}: {e}"}
        print(f"running: SAA LP, {args.saa_draws} draws x 4 futures ...", file=sys.stderr)
        results.update(saa_rows(args.saa_draws))
    target = HERE / "results" / "latest.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    if args.only and target.exists():  # update those rows of the last full run
        results = {**json.loads(target.read_text())["rows"], **results}
    _print(results)
    meta = {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": _cpus(), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}  # fmt: skip
    target.write_text(json.dumps({"meta": meta, "rows": results}, indent=2, default=str))
    print(f"\nwritten {target.relative_to(HERE.parent)}")


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


def _print(results: dict[str, dict[str, Any]]) -> None:
    head = (
        f"{'benchmark':<46} {'size':>16} {'seconds':>9} {'rate':>16} {'peak MB':>8} "
        f"{'worker MB':>9}"
    )
    print(f"\nmateriel benchmarks ({_cpus()} CPUs); peak = this row's process / largest worker")
    print(head)
    print("-" * len(head))
    for name, r in results.items():
        if "error" in r:
            print(f"{name:<46} ERROR: {r['error']}")
            continue
        rate = f"{r['rate']:,.0f} {r['unit']}" if "rate" in r else ""
        worker = f"{r['worker_peak_mb']:,.0f}" if r.get("worker_peak_mb") else "-"
        print(f"{name:<46} {r.get('size', ''):>16} {r['seconds']:>9.2f} {rate:>16} "
              f"{r['peak_mb']:>8,.0f} {worker:>9}")  # fmt: skip


if __name__ == "__main__":
    main()
