"""``materiel plan``: optimise investments and orders over one or more scenarios."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from materiel.cli.output import CsvOption, IdsOption, check_csv, print_table, write_csv
from materiel.cli.plan_evaluation import (
    evaluate_plan,
    evaluation_by_item,
    fmt,
    plan_verdict,
    print_evaluation,
    records,
)
from materiel.reporting.columns import VIEWS

if TYPE_CHECKING:
    import pandas as pd

HIDDEN_SUMMARY = ("objective", "expected_penalty_eur")
"""Summary figures in the LP's penalty units: never shown to users."""
DEFAULT_DRAWS = 5
"""Most default --draws per scenario, = :data:`materiel.optimize.DRAWS` (kept here so --help
stays fast; see docs/methodology-optimiser.md, "Sample average approximation")."""
DEFAULT_ROWS = 12
"""Scenario rows (draws x scenarios) the default --draws aims at with several scenarios: 4
futures x 3 draws solve in about 20 s on 2 cores (docs/methodology-optimiser.md)."""
PLAN_VIEWS = ("investments", "plan_shortfall", "capacity_value", "budget")


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
    draws: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="<n>",
            show_default=f"{DEFAULT_DRAWS}, ~{DEFAULT_ROWS} in all",
            help="Draws per scenario to plan over.",
        ),
    ] = None,
    central: Annotated[
        bool,
        typer.Option("--central", help="Plan on central values only (no draws)."),
    ] = False,
    whole: Annotated[
        bool,
        typer.Option(
            "--whole",
            help="Solve the whole LP at once, not by scenario decomposition.",
        ),
    ] = False,
    seed: SeedOption = 0,
    eval_draws: Annotated[
        int,
        typer.Option(
            min=0,
            metavar="<n>",
            help="Fresh draws to test baseline and plan on (0: skip).",
        ),
    ] = 500,
    check_duals: Annotated[
        int,
        typer.Option(
            min=0,
            metavar="<n>",
            help="Top facilities whose capacity value is measured.",
        ),
    ] = 5,
    evpi_draws: Annotated[
        int,
        typer.Option(
            min=0,
            metavar="<n>",
            help="Draws for the perfect-information estimate.",
        ),
    ] = 2,
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
    """Optimise investments (shared) over sampled futures, then prove the plan out of sample.

    A two-stage stochastic LP over SCENARIO and --scenarios (weighted by
    probability) and --draws parameter draws of each, drawn as the simulator
    draws them: builds are decided once, production and deliveries react
    to each draw. Prints the investments (capex in EUR, first output month),
    the value of capacity (EUR per unit/month) and of budget, then the
    simulator's verdict on --eval-draws fresh draws: expected weighted
    shortfall (EUR-equivalent, 90 % interval) of the baseline and the plan,
    per item and in total, the cost, the value of the stochastic solution
    and of perfect information. Writes a plan file; replay it with
    `materiel simulate SCENARIO --plan FILE`.

    --draws defaults to 5 per scenario, fewer with several scenarios (about
    12 scenario rows in all, at least 2 each): one scenario plans in about
    20 s, the four futures in under a minute on 2 cores. From 16 scenario
    rows on the LP is solved by scenario decomposition (the same optimum
    within 1e-6; 50 draws x 4 futures in about a minute); --whole solves it
    in one HiGHS run instead. Progress with the seconds elapsed goes to
    stderr.
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
        n_draws = 0 if central else (draws or default_draws(len(chosen)))
        say = _progress(quiet=as_json)
        say(f"optimising {', '.join(s.name for s in chosen)} ...")
        inverse = None
        try:
            if target_share is not None or by is not None:
                inverse = _inverse(model, chosen, target_share, by, months, lumpy, solver_log)
                result = inverse.plan
            else:
                result = optimise(
                    model,
                    chosen,
                    months=months,
                    budget=budget,
                    log=solver_log,
                    draws=n_draws,
                    seed=seed,
                    lumpy=lumpy,
                    progress=say,
                    decompose=False if whole else None,
                )
            save_plan(result, target)
            from materiel.optimize.results import budget_value, dual_check

            if check_duals:
                say(f"measuring the value of capacity at the top {check_duals} facilities ...")
            capacity_value = dual_check(result, check_duals)
            say("measuring the value of budget ...")
            budget_info = budget_value(result)
            evaluation = evaluate_plan(
                model, chosen, result, months, budget, seed, eval_draws, evpi_draws, say
            )
        except PlanError as e:
            err.print(f"[bold red]error:[/] {e}", highlight=False)
            raise typer.Exit(1) from None
        by_item = result.shortfall_by_item()
        verdict = plan_verdict(result, evaluation)
        say("replaying the plan for the data-confidence share ...")
        assumptions = _assumption_share(model, chosen[0], result, months)
        say("done")
        tables = _tables(result, by_item, capacity_value, evaluation)
        if csv is not None:
            write_csv(tables, csv)
        if xlsx is not None:
            from materiel.reporting.workbook import write_tables

            write_tables(xlsx, tables)
    if as_json:
        import pandas as pd

        weights = pd.Series(result.data.weight.to_numpy(), index=result.data.future)
        payload = {
            "scenarios": [s.name for s in chosen],
            "weights": {k: float(v) for k, v in weights.groupby(level=0, sort=False).sum().items()},
            "draws": n_draws,
            "seed": seed,
            "status": str(result.lp.status),
            "termination_condition": str(result.lp.termination_condition),
            "months": len(result.data.coords["month"]),
            "plan_file": str(target),
            "evaluation": None if evaluation is None else evaluation.as_dict(),
            "evaluation_draws": 0 if evaluation is None else evaluation.draws,
            "evaluation_seed": None if evaluation is None else evaluation.seed,
            "evaluation_by_item": None if evaluation is None else evaluation_by_item(evaluation),
            "verdict": verdict,
            "assumption_share": assumptions,
            "summary": {k: v for k, v in result.summary.items() if k not in HIDDEN_SUMMARY},
            "investments": records(result.investments),
            "shortfall": records(by_item),
            "shortfall_monthly": records(result.shortfall),
            "production": records(result.production),
            "capacity_duals": records(capacity_value),
            "capacity_ranking": records(
                result.capacity_duals.query("months_binding > 0")[["facility", "item", "unit"]]
            ),
            "budget_duals": records(result.budget_duals.drop(columns="value_eur_per_eur")),
            "budget_value": budget_info,
            "binding": records(result.binding()),
        }
        if inverse is not None:
            payload["target"] = _target_record(inverse)
        sys.stdout.write(json.dumps(payload, indent=1) + "\n")
        return
    _print(result, by_item, model, ids, capacity_value, budget_info)
    _print_binding(result.binding() if inverse is None else inverse.binding(), model, ids)
    if inverse is not None:
        _print_target(inverse)
    if evaluation is not None:
        print_evaluation(evaluation)
    if verdict:
        out.print(verdict, highlight=False)
    out.print(
        f"Data confidence: {assumptions:.0%} of the figures driving the plan's result are "
        "stated assumptions (not reported, claimed or estimated figures).",
        highlight=False,
    )
    for path in (csv, xlsx):
        if path is not None:
            out.print(f"Saved [bold]{path}[/]", highlight=False)
    out.print(
        f"Plan saved to [bold]{target}[/]; test it under uncertainty with "
        f"`materiel simulate {chosen[0].name} --plan {target}`",
        highlight=False,
    )


def default_draws(scenarios: int) -> int:
    """Default --draws: :data:`DEFAULT_DRAWS` per scenario for one scenario, fewer for several
    so the LP keeps about :data:`DEFAULT_ROWS` scenario rows (at least 2 draws each)."""
    return max(2, min(DEFAULT_DRAWS, -(-DEFAULT_ROWS // max(scenarios, 1))))


def _progress(quiet: bool) -> Callable[[str], None]:
    """Progress lines on stderr with the seconds elapsed since the command started (none
    with ``quiet``: --json keeps stderr clean for scripts)."""
    start = time.perf_counter()

    def say(message: str) -> None:
        if not quiet:
            err.print(f"[{time.perf_counter() - start:5.0f} s] {message}", highlight=False)

    return say


def _tables(
    result: Any, by_item: pd.DataFrame, capacity_value: pd.DataFrame, evaluation: Any
) -> dict[str, pd.DataFrame]:
    """The plan's tables as written by --csv and --xlsx (the --json rows)."""
    import pandas as pd

    summary = pd.DataFrame(
        [{"quantity": k, "value": v} for k, v in result.summary.items() if k not in HIDDEN_SUMMARY]
    )
    return {
        "summary": summary,
        "investments": result.investments,
        "shortfall": by_item,
        "shortfall_monthly": result.shortfall,
        "production": result.production,
        "capacity_duals": capacity_value,
        "budget_duals": result.budget_duals.drop(columns="value_eur_per_eur"),
    } | ({} if evaluation is None else {"evaluation": pd.DataFrame(evaluation_by_item(evaluation))})


