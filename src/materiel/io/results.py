"""Save and load simulation results (netCDF, or a tidy Parquet table), chunk by chunk.

Every file is written atomically (:mod:`materiel.io.atomic`): to a temporary file beside the
target, renamed over it only once complete. Results can be written in chunks of draws
(:class:`ResultWriter`), so a run never holds all its draws in memory.

Compression (see docs/results-files.md): netCDF variables with Zstandard at a fast level
(:data:`ZSTD_LEVEL`) when the installed netCDF library has the zstd filter, else zlib level 1
after the byte-shuffle filter; Parquet columns with Zstandard level 1. Both are lossless: a
file reads back bit for bit.
"""

from __future__ import annotations

import queue
import threading
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from materiel.io.atomic import atomic_path

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import xarray as xr

SUFFIXES = (".nc", ".parquet")
CHUNK_BYTES = 1 << 20
"""Target size of one HDF5 chunk of a netCDF variable (bytes, uncompressed)."""
CACHE_BYTES = 4 * CHUNK_BYTES
"""HDF5 chunk cache per variable while streaming (bytes)."""


DERIVED = ("shortfall",)
"""Variables computed from others (shortfall = wanted - fired): not written, rebuilt on load."""


def to_file_layout(result: xr.Dataset) -> xr.Dataset:
    """The result as files store it: derived variables dropped, the (actor, item) MultiIndex
    of ``pair`` kept as plain coordinates."""
    stored = result.drop_vars([v for v in DERIVED if v in result])
    if "pair" in stored.indexes:
        stored = stored.reset_index("pair")
    return stored


def from_file_layout(stored: xr.Dataset) -> xr.Dataset:
    """Inverse of :func:`to_file_layout`: rebuild the ``pair`` MultiIndex and ``shortfall``."""
    result = stored
    if "pair" in stored.dims and "actor" in stored.coords and "pair" not in stored.indexes:
        result = stored.set_index(pair=["actor", "item"])
    if {"wanted", "fired"} <= set(result.data_vars) and "shortfall" not in result:
        wanted = result["wanted"]
        units = {"units": wanted.attrs.get("units", "")}
        result["shortfall"] = (wanted.dims, (wanted - result["fired"]).to_numpy(), units)
    return result


ZSTD_LEVEL = -3
"""Zstandard level of netCDF variables: a fast (negative) level. Measured writing 3,000
draws x 36 months (372 MB raw): level -3 took 0.33 s of CPU for 66 MB, level 1 0.48 s for
63 MB, no compression 0.22 s; any zstd decoder reads every level."""


def netcdf_compression() -> dict[str, Any]:
    """Encoding for compressed netCDF variables: zstd level :data:`ZSTD_LEVEL` if
    available, else zlib level 1 with shuffle.

    netCDF4-python applies the shuffle filter only with zlib; zstd without it was measured
    smaller (23 MB for 2,000 draws x 36 months, 215 MB raw) than blosc-zstd with shuffle
    (30 MB) and zlib with shuffle (36 MB), and about 2x faster to write than zlib.
    """
    import netCDF4

    if getattr(netCDF4, "__has_zstandard_support__", False):
        return {"compression": "zstd", "complevel": ZSTD_LEVEL, "shuffle": False}
    return {"compression": "zlib", "complevel": 1, "shuffle": True}


def _check_suffix(path: Path) -> None:
    if path.suffix not in SUFFIXES:
        raise ValueError(f"cannot save to '{path.name}': use one of {', '.join(SUFFIXES)}")


