"""Simulator benchmark: vectorised engine vs the plain per-draw Python loop.

Run: ``.venv/bin/python benchmarks/bench_simulate.py [--draws 10000] [--months 36]``.
Prints a table; both implementations run in this process on the default dataset and the
imposed-deal scenario. The per-draw loop is timed on a subset of draws and compared per draw.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from materiel.io.dataset import load_dataset
from materiel.model.compiled import compile_model
from materiel.model.events import compile_scenario
from materiel.model.sampling import sample
from materiel.scenario import load_scenario
from materiel.simulation import simulate
from materiel.simulation.engine import run
from materiel.simulation.reference import run_reference


def best_of(repeats: int, fn: object) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--loop-draws", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    model = compile_model(load_dataset())
    scenario = load_scenario("imposed-deal")
    sc = compile_scenario(model, scenario, args.months)
    d, m = args.draws, args.months

    t_full = best_of(args.repeats, lambda: simulate(model, scenario, draws=d, months=m, seed=1))
    p = sample(model, d, seed=1)
    t_engine = best_of(args.repeats, lambda: run(model, sc, p))
    t_sample = best_of(args.repeats, lambda: sample(model, d, seed=1))

    n_loop = min(args.loop_draws, d)
    p_loop = {k: v[:n_loop] for k, v in p.items()}
    t_loop = best_of(1, lambda: run_reference(model, sc, p_loop))
    fast = run(model, sc, p_loop)
    slow = run_reference(model, sc, p_loop)
    agree = np.allclose(fast["shortfall"], slow["shortfall"], rtol=1e-4, atol=1e-2)

    per_draw_loop = t_loop / n_loop
    rows = [
        ("simulate() incl. sampling + xarray", d, t_full, d / t_full),
        ("engine run() only", d, t_engine, d / t_engine),
        ("sampling only", d, t_sample, d / t_sample),
        ("per-draw Python loop (peer)", n_loop, t_loop, 1 / per_draw_loop),
    ]
    print(
        f"\nSimulator benchmark: default dataset ({len(model.facilities)} facilities, "
        f"{len(model.items)} items), imposed-deal, {m} months, best of {args.repeats}\n"
    )
    print(f"{'case':<38} {'draws':>8} {'seconds':>9} {'draws/s':>11}")
    print("-" * 70)
    for name, n, secs, rate in rows:
        print(f"{name:<38} {n:>8,} {secs:>9.3f} {rate:>11,.0f}")
    print("-" * 70)
    print(
        f"speed-up of simulate() over the per-draw loop: {per_draw_loop * d / t_full:,.0f}x "
        f"(target >= 20x); {d:,} draws x {m} months in {t_full:.2f} s (target < 2 s)"
    )
    print(f"vectorised and per-draw results agree: {agree}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
