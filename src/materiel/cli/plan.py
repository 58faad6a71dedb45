"""``materiel plan``: optimise investments and orders over one or more scenarios."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from materiel.cli.app import BudgetOption, DataOption, MonthsOption, app, err, out, user_errors
from materiel.cli.output import CsvOption, IdsOption, check_csv, print_table, write_csv
from materiel.reporting.columns import VIEWS

if TYPE_CHECKING:
    import pandas as pd

PLAN_VIEWS = ("investments", "plan_shortfall", "capacity_value", "budget")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return records


@app.command(epilog=" ".join(VIEWS[v].epilog() for v in PLAN_VIEWS))
def plan(
    scenario: Annotated[
        str, typer.Argument(help="Bundled scenario name (e.g. imposed-deal) or a YAML file.")
    ],
    budget: BudgetOption = None,
    months: MonthsOption = None,
    scenarios: Annotated[
        str | None,
        typer.Option(
            metavar="<names>",
            help="Other scenarios to plan with, comma-separated (weighted by probability).",
        ),
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="<file.json>",
            show_default="materiel-results/plan-SCENARIO.json",
            help="Plan file to write.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the plan's tables as JSON on stdout.")
    ] = False,
    solver_log: Annotated[
        bool, typer.Option("--solver-log", help="Show the HiGHS solver log on stderr.")
    ] = False,
    target_share: Annotated[
        float | None,
        typer.Option(
            "--target",
            min=0.0,
            max=1.0,
            metavar="<share>",
            help="Least budget to cover this share of the weighted need.",
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(metavar="<YYYY-MM>", help="First month the --target share must hold."),
    ] = None,
    lumpy: Annotated[
        bool,
        typer.Option("--lumpy", help="Whole modules (a MIP), capex paid over the lead time."),
    ] = False,
    data: DataOption = None,
    csv: CsvOption = None,
    xlsx: Annotated[
        Path | None,
        typer.Option(
            "--xlsx",
            metavar="<file.xlsx>",
            help="Also write a formatted Excel workbook (summary, per month).",
        ),
    ] = None,
    ids: IdsOption = False,
) -> None:
    """Optimise investments (shared) and monthly orders (per scenario) to close the gap.

    A two-stage stochastic LP over SCENARIO and --scenarios, weighted by
    their probability. Prints the investments (capex in EUR, first output
    month), the shortfall left (item units), the value of capacity (EUR per
    unit/month) and of one more euro of budget; writes a plan file. Replay it
    under uncertainty with `materiel simulate SCENARIO --plan FILE`.
    """
    from materiel.optimize import PlanError

    with user_errors():
        from materiel.io.atomic import check_writable
        from materiel.io.dataset import load_dataset
        from materiel.model.compiled import compile_model
        from materiel.optimize import plan as optimise
        from materiel.optimize import save_plan
        from materiel.scenario import load_scenario

        target = out_file or Path("materiel-results") / f"plan-{Path(scenario).stem}.json"
        if target.suffix != ".json":
            raise ValueError(f"--out must end in .json, got '{target.name}'")
        check_writable(target)
        check_csv(csv)
        if xlsx is not None and xlsx.suffix.lower() != ".xlsx":
            raise ValueError(f"--xlsx must end in .xlsx, got '{xlsx.name}'")
        names = [scenario] + [s.strip() for s in (scenarios or "").split(",") if s.strip()]
        chosen = [load_scenario(n) for n in dict.fromkeys(names)]
        chosen = list({s.name: s for s in chosen}.values())
        model = compile_model(load_dataset(data))
        if not as_json:
            err.print(f"optimising {', '.join(s.name for s in chosen)} ...")
        inverse = None
        try:
            if target_share is not None or by is not None:
                inverse = _inverse(model, chosen, target_share, by, months, lumpy, solver_log)
                result = inverse.plan
            else:
                result = optimise(
                    model, chosen, months=months, budget=budget, log=solver_log, lumpy=lumpy
                )
        except PlanError as e:
            err.print(f"[bold red]error:[/] {e}", highlight=False)
            raise typer.Exit(1) from None
        save_plan(result, target)
        by_item = result.shortfall_by_item()
        tables = _tables(result, by_item)
        if csv is not None:
            write_csv(tables, csv)
        if xlsx is not None:
            from materiel.reporting.workbook import write_tables

            write_tables(xlsx, tables)
    if as_json:
        payload = {
            "scenarios": [s.name for s in chosen],
            "weights": dict(
                zip(result.scenarios, result.data.weight.to_numpy().tolist(), strict=True)
            ),
            "months": len(result.data.coords["month"]),
            "plan_file": str(target),
            "summary": result.summary,
            "investments": _records(result.investments),
            "shortfall": _records(by_item),
            "shortfall_monthly": _records(result.shortfall),
            "production": _records(result.production),
            "capacity_duals": _records(result.capacity_duals),
            "budget_duals": _records(result.budget_duals),
            "binding": _records(result.binding()),
        }
        if inverse is not None:
            payload["target"] = _target_record(inverse)
        sys.stdout.write(json.dumps(payload, indent=1) + "\n")
        return
    _print(result, by_item, model, ids)
    _print_binding(result.binding() if inverse is None else inverse.binding(), model, ids)
    if inverse is not None:
        _print_target(inverse)
    for path in (csv, xlsx):
        if path is not None:
            out.print(f"Saved [bold]{path}[/]", highlight=False)
    out.print(
        f"Plan saved to [bold]{target}[/]; test it under uncertainty with "
        f"`materiel simulate {chosen[0].name} --plan {target}`",
        highlight=False,
    )


def _tables(result: Any, by_item: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The plan's tables as written by --csv and --xlsx (the --json rows)."""
    import pandas as pd

    summary = pd.DataFrame([{"quantity": k, "value": v} for k, v in result.summary.items()])
    return {
        "summary": summary,
        "investments": result.investments,
        "shortfall": by_item,
        "shortfall_monthly": result.shortfall,
        "production": result.production,
        "capacity_duals": result.capacity_duals,
        "budget_duals": result.budget_duals,
    }


