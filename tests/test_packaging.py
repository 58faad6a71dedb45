"""The package builds as an sdist and a wheel that carry the bundled data, and the wheel,
installed into a fresh virtual environment, runs ``materiel simulate imposed-deal``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import materiel

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_FILES = ("materiel/py.typed", "materiel/data/default/dataset.yaml")
PACKAGE_GLOBS = (
    "materiel/data/default/*.csv",
    "materiel/data/historical/*.csv",
    "materiel/data/scenarios/*.yaml",
    "materiel/reporting/templates/*",
)


def _run(args: list[str | Path], cwd: Path, timeout: float = 300) -> str:
    drop = ("PYTHONPATH", "PYTHONHOME", "FORCE_COLOR")
    env = {k: v for k, v in os.environ.items() if k not in drop} | {"NO_COLOR": "1"}
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the sdist, then the wheel from the sdist (as PyPI users and CI would get them),
    from a copy of the sources so the work tree gets no build/ or egg-info folders."""
    pytest.importorskip("build")
    work = tmp_path_factory.mktemp("build")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "MANIFEST.in", "LICENSE", "setup.py", "setup.cfg"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    out = work / "dist"
    # --no-isolation: use the build backend installed in this environment (the test extra
    # pins setuptools) instead of downloading one into a throwaway environment per run
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source], cwd=work)
    return out


def _wheel(dist: Path) -> Path:
    (wheel,) = dist.glob("materiel-*.whl")
    return wheel


@pytest.mark.slow
def test_wheel_and_sdist_carry_the_data(dist: Path) -> None:
    (sdist,) = dist.glob("materiel-*.tar.gz")
    wheel = _wheel(dist)
    assert wheel.name.startswith(f"materiel-{materiel.__version__}-")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in PACKAGE_FILES:
        assert name in names, name
    for pattern in PACKAGE_GLOBS:
        assert any(Path(n).match(pattern) for n in names), pattern
    assert sum(Path(n).match("materiel/data/scenarios/*.yaml") for n in names) >= 4
    package = ROOT / "src"
    sources = {
        p.relative_to(package).as_posix()
        for p in (package / "materiel").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert not sources - names, f"not in the wheel (see package-data): {sorted(sources - names)}"
    import tarfile

    with tarfile.open(sdist) as tar:
        members = tar.getnames()
    assert any(m.endswith("src/materiel/data/default/facilities.csv") for m in members)
    assert any(m.endswith("src/materiel/py.typed") for m in members)
    assert wheel.stat().st_size < 5_000_000, f"wheel is {wheel.stat().st_size / 1e6:.1f} MB"


@pytest.mark.slow
def test_wheel_runs_in_a_fresh_environment(dist: Path, tmp_path: Path) -> None:
    """A fresh venv with only the wheel installed (no source tree on the path) runs the
    README's command. Its dependencies are not reinstalled from the network: a .pth file puts
    this environment's site-packages after the fresh one's, so numpy, pandas, linopy etc.
    resolve there while materiel itself (and its data) can only come from the wheel; the
    editable install of the work tree is not picked up, as .pth files of a directory added
    this way are not processed."""
    fresh = tmp_path / "fresh"
    _run([sys.executable, "-m", "venv", "--without-pip", fresh], cwd=tmp_path)
    python = fresh / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet"]
    _run([*pip, "--no-deps", "--no-index", _wheel(dist)], cwd=tmp_path)
    fresh_site = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path
        ).strip()
    )
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (fresh_site / "_materiel_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")

    where = _run(
        [python, "-c", "import materiel; print(materiel.__file__); print(materiel.__version__)"],
        cwd=tmp_path,
    ).split()
    assert Path(where[0]).is_relative_to(fresh), where
    assert where[1] == materiel.__version__

    cwd = tmp_path / "work"
    cwd.mkdir()
    version = _run([fresh / "bin" / "materiel", "--version"], cwd=cwd)
    assert version.strip() == f"materiel {materiel.__version__}"
    command = [fresh / "bin" / "materiel", "simulate", "imposed-deal", "--draws", "50"]
    out = _run([*command, "--out", "results/imposed-deal.nc"], cwd=cwd)
    assert "Results saved to" in out
    assert (cwd / "results" / "imposed-deal.nc").stat().st_size > 0
