"""Chunked simulation, streamed and compressed results files, limits, atomic writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xarray as xr

import materiel
from materiel.analysis.confidence import assumption_share
from materiel.io.atomic import atomic_path, check_writable, remove_stale, temp_path, write_text
from materiel.io.results import (
    ZSTD_LEVEL,
    ResultWriter,
    load_result,
    netcdf_compression,
    save_result,
)
from materiel.model.compiled import Model
from materiel.scenario import Scenario, load_scenario
from materiel.simulation import (
    SUMMARY_VARIABLES,
    RawChunk,
    chunk_size,
    iter_chunks,
    simulate,
    simulate_to_file,
    spans,
)
from materiel.simulation.limits import (
    LimitError,
    Limits,
    check_limits,
    estimate_bytes,
    parse_size,
)
from materiel.simulation.summary import fire_ratio, summarize, weighted_shortfall
from materiel.simulation.totals import DrawTotals


@pytest.fixture(scope="module")
def model() -> Model:
    return materiel.load_model()


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario("imposed-deal").model_copy(update={"months": 12})


@pytest.fixture(scope="module")
def full(model: Model, scenario: Scenario) -> xr.Dataset:
    return simulate(model, scenario, draws=150, seed=5)


def _bits(a: xr.DataArray) -> np.ndarray:
    values = a.to_numpy()
    return values.view(f"u{values.dtype.itemsize}") if values.dtype.kind == "f" else values


def assert_bit_identical(a: xr.Dataset, b: xr.Dataset) -> None:
    xr.testing.assert_identical(a, b)
    for name in a.variables:
        np.testing.assert_array_equal(_bits(a[name]), _bits(b[name]), err_msg=str(name))


@pytest.mark.parametrize("chunk", [4, 37, 150, 1000])
def test_results_do_not_depend_on_the_chunk_size(
    model: Model, scenario: Scenario, full: xr.Dataset, chunk: int
) -> None:
    assert_bit_identical(simulate(model, scenario, draws=150, seed=5, chunk=chunk), full)
    parts = list(iter_chunks(model, scenario, draws=150, seed=5, chunk=chunk))
    assert len(parts) == len(spans(150, chunk))
    joined = xr.concat(parts, dim="draw", data_vars="minimal", coords="minimal")
    assert_bit_identical(joined, full)


@pytest.mark.parametrize("chunk", [13, 150])
def test_streamed_file_reads_back_bit_identical(
    model: Model, scenario: Scenario, full: xr.Dataset, tmp_path: Path, chunk: int
) -> None:
    path = simulate_to_file(model, scenario, tmp_path / "r.nc", draws=150, seed=5, chunk=chunk)
    assert_bit_identical(load_result(path), full)
    save_result(full, tmp_path / "s.nc")
    assert_bit_identical(load_result(tmp_path / "s.nc"), full)
    assert [p.name for p in tmp_path.iterdir()] != []
    assert not list(tmp_path.glob(".*tmp*"))


@pytest.mark.parametrize("suffix", [".nc", ".parquet"])
def test_background_writer_writes_the_same_file(
    model: Model, scenario: Scenario, full: xr.Dataset, tmp_path: Path, suffix: str
) -> None:
    """Writing from a thread while the next chunk runs changes nothing in the file."""
    fg = simulate_to_file(model, scenario, tmp_path / f"a{suffix}", draws=150, seed=5, chunk=13)
    bg = simulate_to_file(
        model, scenario, tmp_path / f"b{suffix}", draws=150, seed=5, chunk=13, background=True
    )
    if suffix == ".nc":
        assert_bit_identical(load_result(bg), full)
    else:
        import pyarrow.parquet as pq

        assert pq.read_table(bg).equals(pq.read_table(fg))
    assert not list(tmp_path.glob(".*tmp*"))


def test_simulate_writes_in_the_background_only_with_a_core_to_spare() -> None:
    from materiel.cli.simulate import core_to_spare

    assert not core_to_spare(1)
    assert core_to_spare(1000)  # any load average of this machine leaves one idle


def test_background_writer_raises_a_writing_error_and_keeps_the_target(
    full: xr.Dataset, tmp_path: Path
) -> None:
    target = tmp_path / "r.nc"
    save_result(full.isel(draw=slice(0, 10)), target)
    before = target.read_bytes()
    wrong = full.isel(draw=slice(50, 100), pair=slice(0, 3))  # pair dim of another length
    with (
        pytest.raises((IndexError, ValueError, RuntimeError)),
        ResultWriter(target, 150, background=True) as writer,
    ):
        writer.write(full.isel(draw=slice(0, 50)))
        writer.write(wrong)  # fails in the thread: raised here or on close
        writer.write(full.isel(draw=slice(100, 150)))
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]
    with pytest.raises(RuntimeError, match="boom"), ResultWriter(target, 150, True) as writer:
        writer.write(full.isel(draw=slice(0, 50)))
        raise RuntimeError("boom")
    assert target.read_bytes() == before


def test_netcdf_is_compressed_with_zstd(full: xr.Dataset, tmp_path: Path) -> None:
    import netCDF4

    save_result(full, tmp_path / "r.nc")
    with netCDF4.Dataset(tmp_path / "r.nc") as nc:
        filters = nc["fired"].filters()
    expected = netcdf_compression()["compression"]
    assert filters[expected]
    if getattr(netCDF4, "__has_zstandard_support__", False):
        assert filters["zstd"] and filters["complevel"] == ZSTD_LEVEL
    else:
        assert filters["zlib"] and filters["shuffle"] and filters["complevel"] == 1


def test_parquet_streamed_equals_one_shot(
    model: Model, scenario: Scenario, full: xr.Dataset, tmp_path: Path
) -> None:
    simulate_to_file(model, scenario, tmp_path / "a.parquet", draws=150, seed=5, chunk=40)
    save_result(full, tmp_path / "b.parquet")
    a, b = pq.read_table(tmp_path / "a.parquet"), pq.read_table(tmp_path / "b.parquet")
    assert a.equals(b) and a.schema.metadata == b.schema.metadata
    assert a.schema.metadata[b"materiel.draws"] == b"150"
    meta = pq.ParquetFile(tmp_path / "a.parquet").metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    frame = a.to_pandas()
    fired = full["fired"].sel(actor="UKR", item="shell_155").to_numpy()
    got = frame[(frame.actor == "UKR") & (frame.item == "shell_155")].sort_values(["draw", "month"])
    np.testing.assert_array_equal(got["fired"].to_numpy().reshape(fired.shape), fired)


def test_draw_totals_summary_equals_the_full_summary(
    model: Model, scenario: Scenario, full: xr.Dataset, tmp_path: Path
) -> None:
    totals = DrawTotals("UKR")
    simulate_to_file(
        model, scenario, tmp_path / "r.nc", draws=150, seed=5, chunk=32, on_chunk=totals
    )
    assert totals.draws == 150
    pd.testing.assert_frame_equal(totals.summary(), summarize(full, "UKR"))
    pd.testing.assert_frame_equal(totals.fire_ratio(), fire_ratio(full))
    assert totals.per_month().identical(full[list(totals.per_month().data_vars)])
    assert weighted_shortfall(totals.per_month()) == weighted_shortfall(full)
    streamed = assumption_share(model, totals.draw_means(), "UKR")
    direct = assumption_share(model, full, "UKR")
    assert streamed["overall"] == pytest.approx(direct["overall"], rel=1e-6)
    means = totals.draw_means()
    np.testing.assert_allclose(
        means["production"].isel(draw=0), full["production"].mean("draw"), rtol=1e-5
    )


def test_draw_totals_keeps_only_the_means_asked_for(
    model: Model, scenario: Scenario, full: xr.Dataset, tmp_path: Path
) -> None:
    """The CLI sums only the variables the data-confidence share reads; same share."""
    from materiel.cli.simulate import CONFIDENCE_INPUTS

    totals = DrawTotals("UKR", means=CONFIDENCE_INPUTS)
    simulate_to_file(
        model, scenario, tmp_path / "r.nc", draws=150, seed=5, chunk=32, on_chunk=totals
    )
    means = totals.draw_means()
    assert set(means.data_vars) == set(CONFIDENCE_INPUTS)
    streamed = assumption_share(model, means, "UKR")
    direct = assumption_share(model, full_means(full), "UKR")
    assert streamed["overall"] == pytest.approx(direct["overall"], rel=1e-9)
    assert streamed["items"] == pytest.approx(direct["items"], rel=1e-9)


@pytest.mark.parametrize(
    ("means", "variables"),
    [(None, None), (("wanted", "shortfall", "production", "served"), SUMMARY_VARIABLES)],
)
def test_draw_totals_from_engine_arrays_equal_the_labelled_chunks(
    model: Model,
    scenario: Scenario,
    tmp_path: Path,
    means: tuple[str, ...] | None,
    variables: tuple[str, ...] | None,
) -> None:
    """``DrawTotals.add`` (NumPy on the engine's arrays, reused from chunk to chunk, only the
    outputs it needs stored, as the CLI runs) keeps bit for bit what calling it with each
    labelled chunk keeps; the file is the same either way."""
    labelled, raw = DrawTotals("UKR", means=means), DrawTotals("UKR", means=means)
    a_nc, b_nc = tmp_path / "a.nc", tmp_path / "b.nc"
    kw = {"draws": 150, "seed": 5, "chunk": 32, "variables": variables}
    simulate_to_file(model, scenario, a_nc, on_chunk=labelled, **kw)
    # the engine stores only what is saved or summed (all of it without ``means``)
    simulate_to_file(model, scenario, b_nc, on_raw=raw.add, background=True, outputs=means, **kw)
    assert raw.draws == 150
    for a, b in [
        (labelled.totals(), raw.totals()),
        (labelled.per_month(), raw.per_month()),
        (labelled.draw_means(), raw.draw_means()),
    ]:
        assert_bit_identical(a, b)
    pd.testing.assert_frame_equal(labelled.summary(), raw.summary())
    pd.testing.assert_frame_equal(labelled.fire_ratio(), raw.fire_ratio())
    assert_bit_identical(load_result(a_nc), load_result(b_nc))


@pytest.mark.parametrize("background", [False, True])
def test_an_error_in_on_raw_stops_the_run_and_leaves_no_file(
    model: Model, scenario: Scenario, tmp_path: Path, background: bool
) -> None:
    seen: list[int] = []

    def fail_third(raw: RawChunk) -> None:
        seen.append(raw.first_draw)
        if len(seen) == 3:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        simulate_to_file(
            model, scenario, tmp_path / "r.nc", draws=150, seed=5, chunk=20, on_raw=fail_third,
            background=background,
        )  # fmt: skip
    assert seen == [0, 20, 40] and not list(tmp_path.iterdir())


def test_file_chunk_is_the_labelled_chunk_in_file_layout(
    model: Model, scenario: Scenario, full: xr.Dataset
) -> None:
    from materiel.io.results import to_file_layout
    from materiel.model.events import compile_scenario
    from materiel.simulation import to_file_chunk
    from materiel.simulation.engine import Layout

    raw = full[["capacity", "production", "stock", "delivered", "served"]]
    arrays = {str(k): v.to_numpy() for k, v in raw.data_vars.items()}
    layout = Layout.of(model, compile_scenario(model, scenario))
    uses = layout.use_pair
    for name in ("wanted", "fired"):
        arrays[name] = full[name].to_numpy()[:, :, uses]
    for name in ("weighted_shortfall", "cost", "fire_ratio"):
        arrays[name] = full[name].to_numpy()
    stored = to_file_chunk(model, arrays, 0, dict(full.attrs), layout)
    assert_bit_identical(stored, to_file_layout(full))


def test_simulate_saves_the_summary_variables_unless_full(tmp_path: Path) -> None:
    """The CLI's default file holds what its summary reads (selectable by name, with
    dates); ``--full`` every variable, the same values."""
    from typer.testing import CliRunner

    from materiel.cli import app

    files = {"default": tmp_path / "d.nc", "full": tmp_path / "f.nc"}
    for mode, out in files.items():
        args = ["simulate", "imposed-deal", "--draws", "40", "--months", "6", "--out", str(out)]
        result = CliRunner().invoke(app, [*args, *(["--full"] if mode == "full" else [])])
        assert result.exit_code == 0, result.output
    default, full = load_result(files["default"]), load_result(files["full"])
    assert set(default.data_vars) == {*SUMMARY_VARIABLES, "shortfall"}
    others = {"capacity", "production", "stock", "delivered", "served"}
    assert set(full.data_vars) == set(default.data_vars) | others
    consumed = full.indexes["pair"].isin(default.indexes["pair"])  # pairs someone uses
    assert 0 < consumed.sum() < len(consumed)
    assert_bit_identical(default, full[list(default.data_vars)].isel(pair=consumed))
    assert not full[["wanted", "fired"]].isel(pair=~consumed).to_array().any()
    fired = default["fired"].sel(actor="RUS", item="shell_152")
    assert fired.dims == ("draw", "month")
    assert list(fired["date"].to_numpy()[:2]) == ["2027-01", "2027-02"]
    with pytest.raises(ValueError, match="unknown result variable"):
        simulate_to_file(
            materiel.load_model(), load_scenario("imposed-deal"), tmp_path / "x.nc",
            draws=2, variables=["fired", "stocks"],
        )  # fmt: skip
    assert not (tmp_path / "x.nc").exists()


def full_means(full: xr.Dataset) -> xr.Dataset:
    """Every variable's mean over draws, as a one-draw result (what DrawTotals keeps)."""
    means = full.isel(draw=[0]).copy()
    for name, var in full.data_vars.items():
        total = var.to_numpy().sum(axis=0, dtype=np.float64)
        means[name] = (var.dims, (total / full.sizes["draw"])[None], var.attrs)
    return means