def _print(
    result: Any,
    by_item: pd.DataFrame,
    model: Any,
    ids: bool,
    capacity_value: pd.DataFrame,
    budget_info: Any,
) -> None:
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

    def span(r: Any) -> str:
        if r.unique or abs(r.value_high - r.value_low) <= 1e-6 * abs(r.value_high):
            return "unique"
        return f"{money(r.value_low)} - {money(r.value_high)}"

    value = capacity_value.assign(
        value=capacity_value["value_eur_per_unit_month"],
        range=[span(r) for r in capacity_value.itertuples()],
        cost=capacity_value["cost_eur_per_unit_month"],
    )
    print_table(
        value,
        "Value of capacity: weighted shortfall avoided per extra unit/month (EUR-equivalent, "
        "whole horizon; finite differences)",
        "capacity_value",
        model=model,
        ids=ids,
    )
    if not result.budget_duals.empty:
        future = dict(zip(result.scenarios, result.data.future, strict=True))
        frame = result.budget_duals.assign(scenario=result.budget_duals["scenario"].map(future))
        spent = frame.groupby(["scenario", "year"], sort=False, as_index=False)[
            ["budget_eur", "spent_eur"]
        ].mean()
        print_table(spent, "Budget and expected spending", "budget", model=model, ids=ids)
        spent_all = int((frame["spent_eur"] >= frame["budget_eur"] * (1 - 1e-6)).sum())
        state = "binds" if budget_info["binding"] else "does not bind (zero dual)"
        out.print(
            f"The budget {state}; it is spent in full in {spent_all} of {len(frame)} "
            "scenario-years; one more EUR m per year avoids EUR "
            f"{fmt(float(budget_info['shortfall_avoided_eur_per_eur_m']))} of weighted "
            "shortfall (EUR-equivalent, finite difference)"
        )


def _rows(frame: pd.DataFrame) -> list[Any]:
    """Rows as namedtuples typed Any (rich wants str cells; we format each one)."""
    return list(frame.itertuples())


def _assumption_share(model: Any, scenario: Any, result: Any, months: int | None) -> float:
    """Share of the driving figures of the plan's result (first scenario, central values,
    builds replayed) whose source is an assumption (see materiel.analysis.confidence)."""
    from materiel.analysis.confidence import assumption_share
    from materiel.simulation import simulate

    replay = simulate(
        model, scenario, draws=1, months=months, plan=result.builds(), uncertain=False
    )
    return float(assumption_share(model, replay)["overall"])  # type: ignore[arg-type]


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
        "binding": records(inverse.binding()),
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
