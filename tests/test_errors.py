"""Error types, bounded file readers and the CLI's one top-level error handler."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from materiel.cli import app
from materiel.cli.app import EXIT_INPUT, EXIT_UNEXPECTED
from materiel.errors import (
    DataIssue,
    DatasetError,
    InputFileError,
    LimitError,
    MaterielError,
    ScenarioError,
    SpecError,
)
from materiel.io.textfile import MAX_DEPTH, parse_yaml, read_csv, read_text

runner = CliRunner()


# --- error types --------------------------------------------------------------------------


def test_error_types_are_caught_apart_and_together() -> None:
    issue = DataIssue("s.yaml", 3, "events.0.month", "bad month", "0, 1, ...")
    for cls in (ScenarioError, SpecError, InputFileError):
        with pytest.raises(cls):
            raise cls([issue])
        # code written before the split (``except DatasetError``) still catches them
        assert issubclass(cls, DatasetError) and issubclass(cls, MaterielError)
    assert not issubclass(ScenarioError, SpecError) and not issubclass(SpecError, InputFileError)
    assert issubclass(LimitError, MaterielError) and not issubclass(LimitError, DatasetError)
    error = ScenarioError([issue])
    assert error.issues == [issue]
    assert "1 problem(s) in the scenario" in str(error)
    assert "s.yaml, line 3, field 'events.0.month': bad month (allowed: 0, 1, ...)" in str(error)


def test_error_from_one_message() -> None:
    error = LimitError("too many draws", where="--draws")
    assert error.issues == [DataIssue("--draws", None, None, "too many draws")]
    assert str(LimitError("too many draws").issues[0]) == "too many draws"


def test_old_import_paths_still_work() -> None:
    from materiel.schema.validate import DataIssue as OldIssue
    from materiel.schema.validate import DatasetError as OldError

    assert OldIssue is DataIssue and OldError is DatasetError


# --- bounded readers ----------------------------------------------------------------------


def _issue(error: pytest.ExceptionInfo[InputFileError]) -> DataIssue:
    assert len(error.value.issues) == 1
    return error.value.issues[0]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a: " + "[" * 10_000 + "]" * 10_000, 1, "nested more than"),
        ("a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 200)), None, "nested"),
        ("a: &x [1, 2]\nb: *x\n", 2, "aliases"),
        ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first on line 1)"),
        ("a:\n\t- 1\n", 2, "tabs"),
        ("a: [1, 2\n", None, "not valid YAML"),
    ],
)
def test_yaml_refused_with_line(text: str, line: int | None, words: str) -> None:
    with pytest.raises(InputFileError) as caught:
        parse_yaml(text, "x.yaml")
    issue = _issue(caught)
    assert issue.file == "x.yaml" and words in issue.message
    if line is not None:
        assert issue.row == line


def test_yaml_within_bounds_loads() -> None:
    nested = "a: " + "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1)
    assert parse_yaml(nested, "x.yaml") is not None
    assert parse_yaml("a: 1\nb: [x, y]\n<<: {c: 2}\n", "x.yaml") == {
        "a": 1,
        "b": ["x", "y"],
        "c": 2,
    }
    assert parse_yaml("", "x.yaml") is None
    with pytest.raises(InputFileError, match="more than 10"):
        parse_yaml("a: " + "x" * 20, "form", max_bytes=10)


def test_text_file_problems_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes("ok\nnot caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputFileError) as caught:
        read_text(path, label="f.txt")
    assert _issue(caught).row == 2 and "UTF-8" in _issue(caught).message
    path.write_bytes(b"\xef\xbb\xbfwith a BOM\n")
    assert read_text(path) == "with a BOM\n"
    with pytest.raises(InputFileError, match="more than 4"):
        read_text(path, max_bytes=4)
    with pytest.raises(InputFileError, match="is a folder"):
        read_text(tmp_path)
    with pytest.raises(InputFileError, match="not found"):
        read_text(tmp_path / "nothing.txt")


def test_csv_first_malformed_record_only(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    lines = ["a,b", "1,2", '3,"unclosed', *(f"{i},{i}" for i in range(300))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        read_csv(path, label="t.csv")
    assert _issue(caught).row == 3 and "never closed" in _issue(caught).message
    path.write_text('a,b\n1,2\n3,"x\n4,5\n6,"7",8\n', encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        read_csv(path, label="t.csv")
    assert _issue(caught).row == 3 and "from line 3 to line 5" in _issue(caught).message
    path.write_text("a,b\n1,2,,\n\n3\n, \n", encoding="utf-8")
    frame = read_csv(path)
    assert list(frame.index) == [2, 4] and frame.loc[4].tolist() == ["3", ""]
    assert frame.loc[2].tolist() == ["1", "2"]


# --- the top-level handler ----------------------------------------------------------------


@pytest.fixture
def failing_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A real command, ``materiel fail KIND``, added for the test, raising a real error;
    tracebacks go to ``tmp_path``."""
    monkeypatch.setenv("MATERIEL_ERROR_DIR", str(tmp_path))
    monkeypatch.delenv("MATERIEL_DEBUG", raising=False)

    def fail(kind: str) -> None:
        if kind == "memory":
            raise MemoryError()
        if kind == "recursion":
            fail("recursion")
        if kind == "bug":
            raise KeyError("a bug")
        if kind == "scenario":
            raise ScenarioError([DataIssue("s.yaml", 2, "months", "not a number")])
        if kind == "file":
            open(tmp_path / "missing.csv", encoding="utf-8")  # noqa: SIM115
        if kind == "option":
            raise ValueError("--out must end in .nc")
        raise typer.Exit(3)

    app.command("fail", hidden=True)(fail)
    try:
        yield tmp_path
    finally:
        app.registered_commands.pop()


@pytest.mark.parametrize(
    ("kind", "hint"),
    [("memory", "out of memory"), ("recursion", "nested too deeply"), ("bug", "KeyError")],
)
def test_unexpected_error_gives_an_id_and_a_log(
    failing_command: Path, kind: str, hint: str
) -> None:
    result = runner.invoke(app, ["fail", kind])
    assert result.exit_code == EXIT_UNEXPECTED
    assert "Traceback" not in result.output and hint in result.output
    found = re.search(
        r"unexpected error ([0-9a-f]{8}) .*the traceback is in (\S+)\.", result.output
    )
    assert found is not None, result.output
    log = Path(found.group(2))
    assert log.parent == failing_command and log.name == f"{found.group(1)}.log"
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and f"error {found.group(1)}" in text


@pytest.mark.parametrize(
    ("kind", "code", "words"),
    [
        ("scenario", EXIT_INPUT, "error: s.yaml, line 2, field 'months': not a number"),
        ("file", EXIT_INPUT, "missing.csv: No such file or directory"),
        ("option", EXIT_INPUT, "error: --out must end in .nc"),
        ("exit", 3, ""),
    ],
)
def test_known_errors_are_messages(failing_command: Path, kind: str, code: int, words: str) -> None:
    result = runner.invoke(app, ["fail", kind])
    assert result.exit_code == code
    assert words in result.output and "Traceback" not in result.output
    assert not list(failing_command.glob("*.log")), "known errors write no log"


def test_debug_lets_the_traceback_through(
    failing_command: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MATERIEL_DEBUG", "1")
    result = runner.invoke(app, ["fail", "bug"])
    assert isinstance(result.exception, KeyError)


def test_usage_errors_stay_clicks(failing_command: Path) -> None:
    result = runner.invoke(app, ["simulate", "imposed-deal", "--draws", "zero"])
    assert result.exit_code == 2 and "Invalid value" in result.output