def test_chunk_size_follows_the_memory_budget(model: Model) -> None:
    per_draw = estimate_bytes(model, 36, 1)
    assert chunk_size(model, 36, memory=1) == 1
    small = chunk_size(model, 36, memory=600 * per_draw)
    assert 100 <= small <= 600
    big = chunk_size(model, 36, memory=30_000 * per_draw)
    assert big % 1024 == 0 and 1024 <= big <= 30_000


def test_limits_refuse_before_any_work(model: Model, scenario: Scenario, tmp_path: Path) -> None:
    tight = Limits(memory_bytes=estimate_bytes(model, 12, 100), file_bytes=10**6, seconds=3600)
    check_limits(model, 12, 100, limits=tight)
    with pytest.raises(LimitError, match="memory"):
        check_limits(model, 12, 101, limits=tight)
    with pytest.raises(LimitError, match="MATERIEL_MAX_FILE"):
        check_limits(model, 12, 10**6, streamed=True, limits=tight)
    with pytest.raises(LimitError, match="minutes"):
        check_limits(model, 240, 10**7, streamed=True, limits=Limits(file_bytes=2**62))
    with pytest.raises(LimitError):
        simulate(model, scenario, draws=10**9)
    with pytest.raises(LimitError):
        simulate_to_file(model, scenario, tmp_path / "x.nc", draws=10**9)
    assert not (tmp_path / "x.nc").exists()


