"""``materiel sweep`` and ``materiel sensitivity``: many cases on Dask, and input rankings."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer

from materiel.cli.app import DataOption, app, err, out, progress_bar, user_errors
from materiel.cli.output import CsvOption, check_csv
from materiel.reporting.columns import VIEWS


@app.command(epilog=VIEWS["sweep"].epilog())
def sweep(
    spec: Annotated[
        str, typer.Argument(help="Sweep spec YAML path, or a bundled spec (e.g. us-stop-month).")
    ],
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (tcp://HOST:PORT).", show_default="a local cluster"
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Local cluster worker processes.", show_default="one per core"),
    ] = None,
    in_process: Annotated[
        bool,
        typer.Option(
            "--in-process",
            help="Run the cases in this process, without Dask (the default on <= 2 cores).",
        ),
    ] = False,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Gathered result (.nc or .parquet). "
            "Finished cases are kept beside it in OUT.cases/ to resume an interrupted sweep.",
            show_default="materiel-results/SPEC.nc",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON summary on stdout.")
    ] = False,
    data: DataOption = None,
    csv: CsvOption = None,
) -> None:
    """Run a grid or sample of scenario variants on Dask; resume where a sweep stopped."""
    with user_errors():
        check_csv(csv)
        from materiel.io.atomic import check_writable
        from materiel.sweep.cluster import choose_backend
        from materiel.sweep.run import SUFFIXES, pending, prepare, run_sweep
        from materiel.sweep.spec import load_spec

        sw = load_spec(spec)
        if data is not None:
            sw = sw.model_copy(update={"dataset": str(data)})
        target = out_file or Path("materiel-results") / f"{sw.name}.nc"
        if target.suffix not in SUFFIXES:
            raise ValueError(f"--out must end in {' or '.join(SUFFIXES)}, got '{target.name}'")
        check_writable(target)
        backend = choose_backend(scheduler, in_process, workers)
        ready = prepare(sw)
        todo = pending(ready, target)
        if todo:
            err.print(backend.describe(f"running {len(todo)} case(s)"), highlight=False)
        with (
            progress_bar(len(ready.cases), f"sweep {sw.name}", not as_json) as advance,
            backend.client() if todo else nullcontext() as client,
        ):
            outcome = run_sweep(ready, client, target, progress=lambda _c, _s: advance(1))
    rows = _rows(outcome.result)
    if csv is not None:
        import pandas as pd

        with user_errors():
            csv.parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(rows).to_csv(csv, index=False)
    failed = [
        {"case": c.id, "parameters": c.values, "error": outcome.failed[c.id]}
        for c in outcome.cases
        if c.id in outcome.failed
    ]
    if as_json:
        payload = {
            "sweep": sw.name,
            "results_file": str(target),
            "cases": len(outcome.cases),
            "computed": len(outcome.computed),
            "reused": len(outcome.reused),
            "failed": failed,
            "results": rows,
        }
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
    else:
        _print_table(rows, sw.name, [p.label for p in sw.parameters])
        out.print(
            f"{len(outcome.cases)} cases: {len(outcome.computed)} computed, "
            f"{len(outcome.reused)} reused from {target.with_suffix('.cases')}/. "
            f"Results saved to [bold]{target}[/]"
        )
    if failed:
        err.print(f"[bold red]error:[/] {len(failed)} case(s) failed after retries:")
        for f in failed:
            err.print(f"  - {f['case']} {f['parameters']}: {f['error']}", markup=False)
        err.print("Run the same command again to retry only these cases.")
        raise typer.Exit(1)


HEADLINES = (
    # (record key, result variable, reduction over items, table column, format)
    ("unmet_share_mean", "shortfall_share", "mean", "unmet (mean over items)", "pct"),
    ("unmet_share_mean", "unmet_share", "mean", "unmet (mean over items)", "pct"),
    ("p_short_max", "p_short", "max", "P(short) worst item", "pct"),
    ("cost_mean_eur", "cost_mean", "mean", "cost", "bn"),
    (
        "weighted_shortfall_eur",
        "expected_weighted_shortfall_eur",
        "mean",
        "weighted shortfall",
        "bn",
    ),
    ("capex_eur", "capex_eur", "mean", "capex", "bn"),
    ("fire_ratio_p50", "fire_ratio_p50", "mean", "fire ratio p50", "num"),
)


def _rows(result: Any) -> list[dict[str, Any]]:
    """One record per case: swept values, status and headline figures across items."""
    rows = []
    labels = [x for x in str(result.attrs.get("parameters", "")).split(", ") if x]
    for i in range(result.sizes["case"]):
        case = result.isel(case=i)
        row: dict[str, Any] = {"case": str(case["case"].item()), "status": case["status"].item()}
        row.update({k: case[k].item() for k in labels})
        for key, var, how, _col, _fmt in HEADLINES:
            if var in case:
                value = float(getattr(case[var], how)(skipna=True))
                row[key] = None if value != value else value
        rows.append(row)
    return rows


def _show(value: float | None, fmt: str) -> str:
    from materiel.reporting import numbers

    if value is None:
        return "-"
    if fmt == "pct":
        return numbers.share(value)
    if fmt == "bn":
        return numbers.money(value)
    return numbers.ratio(value)


def _print_table(rows: list[dict[str, Any]], name: str, labels: list[str]) -> None:
    from materiel.reporting.tables import from_cells

    present = {key for row in rows for key in row}
    shown = list({key: (col, fmt) for key, _v, _h, col, fmt in HEADLINES if key in present}.items())
    headers = [*labels, *(c.replace(" bn", "") for _k, (c, _f) in shown), "status"]
    cells = [
        [str(row[k]) for k in labels]
        + [_show(row.get(key), fmt) for key, (_c, fmt) in shown]
        + [str(row["status"])]
        for row in rows[:60]
    ]
    numeric = [True] * (len(headers) - 1) + [False]
    out.print(from_cells(f"sweep {name}: {len(rows)} cases", headers, cells, numeric))
    if len(rows) > 60:
        out.print(f"({len(rows) - 60} more cases in the results file)")


@app.command(epilog=VIEWS["sensitivity"].epilog())
def sensitivity(
    scenario: Annotated[
        str, typer.Argument(help="Scenario name (e.g. imposed-deal) or YAML path.")
    ],
    draws: Annotated[
        int,
        typer.Option(
            min=2,
            help="Morris trajectories, or Sobol base samples (a power of 2); the model runs "
            "draws x (factors + 1) or x (factors + 2) times.",
        ),
    ] = 32,
    method: Annotated[str, typer.Option(help="morris (screening) or sobol (variance).")] = "morris",
    item: Annotated[
        str | None,
        typer.Option(
            help="Rank by this item's shortfall.", show_default="mean unmet share, all items"
        ),
    ] = None,
    actor: Annotated[str, typer.Option(help="Actor whose shortfall is ranked.")] = "UKR",
    months: Annotated[
        int | None,
        typer.Option(min=1, max=240, help="Horizon in months.", show_default="scenario's"),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Random seed of the design.")] = 0,
    group: Annotated[
        str,
        typer.Option(help="item: one factor per figure family and item; family: per family."),
    ] = "item",
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Bar plot PNG.", show_default="materiel-results/SCENARIO-sensitivity.png"
        ),
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="Rows to print and plot.")] = 15,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the ranking as JSON on stdout.")
    ] = False,
    data: DataOption = None,
    csv: CsvOption = None,
) -> None:
    """Rank the uncertain inputs by their effect on the shortfall (Morris or Sobol, SALib)."""
    with user_errors():
        check_csv(csv)
        from materiel.io.dataset import load_dataset
        from materiel.model.compiled import compile_model
        from materiel.scenario import load_scenario
        from materiel.sweep.sensitivity import (
            METHODS,
            input_groups,
            plot_ranking,
            sensitivity_analysis,
        )

        if method not in METHODS:
            raise ValueError(f"--method must be one of {', '.join(METHODS)}, got '{method}'")
        scen = load_scenario(scenario)
        model = compile_model(load_dataset(data))
        target = plot or Path("materiel-results") / f"{Path(scenario).stem}-sensitivity.png"
        if target.suffix.lower() != ".png":
            raise ValueError(f"--plot must end in .png, got '{target.name}'")
        runs = draws * (len(input_groups(model, by=group)) + (1 if method == "morris" else 2))
        label = f"sensitivity of {scen.name} ({method})"
        with progress_bar(runs, label, not as_json) as advance:
            ranking = sensitivity_analysis(
                model, scen, method=method, draws=draws, seed=seed, item=item,
                actor=actor, months=months, progress=advance, by=group,
            )  # fmt: skip
        plot_ranking(ranking, target, top=top)
        if csv is not None:
            csv.parent.mkdir(parents=True, exist_ok=True)
            ranking.to_csv(csv, index=False)
    if as_json:
        payload = {
            "scenario": scen.name,
            "method": method,
            "metric": ranking.attrs.get("metric"),
            "evaluations": ranking.attrs.get("evaluations"),
            "plot": str(target),
            "ranking": json.loads(ranking.to_json(orient="records")),
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    from materiel.reporting.numbers import compact
    from materiel.reporting.tables import from_cells

    key = ranking.attrs["index"]
    extra = "sigma" if key == "mu_star" else "S1"
    headers = ("rank", "input", "elements", key, "+/- 95% conf", extra)
    cells = [
        [
            str(row["rank"]),
            str(row["input"]),
            str(row["elements"]),
            compact(row[key]),
            compact(row[key + "_conf"]),
            compact(row[extra]),
        ]
        for _, row in ranking.head(top).iterrows()
    ]
    title = f"{scen.name}: what drives {ranking.attrs['metric']} ({method})"
    numeric = (True, False, True, True, True, True)
    out.print(from_cells(title, headers, cells, numeric))
    out.print(
        f"{ranking.attrs['evaluations']:,} model runs over {len(ranking)} input groups. "
        f"Plot saved to [bold]{target}[/]"
    )
