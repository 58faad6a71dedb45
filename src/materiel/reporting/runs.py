"""Interactive Plotly figures of stored run results: a simulation, a plan, and runs compared.

Inputs are the result tables a run keeps (``materiel.service.results``: lists of records).
Charts by item show at most ``MAX_SERIES`` items (the caller chooses which; by default the
items with the largest unmet share), each in its own colour; months are calendar months on
the axis ("Jan 2027"), never times of day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go

TEMPLATE = "plotly_white"
MAX_SERIES = 5
"""Most series drawn in one chart; a chooser selects others."""
COLOURS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
)
"""Distinct colours; never more series than colours in one chart."""
Tables = dict[str, list[dict[str, Any]]]


@dataclass
class RunView:
    """What the comparison figures need of one run."""

    label: str
    kind: str
    summary: dict[str, Any]
    tables: Tables = field(default_factory=dict)


def month_axis(**extra: Any) -> dict[str, Any]:
    """A date axis labelled by calendar month (``Jan 2027``)."""
    return {"type": "date", "tickformat": "%b %Y", "hoverformat": "%b %Y", **extra}


def _layout(fig: go.Figure, title: str, ytitle: str, **extra: Any) -> go.Figure:
    layout: dict[str, Any] = {
        "template": TEMPLATE,
        "title": {"text": title, "font": {"size": 15}, "x": 0.01},
        "height": 360,
        "margin": {"l": 60, "r": 20, "t": 45, "b": 45},
        "legend": {"orientation": "h", "y": -0.2},
        **extra,
    }
    layout["yaxis"] = {"title": {"text": ytitle}, "rangemode": "tozero", **extra.get("yaxis", {})}
    fig.update_layout(**layout)
    return fig


def colour(k: int) -> str:
    return COLOURS[k % len(COLOURS)]


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def top_items(shares: dict[str, float | None], n: int = MAX_SERIES) -> list[str]:
    """The ``n`` items with the largest unmet share (ties by name)."""
    ranked = sorted(shares, key=lambda k: (-(shares[k] or 0.0), k))
    return ranked[:n]


def chosen(items: Sequence[str], available: Sequence[str], shares: dict[str, Any]) -> list[str]:
    """The items to draw: those asked for that exist (at most ``MAX_SERIES``), else the top."""
    picked = [i for i in dict.fromkeys(items) if i in set(available)][:MAX_SERIES]
    return picked or top_items({k: shares.get(k) for k in available})


Values = Sequence[Any] | pd.Series
"""A sequence of values (a list or a pandas Series)."""


def band(
    fig: go.Figure,
    x: Values,
    low: Values,
    mid: Values,
    high: Values,
    name: str,
    hex_colour: str,
) -> None:
    """A p10-p90 band (filled, semi-transparent) with its median line, all in one colour."""
    group = f"band-{name}"
    fig.add_trace(
        go.Scatter(
            x=list(x),
            y=list(high),
            mode="lines",
            line={"width": 0},
            showlegend=False,
            hoverinfo="skip",
            legendgroup=group,
            name=f"{name} p90",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=list(x),
            y=list(low),
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=_rgba(hex_colour, 0.18),
            showlegend=False,
            hoverinfo="skip",
            legendgroup=group,
            name=f"{name} p10",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=list(x),
            y=list(mid),
            mode="lines",
            name=f"{name} (median, p10-p90)",
            line={"color": hex_colour, "width": 2},
            legendgroup=group,
        )
    )


def share_lines(
    monthly: pd.DataFrame, items: Sequence[str], short: str, wanted: str, title: str
) -> go.Figure:
    """One line per chosen item: ``short / wanted`` by month (share of need, 0-1)."""
    fig = go.Figure()
    for k, item in enumerate(items):
        g = monthly[monthly["item"] == item]
        share = (g[short] / g[wanted].where(g[wanted] > 0)).fillna(0.0)
        fig.add_trace(
            go.Scatter(
                x=g["date"].tolist(),
                y=share.round(4).tolist(),
                mode="lines",
                name=str(item),
                line={"color": colour(k), "width": 2},
            )
        )
    return _layout(fig, title, "share of need", xaxis=month_axis(), yaxis={"tickformat": ".0%"})


def simulation_figures(tables: Tables, items: Sequence[str]) -> list[tuple[str, go.Figure]]:
    """Shortfall share and probability of a short month (chosen items), fire ratio and cost
    (p10-p90 bands) of a simulation."""
    figs: list[tuple[str, go.Figure]] = []
    monthly = pd.DataFrame(tables.get("by_month", []))
    if not monthly.empty:
        figs.append(
            (
                "shortfall",
                share_lines(
                    monthly,
                    items,
                    "shortfall_p50",
                    "wanted_mean",
                    "Median shortfall as a share of need",
                ),
            )
        )
        fig = go.Figure()
        for k, item in enumerate(items):
            g = monthly[monthly["item"] == item]
            fig.add_trace(
                go.Scatter(
                    x=g["date"].tolist(),
                    y=g["p_short"].round(4).tolist(),
                    mode="lines",
                    name=str(item),
                    line={"color": colour(k), "width": 2},
                )
            )
        _layout(
            fig,
            "Probability of a short month",
            "probability",
            xaxis=month_axis(),
            yaxis={"tickformat": ".0%", "range": [0, 1.02]},
        )
        figs.append(("p_short", fig))
    ratio = pd.DataFrame(tables.get("fire_ratio", []))
    if not ratio.empty:
        fig = go.Figure()
        band(fig, ratio["date"], ratio["p10"], ratio["p50"], ratio["p90"], "fire ratio", colour(0))
        figs.append(
            (
                "fire_ratio",
                _layout(
                    fig, "Fire ratio Ukraine:Russia", "UKR rounds per RUS round", xaxis=month_axis()
                ),
            )
        )
    cost = pd.DataFrame(tables.get("cost", []))
    if not cost.empty:
        fig = go.Figure()
        band(
            fig,
            cost["date"],
            cost["cost_p10"],
            cost["cost_p50"],
            cost["cost_p90"],
            "cost",
            colour(2),
        )
        figs.append(("cost", _layout(fig, "Cost per month", "EUR/month", xaxis=month_axis())))
    return figs


def _month_end(date: str, months: float) -> str:
    """The first day of the month ``months`` after ``date`` (YYYY-MM), as YYYY-MM-DD."""
    start = pd.Period(str(date)[:7], freq="M")
    return str((start + round(float(months))).start_time.date())


def gantt(investments: pd.DataFrame) -> go.Figure:
    """Capacity-arrival timeline: per build, the months from the decision to first output
    (building and qualifying) and from first output to full rate (ramp), on calendar months."""
    fig = go.Figure()
    if investments.empty:
        return _layout(fig, "Capacity arrival", "")
    rows = investments.sort_values(["first_output_month", "facility"]).reset_index(drop=True)
    labels = [f"{r.facility} (+{r.added_capacity:,.0f} {r.unit}/month)" for r in rows.itertuples()]
    phases = (
        ("building", "month", "first_output_month", "#9aa5b1"),
        ("ramping up", "first_output_month", "full_rate_month", "#ff7f0e"),
    )
    for name, begin, end, hex_colour in phases:
        starts = [
            _month_end(d, m) for d, m in zip(rows["date"], rows[begin] - rows["month"], strict=True)
        ]
        ends = [
            _month_end(d, m) for d, m in zip(rows["date"], rows[end] - rows["month"], strict=True)
        ]
        span_ms = [
            (pd.Timestamp(e) - pd.Timestamp(s)).total_seconds() * 1000
            for s, e in zip(starts, ends, strict=True)
        ]
        fig.add_trace(
            go.Bar(
                y=labels,
                x=span_ms,
                base=starts,
                orientation="h",
                name=name,
                marker_color=hex_colour,
                customdata=list(zip(starts, ends, strict=True)),
                hovertemplate="%{y}<br>"
                + name
                + ": %{customdata[0]|%b %Y} to %{customdata[1]|%b %Y}<extra></extra>",
            )
        )
    return _layout(
        fig,
        "Capacity arrival: decision, first output and full rate of each build",
        "",
        barmode="overlay",
        height=max(260, 34 * len(rows) + 140),
        xaxis=month_axis(dtick="M6"),
        yaxis={"autorange": "reversed"},
    )


def avoided_figure(avoided: pd.DataFrame, items: Sequence[str]) -> go.Figure:
    """Per chosen item: shortfall over the horizon without the plan's builds (baseline) and
    with them (central replay in the simulator), item units."""
    fig = go.Figure()
    part = avoided.set_index("item").reindex([i for i in items if i in set(avoided["item"])])
    for col, name, hex_colour in (
        ("baseline_shortfall", "baseline (no builds)", "#d62728"),
        ("plan_shortfall", "with the plan", "#2ca02c"),
    ):
        fig.add_trace(
            go.Bar(
                x=part.index.tolist(),
                y=part[col].tolist(),
                name=name,
                marker_color=hex_colour,
                customdata=part["unit"].tolist(),
                hovertemplate="%{x}: %{y:,.0f} %{customdata}<extra>" + name + "</extra>",
            )
        )
    return _layout(
        fig,
        "Shortfall avoided by the plan vs the baseline (total over the horizon)",
        "item units",
        barmode="group",
    )


def plan_figures(tables: Tables, actor: str, items: Sequence[str]) -> list[tuple[str, go.Figure]]:
    """Unmet share (chosen items), capacity-arrival timeline and shortfall avoided."""
    figs: list[tuple[str, go.Figure]] = []
    monthly = pd.DataFrame(tables.get("shortfall_by_month", []))
    if not monthly.empty:
        mine = monthly[monthly["actor"] == actor]
        title = f"Unmet demand of {actor} under the plan (share of need)"
        figs.append(("unmet", share_lines(mine, items, "unmet", "wanted", title)))
    inv = pd.DataFrame(tables.get("investments", []))
    if not inv.empty:
        figs.append(("gantt", gantt(inv)))
    avoided = pd.DataFrame(tables.get("avoided", []))
    if not avoided.empty:
        figs.append(("avoided", avoided_figure(avoided, items)))
    return figs


def compare_figures(runs: Sequence[RunView], items: Sequence[str]) -> list[tuple[str, go.Figure]]:
    """Runs side by side: unmet share per chosen item (grouped bars), and the fire ratio, the
    cost and the first chosen item's shortfall as overlaid p10-p90 bands."""
    figs: list[tuple[str, go.Figure]] = []
    fig = go.Figure()
    for k, run in enumerate(runs):
        share = run.summary.get("shortfall_share") or {}
        fig.add_trace(
            go.Bar(
                x=list(items),
                y=[share.get(i) for i in items],
                name=run.label,
                marker_color=colour(k),
            )
        )
    figs.append(
        (
            "cmp_shortfall",
            _layout(
                fig,
                "Unmet share of need over the horizon",
                "share of need",
                barmode="group",
                yaxis={"tickformat": ".0%"},
            ),
        )
    )
    specs = (
        (
            "cmp_fire_ratio",
            "fire_ratio",
            "p10",
            "p50",
            "p90",
            "Fire ratio Ukraine:Russia",
            "UKR rounds per RUS round",
        ),
        ("cmp_cost", "cost", "cost_p10", "cost_p50", "cost_p90", "Cost per month", "EUR/month"),
    )
    for key, table, lo, mid, hi, title, unit in specs:
        fig = go.Figure()
        for k, run in enumerate(runs):
            frame = pd.DataFrame(run.tables.get(table, []))
            if frame.empty:
                continue
            band(fig, frame["date"], frame[lo], frame[mid], frame[hi], run.label, colour(k))
        if fig.data:
            figs.append((key, _layout(fig, f"{title} (p10-p90)", unit, xaxis=month_axis())))
    if items:
        item = items[0]
        fig = go.Figure()
        for k, run in enumerate(runs):
            monthly = pd.DataFrame(run.tables.get("by_month", []))
            if monthly.empty or "shortfall_share_p10" not in monthly:
                continue
            g = monthly[monthly["item"] == item]
            band(
                fig,
                g["date"],
                g["shortfall_share_p10"],
                g["shortfall_share_p50"],
                g["shortfall_share_p90"],
                run.label,
                colour(k),
            )
        if fig.data:
            figs.append(
                (
                    "cmp_item_band",
                    _layout(
                        fig,
                        f"Shortfall of {item}, share of need (p10-p90)",
                        "share of need",
                        xaxis=month_axis(),
                        yaxis={"tickformat": ".0%"},
                    ),
                )
            )
    return figs
