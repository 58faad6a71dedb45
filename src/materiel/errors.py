"""The errors materiel raises on purpose, so a caller can tell bad input from a bug.

Every class carries ``issues``: a list of :class:`DataIssue`, each naming the file, the row
(the line in the file), the field and the allowed values where they apply.

- :class:`MaterielError` — base of every error below; the CLI turns it into a message and
  exit code 2 (see ``docs/errors.md``).
- :class:`DatasetError` — a dataset (tables, ``dataset.yaml``, workbook) is invalid.
- :class:`ScenarioError` — a scenario file or one of its events is invalid.
- :class:`SpecError` — a sweep spec is invalid.
- :class:`InputFileError` — a file cannot be read at all: missing, a folder, unreadable,
  not UTF-8, not CSV/YAML/xlsx, nested too deep or too large.
- :class:`LimitError` — the work asked for is larger than a configured limit.

``DatasetError`` was once raised for every kind of input. So that ``except DatasetError``
written before the split still catches everything it caught, :class:`ScenarioError`,
:class:`SpecError` and :class:`InputFileError` derive from it: catch them first to tell them
apart, or catch :class:`MaterielError` for every deliberate error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class DataIssue:
    """One problem in an input file: where it is, what is wrong, what is allowed."""

    file: str
    row: int | None
    field: str | None
    message: str
    allowed: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            line = self.file.endswith((".yaml", ".yml")) or self.field is None
            where += f", {'line' if line else 'row'} {self.row}"
        if self.field:
            where += f", field '{self.field}'"
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} (allowed: {self.allowed})" if self.allowed else text


class MaterielError(ValueError):
    """Base of the errors materiel raises on purpose; ``issues`` lists every problem found.

    Built from a list of issues, or from one message (then ``issues`` holds it, with
    ``file`` set to ``where``).
    """

    what = "input"
    """Noun for the summary line: "2 problem(s) in the <what>"."""

    def __init__(self, issues: Iterable[DataIssue] | str, where: str = "") -> None:
        if isinstance(issues, str):
            issues = [DataIssue(where, None, None, issues)]
        self.issues: list[DataIssue] = list(issues)
        lines = "\n".join(f"  - {i}" for i in self.issues)
        super().__init__(f"{len(self.issues)} problem(s) in the {self.what}:\n{lines}")


class DatasetError(MaterielError):
    """A dataset is invalid: its tables, ``dataset.yaml`` or the workbook holding them."""

    what = "dataset"


class ScenarioError(DatasetError):
    """A scenario file, or one of its events, is invalid."""

    what = "scenario"


class SpecError(DatasetError):
    """A sweep spec is invalid."""

    what = "sweep spec"


class InputFileError(DatasetError):
    """A file cannot be read as what it should be: missing, a folder, unreadable, not UTF-8,
    not valid CSV/YAML/xlsx, nested too deep or larger than allowed."""

    what = "input file"


class LimitError(MaterielError):
    """The work asked for exceeds a configured limit (raised before any work starts)."""

    what = "request"


__all__ = [
    "DataIssue",
    "DatasetError",
    "InputFileError",
    "LimitError",
    "MaterielError",
    "ScenarioError",
    "SpecError",
]
