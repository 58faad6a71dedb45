"""Load a dataset folder: ``dataset.yaml`` plus one CSV per table.

A user folder may hold only some tables; the others come from the bundled default dataset.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import pydantic
import yaml

from materiel.schema.tables import TABLES
from materiel.schema.validate import DataIssue, DatasetError, validate_tables

DEFAULT_DATA = Path(str(resources.files("materiel") / "data" / "default"))


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
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, skipinitialspace=True, skip_blank_lines=False
        )
    except (OSError, pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        return DataIssue(path.name, None, None, f"cannot read as CSV: {e}".splitlines()[0])
    # index = line number in the file (header is line 1), so errors point at the right line
    frame.index = pd.RangeIndex(2, 2 + len(frame), name="line")
    return frame[~(frame == "").all(axis=1)]


def _read_meta(path: Path) -> DatasetMeta | list[DataIssue]:
    try:
        content: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        return DatasetMeta.model_validate(content)
    except yaml.YAMLError as e:
        return [DataIssue(path.name, None, None, f"not valid YAML: {e}".splitlines()[0])]
    except pydantic.ValidationError as e:
        return [
            DataIssue(path.name, None, ".".join(map(str, err["loc"])), err["msg"])
            for err in e.errors()
        ]


def load_dataset(path: Path | str | None = None) -> Dataset:
    """Load and validate a dataset folder (default: the bundled dataset) or an ``.xlsx``
    workbook written by ``materiel data export``.

    Tables missing from ``path`` are taken from the bundled default; so is ``dataset.yaml``.
    Raises :class:`DatasetError` listing every problem found.
    """
    if path is not None and Path(path).suffix.lower() == ".xlsx":
        from materiel.io.excel import load_workbook

        return load_workbook(path)[0]
    folder = Path(path) if path is not None else DEFAULT_DATA
    if not folder.is_dir():
        raise DatasetError([DataIssue(str(folder), None, None, "dataset folder not found")])
    issues: list[DataIssue] = []
    meta_path = folder / "dataset.yaml"
    meta = _read_meta(meta_path if meta_path.exists() else DEFAULT_DATA / "dataset.yaml")
    if isinstance(meta, list):
        issues += meta
    raw: dict[str, pd.DataFrame] = {}
    origin: dict[str, str] = {}
    for name, table in TABLES.items():
        file = folder / table.filename
        if not file.exists():
            file = DEFAULT_DATA / table.filename
        frame = _read_csv(file)
        if isinstance(frame, DataIssue):
            issues.append(frame)
        else:
            raw[name], origin[name] = frame, str(file)
    if issues:
        raise DatasetError(issues)
    assert isinstance(meta, DatasetMeta)
    return Dataset(meta=meta, tables=validate_tables(raw), origin=origin)
