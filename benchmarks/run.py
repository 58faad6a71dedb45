"""Performance benchmarks against the targets of issue 17: one command, one table.

Run: ``.venv/bin/python benchmarks/run.py [--runs 3] [--quick]``

Rows, all measured in this run on this machine (default dataset, imposed-deal, 36 months):
- engine (the compiled kernel, in threads) draws/s at 10k draws vs the in-repo plain-NumPy
  reference of the same equations (``simulation.reference_numpy``, bit-identical results)
  and the per-draw Python oracle (timed on a subset);
- the chunked engine at 100k draws (memory-bounded chunks, no file): draws/s;
- whole commands as fresh processes, min/median/max over ``--runs`` runs: ``materiel
  --help``, ``simulate`` at 1k and 10k draws (results saved: the default file, the summary
  variables), at 10k draws with ``--full`` (every variable saved) and ``plan``;
- peak RSS of ``materiel simulate`` (results saved) at 1k, 10k and 100k draws.
Targets from the issue are printed next to each measurement with pass or FAIL. Timings on a
shared machine are noisy: the median is quoted; the min-max range shows the noise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MATERIEL = [sys.executable, "-m", "materiel"]


@dataclass
class Row:
    """One measurement: what, the figures (median [min-max]), the target and the verdict."""

    name: str
    value: str
    target: str = ""
    ok: bool | None = None


def run_process(args: list[str], cwd: Path) -> tuple[float, float]:
    """Run ``args`` once; (wall seconds, peak RSS in MB of that process alone)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise RuntimeError(f"{' '.join(args)} failed:\n{err}")
    return wall, usage.ru_maxrss / 1024


def command_stats(args: list[str], runs: int, cwd: Path) -> tuple[list[float], list[float]]:
    """Wall seconds and peak MB of ``runs`` runs after one warm-up run."""
    run_process(args, cwd)
    times, peaks = [], []
    for _ in range(runs):
        wall, peak = run_process(args, cwd)
        times.append(wall)
        peaks.append(peak)
    return times, peaks


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    """``median [min-max]``."""
    med = statistics.median(values)
    return f"{fmt.format(med)} [{fmt.format(min(values))}-{fmt.format(max(values))}]"


def best(fn: Callable[[], object], repeats: int) -> float:
    """Best wall time of ``repeats`` calls, seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def engine_rows(repeats: int, big: int) -> list[Row]:
    """Engine draws/s vs the reference, and the chunked engine at ``big`` draws."""
    from materiel.io.dataset import load_dataset
    from materiel.model.compiled import compile_model
    from materiel.model.events import compile_scenario
    from materiel.model.sampling import sample
    from materiel.scenario import load_scenario
    from materiel.simulation import iter_chunks
    from materiel.simulation import reference as ref
    from materiel.simulation.engine import run
    from materiel.simulation.reference_numpy import run_numpy_reference

    model = compile_model(load_dataset())
    scenario = load_scenario("imposed-deal")
    sc = compile_scenario(model, scenario, 36)
    draws = 10_000
    p = sample(model, draws, seed=1)
    run(model, sc, {k: v[:1] for k, v in p.items()})  # load (or compile) the kernel
    engine = draws / best(lambda: run(model, sc, p), repeats)
    rows = [Row("engine, 10k draws (draws/s)", f"{engine:,.0f}")]
    reference = draws / best(lambda: run_numpy_reference(model, sc, p), repeats)
    rows.append(Row("plain-NumPy reference, 10k draws (draws/s)", f"{reference:,.0f}"))
    ratio = engine / reference
    rows.append(Row("engine / NumPy reference", f"{ratio:.2f}x", ">= 1.00x", ratio >= 1.0))
    n = 20
    subset = {k: v[:n] for k, v in p.items()}
    loop = n / best(lambda: ref.run_reference(model, sc, subset), 1)
    rows.append(Row("per-draw Python oracle (draws/s)", f"{loop:,.0f}"))

    v1 = v1_engine_rate(draws, repeats)
    if v1 is not None:
        rows.append(Row("model-v1 engine (git 2df5a44), 10k draws (draws/s)", f"{v1:,.0f}"))
        slowdown = v1 / engine
        rows.append(
            Row("v2 engine time / v1 engine time", f"{slowdown:.2f}x", "<= 1.50x", slowdown <= 1.5)
        )

    def chunked() -> None:
        for _ in iter_chunks(model, scenario, draws=big, seed=1, months=36):
            pass

    rate = big / best(chunked, 1)
    rows.append(
        Row(f"chunked engine, {big // 1000}k draws (draws/s)", f"{rate:,.0f}", ">= 10,000",
            rate >= 10_000)
    )  # fmt: skip
    return rows


V1_ENGINE = "2df5a44"
"""The last commit before model v2: issue 11 asks the v2 engine to stay within 1.5x of it."""

V1_SCRIPT = """
import sys, time
from materiel.io.dataset import load_dataset
from materiel.model.compiled import compile_model
from materiel.model.events import compile_scenario
from materiel.model.sampling import sample
from materiel.scenario import load_scenario
from materiel.simulation.engine import run
model = compile_model(load_dataset())
sc = compile_scenario(model, load_scenario("imposed-deal"), 36)
draws, repeats = int(sys.argv[1]), int(sys.argv[2])
p = sample(model, draws, seed=1)
best = 1e9
for _ in range(repeats):
    t0 = time.perf_counter(); run(model, sc, p); best = min(best, time.perf_counter() - t0)
