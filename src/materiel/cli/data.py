"""``materiel data``: check a dataset, list its sources, round-trip it through Excel."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from materiel.cli.app import DataOption, app, err, out, user_errors
from materiel.cli.output import CsvOption, check_csv
from materiel.reporting.columns import VIEWS

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
    csv: CsvOption = None,
) -> None:
    """Validate a dataset; list every problem at once (file, row, field, why), exit 2.

    --csv writes the problems (the --json issues), one row each; none if valid."""
    import pandas as pd

    from materiel.schema.validate import DataIssue, DatasetError

    columns = list(DataIssue.__dataclass_fields__)
    with user_errors():
        check_csv(csv)
        try:
            dataset = _load(path)
        except DatasetError as e:
            if csv is not None:
                rows = pd.DataFrame([asdict(i) for i in e.issues], columns=columns)
                rows.to_csv(csv, index=False)
            if not as_json:
                raise
            payload = {"valid": False, "issues": [asdict(i) for i in e.issues]}
            sys.stdout.write(json.dumps(payload, indent=2) + "\n")
            raise typer.Exit(2) from None
    if csv is not None:
        with user_errors():
            pd.DataFrame([], columns=columns).to_csv(csv, index=False)
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
        from materiel.reporting.numbers import compact as _fmt

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


TITLE = 40
"""Characters of a source title in the compact listing (--full shows it all)."""
FIGURE_HEADERS = {
    "table": "table",
    "key": "row",
    "field": "field",
    "central": "central",
    "low": "low",
    "high": "high",
    "unit": "unit",
    "source": "source",
    "status": "status",
    "date": "date",
    "url": "url",
}


def _short(text: str, limit: int = TITLE) -> str:
    """``text`` cut at a word boundary to ``limit`` characters, marked with '(...)'; the full
    text is one --full away."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    return (
        text[: text.rfind(" ", 0, limit - 5) if " " in text[: limit - 5] else limit - 5] + " (...)"
    )


@data_app.command(epilog=VIEWS["sources"].epilog())
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
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Print every sourced figure (table, row, field, low/central/high, URL)."
        ),
    ] = False,
    as_json: JsonOption = False,
    csv: CsvOption = None,
) -> None:
    """List the sources: id, status, date and a short title, most cited first.

    With --full, every sourced figure: central/low/high, unit and its source's status,
    date, URL. --json and --csv write every sourced figure (the same rows)."""
    with user_errors():
        check_csv(csv)
        from materiel.schema.docs import sourced_figures
        from materiel.schema.tables import STATUSES, TABLES

        if status is not None and status not in STATUSES:
            raise ValueError(f"--status must be one of {', '.join(STATUSES)}, got '{status}'")
        with_figures = [n for n, t in TABLES.items() if t.uncertain_fields]
        if table is not None and table not in with_figures:
            raise ValueError(f"--table must be one of {', '.join(with_figures)}, got '{table}'")
        dataset = _load(data)
        figures = sourced_figures(dataset.tables)
    if status is not None:
        figures = figures[figures["status"] == status]
    if table is not None:
        figures = figures[figures["table"] == table]
    if csv is not None:  # machine output: every figure
        with user_errors():
            csv.parent.mkdir(parents=True, exist_ok=True)
            figures.to_csv(csv, index=False)
    if as_json:
        records: list[dict[str, Any]] = json.loads(figures.to_json(orient="records"))
        sys.stdout.write(json.dumps(records, indent=2) + "\n")
        return
    from materiel.reporting.tables import fitted

    if full:
        title = f"{len(figures)} sourced figures from {figures['source'].nunique()} sources"
        out.print(
            fitted(
                figures,
                title,
                headers=FIGURE_HEADERS,
                kinds={"central": "number", "low": "number", "high": "number"},
            )
        )
    else:
        counts = figures["source"].value_counts().rename("figures")
        listed = dataset.tables["sources"].set_index("source").join(counts, how="inner")
        rows = listed.sort_values("figures", ascending=False).reset_index()
        shown = rows.assign(title=rows["title"].map(_short))
        title = f"{len(rows)} sources cited by {len(figures)} figures (--full: every figure)"
        out.print(fitted(shown, title, headers=VIEWS["sources"].headers, fold_first=True))
    if csv is not None:
        out.print(f"Saved [bold]{csv}[/]", highlight=False)


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
