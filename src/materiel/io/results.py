"""Save and load simulation results (netCDF, or a tidy Parquet table)."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

SUFFIXES = (".nc", ".parquet")


def save_result(result: xr.Dataset, path: Path) -> Path:
    """Write ``result`` to ``path``: netCDF (.nc) keeps every array and the metadata;
    Parquet (.parquet) writes the per-(draw, month, actor, item) variables as a tidy table
    with the metadata in the file's key-value store."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".nc":
        encoding = {name: {"zlib": True, "complevel": 1} for name in result.data_vars}
        result.to_netcdf(path, engine="netcdf4", encoding=encoding)
    elif path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        names = [k for k, v in result.data_vars.items() if "actor" in v.dims]
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
    return xr.load_dataset(path, engine="netcdf4")
