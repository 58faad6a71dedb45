"""Save a solved plan to a small JSON file and read it back as a simulator :class:`Plan`.

File layout (``format: materiel-plan``, ``version: 1``)::

    {"format": "materiel-plan", "version": 1,
     "dataset": {"name", "version", "digest"}, "start": "YYYY-MM", "months": M,
     "scenarios": [{"name", "weight", "budget_eur_per_year"}], "draws": N,
     "expected_weighted_shortfall_eur": EUR-equivalent (the LP's, in sample),
     "builds": [{"expansion", "month", "scale", ...informative fields}],
     "orders": {scenario: {facility: [M production values, units/month]}}}

Months count from the dataset start. Builds are shared by every scenario; orders are per
scenario (averaged over its draws under sample average approximation), kept for reference:
``simulate --plan`` replays the builds and lets production follow the simulator's own rule
unless asked to replay the orders.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from materiel.model.compiled import Model
from materiel.model.plan import Plan
from materiel.optimize.results import PlanResult

FORMAT = "materiel-plan"
VERSION = 1


def plan_document(result: PlanResult) -> dict[str, Any]:
    """The JSON-ready content of a plan file."""
    d = result.data
    model = d.model
    plan = result.plan_for()
    info: dict[Any, dict[Any, Any]] = result.investments.set_index(["expansion", "month"]).to_dict(
        "index"
    )
    builds = []
    for e, t, s in zip(plan.expansion, plan.month, plan.scale, strict=True):
        entry: dict[str, Any] = {
            "expansion": str(model.expansions[e]),
            "month": int(t),
            "scale": float(s),
        }
        row = info.get((str(model.expansions[e]), int(t)))
        if row is not None:
            entry |= {
                "facility": str(row["facility"]),
                "date": str(row["date"]),
                "capex_eur": float(row["capex_eur"]),
                "first_output_month": int(row["first_output_month"]),
                "added_capacity": float(row["added_capacity"]),
                "unit": f"{row['unit']}/month",
            }
        builds.append(entry)
    orders = {
        f: dict(
            zip(
                map(str, d.coords["facility"]),
                result.orders_for(f).round(6).T.tolist(),
                strict=True,
            )
        )
        for f in result.futures
    }
    budgets = d.budget.to_numpy()
    weight = d.weight.to_numpy()
    return {
        "format": FORMAT,
        "version": VERSION,
        "dataset": {
            "name": model.dataset.meta.name,
            "version": model.dataset.meta.version,
            "digest": model.dataset.digest,
        },
        "start": model.start,
        "months": len(d.coords["month"]),
        "scenarios": [
            {
                "name": f,
                "weight": float(weight[result.rows_of(f)].sum()),
                "budget_eur_per_year": _budget(budgets[result.rows_of(f)][0]),
            }
            for f in result.futures
        ],
        "draws": d.draws,
        "expected_weighted_shortfall_eur": result.summary.get("expected_weighted_shortfall_eur"),
        "builds": builds,
        "orders": orders,
    }


def _budget(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def save_plan(result: PlanResult, path: Path) -> Path:
    """Write the plan file (JSON) to ``path``."""
    from materiel.io.atomic import write_text

    return write_text(path, json.dumps(plan_document(result), indent=1) + "\n")


def read_plan_document(path: Path) -> dict[str, Any]:
    """Read and sanity-check a plan file; raises ValueError with a clear message."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"plan file '{path}' is not valid JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"'{path}' is not a materiel plan file (format '{FORMAT}')")
    if doc.get("version") != VERSION:
        raise ValueError(f"plan file version {doc.get('version')} is not supported ({VERSION})")
    return doc


def load_plan(
    path: Path, model: Model, scenario: str | None = None, months: int | None = None
) -> Plan:
    """A simulator :class:`Plan` from a plan file: every build, plus ``scenario``'s orders if
    the file has them (else no orders: the scenario's own order levels apply).

    ``months``: horizon of the simulation; orders beyond the plan's horizon are NaN.
    """
    doc = read_plan_document(path)
    if doc.get("start") != model.start:
        raise ValueError(
            f"plan file '{path}' counts months from {doc.get('start')} but the dataset starts "
            f"in {model.start}"
        )
    names = [b["expansion"] for b in doc.get("builds", [])]
    unknown = sorted(set(names) - set(model.expansions))
    if unknown:
        raise ValueError(f"plan file '{path}': unknown expansion(s) {', '.join(unknown)}")
    expansion = np.asarray(model.expansions.get_indexer(pd.Index(names)), dtype=np.int64)
    committed = sorted(
        {n for n, e in zip(names, expansion, strict=True) if not math.isnan(model.decided[e])}
    )
    if committed:
        raise ValueError(
            f"plan file '{path}': expansion(s) {', '.join(committed)} are already decided in "
            "the dataset, not options"
        )
    month = np.array([float(b["month"]) for b in doc.get("builds", [])])
    scale = np.array([float(b["scale"]) for b in doc.get("builds", [])])
    if np.any((scale <= 0) | (scale > 1 + 1e-9)):
        raise ValueError(f"plan file '{path}': every build scale must be in (0, 1]")
    orders = None
    table = doc.get("orders", {}).get(scenario) if scenario is not None else None
    if table is not None:
        horizon = int(months if months is not None else doc["months"])
        orders = np.full((horizon, len(model.facilities)), np.nan)
        unknown = sorted(set(table) - set(model.facilities))
        if unknown:
            raise ValueError(f"plan file '{path}': unknown facilit(ies) {', '.join(unknown)}")
        for facility, values in table.items():
            n = min(horizon, len(values))
            orders[:n, model.facilities.get_loc(facility)] = values[:n]
    return Plan(expansion=expansion, month=month, scale=np.minimum(scale, 1.0), orders=orders)


def replay_plan(
    plan: Plan | PlanResult | str | Path,
    model: Model,
    scenario: str,
    months: int,
    with_orders: bool = False,
) -> Plan:
    """The simulator :class:`Plan` that replays ``plan`` on ``scenario`` over ``months``: the
    one path behind ``materiel simulate --plan`` and ``materiel.simulate(plan=...)``.

    A plan is a policy: its builds apply and production follows the simulator's own ordering
    rule, reacting to each draw. ``with_orders``: also impose the plan's orders for
    ``scenario`` (units/month, NaN beyond the plan's horizon; none when the plan was made for
    other scenarios) as production floors. ``plan``: a :class:`PlanResult`, a plan file
    written by ``materiel plan`` or a simulator :class:`Plan`.
    """
    if isinstance(plan, str | Path):
        chosen = load_plan(Path(plan), model, scenario if with_orders else None, months)
    elif isinstance(plan, PlanResult):
        mine = scenario in plan.scenarios or scenario in plan.futures
        chosen = plan.plan_for(scenario if mine else None)
        if not mine:
            chosen = Plan(chosen.expansion, chosen.month, chosen.scale)
    else:
        chosen = plan
    if not with_orders or chosen.orders is None:
        return Plan(chosen.expansion, chosen.month, chosen.scale)
    orders = np.full((months, chosen.orders.shape[1]), np.nan)
    n = min(months, chosen.orders.shape[0])
    orders[:n] = chosen.orders[:n]
    return Plan(chosen.expansion, chosen.month, chosen.scale, orders)
