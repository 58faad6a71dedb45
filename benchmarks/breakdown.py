"""Where the time of one ``materiel simulate`` command goes, phase by phase (issue 17).

Run: ``.venv/bin/python benchmarks/breakdown.py [--foreground] -- simulate imposed-deal
--draws 10000 --out /tmp/r.nc``. Runs the command in this process with the package's phase
functions wrapped by timers and prints a table: imports (every first import, wherever it
happens), load+compile (dataset, model, scenario), engine (sampling and the compiled kernel,
which run together in threads, block by block; the output arrays), label (``to_xarray``),
write (time the command waits for the results writer), summary (the streamed totals and the
printed figures' reductions), print, and the rest of the command. Each phase's own time
excludes the imports and phases nested in it. Peak RSS is the whole process's.

``--foreground`` writes each chunk in the command's thread (``background=False``), so the
write phase is the full cost of writing; by default the command writes from a background
thread and the write phase is only the time spent waiting for it.
"""

from __future__ import annotations

import _frozen_importlib as bootstrap  # type: ignore[import-not-found]
import argparse
import contextlib
import importlib
import resource
import sys
import time
from collections.abc import Callable
from typing import Any


class Phases:
    """Exclusive wall time per phase (a stack of open phases; nested time is subtracted)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.stack: list[list[Any]] = []  # [phase, start, nested seconds]

    def enter(self, phase: str) -> None:
        self.stack.append([phase, time.perf_counter(), 0.0])

    def leave(self) -> None:
        phase, start, nested = self.stack.pop()
        elapsed = time.perf_counter() - start
        self.seconds[phase] = self.seconds.get(phase, 0.0) + elapsed - nested
        if self.stack:
            self.stack[-1][2] += elapsed

    def timed(self, phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.enter(phase)
            try:
                return fn(*args, **kwargs)
            finally:
                self.leave()

        return wrapper


PHASES = [
    ("materiel.io.dataset", "load_dataset", "load+compile"),
    ("materiel.model.compiled", "compile_model", "load+compile"),
    ("materiel.scenario", "load_scenario", "load+compile"),
    ("materiel.simulation", "compile_scenario", "load+compile"),
    ("materiel.simulation", "_run_span", "engine (sampling + kernel)"),
    ("materiel.simulation", "output_arrays", "engine (sampling + kernel)"),
    ("materiel.simulation", "prepare", "engine (sampling + kernel)"),
    ("materiel.simulation", "to_xarray", "label"),
    ("materiel.io.results", "ResultWriter.write", "write"),
    ("materiel.io.results", "ResultWriter.__exit__", "write"),
    ("materiel.simulation.totals", "DrawTotals.__call__", "summary"),
    ("materiel.simulation.totals", "DrawTotals.add", "summary"),
    ("materiel.simulation", "to_file_chunk", "label"),
    ("materiel.simulation.totals", "DrawTotals.summary", "summary"),
    ("materiel.simulation.totals", "DrawTotals.fire_ratio", "summary"),
    ("materiel.simulation.totals", "DrawTotals.draw_means", "summary"),
    ("materiel.simulation.summary", "weighted_shortfall", "summary"),
    ("materiel.analysis.confidence", "assumption_share", "summary"),
    ("materiel.cli.output", "print_table", "print"),
]


def wrap(phases: Phases, module: str, attr: str, phase: str) -> None:
    """Replace ``module.attr`` (``Class.method`` allowed) by a timed wrapper."""
    owner: Any = importlib.import_module(module)
    *path, name = attr.split(".")
    for part in path:
        owner = getattr(owner, part)
    setattr(owner, name, phases.timed(phase, getattr(owner, name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--foreground", action="store_true", help="write in the main thread")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="materiel arguments")
    args = parser.parse_args()
    command = [a for a in args.command if a != "--"]
    phases = Phases()
    start = time.perf_counter()
    find_and_load = bootstrap._find_and_load

    def timed_import(name: str, import_: Any) -> Any:
        if name in sys.modules or (phases.stack and phases.stack[-1][0] == "imports"):
            return find_and_load(name, import_)
        return phases.timed("imports", find_and_load)(name, import_)

    bootstrap._find_and_load = timed_import
    phases.enter("imports")
    for module in {m for m, _, _ in PHASES} | {"materiel.cli", "materiel.cli.simulate"}:
        importlib.import_module(module)
    phases.leave()
    for module, attr, phase in PHASES:
        wrap(phases, module, attr, phase)
    simulate = sys.modules["materiel.cli.simulate"]
    simulate.print_table = sys.modules["materiel.cli.output"].print_table  # type: ignore[attr-defined]
    if args.foreground:
        package: Any = sys.modules["materiel.simulation"]
        to_file = package.simulate_to_file
        package.simulate_to_file = lambda *a, **k: to_file(*a, **{**k, "background": False})
    from materiel.cli import app

    phases.enter("command (rest)")
    with contextlib.suppress(SystemExit):
        app(command)
    phases.leave()
    total = time.perf_counter() - start
    rows = sorted(phases.seconds.items(), key=lambda kv: -kv[1])
    print("\n| phase | s | share |\n|---|---:|---:|", file=sys.stderr)
    for phase, seconds in rows:
        print(f"| {phase} | {seconds:.2f} | {seconds / total:.0%} |", file=sys.stderr)
    print(f"| total (in-process) | {total:.2f} | |", file=sys.stderr)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
