"""Turn engine outputs into what the store keeps: a small summary and tidy result tables.

Summary keys shared by both kinds (used to compare runs): ``actor``, ``shortfall`` (item ->
total shortfall over the horizon, item units; the median for simulations), ``shortfall_share``
(item -> unmet share of need), ``cost_eur`` (total over the horizon; mean for simulations).
Simulations add ``fire_ratio_p50`` (mean of the monthly median) and ``fire_ratio_final_p50``;
plans add ``weighted_shortfall`` (expected priority-weighted shortfall, EUR-equivalent: unmet x
item weight), ``capex_eur``, ``builds`` and ``budget_shortfall_avoided_per_eur_m``; no figure in
the LP's penalty units is stored or shown.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import xarray as xr

from materiel.analysis.confidence import assumption_share
from materiel.model.compiled import Model
from materiel.simulation.summary import (
    by_month,
    fire_ratio,
    of_actor,
    summarize,
    weighted_shortfall,
)
from materiel.store.models import Run

Tables = dict[str, list[dict[str, Any]]]
T = TypeVar("T")
log = logging.getLogger("materiel.service")


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe records (NaN and infinities become null)."""
    if frame.empty:
        return []
    frame = frame.replace([np.inf, -np.inf], np.nan)
    rows: list[dict[str, Any]] = json.loads(
        frame.to_json(orient="records", double_precision=10, date_format="iso")
    )
    return rows


def _num(x: Any) -> float | None:
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def share_band(result: xr.Dataset, actor: str) -> pd.DataFrame:
    """Per month and item ``actor`` uses: p10, p50 and p90 across draws of the shortfall as a
    share of that month's need (0-1; 0 where nothing is wanted)."""
    mine = of_actor(result, actor)  # the summaries' own view of one actor's (item) variables
    res = mine.sel(item=mine["wanted"].sum(["draw", "month"]) > 0)
    wanted = res["wanted"]
    share = (res["shortfall"] / wanted.where(wanted > 0)).fillna(0.0)
    q = share.quantile([0.1, 0.5, 0.9], dim="draw")
    frame = pd.DataFrame(
        {
            f"shortfall_share_p{int(p * 100)}": q.sel(quantile=p, drop=True)
            .transpose("month", "item")
            .to_numpy()
            .ravel()
            for p in (0.1, 0.5, 0.9)
        }
    )
    index = pd.MultiIndex.from_product(
        [res["month"].to_numpy(), res["item"].to_numpy()], names=["month", "item"]
    )
    frame.index = index
    return frame.reset_index()


def simulation_outputs(
    result: xr.Dataset, model: Model, actor: str
) -> tuple[dict[str, Any], Tables]:
    """Summary and tables of a simulation result for ``actor``."""
    table = summarize(result, actor)
    monthly = by_month(result, actor).merge(
        share_band(result, actor), on=["month", "item"], how="left"
    )
    ratio = fire_ratio(result)
    cost = result["cost"]
    facility_items = model.items[model.facility_item].to_numpy()
    q = cost.quantile([0.1, 0.5, 0.9], dim="draw")
    cost_table = pd.DataFrame(
        {
            "month": result["month"].to_numpy(),
            "date": result["date"].to_numpy(),
            "cost_p10": q.sel(quantile=0.1).to_numpy(),
            "cost_p50": q.sel(quantile=0.5).to_numpy(),
            "cost_p90": q.sel(quantile=0.9).to_numpy(),
            "cost_mean": cost.mean("draw").to_numpy(),
        }
    )
    production = (
        result["production"]
        .mean("draw")
        .groupby(xr.DataArray(facility_items, dims="facility", name="item"))
        .sum()
        .to_dataframe(name="production_mean")
        .reset_index()
    )
    if "date" not in production:
        production.insert(1, "date", result["date"].to_numpy()[production["month"].to_numpy()])
    ratio_frame = ratio.reset_index() if not ratio.empty else ratio
    summary: dict[str, Any] = {
        "actor": actor,
        "shortfall": {str(k): _num(v) for k, v in table["shortfall_p50"].items()},
        "shortfall_share": {str(k): _num(v) for k, v in table["shortfall_share"].items()},
        "p_short": {str(k): _num(v) for k, v in table["p_short"].items()},
        "units": {str(k): str(v) for k, v in table["unit"].items()},
        "cost_eur": _num(cost.sum("month").mean("draw")),
        "fire_ratio_p50": _num(ratio["p50"].mean()) if not ratio.empty else None,
        "fire_ratio_final_p50": _num(ratio["p50"].iloc[-1]) if not ratio.empty else None,
        "weighted_shortfall": {k: _num(v) for k, v in weighted_shortfall(result).items()},
        "assumption_share": _num(assumption_share(model, result, actor)["overall"]),
    }
    tables: Tables = {
        "summary": records(table.reset_index()),
        "by_month": records(monthly),
        "fire_ratio": records(ratio_frame),
        "cost": records(cost_table),
        "production": records(production),
    }
    return summary, tables


def avoided_table(baseline: xr.Dataset, planned: xr.Dataset, actor: str) -> pd.DataFrame:
    """Per item ``actor`` uses: total shortfall over the horizon without the plan's builds
    (baseline) and with them (both central replays), and the shortfall avoided (item units)."""
    base = summarize(baseline, actor)
    with_plan = summarize(planned, actor).reindex(base.index)
    frame = pd.DataFrame(
        {
            "unit": base["unit"],
            "wanted": base["wanted"],
            "baseline_shortfall": base["shortfall_mean"],
            "plan_shortfall": with_plan["shortfall_mean"].fillna(0.0),
        }
    )
    frame["avoided"] = frame["baseline_shortfall"] - frame["plan_shortfall"]
    frame["avoided_share_of_need"] = (
        frame["avoided"] / frame["wanted"].where(frame["wanted"] > 0)
    ).fillna(0.0)
    return frame.reset_index().sort_values("avoided", ascending=False, kind="stable")


