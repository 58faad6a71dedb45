"""Crashes and bad targets never damage results (issue 16.3, 16.6): kill -9 mid-write
leaves the target absent or a complete earlier result; bad --out refused before any work."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import netCDF4
import pyarrow.parquet as pq
import pytest
import xarray as xr

from conftest import tiny_tables, write_dataset


def materiel(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "materiel", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize("suffix", [".nc", ".parquet"])
def test_out_folder_is_refused_before_simulating(tmp_path: Path, suffix: str) -> None:
    folder = tmp_path / f"results{suffix}"
    folder.mkdir()
    proc = materiel("simulate", "imposed-deal", "--draws", "200000", "--out", str(folder))
    message = " ".join(proc.stderr.split())
    assert proc.returncode == 2
    assert "is a folder" in message and "Traceback" not in message
    assert "simulating" not in message and list(folder.iterdir()) == []


def test_out_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    for command in (
        ("simulate", "imposed-deal", "--draws", "10"),
        ("plan", "imposed-deal", "--months", "3"),
    ):
        out = tmp_path / "file" / ("r.nc" if command[0] == "simulate" else "p.json")
        proc = materiel(*command, "--out", str(out))
        assert proc.returncode == 2, proc.stderr
        assert "cannot write" in " ".join(proc.stderr.split()) and "Traceback" not in proc.stderr


def test_too_much_work_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    out = tmp_path / "r.nc"
    proc = materiel("simulate", "imposed-deal", "--draws", "1000000000", "--out", str(out))
    assert proc.returncode == 2
    assert "limit" in " ".join(proc.stderr.split()) and "Traceback" not in proc.stderr
    assert not out.exists()
    env = {**os.environ, "MATERIEL_MAX_FILE": "1MiB"}
    proc = subprocess.run(
        [sys.executable, "-m", "materiel", "simulate", "imposed-deal", "--draws", "100",
         "--out", str(out)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert proc.returncode == 2 and "MATERIEL_MAX_FILE" in " ".join(proc.stderr.split())


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if ".tmp" in p.name]


def _draws(path: Path) -> int:
    """Draws in a complete results file (netCDF: its ``draw`` dim, which must match the
    ``draws`` attribute; Parquet: distinct draws); -1 if it cannot be read."""
    try:
        if path.suffix == ".nc":
            with netCDF4.Dataset(path) as nc:
                n = nc.dimensions["draw"].size
                return n if int(nc.getncattr("draws")) == n else -1
        return len(pq.read_table(path, columns=["draw"])["draw"].unique())
    except (OSError, KeyError, ValueError, RuntimeError):
        return -1


def _kill_at(args: list[str], delay: float) -> int:
    """Start ``materiel ARGS``, SIGKILL it after ``delay`` s (if still running); its code."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "materiel", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
    return proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".nc", ".parquet"])
def test_kill_during_simulate_never_damages_the_results_file(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"run{suffix}"
    # --full: every variable, so that the write is long enough for kills to land in it
    base = ["simulate", "imposed-deal", "--months", "24", "--json", "--full", "--out", str(target)]
    done = materiel(*base, "--draws", "300")
    assert done.returncode == 0, done.stderr
    earlier = target.read_bytes()
    big = [*base, "--draws", "12000", "--memory", "8MiB"]
    rng = random.Random(17)
    mid_write = 0
    for delay in sorted(rng.uniform(2.0, 9.0) for _ in range(4)):
        code = _kill_at(big, delay)
        # finished, or killed after the results were saved (while the summary was being
        # computed): a complete new result
        if code == 0 or (target.read_bytes() != earlier and _draws(target) == 12000):
            earlier = target.read_bytes()
        assert target.read_bytes() == earlier, f"damaged after a kill at {delay:.1f} s"
        mid_write += bool(_temps(tmp_path))
    assert mid_write >= 1, "no kill landed mid-write: raise the draws"
    if suffix == ".nc":
        with netCDF4.Dataset(target) as nc:
            assert int(nc.getncattr("draws")) == nc.dimensions["draw"].size
        assert not xr.load_dataset(target)["capacity"].isnull().any()
    else:
        assert pq.read_table(target).num_rows > 0
    again = materiel(*base, "--draws", "50")  # a new write removes the crashed temporaries
    assert again.returncode == 0 and _temps(tmp_path) == []


@pytest.mark.slow
def test_kill_during_sweep_never_damages_its_files(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "tiny", tiny_tables())
    (tmp_path / "base.yaml").write_text("name: base\nmonths: 36\nevents: []\n")
    spec = {
        "scenario": "base.yaml",
        "dataset": str(data),
        "draws": 3000,
        "parameters": [{"path": "months", "values": list(range(24, 36))}],
    }
    (tmp_path / "spec.yaml").write_text(json.dumps(spec))
    out = tmp_path / "sweep.nc"
    args = ["sweep", str(tmp_path / "spec.yaml"), "--in-process", "--json", "--out", str(out)]
    rng = random.Random(5)
    for delay in sorted(rng.uniform(2.0, 8.0) for _ in range(4)):
        _kill_at(args, delay)
        for case in (tmp_path / "sweep.cases").glob("*.nc"):
            xr.load_dataset(case)  # every case file is whole
        if out.exists():
            assert list(xr.load_dataset(out)["status"].values) == ["ok"] * 12
    final = materiel(*args, timeout=600)
    assert final.returncode == 0, final.stderr
    assert list(xr.load_dataset(out)["status"].values) == ["ok"] * 12
    assert _temps(tmp_path) == []
