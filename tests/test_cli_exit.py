"""The console script leaves without tearing the interpreter down (materiel.cli.exit) and
keeps what a shell sees: the exit code, everything printed, the files written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from materiel.cli.exit import _code

MATERIEL = [sys.executable, "-m", "materiel"]


def test_exit_codes_as_python_computes_them() -> None:
    assert [_code(None), _code(0), _code(2), _code("message")] == [0, 0, 2, 1]


def test_output_and_exit_code_of_a_finished_command(tmp_path: Path) -> None:
    out = tmp_path / "r.nc"
    done = subprocess.run(
        [
            *MATERIEL,
            "simulate",
            "imposed-deal",
            "--draws",
            "20",
            "--months",
            "3",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # flushed to the last line (wrapped at 80 columns)
    assert " ".join(done.stdout.split()).endswith(f"Results saved to {out}")
    import xarray as xr

    with xr.open_dataset(out) as ds:  # written and closed before the process ended
        assert ds.sizes["draw"] == 20


@pytest.mark.parametrize(
    ("args", "code", "stderr"),
    [
        (["simulate", "nosuch"], 2, "no such scenario"),
        (["--version"], 0, ""),
        (["nosuchcommand"], 2, "No such command"),
    ],
)
def test_exit_code_and_message_of_failing_commands(args: list[str], code: int, stderr: str) -> None:
    done = subprocess.run([*MATERIEL, *args], capture_output=True, text=True, check=False)
    assert done.returncode == code
    assert stderr in done.stderr