def test_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_size("512MiB") == 512 * 2**20
    assert parse_size("2GB") == 2 * 10**9
    assert parse_size("1e3") == 1000
    with pytest.raises(ValueError, match="unit"):
        parse_size("12 parsecs")
    monkeypatch.setenv("MATERIEL_MAX_MEMORY", "1GiB")
    monkeypatch.setenv("MATERIEL_MAX_SECONDS", "60")
    assert Limits.from_env() == Limits(memory_bytes=2**30, seconds=60.0)
    monkeypatch.setenv("MATERIEL_MAX_FILE", "lots")
    with pytest.raises(ValueError, match="MATERIEL_MAX_FILE"):
        Limits.from_env()


def test_failed_write_keeps_the_earlier_result(full: xr.Dataset, tmp_path: Path) -> None:
    target = tmp_path / "r.nc"
    save_result(full.isel(draw=slice(0, 10)), target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError, match="boom"), ResultWriter(target, 150) as writer:
        writer.write(full.isel(draw=slice(0, 50)))
        raise RuntimeError("boom")
    with pytest.raises(ValueError, match="only 50 of 150"), ResultWriter(target, 150) as writer:
        writer.write(full.isel(draw=slice(0, 50)))
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]


def test_atomic_path_cleans_stale_temporaries(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = target.with_name(f".plan.json.{dead.stdout.strip()}-abcd.tmp.json")
    stale.write_text("half")
    mine = temp_path(target)
    mine.write_text("in progress")  # a live writer's (this process) file is kept
    write_text(target, "{}\n")
    assert target.read_text() == "{}\n"
    assert not stale.exists() and mine.exists()
    assert remove_stale(tmp_path) == []
    with pytest.raises(KeyError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise KeyError("crash")
    assert target.read_text() == "{}\n"
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_check_writable_refuses_folders_and_read_only_places(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is a folder"):
        check_writable(tmp_path)
    check_writable(tmp_path / "new" / "r.nc")
    assert not list((tmp_path / "new").iterdir())
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(OSError, match="cannot write"):
        check_writable(tmp_path / "file.txt" / "r.nc")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(OSError, match="cannot write"):
            check_writable(locked / "r.nc")
    finally:
        locked.chmod(0o700)
