"""What ``materiel plan`` reports of its out-of-sample evaluation: baseline against plan on
fresh draws, per item and in total, with the value of the stochastic solution and of
perfect information (EUR m); and the JSON record helpers the command shares."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from materiel.cli.app import out

if TYPE_CHECKING:
    import pandas as pd


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return records


def fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:.2f}"


def evaluate_plan(
    model: Any,
    chosen: list[Any],
    result: Any,
    months: int | None,
    budget: float | None,
    seed: int,
    eval_draws: int,
    evpi_draws: int,
    say: Any,
) -> Any:
    """The out-of-sample evaluation (None with ``eval_draws`` = 0)."""
    if eval_draws == 0:
        return None
    from materiel.optimize import plan as optimise
    from materiel.optimize.evaluate import EVAL_OFFSET, evaluate, perfect_information

    central = None
    if result.data.draws > 0:
        say("solving the central-value plan (value of the stochastic solution) ...")
        central = optimise(model, chosen, months=months, budget=budget).builds()
    eval_seed = seed + EVAL_OFFSET
    say(f"evaluating baseline and plan on {eval_draws} fresh draws (seed {eval_seed}) ...")
    ev = evaluate(model, chosen, result.builds(), eval_draws, eval_seed, months, central)
    if central is None:
        ev.vss = {"mean": 0.0, "ci90_low": 0.0, "ci90_high": 0.0, "note": "central-value plan"}
    if evpi_draws > 0:
        say(f"estimating the value of perfect information on {evpi_draws} draws ...")
        build = result.lp.solution["build"].fillna(0.0).to_numpy()
        ev.evpi = perfect_information(model, chosen, build, evpi_draws, eval_seed, months, budget)
    return ev


def plan_verdict(result: Any, evaluation: Any) -> str:
    if evaluation is None:
        return ""
    inv = result.investments
    months = len(result.data.coords["month"])
    arriving = int((inv["first_output_month"] < months).sum()) if len(inv) else 0
    return str(evaluation.verdict(len(inv), arriving))


def evaluation_by_item(evaluation: Any) -> list[dict[str, Any]]:
    base = evaluation.baseline.by_item.set_index(["item", "unit"])
    ours = evaluation.plan.by_item.set_index(["item", "unit"])
    table = base.merge(
        ours, how="outer", left_index=True, right_index=True, suffixes=("_baseline", "_plan")
    )
    table = table.reset_index()
    return records(table)


def _m(x: float) -> str:
    """EUR as EUR m."""
    return f"{x / 1e6:,.0f}"


def print_evaluation(ev: Any) -> None:
    import pandas as pd

    from materiel.cli.output import print_table

    rows = [
        {
            "item": r["item"],
            "unit": r["unit"],
            "baseline": fmt(r["shortfall_baseline"]),
            "plan": fmt(r["shortfall_plan"]),
            "base_eur": f"{_m(r['weighted_shortfall_baseline'])} [{_m(r['ci90_low_baseline'])}"
            f"-{_m(r['ci90_high_baseline'])}]",
            "plan_eur": f"{_m(r['weighted_shortfall_plan'])} [{_m(r['ci90_low_plan'])}-"
            f"{_m(r['ci90_high_plan'])}]",
        }
        for r in evaluation_by_item(ev)
    ]
    d = ev.as_dict()
    b, p = d["baseline"]["weighted_shortfall"], d["plan"]["weighted_shortfall"]
    rows.append(
        {
            "item": "total",
            "unit": "",
            "baseline": "",
            "plan": "",
            "base_eur": f"{_m(b['mean'])} [{_m(b['ci90_low'])}-{_m(b['ci90_high'])}]",
            "plan_eur": f"{_m(p['mean'])} [{_m(p['ci90_low'])}-{_m(p['ci90_high'])}]",
        }
    )
    headers = {
        "item": "item",
        "unit": "unit",
        "baseline": "short, baseline",
        "plan": "short, plan",
        "base_eur": "baseline EUR m [90 % CI]",
        "plan_eur": "plan EUR m [90 % CI]",
    }
    print_table(
        pd.DataFrame(rows),
        f"Out of sample ({ev.draws} fresh draws, seed {ev.seed}): shortfall and weighted "
        "shortfall (EUR m equivalent)",
        headers=headers,
    )
    out.print(
        f"Cost (purchases + capex): baseline EUR {_m(d['baseline']['cost_eur'])} m, plan "
        f"EUR {_m(d['plan']['cost_eur'])} m"
    )
    if ev.vss:
        v = ev.vss
        out.print(
            f"Value of the stochastic solution (weighted shortfall of the central-value plan "
            f"minus this plan's): EUR {_m(v['mean'])} m [{_m(v['ci90_low'])}-"
            f"{_m(v['ci90_high'])}]"
        )
    if ev.evpi:
        e = ev.evpi
        out.print(
            f"Expected value of perfect information (estimate on {e['draws']} draws, LP "
            f"weighted shortfall): EUR {_m(e['mean'])} m [{_m(e['ci90_low'])}-"
            f"{_m(e['ci90_high'])}]"
        )
