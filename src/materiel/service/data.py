"""The service's dataset: the base dataset with the tables edited through the app on top.

Edited tables are whole CSV files in ``<data dir>/dataset-edits/`` (a dataset folder holding
only some tables, like any user folder); every edit is validated against the whole dataset with
:func:`validate_tables` before it is saved, and audited in the same step.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from materiel.io.atomic import atomic_path
from materiel.io.dataset import DEFAULT_DATA, Dataset, DatasetMeta
from materiel.model.compiled import Model, compile_model
from materiel.schema.tables import TABLES
from materiel.schema.validate import DataIssue, DatasetError, validate_tables
from materiel.store import audit
from materiel.store.db import Store

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class RowNotFoundError(KeyError):
    """No row with that key in the table."""


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)


def parse_key(table: str, key: str) -> tuple[str, ...]:
    """'UKR,shell' -> ('UKR', 'shell'), checked against the table's key columns."""
    parts = tuple(p.strip() for p in key.split(","))
    if len(parts) != len(TABLES[table].key) or not all(parts):
        raise ValueError(
            f"a {table} key has {len(TABLES[table].key)} part(s): " + ",".join(TABLES[table].key)
        )
    return parts


class DataService:
    """Loads, caches and edits the dataset the service runs on."""

    def __init__(self, base: Path | None, edits: Path) -> None:
        self.base = base
        self.edits = edits
        self._lock = threading.RLock()
        self._cache: tuple[Dataset, Model] | None = None

    def file_for(self, table: str) -> Path:
        """The file a table is read from: edited, else base folder, else bundled."""
        name = TABLES[table].filename
        for folder in (self.edits, self.base, DEFAULT_DATA):
            if folder is not None and (folder / name).exists():
                return folder / name
        return DEFAULT_DATA / name

    def origin(self, table: str) -> str:
        """'edited', 'base' or 'bundled'."""
        path = self.file_for(table)
        if path.parent == self.edits:
            return "edited"
        return "base" if self.base is not None and path.parent == self.base else "bundled"

    def edited_tables(self) -> list[str]:
        return [t for t in TABLES if (self.edits / TABLES[t].filename).exists()]

    def _meta(self) -> DatasetMeta:
        folder = self.base if self.base and (self.base / "dataset.yaml").exists() else DEFAULT_DATA
        try:
            content = yaml.safe_load((folder / "dataset.yaml").read_text(encoding="utf-8"))
            meta = DatasetMeta.model_validate(content)
        except (OSError, yaml.YAMLError, ValueError) as e:
            raise DatasetError([DataIssue("dataset.yaml", None, None, str(e))]) from None
        if self.edited_tables():
            meta = meta.model_copy(update={"version": f"{meta.version}+edited"})
        return meta

    def raw_tables(self) -> dict[str, pd.DataFrame]:
        """Every table as strings, as in its file."""
        return {name: _read(self.file_for(name)) for name in TABLES}

    def load(self) -> tuple[Dataset, Model]:
        """The validated dataset and its compiled model (cached until an edit)."""
        with self._lock:
            if self._cache is None:
                raw = self.raw_tables()
                dataset = Dataset(
                    meta=self._meta(),
                    tables=validate_tables(raw),
                    origin={t: str(self.file_for(t)) for t in TABLES},
                )
                self._cache = (dataset, compile_model(dataset))
            return self._cache

    def dataset(self) -> Dataset:
        return self.load()[0]

    def model(self) -> Model:
        return self.load()[1]

    def edit_row(
        self,
        store: Store,
        user: str,
        table: str,
        key: str,
        values: dict[str, str] | None,
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Insert, update (``values``) or delete (``values=None``) one row, validated and
        audited. Returns (before, after). Raises :class:`DatasetError`, :class:`RowNotFoundError`
        or ValueError."""
        spec = TABLES[table]
        parts = parse_key(table, key)
        with self._lock:
            raw = self.raw_tables()
            frame = raw[table]
            match = pd.Series(True, index=frame.index)
            for column, value in zip(spec.key, parts, strict=True):
                match &= frame[column].str.strip() == value
            hits = frame.index[match]
            before = frame.loc[hits[0]].to_dict() if len(hits) else None
            if values is None:
                if before is None:
                    raise RowNotFoundError(key)
                frame = frame.drop(hits[0])
                after = None
            else:
                after = self._new_row(spec.columns, frame, before, parts, spec.key, values)
                if before is None:
                    frame = pd.concat([frame, pd.DataFrame([after])], ignore_index=True)
                else:
                    frame.loc[hits[0], list(after)] = list(after.values())
            frame = frame.reindex(columns=list(spec.columns), fill_value="")
            raw[table] = frame
            validate_tables(raw)
            action = "delete" if after is None else ("update" if before else "insert")
            self._save(store, user, action, table, key, frame, before, after)
            self._cache = None
        return before, after

    @staticmethod
    def _new_row(
        columns: tuple[str, ...],
        frame: pd.DataFrame,
        before: dict[str, Any] | None,
        parts: tuple[str, ...],
        key_columns: tuple[str, ...],
        values: dict[str, str],
    ) -> dict[str, str]:
        unknown = sorted(set(values) - set(columns))
        if unknown:
            raise ValueError(
                f"unknown column(s) {', '.join(unknown)}; columns: {', '.join(columns)}"
            )
        for column, value in values.items():
            if not isinstance(value, str) or CONTROL.search(value):
                raise ValueError(f"column '{column}': text without control characters expected")
        row = {c: "" for c in columns} if before is None else dict(before)
        row.update(dict(zip(key_columns, parts, strict=True)))
        row.update({k: v.strip() for k, v in values.items()})
        return {c: str(row.get(c, "")) for c in columns}

    def _save(
        self,
        store: Store,
        user: str,
        action: str,
        table: str,
        key: str,
        frame: pd.DataFrame,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        """Write the table beside its target, commit the audit entry, then swap the file in."""
        with atomic_path(self.edits / TABLES[table].filename) as tmp:
            with tmp.open("w", encoding="utf-8", newline="") as f:
                frame.to_csv(f, index=False)
            with store.session() as s:
                audit.record(s, user, action, table, key, before, after)
