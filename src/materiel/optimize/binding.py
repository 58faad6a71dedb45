"""Which constraint binds for each item's remaining shortfall in a solved plan.

For every item with unmet need the table names the limits that keep the plan from closing
it: the **budget** (a budget dual above zero), **lead time** (part of the shortfall falls
before the earliest month any option on the item's bill of materials can deliver, or no
option delivers within the horizon), **option limit** (an option on its bill of materials is
built to its ``max_builds``), an **input** (a capacity dual above zero at a line making one
of its inputs), or **no option** (no expansion option exists on its bill of materials).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from materiel.model.compiled import Model

if TYPE_CHECKING:
    from materiel.optimize.results import PlanResult

TOL = 1e-6
"""Duals and shortfalls below this are round-off."""
COLUMNS = ["item", "unit", "unmet", "weighted_eur", "binds", "detail"]


def upstream(model: Model, item: int) -> np.ndarray:
    """(I,) True for ``item`` and every item in its bill of materials."""
    inside = np.zeros(len(model.items), dtype=bool)
    inside[item] = True
    while True:
        grown = inside.copy()
        grown[model.recipe_input[inside[model.recipe_item]]] = True
        if (grown == inside).all():
            return inside
        inside = grown


def binding_table(result: PlanResult, start: int = 0) -> pd.DataFrame:
    """One row per item short from month ``start`` on (probability-weighted over the
    scenarios): item, unit, unmet (item units), weighted_eur (weighted shortfall, EUR), binds
    (comma-separated: budget, lead time, option limit, input, no option) and detail (the
    options, months and lines behind each)."""
    d, model = result.data, result.data.model
    from materiel.optimize.build import max_builds

    weights = pd.Series(d.weight.to_numpy(), index=result.scenarios)
    short = result.shortfall.query("month >= @start")
    short = short.assign(p=short["scenario"].map(weights))
    short = short.assign(unmet=short["unmet"] * short["p"], weighted=short["weighted"] * short["p"])
    per_item = short.groupby("item", sort=False)[["unmet", "weighted"]].sum()
    per_month = short.groupby(["item", "month"])["unmet"].sum()
    build = result.lp.solution["build"].fillna(0.0).to_numpy().sum(axis=1)  # (E,)
    most = max_builds(d).to_numpy()
    added = d.added.to_numpy()[:, 0, :]  # (E, t) capacity of an option decided in month 0
    delivers = added > 0
    first = np.where(delivers.any(axis=1), delivers.argmax(axis=1), -1)
    option_item = model.facility_item[d.expansion_facility]
    money = result.budget_duals
    budget_binds = bool(len(money)) and bool((money["value_eur_per_eur"] > TOL).any())
    duals = result.capacity_duals
    value = (
        duals.set_index("facility")["value_eur_per_unit_month"]
        .reindex(model.facilities)
        .fillna(0.0)
        .to_numpy()
        if "value_eur_per_unit_month" in duals
        else np.zeros(len(model.facilities))
    )
    rows = []
    for name, row in per_item.iterrows():
        if row["unmet"] <= TOL:
            continue
        item = int(np.flatnonzero(model.items == name)[0])
        bom = upstream(model, item)
        binds, detail = [], []
        if budget_binds:
            binds.append("budget")
            detail.append("budget: one more euro would reduce the shortfall")
        relevant = np.flatnonzero(bom[option_item])
        if len(relevant) == 0:
            binds.append("no option")
            detail.append("no expansion option on its bill of materials")
        else:
            can = relevant[first[relevant] >= 0]
            months = per_month.xs(name, level="item")
            earliest = int(first[can].min()) if len(can) else None
            if earliest is None:
                binds.append("lead time")
                detail.append("no option delivers before the horizon's end")
            elif (months[months.index < earliest] > TOL).any():
                binds.append("lead time")
                early = months[months.index < earliest].sum() / months.sum()
                when = model.expansions[d.options[can[first[can].argmin()]]]
                detail.append(
                    f"lead time: {early:.0%} of the shortfall falls before month {earliest}, "
                    f"the earliest first output of its options ({when})"
                )
            full = relevant[(most[relevant] > 0) & (build[relevant] >= most[relevant] - TOL)]
            if len(full):
                binds.append("option limit")
                names = ", ".join(f"{model.expansions[d.options[e]]} ({most[e]:g})" for e in full)
                detail.append(f"built to the limit: {names}")
        inputs = bom.copy()
        inputs[item] = False
        lines = np.flatnonzero(inputs[model.facility_item] & (value > TOL))
        if len(lines):
            binds.append("input")
            top = lines[np.argmax(value[lines])]
            detail.append(
                f"input {model.items[model.facility_item[top]]}: line "
                f"{model.facilities[top]} at capacity ({len(lines)} input line(s) binding)"
            )
        rows.append(
            {
                "item": name,
                "unit": str(model.item_unit.get(name, "")),
                "unmet": float(row["unmet"]),
                "weighted_eur": float(row["weighted"]),
                "binds": ", ".join(binds) or "none found",
                "detail": "; ".join(detail),
            }
        )
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.sort_values("weighted_eur", ascending=False, ignore_index=True)
