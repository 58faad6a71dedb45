"""The analysis commands: ``materiel gap | outlook | chokepoints | dependencies | coordination
| deterrence | efficiency``. Each runs one function of :mod:`materiel.analysis` and prints a
table (or ``--json``), with ``--csv`` and ``--png`` to save the full table and a plot."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from materiel.cli.app import (
    BudgetOption,
    DataOption,
    MonthsOption,
    SeedOption,
    app,
    err,
    out,
    user_errors,
)
from materiel.cli.output import IdsOption, check_csv, print_table, write_csv
from materiel.reporting.columns import VIEWS


def _scenario_option(default: str) -> Any:
    return typer.Option(
        "--scenario",
        "-s",
        metavar="<name|file>",
        show_default=default,
        help="Scenario name or YAML file.",
    )


def _draws_option(default: int | None) -> Any:
    """Draws of a Monte Carlo analysis (``default``), or of a deterministic one (None)."""
    if default is None:
        return typer.Option(
            min=1,
            metavar="<n>",
            help="Unused: this analysis uses central values.",
        )
    return typer.Option(min=1, metavar="<n>", show_default=str(default), help="Monte Carlo draws.")


ScenarioOption = Annotated[str | None, _scenario_option("imposed-deal")]
CeasefireScenarioOption = Annotated[str | None, _scenario_option("fragile-ceasefire")]
DrawsOption = Annotated[int | None, _draws_option(200)]
CentralDrawsOption = Annotated[int | None, _draws_option(None)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the tables as JSON on stdout.")]
CsvOption = Annotated[
    Path | None,
    typer.Option(
        "--csv", metavar="<file.csv>", help="Write the full table (the --json rows) as CSV."
    ),
]
PngOption = Annotated[
    Path | None, typer.Option("--png", metavar="<file.png>", help="Write a static plot as PNG.")
]
RowsOption = Annotated[
    int, typer.Option(min=1, metavar="<n>", help="Rows shown in the terminal table.")
]
MONTH_HELP = ""
"""Month options take a calendar month YYYY-MM or an index (0 = the dataset's start): the
metavar says so; the glossary and the user guide explain it."""
MonthOption = Annotated[
    str | None,
    typer.Option(
        metavar="<YYYY-MM>",
        show_default="scenario's, else 2",
        help="Month US deliveries stop" + MONTH_HELP + ".",
    ),
]
CentralSeedOption = Annotated[
    int, typer.Option(min=0, metavar="<int>", help="Unused: this analysis uses central values.")
]
StockReleaseOption = Annotated[
    float,
    typer.Option(
        min=0.0,
        max=1.0,
        metavar="<share>",
        help="Share 0-1 of donors' stock above floors given.",
    ),
]


def _with_suffix(path: Path, suffix: str) -> Path:
    return path.with_name(f"{path.stem}-{suffix}{path.suffix}")


def run_analysis(
    names: list[str],
    scenario: str | None,
    data: Path | None,
    draws: int | None,
    seed: int,
    as_json: bool,
    csv: Path | None,
    png: Path | None,
    rows: int = 40,
    ids: bool = False,
    **options: Any,
) -> None:
    """Load, run ``names`` (the first gets ``options``), save and print. Shared by every
    analysis command; bad input exits with code 2 and a message, never a traceback."""
    with user_errors():
        from materiel.analysis.registry import REGISTRY
        from materiel.io.dataset import load_dataset
        from materiel.model.compiled import compile_model
        from materiel.reporting.tables import records
        from materiel.scenario import load_scenario

        first = REGISTRY[names[0]]
        if png is not None and png.suffix.lower() != ".png":
            raise ValueError(f"--png must end in .png, got '{png.name}'")
        check_csv(csv)
        scen = load_scenario(scenario or first.scenario)
        model = compile_model(load_dataset(data))
        options = _months(options, model.dataset.meta.start)
        tables = {}
        for k, name in enumerate(names):
            spec = REGISTRY[name]
            n = draws or spec.draws
            kwargs = options if k == 0 else {}
            if as_json:
                tables[name] = _call(spec, model, scen, n, seed, kwargs)
            else:
                with err.status(f"{spec.title}: {scen.name} ({n:,} draws)"):
                    tables[name] = _call(spec, model, scen, n, seed, kwargs)
        if csv is not None:
            write_csv(tables, csv)
        for k, (name, table) in enumerate(tables.items()):
            spec = REGISTRY[name]
            if png is not None:
                from materiel.reporting.static import save_png

                save_png(spec.static(table), png if k == 0 else _with_suffix(png, name))
    if as_json:
        payload = {
            "analysis": names[0],
            "scenario": scen.name,
            "draws": draws,
            "seed": seed,
            "options": {k: v for k, v in options.items() if v is not None},
            "dataset": {
                "name": model.dataset.meta.name,
                "version": model.dataset.meta.version,
                "digest": model.dataset.digest,
            },
            "tables": {name: records(table) for name, table in tables.items()},
        }
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
        return
    for name, table in tables.items():
        spec = REGISTRY[name]
        view = VIEWS[name]
        shown = table if view.condense is not None else spec.condensed(table)
        print_table(shown, f"{spec.title} — {scen.name}", name, model=model, ids=ids, max_rows=rows)
    for path in (csv, png):
        if path is not None:
            out.print(
                f"Saved [bold]{path}[/]" + (" (and one per extra table)" if len(names) > 1 else "")
            )


MONTH_OPTIONS = {
    "stop_month": "--month",
    "month": "--month",
    "start": "--start",
    "ceasefire_month": "--ceasefire-month",
    "decide_month": "--decide-month",
}
"""Analysis keyword -> the option that sets it, for the options that take a month."""


def _months(options: dict[str, Any], start: str) -> dict[str, Any]:
    """Month options as indices: YYYY-MM counted from the dataset's ``start``; unset ones
    dropped (the analysis's default applies)."""
    from materiel.reporting.numbers import month_index

    out = dict(options)
    for key, flag in MONTH_OPTIONS.items():
        if key in out:
            if out[key] is None:
                del out[key]
            else:
                out[key] = month_index(str(out[key]), start, flag)
    return out


def _call(spec: Any, model: Any, scen: Any, draws: int, seed: int, kwargs: dict[str, Any]) -> Any:
    """Run one analysis; a solver failure (PlanError, a RuntimeError) exits with code 1."""
    try:
        return spec.run(model, scen, draws=draws, seed=seed, **kwargs)
    except RuntimeError as e:
        err.print(f"[bold red]error:[/] {e}", highlight=False)
        raise typer.Exit(1) from None


@app.command(
    rich_help_panel="Analyses",
    epilog=VIEWS["gap"].epilog(),
    short_help="Ukraine's gap after a US stop; what European stocks, orders and expansions fill.",
)
def gap(
    scenario: ScenarioOption = None,
    month: MonthOption = None,
    stock_release: StockReleaseOption = 1.0,
    data: DataOption = None,
    draws: DrawsOption = None,
    seed: SeedOption = 0,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    png: PngOption = None,
    ids: IdsOption = False,
) -> None:
    """If US deliveries stop in month k: Ukraine's gap by item and month, what Europe fills
    from stocks, idle capacity and expansions, and the residual gap with its probability."""
    run_analysis(
        ["gap"],
        scenario,
        data,
        draws,
        seed,
        as_json,
        csv,
        png,
        40,
        ids,
        stop_month=month,
        stock_release=stock_release,
    )


@app.command(
    rich_help_panel="Analyses",
    epilog=VIEWS["outlook"].epilog(),
    short_help="What Europe can deliver in the next months from stocks and orders, vs the need.",
)
def outlook(
    scenario: ScenarioOption = None,
    months: Annotated[
        int, typer.Option(min=1, max=240, metavar="<months>", help="Length of the window.")
    ] = 4,
    start: Annotated[
        str | None,
        typer.Option(
            metavar="<YYYY-MM>",
            show_default="start",
            help="First month of the window" + MONTH_HELP + ".",
        ),
    ] = None,
    stock_release: StockReleaseOption = 1.0,
    data: DataOption = None,
    draws: DrawsOption = None,
    seed: SeedOption = 0,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    png: PngOption = None,
    ids: IdsOption = False,
) -> None:
    """What Europe can deliver to Ukraine in the next months, by item, from stocks and from
    capacity that needs only orders, against Ukraine's need."""
    run_analysis(
        ["outlook"],
        scenario,
        data,
        draws,
        seed,
        as_json,
        csv,
        png,
        40,
        ids,
        months=months,
        start=start,
        stock_release=stock_release,
    )


@app.command(
    rich_help_panel="Analyses",
    epilog=VIEWS["chokepoints"].epilog(),
    short_help="Facilities, items and countries ranked by output lost when removed; LP duals.",
)
def chokepoints(
    scenario: ScenarioOption = None,
    fraction: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, metavar="<share>", help="Share of a node's capacity removed, 0-1."
        ),
    ] = 1.0,
    duals: Annotated[
        bool, typer.Option(help="Also LP capacity duals (EUR per unit/month).")
    ] = True,
    rows: RowsOption = 30,
    data: DataOption = None,
    draws: CentralDrawsOption = None,
    seed: CentralSeedOption = 0,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    png: PngOption = None,
    ids: IdsOption = False,
) -> None:
    """Facilities, items and source countries ranked by the end-item output lost when each is
    removed (re-simulated) and by the optimiser's capacity duals; flags single sources."""
    if fraction <= 0:
        err.print("[bold red]error:[/] --fraction must be above 0")
        raise typer.Exit(2)
    run_analysis(
        ["chokepoints"],
        scenario,
        data,
        draws,
        seed,
        as_json,
        csv,
        png,
        rows,
        ids,
        fraction=fraction,
        duals=duals,
    )


