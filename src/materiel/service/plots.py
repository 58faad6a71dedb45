"""Plotly figure specs (plain dicts, rendered in the browser by the served plotly.js)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from materiel.service.results import Tables
from materiel.store.models import Run

PALETTE = [
    "#1d3557",
    "#e76f51",
    "#2a9d8f",
    "#e9c46a",
    "#6d597a",
    "#457b9d",
    "#f4a261",
    "#264653",
    "#b5838d",
    "#8ab17d",
    "#d62828",
    "#577590",
    "#c9a227",
    "#43aa8b",
    "#9c6644",
    "#7b2cbf",
]
Figure = dict[str, Any]


def _layout(title: str, ytitle: str, **extra: Any) -> dict[str, Any]:
    layout = {
        "title": {"text": title, "font": {"size": 15}, "x": 0.01},
        "height": 340,
        "margin": {"l": 60, "r": 20, "t": 45, "b": 45},
        "yaxis": {"title": {"text": ytitle}, "rangemode": "tozero", "gridcolor": "#e8ecf1"},
        "xaxis": {"gridcolor": "#e8ecf1"},
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "legend": {"orientation": "h", "y": -0.2},
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"},
    }
    layout.update(extra)
    return layout


def _band(
    x: list[Any], low: list[Any], mid: list[Any], high: list[Any], name: str, colour: str
) -> list[dict[str, Any]]:
    return [
        {
            "type": "scatter",
            "x": x,
            "y": high,
            "mode": "lines",
            "line": {"width": 0},
            "showlegend": False,
            "hoverinfo": "skip",
            "name": f"{name} high",
        },
        {
            "type": "scatter",
            "x": x,
            "y": low,
            "mode": "lines",
            "line": {"width": 0},
            "fill": "tonexty",
            "fillcolor": colour + "33",
            "showlegend": False,
            "hoverinfo": "skip",
            "name": f"{name} low",
        },
        {
            "type": "scatter",
            "x": x,
            "y": mid,
            "mode": "lines",
            "name": name,
            "line": {"color": colour, "width": 2},
        },
    ]


def _share_of_need(
    key: str, title: str, monthly: pd.DataFrame, short: str, wanted: str
) -> tuple[str, Figure]:
    """One line per item: ``short / wanted`` by month (a share of need, 0-1)."""
    traces = []
    for i, (item, g) in enumerate(monthly.groupby("item", sort=True)):
        share = (g[short] / g[wanted].where(g[wanted] > 0)).fillna(0)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": str(item),
                "x": g["date"].tolist(),
                "y": share.round(4).tolist(),
                "line": {"color": PALETTE[i % len(PALETTE)], "width": 2},
            }
        )
    layout = _layout(
        title,
        "share of need",
        yaxis={"tickformat": ".0%", "rangemode": "tozero", "gridcolor": "#e8ecf1"},
    )
    return key, {"data": traces, "layout": layout}


def simulation_figures(tables: Tables) -> list[tuple[str, Figure]]:
    figs: list[tuple[str, Figure]] = []
    monthly = pd.DataFrame(tables.get("by_month", []))
    if not monthly.empty:
        figs.append(
            _share_of_need(
                "shortfall",
                "Median shortfall as a share of need",
                monthly,
                "shortfall_p50",
                "wanted_mean",
            )
        )
        traces = []
        for i, (item, g) in enumerate(monthly.groupby("item", sort=True)):
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": str(item),
                    "x": g["date"].tolist(),
                    "y": g["p_short"].round(4).tolist(),
                    "line": {"color": PALETTE[i % len(PALETTE)], "width": 2},
                }
            )
        figs.append(
            (
                "p_short",
                {
                    "data": traces,
                    "layout": _layout(
                        "Probability of a short month",
                        "probability",
                        yaxis={"tickformat": ".0%", "range": [0, 1.02], "gridcolor": "#e8ecf1"},
                    ),
                },
            )
        )
    ratio = pd.DataFrame(tables.get("fire_ratio", []))
    if not ratio.empty:
        traces = _band(
            ratio["date"].tolist(),
            ratio["p10"].tolist(),
            ratio["p50"].tolist(),
            ratio["p90"].tolist(),
            "median (p10–p90)",
            PALETTE[0],
        )
        figs.append(
            (
                "fire_ratio",
                {
                    "data": traces,
                    "layout": _layout("Fire ratio Ukraine:Russia", "UKR rounds per RUS round"),
                },
            )
        )
    cost = pd.DataFrame(tables.get("cost", []))
    if not cost.empty:
        traces = _band(
            cost["date"].tolist(),
            cost["cost_p10"].tolist(),
            cost["cost_p50"].tolist(),
            cost["cost_p90"].tolist(),
            "median (p10–p90)",
            PALETTE[2],
        )
        figs.append(("cost", {"data": traces, "layout": _layout("Cost per month", "EUR/month")}))
    return figs


def plan_figures(tables: Tables, actor: str) -> list[tuple[str, Figure]]:
    figs: list[tuple[str, Figure]] = []
    monthly = pd.DataFrame(tables.get("shortfall_by_month", []))
    if not monthly.empty:
        mine = monthly[monthly["actor"] == actor]
        figs.append(
            _share_of_need(
                "unmet",
                f"Unmet demand of {actor} under the plan (share of need)",
                mine,
                "unmet",
                "wanted",
            )
        )
    inv = pd.DataFrame(tables.get("investments", []))
    if not inv.empty and "capex_eur" in inv:
        by = inv.groupby(["date", "facility"], as_index=False)["capex_eur"].sum()
        traces = [
            {
                "type": "bar",
                "name": str(f),
                "x": g["date"].tolist(),
                "y": g["capex_eur"].tolist(),
                "marker": {"color": PALETTE[i % len(PALETTE)]},
            }
            for i, (f, g) in enumerate(by.groupby("facility"))
        ]
        figs.append(
            (
                "investments",
                {
                    "data": traces,
                    "layout": _layout("Investments by decision month", "EUR", barmode="stack"),
                },
            )
        )
    return figs


def run_figures(run: Run, tables: Tables) -> list[tuple[str, Figure]]:
    if run.kind == "plan":
        return plan_figures(tables, str(run.parameters.get("actor", "UKR")))
    return simulation_figures(tables)


def run_label(run: Run) -> str:
    return f"#{run.id} {run.scenario} ({run.kind})"


def compare_figures(runs: list[Run], tables: dict[int, Tables]) -> list[tuple[str, Figure]]:
    """Side-by-side figures: unmet share by item, cost, and the fire ratio over time."""
    figs: list[tuple[str, Figure]] = []
    traces = []
    for i, run in enumerate(runs):
        share = (run.summary or {}).get("shortfall_share", {})
        items = sorted(share)
        traces.append(
            {
                "type": "bar",
                "name": run_label(run),
                "x": items,
                "y": [share[k] for k in items],
                "marker": {"color": PALETTE[i % len(PALETTE)]},
            }
        )
    figs.append(
        (
            "cmp_shortfall",
            {
                "data": traces,
                "layout": _layout(
                    "Unmet share of need over the horizon",
                    "share of need",
                    barmode="group",
                    yaxis={"tickformat": ".0%", "rangemode": "tozero", "gridcolor": "#e8ecf1"},
                ),
            },
        )
    )
    traces = [
        {
            "type": "bar",
            "name": run_label(r),
            "x": [run_label(r)],
            "y": [(r.summary or {}).get("cost_eur")],
            "marker": {"color": PALETTE[i % len(PALETTE)]},
        }
        for i, r in enumerate(runs)
    ]
    figs.append(
        (
            "cmp_cost",
            {"data": traces, "layout": _layout("Cost over the horizon", "EUR", showlegend=False)},
        )
    )
    traces = []
    for i, run in enumerate(runs):
        ratio = pd.DataFrame(tables.get(run.id, {}).get("fire_ratio", []))
        if ratio.empty:
            continue
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": run_label(run),
                "x": ratio["date"].tolist(),
                "y": ratio["p50"].tolist(),
                "line": {"color": PALETTE[i % len(PALETTE)], "width": 2},
            }
        )
    if traces:
        figs.append(
            (
                "cmp_fire_ratio",
                {
                    "data": traces,
                    "layout": _layout(
                        "Fire ratio Ukraine:Russia (median)", "UKR rounds per RUS round"
                    ),
                },
            )
        )
    return figs