def _print(result: Any, by_item: pd.DataFrame, model: Any, ids: bool) -> None:
    from materiel.reporting.numbers import money

    s = result.summary
    out.print(
        f"Capex {money(s['capex_eur'])}; expected purchases {money(s['expected_purchases_eur'])}; "
        f"expected priority-weighted shortfall {money(s['expected_weighted_shortfall_eur'])} "
        "(value of unmet need at purchase prices)",
        highlight=False,
    )
    inv = result.investments.copy()
    if not inv.empty:
        inv["added"] = inv["added_capacity"]
    print_table(inv, "Investments", "investments", model=model, ids=ids)
    print_table(
        by_item,
        "Shortfall remaining (probability-weighted, whole horizon)",
        "plan_shortfall",
        model=model,
        ids=ids,
    )
    top = result.capacity_duals.query("value_eur_per_unit_month > 0").head(10)
    top = top.rename(columns={"value_eur_per_unit_month": "value_eur_per_unit_month"})
    top = top.assign(value=top["value_eur_per_unit_month"])
    print_table(
        top,
        "Value of capacity (EUR of objective per unit/month, whole horizon; top 10)",
        "capacity_value",
        model=model,
        ids=ids,
    )
    if not result.budget_duals.empty:
        print_table(
            result.budget_duals,
            "Budget (EUR) and the value of one more euro",
            "budget",
            model=model,
            ids=ids,
        )


def _inverse(
    model: Any,
    chosen: list[Any],
    target: float | None,
    by: str | None,
    months: int | None,
    lumpy: bool,
    log: bool,
) -> Any:
    """Solve the inverse question (``--target`` with ``--by``)."""
    from materiel.model.compiled import month_index
    from materiel.optimize.inverse import least_budget

    if target is None or by is None:
        raise ValueError("--target and --by go together (e.g. --target 0.8 --by 2028-01)")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", by):
        raise ValueError(f"--by must be a month YYYY-MM, got '{by}'")
    return least_budget(
        model, chosen, target, month_index(model.start, by), months=months, lumpy=lumpy, log=log
    )


def _target_record(inverse: Any) -> dict[str, Any]:
    return {
        "share": inverse.share,
        "by_month": inverse.by,
        "feasible": inverse.feasible,
        "budget_eur_per_year": inverse.budget_eur,
        "need_eur": inverse.need_eur,
        "covered": inverse.covered,
        "binding": _records(inverse.binding()),
    }


def _print_binding(table: pd.DataFrame, model: Any, ids: bool) -> None:
    if table.empty:
        return
    headers = {
        "item": "item",
        "unmet": "unmet",
        "unit": "unit",
        "binds": "binds",
        "detail": "detail",
    }
    print_table(
        table.head(15),
        "What binds for each item's shortfall",
        headers=headers,
        model=model,
        ids=ids,
    )


def _print_target(inverse: Any) -> None:
    import numpy as np

    from materiel.optimize.results import dates
    from materiel.reporting.numbers import money

    when = dates(inverse.plan.data.model.start, np.array([inverse.by]))[0]
    if inverse.feasible:
        out.print(
            f"[bold]Least budget covering {inverse.share:.0%} of the weighted need from {when}:"
            f"[/] {money(inverse.budget_eur)} per year (need {money(inverse.need_eur)})"
        )
        return
    table = inverse.binding()
    worst = f" Binding: {table['item'].iloc[0]} ({table['binds'].iloc[0]})." if len(table) else ""
    out.print(
        f"[bold red]No budget covers {inverse.share:.0%} of the weighted need from {when}:[/] "
        f"even unlimited money covers at most {inverse.covered:.1%}.{worst} The plan shown "
        "covers that much."
    )
