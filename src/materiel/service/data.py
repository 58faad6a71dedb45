"""The service's dataset: the base dataset with the tables edited through the app on top.

Edited tables are whole CSV files in ``<data dir>/dataset-edits/``, an overlay folder read by
:func:`materiel.io.dataset.load_dataset` (one loader, one row numbering: file lines). Every
edit, by row or by uploading a workbook, is validated against the whole dataset before it is
saved, and audited in the same step.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pandas as pd

from materiel.io.atomic import atomic_path
from materiel.io.dataset import DEFAULT_DATA, Dataset, load_dataset, read_tables, table_files
from materiel.model.compiled import Model, compile_model
from materiel.schema.tables import TABLES
from materiel.schema.validate import DataIssue, DatasetError, validate_tables
from materiel.store import audit
from materiel.store.db import Store

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_WORKBOOK_BYTES = 20_000_000
"""Largest workbook accepted for upload (bytes)."""
MAX_LISTED_KEYS = 50
"""Row keys listed per table in an upload's audit entry."""


class RowNotFoundError(KeyError):
    """No row with that key in the table."""


def parse_key(table: str, key: str) -> tuple[str, ...]:
    """'UKR,shell' -> ('UKR', 'shell'), checked against the table's key columns."""
    parts = tuple(p.strip() for p in key.split(","))
    if len(parts) != len(TABLES[table].key) or not all(parts):
        raise ValueError(
            f"a {table} key has {len(TABLES[table].key)} part(s): " + ",".join(TABLES[table].key)
        )
    return parts


