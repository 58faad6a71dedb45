"""``materiel plan``: optimise investments and orders over one or more scenarios."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from materiel.cli.app import BudgetOption, DataOption, MonthsOption, app, err, out, user_errors


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:.2f}"


def _rows(frame: pd.DataFrame) -> list[Any]:
    """Rows as namedtuples typed Any (rich wants str cells; we format each one)."""
    return list(frame.itertuples())


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return records


@app.command()
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
        from materiel.io.dataset import load_dataset
        from materiel.model.compiled import compile_model
        from materiel.optimize import plan as optimise
        from materiel.optimize import save_plan
        from materiel.scenario import load_scenario

        target = out_file or Path("materiel-results") / f"plan-{Path(scenario).stem}.json"
        if target.suffix != ".json":
            raise ValueError(f"--out must end in .json, got '{target.name}'")
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
    _print(result, by_item)
    _print_binding(result.binding() if inverse is None else inverse.binding())
    if inverse is not None:
        _print_target(inverse)
    out.print(
        f"Plan saved to [bold]{target}[/]; test it under uncertainty with "
        f"`materiel simulate {chosen[0].name} --plan {target}`"
    )


def _print(result: Any, by_item: pd.DataFrame) -> None:
    s = result.summary
    out.print(
        f"Capex EUR {_fmt(s['capex_eur'])}; expected purchases EUR "
        f"{_fmt(s['expected_purchases_eur'])}; expected priority-weighted shortfall "
        f"EUR {_fmt(s['expected_weighted_shortfall_eur'])} (value of unmet need at purchase "
        "prices)"
    )
    inv = Table(title="Investments")
    for col in (
        "expansion",
        "facility",
        "decide",
        "scale",
        "capex EUR",
        "first output",
        "adds /month",
    ):
        inv.add_column(col, justify="left" if col in ("expansion", "facility") else "right")
    for r in _rows(result.investments):
        inv.add_row(
            r.expansion,
            r.facility,
            r.date,
            f"{r.scale:.0%}" if r.scale <= 1 else f"{r.scale:.2f} modules",
            _fmt(r.capex_eur),
            r.first_output_date,
            f"{_fmt(r.added_capacity)} {r.unit}",
        )
    out.print(inv)
    short = Table(title="Shortfall remaining (probability-weighted, whole horizon)")
    for col in ("actor", "item", "unit", "wanted", "unmet", "unmet %"):
        short.add_column(col, justify="left" if col in ("actor", "item", "unit") else "right")
    for r in _rows(by_item):
        short.add_row(
            r.actor, r.item, r.unit, _fmt(r.wanted), _fmt(r.unmet), f"{r.unmet_share:.0%}"
        )
    out.print(short)
    duals = Table(title="Value of capacity (EUR of objective per unit/month, whole horizon)")
    for col in ("facility", "item", "value", "months binding"):
        duals.add_column(col, justify="left" if col in ("facility", "item") else "right")
    top = result.capacity_duals.query("value_eur_per_unit_month > 0").head(10)
    for r in _rows(top):
        duals.add_row(
            r.facility,
            f"{r.item} ({r.unit})",
            _fmt(r.value_eur_per_unit_month),
            str(r.months_binding),
        )
    out.print(duals)
    if not result.budget_duals.empty:
        money = Table(title="Budget (EUR) and the value of one more euro")
        for col in ("scenario", "year", "budget", "spent", "value per EUR"):
            money.add_column(col, justify="left" if col == "scenario" else "right")
        for r in _rows(result.budget_duals):
            money.add_row(
                r.scenario,
                str(r.year),
                _fmt(r.budget_eur),
                _fmt(r.spent_eur),
                f"{r.value_eur_per_eur:.2f}",
            )
        out.print(money)


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


def _print_binding(table: pd.DataFrame) -> None:
    if table.empty:
        return
    binding = Table(title="What binds for each item's shortfall")
    for col in ("item", "unmet", "binds", "detail"):
        binding.add_column(col, justify="right" if col == "unmet" else "left")
    for r in _rows(table.head(15)):
        binding.add_row(r.item, f"{_fmt(r.unmet)} {r.unit}", r.binds, r.detail)
    out.print(binding)


def _print_target(inverse: Any) -> None:
    from materiel.optimize.results import dates

    when = dates(inverse.plan.data.model.start, np.array([inverse.by]))[0]
    if inverse.feasible:
        out.print(
            f"[bold]Least budget covering {inverse.share:.0%} of the weighted need from {when}:"
            f"[/] EUR {_fmt(inverse.budget_eur)} per year (need EUR {_fmt(inverse.need_eur)})"
        )
        return
    table = inverse.binding()
    worst = f" Binding: {table['item'].iloc[0]} ({table['binds'].iloc[0]})." if len(table) else ""
    out.print(
        f"[bold red]No budget covers {inverse.share:.0%} of the weighted need from {when}:[/] "
        f"even unlimited money covers at most {inverse.covered:.1%}.{worst} The plan shown "
        "covers that much."
    )