@app.command(
    rich_help_panel="Analyses",
    epilog=VIEWS["dependencies"].epilog(),
    short_help="Share of each end item's inputs from outside Europe, by country (whole BOM).",
)
def dependencies(
    scenario: ScenarioOption = None,
    month: Annotated[
        str | None,
        typer.Option(
            metavar="<YYYY-MM>",
            show_default="start",
            help="Month whose capacity sets the shares" + MONTH_HELP + ".",
        ),
    ] = None,
    basis: Annotated[
        str,
        typer.Option(
            metavar="<output|capacity>",
            help="Weigh suppliers by capacity x utilisation or by capacity.",
        ),
    ] = "output",
    data: DataOption = None,
    draws: CentralDrawsOption = None,
    seed: CentralSeedOption = 0,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    png: PngOption = None,
    ids: IdsOption = False,
) -> None:
    """For each end item, the share of its inputs (through the whole bill of materials) from
    outside Europe, and from which countries. The terminal shows the summary per end item;
    --csv and --json give every (end item, input, country) row."""
    run_analysis(
        ["dependencies"],
        scenario,
        data,
        draws,
        seed,
        as_json,
        csv,
        png,
        40,
        ids,
        month=month,
        basis=basis,
    )


@app.command(
    rich_help_panel="Analyses",
    epilog=VIEWS["coordination"].epilog(),
    short_help="Pooled vs national procurement: shortfall, cost and the cost of fragmentation.",
)
def coordination(
    scenario: ScenarioOption = None,
    weights: Annotated[
        str,
        typer.Option(
            metavar="<weights>",
            help="Demand shares: equal, capacity or DEU=0.3,FRA=0.2,...",
        ),
    ] = "equal",
    budget: BudgetOption = None,
    data: DataOption = None,
    draws: CentralDrawsOption = None,
    seed: CentralSeedOption = 0,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    png: PngOption = None,
    ids: IdsOption = False,
) -> None:
    """The same demand served by pooled European procurement vs each nation buying only from
    its own industry (and, stricter, with national supply chains): shortfall, cost and the
    difference, from the optimiser."""
    with user_errors():
        from materiel.analysis.registry import parse_weights

        try:
            parsed = parse_weights(weights)
        except ValueError as e:
            raise ValueError(f"--weights {e}") from None
    run_analysis(
        ["coordination"],
        scenario,
        data,
        draws,
        seed,
        as_json,
        csv,
        png,
        60,
        ids,
        weights=parsed,
        budget=budget,
    )