CAPACITY_VALUES = 5
"""Facilities (top by the LP's dual) whose value of capacity a plan run measures."""


def plan_outputs(
    result: Any, actor: str, avoided: pd.DataFrame | None = None
) -> tuple[dict[str, Any], Tables]:
    """Summary and tables of a solved plan (:class:`materiel.optimize.PlanResult`), with the
    shortfall it avoids against the baseline (:func:`avoided_table`) when given. The value of
    capacity and of budget are in planner units (:func:`materiel.optimize.results.dual_check`,
    :func:`~materiel.optimize.results.budget_value`), never the LP's duals."""
    from materiel.optimize.io import plan_document
    from materiel.optimize.results import budget_value, dual_check

    short = result.shortfall_by_item()
    mine = short[short["actor"] == actor].set_index("item")
    by_month_table = (
        result.shortfall.groupby(["month", "date", "actor", "item", "unit"], as_index=False)[
            ["wanted", "fired", "unmet"]
        ].sum()
        if not result.shortfall.empty
        else result.shortfall
    )
    doc = plan_document(result)
    summary: dict[str, Any] = {
        "actor": actor,
        "shortfall": {str(k): _num(v) for k, v in mine["unmet"].items()},
        "shortfall_share": {str(k): _num(v) for k, v in mine["unmet_share"].items()},
        "units": {str(k): str(v) for k, v in mine["unit"].items()},
        "cost_eur": _num(result.summary["capex_eur"] + result.summary["expected_purchases_eur"]),
        "weighted_shortfall": _num(result.summary["expected_weighted_shortfall_eur"]),
        "capex_eur": _num(result.summary["capex_eur"]),
        "expected_purchases_eur": _num(result.summary["expected_purchases_eur"]),
        "builds": len(doc["builds"]),
        "scenarios": result.scenarios,
    }
    budget = budget_value(result)
    summary["budget_shortfall_avoided_per_eur_m"] = _num(
        float(budget["shortfall_avoided_eur_per_eur_m"])
    )
    if avoided is not None:
        summary["shortfall_avoided"] = {
            str(k): _num(v) for k, v in zip(avoided["item"], avoided["avoided"], strict=True)
        }
    tables: Tables = {
        "investments": records(result.investments),
        "shortfall": records(short),
        "shortfall_by_month": records(by_month_table),
        "capacity_duals": records(dual_check(result, CAPACITY_VALUES)),
        "budget_duals": records(result.budget_duals.drop(columns="value_eur_per_eur")),
        "plan": [doc],
    }
    if avoided is not None:
        tables["avoided"] = records(avoided)
    return summary, tables


TABLE_TITLES = {
    "summary": "Shortfall by item over the horizon",
    "by_month": "Shortfall by item and month",
    "fire_ratio": "Fire ratio Ukraine:Russia by month",
    "cost": "Cost by month (EUR)",
    "production": "Mean production by item and month",
    "investments": "Investments chosen",
    "shortfall": "Expected unmet demand by actor and item",
    "shortfall_by_month": "Unmet demand by month",
    "capacity_duals": "Value of capacity: weighted shortfall avoided (EUR-equivalent) and "
    "extra cost (EUR) per extra unit/month",
    "budget_duals": "Budget and spending per scenario and year (EUR)",
    "plan": "Plan document",
    "avoided": "Shortfall avoided vs the baseline (central replay, item units)",
}


def safe_figures(build: Callable[[], list[T]]) -> list[T]:
    """The figures ``build`` makes, or none if it fails (logged with an error id), so a page
    or a report still renders when stored results hold values a chart cannot use."""
    try:
        return build()
    except Exception:
        ref = uuid.uuid4().hex[:12]
        log.exception("figures failed (error id %s); the page is shown without them", ref)
        return []


def table_frame(tables: Tables, name: str) -> pd.DataFrame:
    """A stored result table as a DataFrame (the plan document flattened to its builds)."""
    rows = tables.get(name, [])
    if name == "plan":
        rows = rows[0].get("builds", []) if rows else []
    frame = pd.DataFrame(rows)
    for column in frame.select_dtypes(include="object").columns:
        values = frame[column].dropna()
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            frame[column] = frame[column].astype(float)  # null (a stored NaN/inf) -> NaN
    return frame


def run_label(run: Run) -> str:
    """'#12 imposed-deal@2 (simulate)': the run with its scenario version."""
    return f"#{run.id} {run.scenario_version or run.scenario} ({run.kind})"


def run_items(run: Run) -> list[str]:
    """Items the run reports on (with an unmet share), sorted by name."""
    return sorted((run.summary or {}).get("shortfall_share", {}))


def run_figures(run: Run, tables: Tables, items: Sequence[str] = ()) -> list[tuple[str, Any]]:
    """The run's Plotly figures (:mod:`materiel.reporting.runs`) for the chosen ``items``
    (default: the ones with the largest unmet share, at most ``MAX_SERIES``)."""
    from materiel.reporting.runs import chosen, plan_figures, simulation_figures

    shares = (run.summary or {}).get("shortfall_share", {})
    picked = chosen(items, run_items(run), shares)
    if run.kind == "plan":
        return plan_figures(tables, str(run.parameters.get("actor", "UKR")), picked)
    return simulation_figures(tables, picked)
