"""Schema as data: the description of every table and field of a dataset.

A :class:`Table` lists its :class:`Field` objects. A field marked ``uncertain`` is a sourced
figure: in the file it occupies four columns, ``<name>`` (central value), ``<name>_low``,
``<name>_high`` and ``<name>_source`` (an id in the ``sources`` table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Dtype = Literal["str", "float", "int", "bool"]

REQUIRED: object = object()
"""Sentinel default: the column must be present and filled in every row."""


@dataclass(frozen=True)
class Field:
    """One column (or, if ``uncertain``, one sourced figure spanning four columns)."""

    name: str
    dtype: Dtype
    description: str
    unit: str = ""
    default: object = REQUIRED
    uncertain: bool = False
    ref: str | None = None
    """Name of the table whose key this field must match (a foreign key)."""
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    """Regular expression the text must match in full."""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def columns(self) -> tuple[str, ...]:
        """The file columns this field occupies."""
        if self.uncertain:
            n = self.name
            return (n, f"{n}_low", f"{n}_high", f"{n}_source")
        return (self.name,)


@dataclass(frozen=True)
class Table:
    """A dataset table: one CSV file ``<name>.csv`` with a header row."""

    name: str
    key: tuple[str, ...]
    fields: tuple[Field, ...]
    description: str

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for f in self.fields for c in f.columns)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def uncertain_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.uncertain)
