"""HiGHS output is silenced by its own options: plans in threads leave stdout working (15.1)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys, threading
import materiel
from materiel.scenario import parse_scenario

model = materiel.load_model({data!r})
scenario = parse_scenario({{"name": "t", "months": 12, "events": []}})
barrier = threading.Barrier(2)
errors = []

def work():
    try:
        barrier.wait()
        for _ in range(2):
            materiel.plan(model, scenario)
    except Exception as e:  # reported below
        errors.append(repr(e))

threads = [threading.Thread(target=work) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("stdout still works", flush=True)
print(errors, file=sys.stderr)
"""


def test_overlapping_plans_in_threads_keep_stdout(tiny_dir: Path) -> None:
    code = SCRIPT.format(data=str(tiny_dir))
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert run.stdout == "stdout still works\n", run.stdout + run.stderr
    assert run.stderr.strip().splitlines()[-1] == "[]", run.stderr
