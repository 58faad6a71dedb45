"""The typer app, shared options and helpers for every command."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from materiel import __version__

app = typer.Typer(
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
        help="Dataset folder or .xlsx (missing tables: the bundled ones).",
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
        out.print(f"materiel {__version__}")
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
    """Turn errors in user input into a clear message and exit code 2, never a traceback."""
    from materiel.schema.validate import DatasetError

    try:
        yield
    except DatasetError as e:
        err.print(f"[bold red]error:[/] {len(e.issues)} problem(s) in the input:")
        for issue in e.issues:
            err.print(f"  - {issue}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    except (OSError, ValueError) as e:
        err.print(f"[bold red]error:[/] {e}", highlight=False)
        raise typer.Exit(2) from None


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
