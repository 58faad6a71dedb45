"""Read a user's text, CSV or YAML file with bounds, so every bad file is a clear error.

:func:`read_text` reads UTF-8 text (a byte-order mark is allowed) up to a size limit;
:func:`read_csv` reads a CSV table of strings, stopping at the first malformed record;
:func:`parse_yaml` parses YAML refusing deep nesting, too many values, aliases (the "billion
laughs" expansion) and duplicate keys; :func:`load_yaml` does both. Every problem is an
:class:`~materiel.errors.InputFileError` naming the file and, where known, the line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from materiel.errors import DataIssue, InputFileError

MAX_YAML_BYTES = 1024 * 1024
"""Largest YAML file read (scenarios, sweep specs and ``dataset.yaml`` are a few kB)."""
MAX_CSV_BYTES = 256 * 1024 * 1024
"""Largest CSV table read (the bundled tables are well under 1 MB each)."""
MAX_DEPTH = 32
"""Deepest nesting of lists and mappings in a YAML document."""
MAX_NODES = 100_000
"""Most values (scalars, lists, mappings) in a YAML document."""


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def read_text(path: Path, max_bytes: int | None = None, label: str | None = None) -> str:
    """The text of ``path`` decoded as UTF-8 (a leading byte-order mark is dropped).

    Raises :class:`InputFileError` naming the file (as ``label``, default its path) if it is
    missing, a folder, unreadable, larger than ``max_bytes``, not UTF-8 or binary.
    """
    name = label or str(path)
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            size = path.stat().st_size
            raise InputFileError(
                [DataIssue(name, None, None, f"file is {size:,} bytes, more than {max_bytes:,}")]
            )
        data = path.read_bytes()
    except IsADirectoryError:
        raise InputFileError([DataIssue(name, None, None, "is a folder, not a file")]) from None
    except FileNotFoundError:
        problem = "file not found"
        if path.is_symlink():
            problem = f"is a link to '{path.readlink()}', which does not exist"
        raise InputFileError([DataIssue(name, None, None, problem)]) from None
    except OSError as e:
        message = f"cannot read the file: {e.strerror or e}"
        raise InputFileError([DataIssue(name, None, None, message)]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        message = f"not UTF-8 text: byte 0x{data[e.start]:02x} cannot be decoded; save it as UTF-8"
        raise InputFileError([DataIssue(name, _line_of(data, e.start), None, message)]) from None
    if "\x00" in text:
        line = _line_of(data, data.index(b"\x00"))
        message = "binary data (a NUL byte), not a text file"
        raise InputFileError([DataIssue(name, line, None, message)]) from None
    return text


def _csv_issue(name: str, line: int, end: int, message: str) -> InputFileError:
    if end > line:
        message += (
            f'; this record runs from line {line} to line {end}, so a quote (") is probably '
            "not closed"
        )
    return InputFileError([DataIssue(name, line, None, f"malformed CSV: {message}")])


def read_csv(path: Path, label: str | None = None, max_bytes: int = MAX_CSV_BYTES) -> pd.DataFrame:
    """A CSV table as strings: columns from the header line, one row per record, the index
    (named ``line``) the file line where each record starts; blank lines are dropped.

    Raises :class:`InputFileError` for the first malformed record only (a quote not closed,
    more values than the header has columns), naming its starting line, so one stray quote
    is one error, not hundreds. Records with fewer values are padded with empty values;
    empty values past the last column (trailing commas) are dropped.
    """
    name = label or str(path)
    text = read_text(path, max_bytes, name)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, skipinitialspace=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    start = 1
    try:
        for record in reader:
            if header is None:
                header = [c.strip() for c in record]
                while header and header[-1] == "":
                    header.pop()  # trailing commas
                repeated = sorted({c for c in header if header.count(c) > 1})
                if repeated:
                    message = f"column(s) {', '.join(map(repr, repeated))} appear more than once"
                    raise InputFileError([DataIssue(name, 1, repeated[0], message)])
            elif any(v.strip() for v in record):
                if any(v.strip() for v in record[len(header) :]):
                    message = f"{len(record)} values but the header has {len(header)} columns"
                    raise _csv_issue(name, start, reader.line_num, message)
                rows.append(record[: len(header)] + [""] * (len(header) - len(record)))
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as e:
        if "unexpected end of data" in str(e):
            message = 'a quote (") opened in this record is never closed'
            raise _csv_issue(name, start, start, message) from None
        raise _csv_issue(name, start, reader.line_num, str(e)) from None
    if header is None:
        raise InputFileError([DataIssue(name, None, None, "the file is empty (no header line)")])
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame.index = pd.Index(lines, dtype="int64", name="line")
    return frame


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that counts nesting and values while composing, refuses aliases
    and duplicate keys. Errors are ``yaml.MarkedYAMLError`` with the line of the problem."""

    max_depth = MAX_DEPTH
    max_nodes = MAX_NODES

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        mark: Any = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "aliases ('*name') are not allowed here", mark
            )
        self._nodes += 1
        if self._nodes > self.max_nodes:
            raise yaml.composer.ComposerError(
                None, None, f"more than {self.max_nodes:,} values", mark
            )
        nested = isinstance(event, yaml.CollectionStartEvent)
        if nested:
            self._depth += 1
            if self._depth > self.max_depth:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nested more than {self.max_depth} levels deep",
                    mark,
                )
        try:
            return super().compose_node(parent, index)
        finally:
            if nested:
                self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue
            first = seen.setdefault((key.tag, key.value), key.start_mark.line + 1)
            if first != key.start_mark.line + 1:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key '{key.value}' (first on line {first})",
                    key.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


def parse_yaml(
    text: str, label: str, max_depth: int = MAX_DEPTH, max_bytes: int | None = None
) -> Any:
    """Parse one YAML document (e.g. typed into a form: ``max_bytes`` bounds its size);
    :class:`InputFileError` naming ``label`` and the line."""
    if max_bytes is not None and (size := len(text.encode("utf-8", "surrogatepass"))) > max_bytes:
        message = f"the YAML is {size:,} bytes, more than {max_bytes:,}"
        raise InputFileError([DataIssue(label, None, None, message)])
    loader = _BoundedLoader(text)
    loader.max_depth = max_depth
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = e.problem or e.context or "invalid YAML"
        line = mark.line + 1 if mark is not None else None
        if "\t" in problem or "'\\t'" in problem:
            problem += " (YAML indents with spaces, never tabs)"
        raise InputFileError([DataIssue(label, line, None, f"not valid YAML: {problem}")]) from None
    except yaml.YAMLError as e:
        message = f"not valid YAML: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
        raise InputFileError([DataIssue(label, None, None, message)]) from None
    finally:
        loader.dispose()


def load_yaml(path: Path, label: str | None = None, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """Read and parse the YAML file ``path`` within the bounds of this module."""
    name = label or str(path)
    return parse_yaml(read_text(path, max_bytes, name), name)
