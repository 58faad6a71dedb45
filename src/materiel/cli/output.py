"""Output options and printing shared by every command: one table renderer, names or ids,
``--csv`` beside ``--json``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from materiel.cli.app import out

if TYPE_CHECKING:
    import pandas as pd

IdsOption = Annotated[
    bool, typer.Option("--ids", help="Show ids (e.g. shell_155) instead of names.")
]
CsvOption = Annotated[
    Path | None,
    typer.Option("--csv", metavar="<file.csv>", help="Write the full table(s) as CSV."),
]


def check_csv(path: Path | None) -> None:
    """Refuse a --csv path that is not a .csv file (before any work is done)."""
    if path is not None and path.suffix.lower() != ".csv":
        raise ValueError(f"--csv must end in .csv, got '{path.name}'")


def csv_path(path: Path, suffix: str, first: bool) -> Path:
    """``path`` for the first table, ``<stem>-<suffix>.csv`` beside it for the others."""
    return path if first else path.with_name(f"{path.stem}-{suffix}{path.suffix}")


def write_csv(tables: dict[str, pd.DataFrame], path: Path) -> list[Path]:
    """Write each table (the first to ``path``, the others suffixed with their name)."""
    written = []
    path.parent.mkdir(parents=True, exist_ok=True)
    for k, (name, table) in enumerate(tables.items()):
        target = csv_path(path, name, k == 0)
        table.to_csv(target, index=False)
        written.append(target)
    return written


def print_table(
    frame: pd.DataFrame,
    title: str,
    view: str | None = None,
    *,
    model: Any = None,
    ids: bool = False,
    max_rows: int | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Print ``frame`` with the one renderer: the columns of ``view`` (see
    :mod:`materiel.reporting.columns`; or ``headers``), names instead of ids unless ``ids``,
    months as calendar months."""
    from materiel.reporting.columns import VIEWS
    from materiel.reporting.names import with_names
    from materiel.reporting.tables import fitted

    start = None
    kinds = None
    note = ""
    if view is not None:
        spec = VIEWS[view]
        if spec.condense is not None:
            frame = spec.condense(frame)
        headers = spec.headers
        kinds = spec.kinds
        note = spec.note
    if model is not None:
        frame = with_names(frame, model, ids)
        start = model.dataset.meta.start
    out.print(fitted(frame, title, max_rows, headers, start, note, kinds))
