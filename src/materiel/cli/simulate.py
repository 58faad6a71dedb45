"""``materiel simulate``: Monte Carlo simulation of a scenario."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from materiel.cli.app import (
    DataOption,
    MonthsOption,
    SeedOption,
    app,
    err,
    out,
    progress_bar,
    user_errors,
)
from materiel.cli.output import CsvOption, IdsOption, check_csv, print_table, write_csv
from materiel.reporting.columns import VIEWS

XlsxOption = Annotated[
    Path | None,
    typer.Option(
        "--xlsx",
        metavar="<file.xlsx>",
        help="Also write a formatted Excel workbook (summary, per month).",
    ),
]

CONFIDENCE_INPUTS = ("wanted", "shortfall", "production", "served")
"""The variables whose means over draws the data-confidence share reads
(:func:`materiel.analysis.confidence.assumption_share`)."""

LARGE_RUN = 50_000
"""Draws from which a run may go to Dask (on more than 2 cores): smaller runs finish before
a local cluster has started."""


def core_to_spare(cores: int) -> bool:
    """True if a second core looks idle, so writing results from a background thread hides
    the write: 2+ cores and a 1-minute load average (this process included) below
    ``cores - 0.5``. On a busy machine the thread would only compete for the same core."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        return cores > 1
    return cores > 1 and load < cores - 0.5


