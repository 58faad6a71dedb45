"""Figures of a simulation's and a plan's outcomes for the report: the shortfall fan chart
(p10-p50-p90 over calendar months per key item) and the investments' timeline."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from materiel.reporting.plots import TEMPLATE, empty_figure


def shortfall_fan(
    result: Any, actor: str, items: int = 6, categories: dict[str, str] | None = None
) -> pd.DataFrame:
    """Tidy (item, date) table of the monthly shortfall's p10, p50 and p90 across draws for
    the ``items`` key items of ``actor``, with the mean need (item units/month).

    Key items: ranked by mean unmet share of a non-zero need; with ``categories`` (item ->
    category) the worst item of each category comes first, so the chart spans artillery, air
    defence, rockets, drones... rather than six interceptors."""
    wanted = result["wanted"].sel(actor=actor)
    short = result["shortfall"].sel(actor=actor)
    total = wanted.sum(["draw", "month"])
    used = total > 0
    share = (short.sum(["draw", "month"]) / total.where(used)).fillna(0.0)
    ranked = share.where(used, drop=True).sortby(share.where(used, drop=True), ascending=False)
    ordered = [str(i) for i in ranked["item"].to_numpy()]
    if categories:
        seen: set[str] = set()
        firsts = []
        for item in ordered:
            category = categories.get(item, item)
            if category not in seen:
                seen.add(category)
                firsts.append(item)
        ordered = firsts + [i for i in ordered if i not in firsts]
    keys = ordered[:items]
    if not keys:
        return pd.DataFrame(columns=["item", "unit", "date", "need", "p10", "p50", "p90"])
    part = short.sel(item=keys)
    q = part.quantile([0.1, 0.5, 0.9], dim="draw")
    dates = [str(d) for d in result["date"].to_numpy()]
    units = result["unit"].sel(item=keys).to_numpy() if "unit" in result else [""] * len(keys)
    rows = []
    for k, item in enumerate(keys):
        for m, date in enumerate(dates):
            rows.append(
                {
                    "item": item,
                    "unit": str(units[k]),
                    "date": date,
                    "need": float(wanted.sel(item=item).isel(month=m).mean("draw")),
                    "p10": float(q.sel(quantile=0.1, item=item).isel(month=m)),
                    "p50": float(q.sel(quantile=0.5, item=item).isel(month=m)),
                    "p90": float(q.sel(quantile=0.9, item=item).isel(month=m)),
                }
            )
    return pd.DataFrame(rows)


def plot_shortfall_fan(fan: pd.DataFrame, names: dict[str, str] | None = None) -> go.Figure:
    """Small multiples per key item: the monthly shortfall's p10-p90 band and median over
    calendar months, with the need as a dashed line (item units/month)."""
    if fan.empty:
        return empty_figure("Shortfall", "no shortfall")
    names = names or {}
    items = list(dict.fromkeys(fan["item"]))
    cols = min(3, len(items))
    rows = math.ceil(len(items) / cols)
    units = fan.groupby("item")["unit"].first()
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[f"{names.get(i, i)}<br>({units[i]}/month)" for i in items],
        vertical_spacing=0.2 / max(rows / 2, 1),
    )
    for k, item in enumerate(items):
        part = fan[fan["item"] == item]
        where = {"row": k // cols + 1, "col": k % cols + 1}
        first = k == 0
        fig.add_trace(
            go.Scatter(
                x=part["date"], y=part["p90"], line={"width": 0}, showlegend=False,
                hoverinfo="skip", legendgroup="band",
            ),
            **where,
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=part["date"], y=part["p10"], fill="tonexty",
                fillcolor="rgba(214,39,40,0.18)", line={"width": 0}, name="p10-p90",
                legendgroup="band", showlegend=first,
                hovertemplate="%{x}: p10 %{y:,.3s}<extra></extra>",
            ),
            **where,
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=part["date"], y=part["p50"], line={"color": "#d62728"}, name="median",
                legendgroup="p50", showlegend=first,
                hovertemplate="%{x}: median %{y:,.3s}<extra></extra>",
            ),
            **where,
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=part["date"], y=part["need"], line={"color": "#555", "dash": "dash"},
                name="need (mean)", legendgroup="need", showlegend=first,
                hovertemplate="%{x}: need %{y:,.3s}<extra></extra>",
            ),
            **where,
        )  # fmt: skip
    fig.update_xaxes(tickformat="%Y-%m", hoverformat="%Y-%m")
    fig.update_layout(
        template=TEMPLATE,
        height=300 * rows + 160,
        margin={"t": 120},
        title="Monthly shortfall of the key items: median and p10-p90 across draws",
        legend={"orientation": "h", "y": -0.08},
    )
    return fig


def plot_plan_timeline(investments: pd.DataFrame) -> go.Figure:
    """Each chosen investment as a bar from its decision to its first output (calendar
    months), labelled with its capex."""
    if investments.empty:
        return empty_figure("Plan", "no investment chosen")
    from materiel.reporting.numbers import money

    frame = investments.sort_values("first_output_date", ascending=False)
    fig = go.Figure()
    for _, r in frame.iterrows():
        fig.add_trace(
            go.Scatter(
                x=[r["date"], r["first_output_date"]],
                y=[r["expansion"], r["expansion"]],
                mode="lines+markers+text",
                line={"width": 8, "color": "#1f77b4"},
                text=["", money(r["capex_eur"])],
                textposition="top left",
                showlegend=False,
                hovertemplate=f"{r['expansion']}: decided %{{x}}<extra></extra>",
            )
        )
    fig.update_xaxes(tickformat="%Y-%m", hoverformat="%Y-%m")
    fig.update_layout(
        template=TEMPLATE,
        height=max(300, 30 * len(frame) + 140),
        title="Investments: from decision to first output (label: capex)",
        xaxis={"title": "calendar month"},
    )
    return fig