def _draw_chunk(shape: tuple[int, ...], itemsize: int) -> int:
    """Draws per HDF5 chunk: a power of two (so it divides stream chunks of 1024 draws)
    keeping one chunk near :data:`CHUNK_BYTES`."""
    per_draw = itemsize
    for n in shape[1:]:
        per_draw *= max(1, n)
    n = max(1, CHUNK_BYTES // max(1, per_draw))
    return 1 << (n.bit_length() - 1)


def tidy_names(result: xr.Dataset) -> list[str]:
    """The variables of the Parquet table: those on the most detailed dims (e.g.
    draw, month, actor, item), which become the table's index columns."""
    by_dims: dict[tuple[str, ...], list[str]] = {}
    for name, var in result.data_vars.items():
        by_dims.setdefault(tuple(str(d) for d in var.dims), []).append(str(name))
    dims = max(by_dims, key=lambda d: (len(d), len(by_dims[d])))
    return by_dims[dims]


def tidy_table(result: xr.Dataset) -> pa.Table:
    """The :func:`tidy_names` variables as a long table: one row per combination of their
    dims (e.g. draw, month, actor, item; C order), an index column per dim, then one column
    per variable, then 1-D coordinates on those dims (e.g. ``date``; ``unit`` left out).
    Text columns are dictionary-encoded."""
    import pyarrow as pa

    names = tidy_names(result)
    dims = [str(d) for d in result[names[0]].dims]
    shape = [result.sizes[d] for d in dims]

    def column(values: Any, axis: int) -> pa.Array:
        after = int(np.prod(shape[axis + 1 :]))
        before = int(np.prod(shape[:axis]))
        if values.dtype.kind in "OUS":
            codes = np.tile(np.repeat(np.arange(len(values), dtype=np.int32), after), before)
            return pa.DictionaryArray.from_arrays(codes, pa.array(values.astype(str)))
        return pa.array(np.tile(np.repeat(values, after), before))

    columns = {d: column(result[d].to_numpy(), i) for i, d in enumerate(dims)}
    columns.update({n: pa.array(result[n].to_numpy().reshape(-1)) for n in names})
    for name, coord in result.coords.items():
        if name not in dims and name != "unit" and coord.ndim == 1 and coord.dims[0] in dims:
            columns[str(name)] = column(coord.to_numpy(), dims.index(str(coord.dims[0])))
    return pa.table(columns)


class ResultWriter:
    """Write a result of ``draws`` draws chunk by chunk; the target appears only on close.

    ``with ResultWriter(path, draws) as w: w.write(chunk)`` for each chunk in draw order
    (Datasets from :func:`materiel.simulation.iter_chunks`, with a leading ``draw`` dim).
    On an exception, or if fewer than ``draws`` draws were written, the target is left as
    it was and the temporary file is removed.

    With ``background=True`` each chunk is written by a thread while the caller computes
    the next one (netCDF4 and Parquet compress without holding the GIL, so a second core
    hides the write): :meth:`write` returns once the previous chunk is on disk, so at most
    two chunks are held (the one being written and the one being computed). A writing
    error is raised by the next :meth:`write` or on close. The chunk passed to
    :meth:`write` must not be changed afterwards.
    """

    def __init__(self, path: Path, draws: int, background: bool = False) -> None:
        _check_suffix(path)
        self.path = path
        self.draws = draws
        self.written = 0
        self.background = background
        self._stack = ExitStack()
        self._tmp: Path | None = None
        self._nc: Any = None
        self._parquet: pq.ParquetWriter | None = None
        self._stored = 0
        """Draws on disk (``written`` counts draws handed to :meth:`write`)."""
        self._queue: queue.Queue[xr.Dataset | None] = queue.Queue(maxsize=1)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> ResultWriter:
        self._tmp = self._stack.enter_context(atomic_path(self.path))
        if self.background:
            self._thread = threading.Thread(target=self._drain, name="result-writer", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._stop()
            self._close_file()
            if self._error is not None and kind is None:
                raise self._error
            if kind is None and self.written != self.draws:
                raise ValueError(
                    f"only {self.written} of {self.draws} draws were written to '{self.path}'"
                )
        except BaseException as e:
            self._stack.__exit__(type(e), e, e.__traceback__)  # removes the temporary file
            raise
        self._stack.__exit__(kind, exc, tb)

    def _drain(self) -> None:
        """The writing thread: write queued chunks until ``None``; keep the first error."""
        while True:
            chunk = self._queue.get()
            try:
                if chunk is None:
                    return
                if self._error is None:
                    self._store(chunk)
            except BaseException as e:  # raised in the caller's thread by write/close
                self._error = e
            finally:
                self._queue.task_done()

    def _stop(self) -> None:
        """Wait for the writing thread to finish the queued chunks, and end it."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _close_file(self) -> None:
        if self._nc is not None:
            self._nc.close()
            self._nc = None
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None

    def write(self, chunk: xr.Dataset) -> None:
        """Append the next chunk of draws."""
        if self._tmp is None:
            raise RuntimeError("use ResultWriter as a context manager")
        chunk = to_file_layout(chunk)
        if self._thread is None:
            self._store(chunk)
        else:
            self._queue.join()  # the previous chunk is on disk: hold at most two
            if self._error is not None:
                raise self._error
            self._queue.put(chunk)
        self.written += chunk.sizes["draw"]

    def _store(self, chunk: xr.Dataset) -> None:
        """Write one chunk (file layout) after the ones already stored."""
        if self.path.suffix == ".nc":
            self._write_netcdf(chunk)
        else:
            self._write_parquet(chunk)
        self._stored += chunk.sizes["draw"]

    def _write_netcdf(self, chunk: xr.Dataset) -> None:
        assert self._tmp is not None
        if self._stored == 0:
            encoding: dict[str, dict[str, Any]] = {}
            for name, var in chunk.data_vars.items():
                shape = (self.draws, *var.shape[1:])
                encoding[str(name)] = {
                    **netcdf_compression(),
                    "chunksizes": (_draw_chunk(shape, var.dtype.itemsize), *shape[1:]),
                }
            import netCDF4

            saved = netCDF4.get_chunk_cache()
            netCDF4.set_chunk_cache(CACHE_BYTES)  # for files opened now; restored below
            try:
                _write_first(chunk, self._tmp, encoding)
            finally:
                netCDF4.set_chunk_cache(*saved)
            if chunk.sizes["draw"] < self.draws:
                self._nc = netCDF4.Dataset(self._tmp, mode="a")
                self._nc.set_auto_maskandscale(False)
                for name in chunk.data_vars:  # the default cache (64 MiB each) grows with draws
                    self._nc[name].set_var_chunk_cache(size=CACHE_BYTES)
            return
        lo, hi = self._stored, self._stored + chunk.sizes["draw"]
        self._nc["draw"][lo:hi] = chunk["draw"].to_numpy()
        for name, var in chunk.data_vars.items():
            self._nc[name][lo:hi] = var.to_numpy()

    def _write_parquet(self, chunk: xr.Dataset) -> None:
        import pyarrow.parquet as pq

        assert self._tmp is not None
        table = tidy_table(chunk)
        if self._parquet is None:
            meta = {
                **(table.schema.metadata or {}),
                **{f"materiel.{k}".encode(): str(v).encode() for k, v in chunk.attrs.items()},
            }
            self._parquet = pq.ParquetWriter(
                self._tmp,
                table.schema.with_metadata(meta),
                compression="zstd",
                compression_level=1,
            )
        self._parquet.write_table(table.replace_schema_metadata(self._parquet.schema.metadata))


def _write_first(chunk: xr.Dataset, path: Path, encoding: dict[str, Any]) -> None:
    """Create the netCDF file from the first chunk, ``draw`` unlimited.

    Through xarray's netCDF4 store with an explicit lock: ``Dataset.to_netcdf`` asks dask
    which scheduler is active, which imports dask.distributed (1.2 s here) in a process
    that never uses Dask.
    """
    import threading

    from xarray.backends import NetCDF4DataStore

    store = NetCDF4DataStore.open(  # type: ignore[no-untyped-call]
        str(path), mode="w", format="NETCDF4", lock=threading.Lock()
    )
    try:
        chunk.dump_to_store(store, encoding=encoding, unlimited_dims=["draw"])
    finally:
        store.close()


def save_result(result: xr.Dataset, path: Path) -> Path:
    """Write ``result`` to ``path`` atomically: netCDF (.nc) keeps every array and the
    metadata; Parquet (.parquet) writes the per-(draw, month, actor, item) variables as a
    tidy table with the metadata in the file's key-value store."""
    _check_suffix(path)
    with ResultWriter(path, result.sizes["draw"]) as writer:
        writer.write(result)
    return path


def load_result(path: Path) -> xr.Dataset:
    """Read a netCDF result written by :func:`save_result`."""
    import xarray as xr

    return from_file_layout(xr.load_dataset(path, engine="netcdf4"))
