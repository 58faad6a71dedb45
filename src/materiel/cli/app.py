"""The typer app, shared options and helpers for every command."""

from __future__ import annotations

import datetime as dt
import os
import platform
import secrets
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from typer.core import TyperGroup

import materiel

EXIT_UNEXPECTED = 1
"""Exit code of an unexpected error (a bug, or the machine out of memory)."""
EXIT_INPUT = 2
"""Exit code of an error in the user's input: files, options, limits."""


def error_log_dir() -> Path:
    """Folder for the tracebacks of unexpected errors: ``$MATERIEL_ERROR_DIR``, else
    ``$XDG_CACHE_HOME/materiel/errors`` (default ``~/.cache/materiel/errors``)."""
    if os.environ.get("MATERIEL_ERROR_DIR"):
        return Path(os.environ["MATERIEL_ERROR_DIR"])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "materiel" / "errors"


def _write_log(error_id: str, error: BaseException) -> Path | None:
    """Write the traceback of ``error`` to ``<id>.log`` (the temp folder if the cache folder
    is not writable); the file's path, or None if nothing could be written."""
    now = dt.datetime.now(dt.UTC).isoformat()
    text = (
        f"materiel {materiel.__version__} error {error_id} at {now}\n"
        f"python {platform.python_version()} on {platform.platform()}\n"
        f"command: {' '.join(sys.argv)}\n\n" + "".join(traceback.format_exception(error))
    )
    for folder in (error_log_dir(), Path(tempfile.gettempdir()) / "materiel-errors"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{error_id}.log"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return None


def _hint(error: BaseException) -> str:
    if isinstance(error, MemoryError):
        return "out of memory: ask for less work (fewer draws, months or cases)"
    if isinstance(error, RecursionError):
        return "an input is nested too deeply for Python's recursion limit"
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _say(message: str) -> None:
    """One error line on stderr, never wrapped (so it can be searched and parsed)."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def report_error(error: Exception) -> int:
    """Print ``error`` on stderr as the CLI shows it and return the exit code.

    Known errors (bad input: :class:`~materiel.errors.MaterielError`, a file that cannot be
    read or written, an invalid option) print what is wrong and return 2. Anything else
    (MemoryError and RecursionError included) prints one line with an error id, writes the
    traceback to a log file whose path is printed, and returns 1.
    """
    from materiel.errors import MaterielError

    if isinstance(error, MaterielError):
        if len(error.issues) == 1:
            _say(str(error.issues[0]))
            return EXIT_INPUT
        _say(f"{len(error.issues)} problem(s) in the {error.what}:")
        for issue in error.issues:
            err.print(f"  - {issue}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_INPUT
    if isinstance(error, OSError) and not isinstance(error, MemoryError):
        where = f"{error.filename}: " if error.filename else ""
        _say(f"{where}{error.strerror or error or type(error).__name__}")
        return EXIT_INPUT
    if isinstance(error, ValueError) and not isinstance(error, UnicodeError):
        _say(str(error))
        return EXIT_INPUT
    error_id = secrets.token_hex(4)
    log = _write_log(error_id, error)
    where = f"; the traceback is in {log}. Please report it with that file" if log else ""
    _say(f"unexpected error {error_id} ({_hint(error)}){where}.")
    return EXIT_UNEXPECTED


class HandledGroup(TyperGroup):
    """The top-level command group: every exception a command raises goes through
    :func:`report_error`, so no command prints a traceback. ``MATERIEL_DEBUG=1`` lets
    exceptions through (with their traceback) for debugging. xarray, once a command imports
    it, imports Dask only when the command uses Dask (:mod:`materiel.nodask`)."""

    def invoke(self, ctx: Any) -> Any:
        from materiel.nodask import defer_dask_on_import

        defer_dask_on_import()  # xarray imports Dask only if a command uses it
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # exits and usage errors (bad options): typer reports them
        except Exception as error:  # the one place every command's errors end up
            if os.environ.get("MATERIEL_DEBUG"):
                raise
            raise typer.Exit(report_error(error)) from None


app = typer.Typer(
    cls=HandledGroup,
    help="materiel: plan European defence-industrial mobilisation with numbers.",
    epilog="Units: quantities in each item's own unit (round, missile, t, ...), rates per "
    "month, money in EUR; months count from the dataset's start (month 0). "
    "Start with: materiel simulate imposed-deal",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)
out = Console()

DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        metavar="<dir|xlsx>",
        help="Dataset folder, .xlsx or a bundled one by name (historical).",
    ),
]
SeedOption = Annotated[
    int, typer.Option(min=0, metavar="<int>", help="Random seed; same seed, same result.")
]
BudgetOption = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        metavar="<eur/year>",
        show_default="scenario's",
        help="Budget for orders and investments, EUR per year.",
    ),
]
MonthsOption = Annotated[
    int | None,
    typer.Option(
        min=1, max=240, metavar="<months>", show_default="scenario's", help="Horizon in months."
    ),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"materiel {materiel.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """materiel: plan European defence-industrial mobilisation with numbers."""


@contextmanager
def user_errors() -> Iterator[None]:
    """Kept for the commands that still use it: errors are now turned into messages and exit
    codes by the one top-level handler, :func:`materiel.cli.errors.handle_errors`."""
    yield


@contextmanager
def progress_bar(total: int, label: str, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr; yields ``advance(n)``."""
    if not enabled:
        yield lambda n: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