def _numbered(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows indexed by the line they will have in the CSV file written (header = line 1)."""
    frame = frame.copy()
    frame.index = pd.RangeIndex(2, 2 + len(frame), name="line")
    return frame


def _keys(frame: pd.DataFrame, table: str) -> pd.Series:
    return frame[list(TABLES[table].key)].astype(str).agg(",".join, axis=1)


def row_changes(before: pd.DataFrame, after: pd.DataFrame, table: str) -> dict[str, list[str]]:
    """Keys of the rows added, removed and changed between two typed versions of a table."""
    old = before.set_axis(_keys(before, table)).astype(str)
    new = after.set_axis(_keys(after, table)).astype(str)
    common = old.index.intersection(new.index)
    columns = [c for c in new.columns if c in old.columns]
    differs = (old.loc[common, columns] != new.loc[common, columns]).any(axis=1)
    return {
        "added": sorted(new.index.difference(old.index)),
        "removed": sorted(old.index.difference(new.index)),
        "changed": sorted(differs[differs].index),
    }


class DataService:
    """Loads, caches and edits the dataset the service runs on."""

    def __init__(self, base: Path | None, edits: Path) -> None:
        self.base = base
        self.edits = edits
        self._lock = threading.RLock()
        self._cache: tuple[Dataset, Model] | None = None

    def file_for(self, table: str) -> Path:
        """The file a table is read from: edited, else base folder, else bundled."""
        return table_files(self.base, [self.edits])[table]

    def origin(self, table: str) -> str:
        """'edited', 'base' or 'bundled'."""
        path = self.file_for(table)
        if path.parent == self.edits:
            return "edited"
        return "base" if path.parent != DEFAULT_DATA else "bundled"

    def edited_tables(self) -> list[str]:
        return [t for t in TABLES if (self.edits / TABLES[t].filename).exists()]

    def raw_tables(self) -> dict[str, pd.DataFrame]:
        """Every table as strings, as in its file (rows indexed by file line)."""
        return read_tables(self.base, [self.edits])

    def load(self) -> tuple[Dataset, Model]:
        """The validated dataset and its compiled model (cached until an edit). Its version
        gets '+edited' while edited tables override the base."""
        with self._lock:
            if self._cache is None:
                dataset = load_dataset(self.base, overlays=[self.edits])
                if self.edited_tables():
                    meta = dataset.meta.model_copy(
                        update={"version": f"{dataset.meta.version}+edited"}
                    )
                    dataset = dataclasses.replace(dataset, meta=meta)
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
                after = self._new_row(spec.columns, before, parts, spec.key, values)
                if before is None:
                    frame = pd.concat([frame, pd.DataFrame([after])], ignore_index=True)
                else:
                    frame.loc[hits[0], list(after)] = list(after.values())
            frame = _numbered(frame.reindex(columns=list(spec.columns), fill_value=""))
            raw[table] = frame
            validate_tables(raw)
            action = "delete" if after is None else ("update" if before else "insert")
            self._save(store, {table: frame}, [(action, table, key, before, after)], user)
            self._cache = None
        return before, after

    @staticmethod
    def _new_row(
        columns: tuple[str, ...],
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
        frames: dict[str, pd.DataFrame],
        entries: list[tuple[str, str, str, dict[str, Any] | None, dict[str, Any] | None]],
        user: str,
    ) -> None:
        """Write each table beside its target, commit the audit ``entries`` (action, table,
        key, before, after), then swap the files in."""
        with ExitStack() as files:  # each file replaces its target on exit, none on an error
            for table, frame in frames.items():
                tmp = files.enter_context(atomic_path(self.edits / TABLES[table].filename))
                with tmp.open("w", encoding="utf-8", newline="") as f:
                    frame.to_csv(f, index=False)
            with store.session() as s:
                for action, table, key, before, after in entries:
                    audit.record(s, user, action, table, key, before, after)

    def workbook(self) -> bytes:
        """The dataset as an Excel workbook (:func:`materiel.io.excel.write_workbook`)."""
        from materiel.io.excel import write_workbook

        with tempfile.TemporaryDirectory() as folder:
            path = write_workbook(self.dataset(), Path(folder) / "dataset.xlsx")
            return path.read_bytes()

    def upload_workbook(
        self, store: Store, user: str, content: bytes, filename: str
    ) -> dict[str, dict[str, list[str]]]:
        """Validate a workbook (:func:`materiel.io.excel.load_workbook`) and save each table
        that differs from the current one as an edited table, with one audit entry per
        table (rows added, removed, changed). Returns those changes by table. Raises
        :class:`DatasetError` (nothing saved) for an unreadable or invalid workbook."""
        from materiel.io.excel import load_workbook

        if len(content) > MAX_WORKBOOK_BYTES:
            limit = f"{MAX_WORKBOOK_BYTES / 1e6:.0f} MB"
            raise DatasetError([DataIssue(filename, None, None, f"larger than {limit}")])
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "upload.xlsx"
            path.write_bytes(content)
            try:
                uploaded, raw = load_workbook(path)
            except DatasetError as e:
                named = [
                    dataclasses.replace(i, file=i.file.replace("upload.xlsx", filename))
                    for i in e.issues
                ]
                raise DatasetError(named) from None
        with self._lock:
            current = self.dataset()
            changes: dict[str, dict[str, list[str]]] = {}
            frames: dict[str, pd.DataFrame] = {}
            for table in TABLES:
                new, old = uploaded.tables[table], current.tables[table]
                if new.reset_index(drop=True).equals(old.reset_index(drop=True)):
                    continue
                changes[table] = row_changes(old, new, table)
                columns = list(TABLES[table].columns)
                frames[table] = _numbered(raw[table].reindex(columns=columns, fill_value=""))
            entries: list[tuple[str, str, str, dict[str, Any] | None, dict[str, Any] | None]] = []
            for table, change in changes.items():
                listed = {k: v[:MAX_LISTED_KEYS] for k, v in change.items()}
                counts = {f"{k}_rows": len(v) for k, v in change.items()}
                before = {"rows": len(current.tables[table])}
                after = {"rows": len(uploaded.tables[table]), **counts, **listed}
                entries.append(("workbook.upload", table, filename, before, after))
            if frames:
                self._save(store, frames, entries, user)
                self._cache = None
        return changes