@app.command(epilog=VIEWS["simulate"].epilog())
def simulate(
    scenario: Annotated[
        str, typer.Argument(help="Bundled scenario name (e.g. imposed-deal) or a YAML file.")
    ],
    draws: Annotated[int, typer.Option(min=1, metavar="<n>", help="Monte Carlo draws.")] = 1000,
    months: MonthsOption = None,
    seed: SeedOption = 0,
    actor: Annotated[
        str, typer.Option(metavar="<actor>", help="Actor whose shortfall is summarised.")
    ] = "UKR",
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="<file>",
            show_default="materiel-results/SCENARIO(-PLAN).nc",
            help="Results file.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON summary on stdout instead of tables.")
    ] = False,
    plan_file: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            metavar="<file.json>",
            help="Replay a `materiel plan` file's builds; production follows need.",
        ),
    ] = None,
    with_orders: Annotated[
        bool,
        typer.Option(
            "--with-orders",
            help="With --plan: impose the plan's orders as production floors.",
        ),
    ] = False,
    memory: Annotated[
        str,
        typer.Option(
            "--memory",
            metavar="<size>",
            help="Memory per chunk of draws (e.g. 1GiB).",
        ),
    ] = "256MiB",
    scheduler: Annotated[
        str | None,
        typer.Option(
            metavar="<address>",
            help="Dask scheduler (tcp://host:port) to run the draws on.",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, metavar="<n>", help="Run the draws on this many local Dask workers."),
    ] = None,
    in_process: Annotated[
        bool,
        typer.Option(
            "--in-process",
            help=f"No Dask (the default on <= 2 cores or < {LARGE_RUN:,} draws).",
        ),
    ] = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Save every variable, not only those the summary reads.",
        ),
    ] = False,
    data: DataOption = None,
    csv: CsvOption = None,
    xlsx: XlsxOption = None,
    ids: IdsOption = False,
) -> None:
    """Monte Carlo simulation of a scenario: shortfall by item and month, with probabilities.

    Prints, per item the actor uses: the need and the shortfall over the
    horizon (item units: rounds, missiles, ...), the probability of a short
    month and the months sustained. Saves what it summarises per draw and
    month (wanted, fired, shortfall, weighted shortfall, cost, fire ratio;
    --full: every variable) to the results file (.nc or .parquet). With
    --plan FILE it replays the plan's builds as a policy (production follows
    the simulator's demand pull) and writes materiel-results/SCENARIO-FILE.nc,
    never the baseline's.
    """
    with user_errors():
        from materiel.io.atomic import check_writable
        from materiel.io.dataset import load_dataset
        from materiel.io.results import SUFFIXES
        from materiel.model.compiled import compile_model
        from materiel.scenario import load_scenario
        from materiel.simulation import SUMMARY_VARIABLES, simulate_to_file
        from materiel.simulation.limits import parse_size
        from materiel.simulation.summary import weighted_shortfall
        from materiel.simulation.totals import DrawTotals
        from materiel.sweep.cluster import choose_backend, default_workers

        default = f"{Path(scenario).stem}.nc"
        if plan_file is not None:  # never overwrite the baseline run's file
            default = f"{Path(scenario).stem}-{Path(plan_file).stem}.nc"
        target = out_file or Path("materiel-results") / default
        if target.suffix not in SUFFIXES:
            raise ValueError(f"--out must end in {' or '.join(SUFFIXES)}, got '{target.name}'")
        check_writable(target)
        budget = parse_size(memory)
        check_csv(csv)
        if xlsx is not None and xlsx.suffix.lower() != ".xlsx":
            raise ValueError(f"--xlsx must end in .xlsx, got '{xlsx.name}'")
        scen = load_scenario(scenario)
        model = compile_model(load_dataset(data))
        users = sorted(set(model.actors[model.consumption_actor]))
        if actor not in users:
            raise ValueError(f"--actor '{actor}' uses nothing; choose one of " + ", ".join(users))
        horizon = months or scen.months
        plan = None
        if plan_file is not None:
            from materiel.optimize.io import replay_plan

            plan = replay_plan(plan_file, model, scen.name, horizon, with_orders)
        totals = DrawTotals(actor, means=CONFIDENCE_INPUTS)
        variables = None if full else SUMMARY_VARIABLES
        backend = choose_backend(scheduler, in_process, workers, small=draws < LARGE_RUN)
        if backend.dask or draws >= LARGE_RUN:
            err.print(backend.describe(f"simulating {draws:,} draws"), highlight=False)
        with (
            progress_bar(draws * horizon, f"simulating {scen.name}", not as_json) as advance,
            backend.client() as client,
        ):
            if client is None:
                simulate_to_file(
                    model, scen, target, draws=draws, seed=seed, months=months, plan=plan,
                    memory=budget, progress=advance, on_raw=totals.add,
                    background=core_to_spare(default_workers()), variables=variables,
                    outputs=CONFIDENCE_INPUTS,
                )  # fmt: skip
            else:
                from materiel.sweep.montecarlo import stream_distributed

                stream_distributed(
                    model, scen, target, draws, seed, client, months=months, plan=plan,
                    progress=lambda n: advance(n * horizon), on_chunk=totals,
                    variables=variables,
                )  # fmt: skip
        table = totals.summary()
        ratio = totals.fire_ratio()
        weighted = weighted_shortfall(totals.per_month())
        from materiel.analysis.confidence import assumption_share

        confidence = assumption_share(model, totals.draw_means(), actor)
        tables = {"summary": table.reset_index(), "fire_ratio": ratio.reset_index()}
        if csv is not None:
            write_csv(tables, csv)
        if xlsx is not None:
            from materiel.io.results import load_result
            from materiel.reporting.numbers import month_labels
            from materiel.reporting.workbook import write_tables
            from materiel.simulation.summary import by_month

            monthly = by_month(load_result(target), actor)
            if "date" not in monthly:
                monthly["date"] = month_labels(model.dataset.meta.start, monthly["month"])
            first = ["month", "date", "item"]
            monthly = monthly[first + [c for c in monthly.columns if c not in first]]
            monthly = monthly.sort_values(["month", "item"], ignore_index=True)
            write_tables(xlsx, {**tables, "by_month": monthly})
    if as_json:
        payload: dict[str, Any] = {
            "scenario": scen.name,
            "draws": draws,
            "months": horizon,
            "seed": seed,
            "actor": actor,
            "results_file": str(target),
            "weighted_shortfall": weighted,
            "assumption_share": confidence,
            "summary": json.loads(table.reset_index().to_json(orient="records")),
            "fire_ratio": json.loads(ratio.reset_index().to_json(orient="records")),
            "metadata": {k: v for k, v in totals.attrs.items() if k != "scenario_json"},
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    from materiel.reporting import numbers

    print_table(
        table.reset_index(),
        f"{scen.name}: {actor} shortfall over {horizon} months ({draws:,} draws)",
        "simulate",
        model=model,
        ids=ids,
    )
    out.print(
        f"Priority-weighted shortfall of Ukraine's side over {horizon} months (EUR-equivalent, "
        f"value of unmet need): mean {numbers.money(weighted['mean'])}, p10-p90 "
        f"{numbers.money(weighted['p10'])} to {numbers.money(weighted['p90'])}",
        highlight=False,
    )
    if not ratio.empty:
        last = ratio.iloc[-1]
        out.print(
            f"Fire ratio Ukraine:Russia in {last['date']}: median {numbers.ratio(last['p50'])} "
            f"(p10 {numbers.ratio(last['p10'])}, p90 {numbers.ratio(last['p90'])})",
            highlight=False,
        )
    overall = confidence["overall"]
    assumed = numbers.share(overall if isinstance(overall, float | int) else None, 0)
    out.print(
        f"Data confidence: {assumed} of the figures driving {actor}'s result are assumptions "
        "(weighted by contribution; see docs/validation.md)",
        highlight=False,
    )
    for path in (csv, xlsx):
        if path is not None:
            out.print(f"Saved [bold]{path}[/]", highlight=False)
    out.print(f"Results saved to [bold]{target}[/]", highlight=False)