@app.command(
    rich_help_panel="Analyses",
    epilog=VIEWS["deterrence"].epilog() + " " + VIEWS["sead"].epilog(),
    short_help="Russia's restocking vs Ukraine and Europe after a ceasefire; SEAD munitions.",
)
def deterrence(
    scenario: CeasefireScenarioOption = None,
    ceasefire_month: Annotated[
        str | None,
        typer.Option(
            metavar="<YYYY-MM>",
            show_default="scenario's, else 6",
            help="Month the ceasefire starts" + MONTH_HELP + ".",
        ),
    ] = None,
    threshold: Annotated[
        float,
        typer.Option(
            min=0.0,
            metavar="<ratio>",
            help="Alarm level of the Russia:West stock ratio.",
        ),
    ] = 3.0,
    months: MonthsOption = None,
    data: DataOption = None,
    draws: DrawsOption = None,
    seed: SeedOption = 0,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    png: PngOption = None,
    ids: IdsOption = False,
) -> None:
    """After a ceasefire: Russia's artillery restocking against Ukraine's and Europe's stocks
    and production, the month a balance threshold is crossed; and the munitions a European
    campaign against air defences would need against their stock and production (the second
    table; --csv/--png write it next to the first, suffixed -sead)."""
    run_analysis(
        ["deterrence", "sead"],
        scenario,
        data,
        draws,
        seed,
        as_json,
        csv,
        png,
        60,
        ids,
        ceasefire_month=ceasefire_month,
        threshold=threshold,
        months=months,
    )


@app.command(
    rich_help_panel="Analyses",
    epilog=VIEWS["efficiency"].epilog(),
    short_help="Each expansion option's EUR per unit/month added and months to first output.",
)
def efficiency(
    scenario: ScenarioOption = None,
    decide_month: Annotated[
        str | None,
        typer.Option(
            metavar="<YYYY-MM>",
            show_default="start",
            help="Month the options are decided" + MONTH_HELP + ".",
        ),
    ] = None,
    lp: Annotated[
        bool, typer.Option(help="Also the LP value of each option (EUR per EUR).")
    ] = True,
    data: DataOption = None,
    draws: CentralDrawsOption = None,
    seed: CentralSeedOption = 0,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    png: PngOption = None,
    ids: IdsOption = False,
) -> None:
    """Each expansion option's euros per added unit per month and per end item gained, and
    the months to its first output."""
    run_analysis(
        ["efficiency"],
        scenario,
        data,
        draws,
        seed,
        as_json,
        csv,
        png,
        40,
        ids,
        decide_month=decide_month,
        lp=lp,
    )