print(draws / best)
"""


def v1_engine_rate(draws: int, repeats: int) -> float | None:
    """Draws/s of the model-v1 engine on its own default dataset, run from a git archive of
    ``V1_ENGINE`` in a subprocess (None without git history)."""
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "archive", V1_ENGINE, "src"], cwd=root, capture_output=True, check=False
        )
        if archive.returncode != 0:
            return None
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        env = {**os.environ, "PYTHONPATH": str(Path(tmp) / "src")}
        done = subprocess.run(
            [sys.executable, "-c", V1_SCRIPT, str(draws), str(repeats)],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        return float(done.stdout.strip()) if done.returncode == 0 else None


def command_rows(runs: int, big: int, cwd: Path) -> list[Row]:
    """Whole-command times and peak RSS."""
    rows = []
    times, _ = command_stats([*MATERIEL, "--help"], runs, cwd)
    rows.append(
        Row("materiel --help (s)", spread(times), "< 0.25", statistics.median(times) < 0.25)
    )
    sim = [*MATERIEL, "simulate", "imposed-deal", "--json", "--out", str(cwd / "r.nc")]
    times, peaks = command_stats([*sim, "--draws", "1000"], runs, cwd)
    rows.append(Row("simulate 1k draws, saved (s)", spread(times)))
    rows.append(Row("simulate 1k draws, peak RSS (MB)", spread(peaks, "{:.0f}")))
    times, peaks = command_stats([*sim, "--draws", "10000"], runs, cwd)
    rows.append(
        Row("simulate 10k draws, saved (s)", spread(times), "< 3", statistics.median(times) < 3)
    )
    peak = statistics.median(peaks)
    rows.append(
        Row("simulate 10k draws, peak RSS (MB)", spread(peaks, "{:.0f}"), "< 600", peak < 600)
    )
    times, peaks = command_stats([*sim, "--draws", "10000", "--full"], runs, cwd)
    rows.append(Row("simulate 10k draws --full, saved (s)", spread(times)))
    rows.append(Row("simulate 10k draws --full, peak RSS (MB)", spread(peaks, "{:.0f}")))
    times, _ = command_stats(
        [*MATERIEL, "plan", "imposed-deal", "--json", "--out", str(cwd / "p.json")], runs, cwd
    )
    rows.append(Row("plan imposed-deal (s)", spread(times)))
    if big:
        wall, peak = run_process([*sim, "--draws", str(big), "--in-process"], cwd)
        rows.append(Row(f"simulate {big // 1000}k draws, saved (s)", f"{wall:.1f}"))
        rows.append(
            Row(f"simulate {big // 1000}k draws, peak RSS (MB)", f"{peak:.0f}", "< 1,000",
                peak < 1000)
        )  # fmt: skip
    return rows


def print_table(rows: list[Row]) -> None:
    width = max(len(r.name) for r in rows)
    vwidth = max(len(r.value) for r in rows)
    print(f"{'measurement':<{width}}  {'median [min-max]':<{vwidth}}  {'target':<9}  verdict")
    for r in rows:
        verdict = "" if r.ok is None else ("pass" if r.ok else "FAIL")
        print(f"{r.name:<{width}}  {r.value:<{vwidth}}  {r.target:<9}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="counted runs per command")
    parser.add_argument("--quick", action="store_true", help="1 run each, no 100k-draw rows")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    big = 0 if args.quick else 100_000
    with tempfile.TemporaryDirectory(prefix="materiel-bench-") as tmp:
        # commands first: a child's peak RSS counts this process's peak at the fork (Linux
        # keeps the high-water mark across exec), so measure them while this one is small
        rows = command_rows(runs, big, Path(tmp))
        rows += engine_rows(1 if args.quick else 3, big or 20_000)
    print(f"materiel benchmarks on {os.cpu_count()} cores (python {sys.version.split()[0]})")
    print_table(rows)


if __name__ == "__main__":
    main()
