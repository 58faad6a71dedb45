"""``materiel data``: check a dataset, list its sources, round-trip it through Excel."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from materiel.cli.app import DataOption, app, err, out, user_errors

if TYPE_CHECKING:
    from materiel.io.dataset import Dataset

data_app = typer.Typer(
    help="Check, list, export and import datasets (CSV folders and Excel workbooks).",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def _load(path: Path | None) -> Dataset:
    """A dataset folder (tables it lacks from the default) or an ``.xlsx`` workbook."""
    from materiel.io.dataset import load_dataset
    from materiel.io.excel import load_workbook

    if path is not None and path.suffix.lower() == ".xlsx":
        return load_workbook(path)[0]
    return load_dataset(path)


def _summary(dataset: Dataset) -> dict[str, int]:
    return {
        "tables": len(dataset.tables),
        "rows": sum(len(frame) for frame in dataset.tables.values()),
        "sources": len(dataset.tables["sources"]),
    }


def _summary_line(dataset: Dataset) -> str:
    s = _summary(dataset)
    return f"{s['tables']} tables, {s['rows']} rows, {s['sources']} sources"


@data_app.command()
def check(
    path: Annotated[
        Path | None,
        typer.Argument(
            show_default="bundled dataset",
            help="Dataset folder or .xlsx workbook.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Validate a dataset; list every problem at once (file, row, field, why), exit 2."""
    from materiel.schema.validate import DatasetError

    with user_errors():
        try:
            dataset = _load(path)
        except DatasetError as e:
            if not as_json:
                raise
            payload = {"valid": False, "issues": [asdict(i) for i in e.issues]}
            sys.stdout.write(json.dumps(payload, indent=2) + "\n")
            raise typer.Exit(2) from None
    drift = _start_drift(dataset)
    if as_json:
        payload = {"valid": True, **_summary(dataset), "start_drift": drift.to_dict("records")}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    out.print(f"valid: {_summary_line(dataset)}", highlight=False)
    moving = drift[drift["drifts"]]
    if len(moving):
        months = 6
        out.print(
            f"warning: the start is not a steady state. With no events, at central values, "
            f"these users' fire changes by more than 25 % within {months} months (supply at "
            "the start differs from demand; scenario results include this drift):",
            highlight=False,
        )
        for r in moving.itertuples():
            out.print(
                f"  {r.actor} {r.item}: wants {_fmt(r.wanted)}/month, fires {_fmt(r.fired_first)} "
                f"in month 0 and {_fmt(r.fired_last)} in month {months - 1} ({r.change:+.0%}); "
                f"{_fmt(r.arriving_first)} arrive in month 0",
                highlight=False,
            )


def _start_drift(dataset: Any) -> Any:
    """Users whose fire drifts with no events (see materiel.simulation.steady)."""
    from materiel.model.compiled import compile_model
    from materiel.simulation.steady import start_drift

    return start_drift(compile_model(dataset))


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


@data_app.command()
def sources(
    data: DataOption = None,
    status: Annotated[
        str | None,
        typer.Option(
            metavar="<status>",
            help="Only figures whose source has this status (achieved, estimate, ...).",
        ),
    ] = None,
    table: Annotated[
        str | None,
        typer.Option(metavar="<table>", help="Only figures of this table (e.g. facilities)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List every sourced figure: central/low/high, unit and its source's status, date, URL."""
    with user_errors():
        from materiel.schema.docs import sourced_figures
        from materiel.schema.tables import STATUSES, TABLES

        if status is not None and status not in STATUSES:
            raise ValueError(f"--status must be one of {', '.join(STATUSES)}, got '{status}'")
        with_figures = [n for n, t in TABLES.items() if t.uncertain_fields]
        if table is not None and table not in with_figures:
            raise ValueError(f"--table must be one of {', '.join(with_figures)}, got '{table}'")
        figures = sourced_figures(_load(data).tables)
    if status is not None:
        figures = figures[figures["status"] == status]
    if table is not None:
        figures = figures[figures["table"] == table]
    if as_json:
        records: list[dict[str, Any]] = json.loads(figures.to_json(orient="records"))
        sys.stdout.write(json.dumps(records, indent=2) + "\n")
        return
    t = Table(title=f"{len(figures)} sourced figures from {figures['source'].nunique()} sources")
    for column in ("table", "row", "field", "central [low-high]", "unit", "source", "status"):
        t.add_column(
            escape(column),
            justify="right" if column.startswith("central") else "left",
            overflow="fold",  # ids and URLs show in full, folded on narrow terminals
        )
    t.add_column("date", overflow="fold")
    t.add_column("url", overflow="fold", ratio=2)
    for r in figures.to_dict("records"):
        central = f"{_fmt(r['central'])} [{_fmt(r['low'])}-{_fmt(r['high'])}]"
        cells = [r["table"], r["key"], r["field"], central, r["unit"], r["source"]]
        cells += [r["status"], r["date"], r["url"]]
        t.add_row(*(escape(str(c)) for c in cells))
    out.print(t)


@data_app.command()
def export(
    xlsx: Annotated[Path, typer.Option("--xlsx", metavar="<file.xlsx>", help="Workbook to write.")],
    data: DataOption = None,
) -> None:
    """Write the whole dataset to one Excel workbook: a sheet per table, plus README."""
    with user_errors():
        from materiel.io.atomic import check_writable
        from materiel.io.excel import write_workbook

        check_writable(xlsx)
        dataset = _load(data)
        write_workbook(dataset, xlsx)
    out.print(f"wrote {xlsx}: {_summary_line(dataset)}", highlight=False)


@data_app.command("import")
def import_(
    workbook: Annotated[Path, typer.Argument(help="Workbook to read (.xlsx).")],
    to: Annotated[Path, typer.Option("--to", metavar="<dir>", help="Dataset folder to write.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace the dataset files in a non-empty folder.")
    ] = False,
) -> None:
    """Validate a workbook and write it as a dataset folder (CSV files + dataset.yaml).

    Nothing is written unless the whole workbook is valid.
    """
    with user_errors():
        from materiel.io.excel import import_workbook

        dataset = import_workbook(workbook, to, force=force)
    out.print(f"imported {workbook} into {to}: {_summary_line(dataset)}", highlight=False)


@data_app.command()
def guide(
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="<file.md>", show_default="stdout", help="Write the guide here."
        ),
    ] = None,
) -> None:
    """Print the data guide (every table and field), generated from the schema."""
    from materiel.schema.docs import data_guide

    text = data_guide()
    if out_file is None:
        sys.stdout.write(text)
        return
    with user_errors():
        from materiel.io.atomic import write_text

        write_text(out_file, text)
    err.print(f"wrote {out_file}", highlight=False)
