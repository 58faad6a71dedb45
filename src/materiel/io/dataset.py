"""Load a dataset folder: ``dataset.yaml`` plus one CSV per table.

A user folder may hold only some tables; the others come from the bundled default dataset.
Overlay folders (e.g. the web service's edited tables) hold whole tables that replace the
folder's: ``load_dataset(folder, overlays=[edits])``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import pydantic

from materiel.errors import DataIssue, DatasetError, InputFileError
from materiel.io.textfile import load_yaml, read_csv
from materiel.schema.tables import TABLES
from materiel.schema.validate import validate_tables

DATA_ROOT = Path(str(resources.files("materiel") / "data"))
DEFAULT_DATA = DATA_ROOT / "default"
BUNDLED = ("default", "historical")
"""Names of the bundled datasets, accepted wherever a dataset folder is."""


def bundled_datasets() -> dict[str, Path]:
    """Bundled dataset name -> folder."""
    return {name: DATA_ROOT / name for name in BUNDLED}


def resolve_dataset(path: Path | str | None) -> Path:
    """The folder of a dataset given as a path or a bundled name (``historical``).

    A folder at ``path`` wins if it exists (a user's ``./historical`` folder is theirs); only
    otherwise is a bare bundled name taken as the bundled dataset. ``None``: the default.
    """
    if path is None:
        return DEFAULT_DATA
    folder = Path(path)
    if not folder.is_dir() and str(path) in BUNDLED:
        return bundled_datasets()[str(path)]
    return folder


class DatasetMeta(pydantic.BaseModel):
    """Contents of ``dataset.yaml``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str
    version: str
    start: str = pydantic.Field(
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="first simulated month, YYYY-MM"
    )
    currency: str = "EUR"
    description: str = ""
    buffer_months: float = pydantic.Field(
        default=1.0,
        ge=0.0,
        le=24.0,
        description=(
            "intermediate stock lines aim to hold, in months of their downstream lines' needs "
            "(a planning assumption; see docs/methodology.md)"
        ),
    )


@dataclass(frozen=True)
class Dataset:
    """Validated tables (as entered, with types) and the dataset's metadata."""

    meta: DatasetMeta
    tables: dict[str, pd.DataFrame]
    origin: dict[str, str]
    """For each table, the file it was read from."""

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.tables[table]

    @property
    def digest(self) -> str:
        """SHA-256 of the tables' content: identical data, identical digest."""
        h = hashlib.sha256(self.meta.model_dump_json().encode())
        for name in TABLES:
            h.update(name.encode())
            h.update(self.tables[name].to_csv(index=False).encode())
        return h.hexdigest()


def _read_csv(path: Path) -> pd.DataFrame | DataIssue:
    """A table's strings, rows indexed by their line in the file; or the one problem that
    stops the file being read (named by its file name)."""
    try:
        frame = read_csv(path, label=path.name)
    except InputFileError as e:
        return e.issues[0]
    return frame


def _read_meta(path: Path) -> DatasetMeta | list[DataIssue]:
    try:
        content: Any = load_yaml(path, label=path.name)
        return DatasetMeta.model_validate(content)
    except InputFileError as e:
        return e.issues
    except pydantic.ValidationError as e:
        return [
            DataIssue(path.name, None, ".".join(map(str, err["loc"])), err["msg"])
            for err in e.errors()
        ]


def _present(file: Path) -> bool:
    """Whether the folder holds ``file`` in any form, even one that cannot be read (a broken
    link, a folder, no permission): such a file is an error, never replaced by the bundled one."""
    return file.exists() or file.is_symlink()


def table_files(
    path: Path | str | None = None, overlays: Sequence[Path | str] = ()
) -> dict[str, Path]:
    """For each table, the file it is read from: the last overlay holding it, else the
    folder ``path``, else the bundled default."""
    folders = [Path(p) for p in (path, *overlays) if p is not None]
    files = {}
    for name, table in TABLES.items():
        files[name] = DEFAULT_DATA / table.filename
        for folder in folders:
            if _present(folder / table.filename):
                files[name] = folder / table.filename
    return files


def read_tables(
    path: Path | str | None = None, overlays: Sequence[Path | str] = ()
) -> dict[str, pd.DataFrame]:
    """Every table as the strings in its file (see :func:`table_files`), rows indexed by
    their line in the file (header = line 1), blank lines dropped. Not validated."""
    raw: dict[str, pd.DataFrame] = {}
    issues: list[DataIssue] = []
    for name, file in table_files(path, overlays).items():
        frame = _read_csv(file)
        if isinstance(frame, DataIssue):
            issues.append(frame)
        else:
            raw[name] = frame
    if issues:
        raise DatasetError(issues)
    return raw


def load_dataset(path: Path | str | None = None, overlays: Sequence[Path | str] = ()) -> Dataset:
    """Load and validate a dataset folder, a bundled dataset by name (default: the bundled
    default dataset; see :func:`resolve_dataset`) or an ``.xlsx`` workbook written by
    ``materiel data export`` (no overlays then).

    Tables missing from ``path`` are taken from the bundled default; so is ``dataset.yaml``.
    A table in an ``overlays`` folder replaces the folder's (the last overlay wins).
    Raises :class:`DatasetError` listing every problem found.
    """
    if path is not None and Path(path).suffix.lower() == ".xlsx" and not overlays:
        from materiel.io.excel import load_workbook

        return load_workbook(path)[0]
    folder = resolve_dataset(path)
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "dataset folder not found"
        allowed = "a folder or a bundled dataset: " + ", ".join(BUNDLED)
        raise InputFileError([DataIssue(str(folder), None, None, problem, allowed)])
    issues: list[DataIssue] = []
    meta_path = folder / "dataset.yaml"
    meta = _read_meta(meta_path if _present(meta_path) else DEFAULT_DATA / "dataset.yaml")
    if isinstance(meta, list):
        issues += meta
    files = table_files(folder, overlays)
    try:
        raw = read_tables(folder, overlays)
    except DatasetError as e:
        raise DatasetError(issues + e.issues) from None
    if issues:
        raise DatasetError(issues)
    assert isinstance(meta, DatasetMeta)
    origin = {name: str(file) for name, file in files.items()}
    return Dataset(meta=meta, tables=validate_tables(raw), origin=origin)
