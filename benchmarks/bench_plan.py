"""Benchmark the plan LP: linopy vs a Pyomo peer, on the default dataset and a 10x synthetic one.

The synthetic dataset's scale is chosen to give 10x the default dataset's facilities.

Run: ``.venv/bin/python benchmarks/bench_plan.py [--repeat 3] [--months 36]``

Each run of each case is a fresh subprocess, so peak memory (``ru_maxrss``) belongs to that case
alone. Timed phases, in seconds (median over runs):
- data: the LP's input arrays from the compiled model and the 4 bundled scenarios (shared by
  both tools, NumPy only);
- build: the model object (linopy ``build_problem`` / Pyomo ``ConcreteModel`` with rules);
- solve: hand-off to HiGHS plus the solve (linopy direct API / Pyomo appsi_highs).
Build and solve are also given as CPU time of the process, which other load on the machine
disturbs much less than wall time; runs of the cases are interleaved for the same reason.
Peak MB is the largest resident set of the process; base MB is the resident set after imports
and data loading, before the timed phases.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np

CASES = {
    "default 1x linopy": ("default", "linopy"),
    "synthetic 10x linopy": ("synthetic", "linopy"),
    "default 1x pyomo": ("default", "pyomo"),
    "synthetic 10x pyomo": ("synthetic", "pyomo"),
}


def synthetic_scale() -> int:
    """Chain families giving about 10x the default dataset's facilities (and expansions)."""
    from materiel.io.dataset import load_dataset
    from materiel.synthetic import synthetic_tables

    default = len(load_dataset().tables["facilities"])
    one = len(synthetic_tables(1)["facilities"])
    return max(1, round(10 * default / one))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_case(data: str, tool: str, months: int) -> dict[str, Any]:
    """One measurement in this process (called in a fresh subprocess)."""
    import pyomo.environ  # noqa: F401  (import cost outside the timings)

    from bench_saa import FUTURES
    from materiel.io.dataset import load_dataset
    from materiel.model.compiled import compile_model
    from materiel.model.events import compile_scenario
    from materiel.optimize import build_problem, prepare, solve
    from materiel.optimize.peer import build_pyomo, solve_pyomo
    from materiel.scenario import load_scenario
    from materiel.synthetic import synthetic_dataset

    dataset = load_dataset() if data == "default" else synthetic_dataset(synthetic_scale())
    model = compile_model(dataset)
    scenarios = [load_scenario(n) for n in FUTURES]  # the history scenario is not a future
    base = _rss_mb()
    clock = [(time.perf_counter(), time.process_time())]
    arrays = [compile_scenario(model, s, months) for s in scenarios]
    d = prepare(model, arrays)
    clock.append((time.perf_counter(), time.process_time()))
    if tool == "linopy":
        lp = build_problem(d)
        clock.append((time.perf_counter(), time.process_time()))
        objective = solve(lp)
        size = (int(lp.nvars), int(lp.ncons))
    else:
        pm = build_pyomo(d)
        clock.append((time.perf_counter(), time.process_time()))
        objective = solve_pyomo(pm)
        size = (int(pm.nvariables()), int(pm.nconstraints()))
    clock.append((time.perf_counter(), time.process_time()))
    wall = np.diff([c[0] for c in clock])
    cpu = np.diff([c[1] for c in clock])
    return {
        "data_s": wall[0],
        "build_s": wall[1],
        "solve_s": wall[2],
        "build_cpu_s": cpu[1],
        "solve_cpu_s": cpu[2],
        "peak_mb": _rss_mb(),
        "base_mb": base,
        "objective": objective,
        "variables": size[0],
        "constraints": size[1],
    }


TIMES = ("data_s", "build_s", "solve_s", "build_cpu_s", "solve_cpu_s")


def _run(name: str, months: int) -> dict[str, Any]:
    data, tool = CASES[name]
    proc = subprocess.run(
        [sys.executable, __file__, "--case", data, tool, "--months", str(months)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in TIMES}
    out |= {k: max(r[k] for r in runs) for k in ("peak_mb", "base_mb")}
    out |= {k: runs[0][k] for k in ("objective", "variables", "constraints")}
    return out


def measure(name: str, repeat: int, months: int) -> dict[str, Any]:
    """Median times and peak memory of ``repeat`` fresh-process runs of one case."""
    return _combine([_run(name, months) for _ in range(repeat)])


def measure_all(repeat: int, months: int) -> dict[str, dict[str, Any]]:
    """Every case, runs interleaved round-robin so that load from other processes on the
    machine spreads evenly over the cases."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CASES}
    for _ in range(repeat):
        for name in CASES:
            runs[name].append(_run(name, months))
    return {name: _combine(r) for name, r in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs=2, metavar=("DATA", "TOOL"), help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median)")
    parser.add_argument("--months", type=int, default=36)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(*args.case, args.months)))
        return
    rows = measure_all(args.repeat, args.months)
    head = (
        f"{'case':<22} {'vars':>8} {'rows':>8} {'data s':>7} {'build s':>8} {'solve s':>8} "
        f"{'build cpu':>9} {'solve cpu':>9} {'peak MB':>8} {'base MB':>8} {'objective':>20}"
    )
    print(
        f"plan LP, {args.months} months, 4 scenarios, median of {args.repeat} fresh processes; "
        f"synthetic = synthetic_dataset({synthetic_scale()}), 10x the default's facilities"
    )
    print(head)
    print("-" * len(head))
    for name, r in rows.items():
        print(
            f"{name:<22} {r['variables']:>8,} {r['constraints']:>8,} {r['data_s']:>7.2f} "
            f"{r['build_s']:>8.2f} {r['solve_s']:>8.2f} {r['build_cpu_s']:>9.2f} "
            f"{r['solve_cpu_s']:>9.2f} {r['peak_mb']:>8.0f} "
            f"{r['base_mb']:>8.0f} {r['objective']:>20,.0f}"
        )
    for scale in ("default 1x", "synthetic 10x"):
        li, po = rows[f"{scale} linopy"], rows[f"{scale} pyomo"]
        same = abs(li["objective"] - po["objective"]) <= 1e-6 * abs(li["objective"])
        print(
            f"{scale}: linopy build {po['build_s'] / li['build_s']:.1f}x faster than Pyomo "
            f"(CPU time {po['build_cpu_s'] / li['build_cpu_s']:.1f}x; target >= 10x); "
            f"build+solve {li['build_s'] + li['solve_s']:.2f} s vs "
            f"{po['build_s'] + po['solve_s']:.2f} s; same objective: {same}"
        )
    total = rows["default 1x linopy"]
    print(
        f"default dataset, linopy data+build+solve: "
        f"{total['data_s'] + total['build_s'] + total['solve_s']:.2f} s (target < 30 s)"
    )


if __name__ == "__main__":
    main()
