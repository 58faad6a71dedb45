"""Save and load simulation results (netCDF, or a tidy Parquet table)."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

SUFFIXES = (".nc", ".parquet")
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
        result["shortfall"] = (result["wanted"] - result["fired"]).assign_attrs(
            units=result["wanted"].attrs.get("units", "")
        )
    return result


def save_result(result: xr.Dataset, path: Path) -> Path:
    """Write ``result`` to ``path``: netCDF (.nc) keeps every array and the metadata;
    Parquet (.parquet) writes the per-(draw, month, actor, item) variables as a tidy table
    with the metadata in the file's key-value store."""
    path.parent.mkdir(parents=True, exist_ok=True)
    result = to_file_layout(result)
    if path.suffix == ".nc":
        encoding = {name: {"zlib": True, "complevel": 1} for name in result.data_vars}
        result.to_netcdf(path, engine="netcdf4", encoding=encoding)
    elif path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        names = [k for k, v in result.data_vars.items() if "pair" in v.dims]
        frame = result[names].drop_vars("unit").to_dataframe().reset_index()
        table = pa.Table.from_pandas(frame, preserve_index=False)
        meta = {
            **(table.schema.metadata or {}),
            **{f"materiel.{k}".encode(): str(v).encode() for k, v in result.attrs.items()},
        }
        pq.write_table(table.replace_schema_metadata(meta), path)
    else:
        raise ValueError(f"cannot save to '{path.name}': use one of {', '.join(SUFFIXES)}")
    return path


def load_result(path: Path) -> xr.Dataset:
    """Read a netCDF result written by :func:`save_result`."""
    return from_file_layout(xr.load_dataset(path, engine="netcdf4"))
