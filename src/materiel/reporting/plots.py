"""Interactive Plotly figures, one ``plot_<analysis>(table) -> go.Figure`` per analysis.

Each takes the tidy table its analysis returns. Colours: European sources blue, outside
sources red/orange, layers of supply in a fixed order.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from materiel.analysis.gap import gap_totals
from materiel.analysis.outlook import outlook_totals
from materiel.reporting.colours import (
    LABELS,
    LAYER_COLOURS,
    NODE_COLOURS,
    STRUCTURE_COLOURS,
    country_colours,
)

TEMPLATE = "plotly_white"


def empty_figure(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(title=title, template=TEMPLATE, height=300)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def plot_gap(table: pd.DataFrame) -> go.Figure:
    """Small multiples per item: the monthly gap split into what stocks, idle capacity and
    expansions fill and the residual (stacked bars, item units/month)."""
    if table.empty:
        return empty_figure("Gap after the US stop", "no gap")
    totals = gap_totals(table)
    items = totals[totals["gap"] > 0].sort_values("gap", ascending=False)["item"].tolist()[:16]
    if not items:
        return empty_figure("Gap after the US stop", "no gap after the US stop")
    cols = min(4, len(items))
    rows = math.ceil(len(items) / cols)
    units = table.groupby("item")["unit"].first()
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[f"{i} ({units[i]}/month)" for i in items],
        vertical_spacing=0.12 / max(rows / 2, 1),
    )
    for k, item in enumerate(items):
        part = table[table["item"] == item]
        for layer in ("from_stocks", "from_idle_capacity", "from_expansions", "residual"):
            fig.add_trace(
                go.Bar(
                    x=part["date"],
                    y=part[layer],
                    name=LABELS[layer],
                    marker_color=LAYER_COLOURS[layer],
                    legendgroup=layer,
                    showlegend=k == 0,
                    customdata=part["p_residual"],
                    hovertemplate="%{x}: %{y:,.0f}<br>P(residual) %{customdata:.0%}",
                ),
                row=k // cols + 1,
                col=k % cols + 1,
            )
    fig.update_xaxes(tickformat="%Y-%m")
    fig.update_layout(
        barmode="stack",
        template=TEMPLATE,
        height=260 * rows + 120,
        title="Ukraine's gap after the US stop, and what Europe can fill (mean over draws)",
        legend={"orientation": "h", "y": -0.08},
        bargap=0.05,
    )
    return fig


def plot_outlook(table: pd.DataFrame) -> go.Figure:
    """Per item, the window's supply as a share of need: arriving as planned, European
    stocks and idle capacity (stacked); the need is 100 %."""
    if table.empty:
        return empty_figure("Outlook", "nothing wanted")
    totals = outlook_totals(table)
    totals = totals[totals["need"] > 0].sort_values("covered_share")
    fig = go.Figure()
    for col in ("arriving", "from_stocks", "from_idle_capacity"):
        fig.add_trace(
            go.Bar(
                y=totals["item"],
                x=totals[col] / totals["need"],
                orientation="h",
                name=LABELS[col],
                marker_color=LAYER_COLOURS[col],
                customdata=np.stack([totals[col], totals["unit"]], axis=-1),
                hovertemplate="%{y}: %{x:.0%} of need (%{customdata[0]:,.0f} %{customdata[1]})",
            )
        )
    fig.add_vline(x=1.0, line_dash="dash", line_color="black", annotation_text="need")
    months = table["date"].unique()
    fig.update_layout(
        barmode="stack",
        template=TEMPLATE,
        height=max(320, 28 * len(totals) + 160),
        title=f"What Europe can deliver {months[0]} to {months[-1]}, as a share of Ukraine's need",
        xaxis={"title": "share of need", "tickformat": ".0%"},
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


def plot_chokepoints(table: pd.DataFrame, top: int = 10) -> go.Figure:
    """Per node type, the ``top`` nodes whose removal loses the most end-item output (share of
    value; the lighter bar: half the node's capacity cut); a star marks a single source."""
    if table.empty:
        return empty_figure("Chokepoints", "no nodes")
    types = [t for t in NODE_COLOURS if t in set(table["node_type"])]
    fig = make_subplots(
        rows=1,
        cols=len(types),
        subplot_titles=[
            {"facility": "facilities", "item": "items", "country": "countries"}[t] for t in types
        ],
        horizontal_spacing=0.12,
    )
    for k, node_type in enumerate(types, start=1):
        part = table[table["node_type"] == node_type].sort_values("rank").head(top).iloc[::-1]
        label = part["node"] + np.where(part["single_source"], " ★", "")
        for col, opacity, name in (
            ("lost_share", 1.0, "removed"),
            ("lost_share_half", 0.45, "half cut"),
        ):
            fig.add_trace(
                go.Bar(
                    y=label,
                    x=part[col],
                    orientation="h",
                    name=name,
                    legendgroup=name,
                    showlegend=k == 1,
                    opacity=opacity,
                    marker_color=NODE_COLOURS[node_type],
                    customdata=np.stack(
                        [part["capacity_value"].fillna(0), part["worst_item"]], axis=-1
                    ),
                    hovertemplate="%{y}: %{x:.1%} lost<br>value of capacity %{customdata[0]:,.3s}"
                    "<br>worst hit: %{customdata[1]}",
                ),
                row=1,
                col=k,
            )
        fig.update_xaxes(tickformat=".0%", row=1, col=k)
    fig.update_layout(
        template=TEMPLATE,
        barmode="group",
        height=max(360, 30 * top + 160),
        title="End-item output value lost when a node is removed (★ single source)",
        legend={"orientation": "h", "y": -0.12},
    )
    return fig


NOT_MODELLED = "not modelled"
MARKET_LABEL = "bought on the market (origin not modelled)"
MARKET_COLOUR = "#bdbdbd"


def dependency_shares(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The dependencies chart's data, missing values filled with 0 so every bar stacks to
    what the data says.

    Returns ``(by_end_item, by_input, not_modelled)``: value shares of each end item's inputs
    by country (rows: end items, columns: countries and ``(market)``; each row sums to 1),
    supply shares of each input by country (each row sums to 1) and the end items whose
    bill of materials gives no basis for a share (no bill of materials, or no priced input
    of known origin), which the chart marks 'not modelled' instead of showing 0 %."""
    from materiel.analysis.dependencies import MARKET

    rows = table[table["origin"].isin(["europe", "outside", "unknown"])]
    by_end = rows.pivot_table(
        index="end_item", columns="country", values="value_share", aggfunc="sum", fill_value=0.0
    )
    ends = list(dict.fromkeys(table["end_item"]))
    by_end = by_end.reindex(ends).fillna(0.0)
    not_modelled = [e for e in ends if not by_end.loc[e].sum() > 0]
    by_end = by_end.drop(index=not_modelled)
    inputs = rows[rows["input"] != ""].drop_duplicates(["input", "country"])
    by_input = inputs.pivot_table(
        index="input", columns="country", values="input_share", aggfunc="sum", fill_value=0.0
    )
    for frame in (by_end, by_input):
        if MARKET in frame.columns:  # the market last
            frame.insert(len(frame.columns) - 1, MARKET, frame.pop(MARKET))
    return by_end, by_input, not_modelled


def plot_dependencies(table: pd.DataFrame) -> go.Figure:
    """Left: each end item's input value by country of origin (stacked shares summing to
    100 %; 'not modelled' where the dataset has no bill of materials or no priced input of
    known origin for it). Right: each input's supply by country (summing to 100 %). Countries
    outside Europe in red tones, inputs bought on the market in grey."""
    from materiel.analysis.dependencies import MARKET

    if table.empty:
        return empty_figure("Dependencies", "no end items")
    by_end, by_input, not_modelled = dependency_shares(table)
    outside_set = set(table.loc[table["origin"] == "outside", "country"])
    countries = [c for c in dict.fromkeys([*by_end.columns, *by_input.columns]) if c != MARKET]
    countries.sort(key=lambda c: (c not in outside_set, c))
    colours = country_colours(countries, outside_set)
    colours[MARKET] = MARKET_COLOUR
    outside_cols = [c for c in by_end.columns if c in outside_set]
    modelled = by_end[outside_cols].sum(axis=1).sort_values().index.tolist()
    end_order = modelled + not_modelled
    in_outside = [c for c in by_input.columns if c in outside_set]
    input_order = by_input[in_outside].sum(axis=1).sort_values().index.tolist()
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=["end items: input value by origin", "inputs: supply by origin"],
        horizontal_spacing=0.3,
    )
    for country in [*countries, MARKET]:
        name = (
            MARKET_LABEL
            if country == MARKET
            else (f"{country} ({'outside' if country in outside_set else 'Europe'})")
        )
        for col, frame, order, what in (
            (1, by_end, modelled, "of the input value of"),
            (2, by_input, input_order, "of the supply of"),
        ):
            if country not in frame.columns:
                continue
            values = frame[country].reindex(order).fillna(0.0)
            fig.add_trace(
                go.Bar(
                    y=order,
                    x=values.to_numpy(),
                    orientation="h",
                    name=name,
                    legendgroup=country,
                    showlegend=not any(t.legendgroup == country for t in fig.data),
                    marker_color=colours[country],
                    hovertemplate=f"{country}: " + "%{x:.1%} " + what + " %{y}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    if not_modelled:
        fig.add_trace(
            go.Bar(
                y=not_modelled,
                x=[1.0] * len(not_modelled),
                orientation="h",
                name=NOT_MODELLED,
                marker={
                    "color": "white",
                    "line": {"color": "#757575", "width": 1},
                    "pattern": {"shape": "/", "fgcolor": "#9e9e9e"},
                },
                text=[NOT_MODELLED] * len(not_modelled),
                textposition="inside",
                insidetextanchor="middle",
                hovertemplate="%{y}: not modelled (no bill of materials or no input of known "
                "origin in the dataset)<extra></extra>",
            ),
            row=1,
            col=1,
        )
    rows = max(len(end_order), len(input_order))
    fig.update_yaxes(categoryorder="array", categoryarray=end_order, row=1, col=1)
    fig.update_yaxes(categoryorder="array", categoryarray=input_order, row=1, col=2)
    fig.update_xaxes(tickformat=".0%", range=[0, 1.0])
    fig.update_layout(
        barmode="stack",
        template=TEMPLATE,
        height=max(360, 26 * rows + 180),
        title="Where inputs come from (shares; red: outside Europe; grey: bought on the market)",
        legend={"orientation": "h", "y": -0.12},
    )
    return fig


def plot_coordination(table: pd.DataFrame) -> go.Figure:
    """Unmet share of each demanded item under each structure; the extra weighted shortfall
    (EUR-equivalent) of the national structures over pooled in the title."""
    items = table[table["item"] != "total"]
    if items.empty:
        return empty_figure("Coordination", "no demand")
    fig = go.Figure()
    for name, part in items.groupby("structure", sort=False):
        fig.add_trace(
            go.Bar(
                x=part["item"],
                y=part["unmet_share"],
                name=str(name),
                marker_color=STRUCTURE_COLOURS.get(str(name), "#7f7f7f"),
                customdata=np.stack([part["unmet"], part["cost_eur"]], axis=-1),
                hovertemplate="%{x}: %{y:.1%} unmet (%{customdata[0]:,.0f})<br>"
                "purchases EUR %{customdata[1]:,.3s}",
            )
        )
    totals = table[table["item"] == "total"].set_index("structure")
    extra = ", ".join(
        f"{s}: +{totals.loc[s, 'extra_weighted_shortfall'] / 1e9:,.1f} bn"
        for s in totals.index
        if s != "pooled"
    )
    fig.update_layout(
        barmode="group",
        template=TEMPLATE,
        height=460,
        title=f"Unmet need: pooled vs national procurement (extra weighted shortfall {extra})",
        yaxis={"title": "share of need unmet", "tickformat": ".0%"},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def _log_ticks(values: pd.Series) -> list[float]:
    """1-2-5 ticks covering the positive finite ``values`` (for a log axis)."""
    v = values.replace([np.inf, -np.inf], np.nan).dropna()
    v = v[v > 0]
    if v.empty:
        return [1.0]
    lo, hi = math.floor(math.log10(v.min())), math.ceil(math.log10(v.max()))
    return [m * 10.0**k for k in range(lo, hi + 1) for m in (1, 2, 5)]


def plot_deterrence(table: pd.DataFrame) -> go.Figure:
    """Russia:West artillery stock ratio (median, p10-p90 band) against the threshold, with
    the probability of being at or above it on a second axis."""
    if table.empty:
        return empty_figure("Deterrence", "no data")
    x = table["date"]
    upper = table["ratio_p90"].replace(np.inf, np.nan)
    lower = table["ratio_p10"].replace(np.inf, np.nan)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=x, y=upper, line={"width": 0}, showlegend=False, hoverinfo="skip"))
    fig.add_trace(
        go.Scatter(
            x=x,
            y=lower,
            fill="tonexty",
            fillcolor="rgba(214,39,40,0.15)",
            line={"width": 0},
            name="p10-p90",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=table["ratio_p50"],
            name="Russia:West stock ratio (median)",
            line={"color": "#d62728"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=table["p_above"],
            name="P(ratio ≥ threshold)",
            line={"color": "#1f77b4", "dash": "dot"},
        ),
        secondary_y=True,
    )
    threshold = float(table["threshold"].iloc[0])
    fig.add_hline(y=threshold, line_dash="dash")
    fig.add_annotation(  # on a log axis an annotation's y is log10 of the value
        x=0,
        xref="paper",
        xanchor="left",
        y=math.log10(threshold),
        yref="y",
        yanchor="bottom",
        text=f"threshold {threshold:g}",
        showarrow=False,
    )
    ceasefire = table.loc[table["phase"] == "ceasefire", "date"]
    if len(ceasefire):
        fig.add_vline(x=ceasefire.iloc[0], line_color="grey")
        fig.add_annotation(
            x=ceasefire.iloc[0], y=1.02, yref="paper", text="ceasefire", showarrow=False
        )
    crossing = table.loc[table["first_crossing"], "date"]
    note = f"threshold crossed {crossing.iloc[0]}" if len(crossing) else "threshold not crossed"
    fig.update_layout(
        template=TEMPLATE,
        height=460,
        title=f"Artillery stock balance after the ceasefire ({note})",
        legend={"orientation": "h", "y": -0.2},
    )
    fig.update_yaxes(
        title_text="rounds held, Russia : West (log)",
        type="log",
        tickvals=_log_ticks(pd.concat([lower, upper, table["ratio_p50"]])),
        secondary_y=False,
    )
    fig.update_yaxes(
        title_text="probability",
        range=[0, 1],
        dtick=0.2,
        tickformat=".0%",
        showgrid=False,
        secondary_y=True,
    )
    return fig


def plot_sead(table: pd.DataFrame) -> go.Figure:
    """Campaign need against stock and what can be available during the campaign."""
    rows = table.dropna(subset=["item"]) if "item" in table else table
    if rows.empty:
        note = table["note"].iloc[0] if "note" in table and len(table) else "no data"
        return empty_figure("Air campaign munitions", str(note))
    fig = go.Figure()
    for col, colour in (("need", "#d62728"), ("stock", "#1f77b4"), ("available", "#2ca02c")):
        fig.add_trace(go.Bar(x=rows["item"], y=rows[col], name=col, marker_color=colour))
    fig.update_layout(
        barmode="group",
        template=TEMPLATE,
        height=420,
        title="Air campaign against air defences: need vs stock and availability (units)",
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def plot_efficiency(table: pd.DataFrame) -> go.Figure:
    """EUR per end item per month gained against months to first output; open markers use
    the gain when built with every other option (no gain alone)."""
    if table.empty:
        return empty_figure("Investment efficiency", "no expansion options")
    frame = table.copy()
    best = frame["end_gain_per_month"].where(frame["end_gain_per_month"] > 0)
    alt = frame["end_gain_with_others"].where(frame["end_gain_with_others"] > 0)
    frame["alone"] = best.notna()
    frame["per_end"] = frame["capex_eur"] / best.fillna(alt)
    frame = frame.dropna(subset=["per_end"])
    if frame.empty:
        return empty_figure("Investment efficiency", "no option adds end-item output")
    fig = go.Figure()
    size = 8 + 30 * np.sqrt(frame["capex_eur"] / frame["capex_eur"].max())
    for end, part in frame.groupby("end_item"):
        fig.add_trace(
            go.Scatter(
                x=part["first_output_month"],
                y=part["per_end"],
                mode="markers",
                name=str(end),
                marker={
                    "size": size[part.index],
                    "symbol": np.where(part["alone"], "circle", "circle-open"),
                },
                text=part["expansion"],
                customdata=np.stack([part["capex_eur"], part["eur_per_unit_month"]], axis=-1),
                hovertemplate="%{text}<br>first output month %{x}<br>"
                "EUR %{y:,.3s} per end item/month<br>capex EUR %{customdata[0]:,.3s}",
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        height=480,
        title="Expansion options: EUR per end item per month vs months to first output "
        "(open: only with other options)",
        xaxis={"title": "months to first output (decided now)"},
        yaxis={"title": "EUR per end item/month (log)", "type": "log", "dtick": 1},
    )
    return fig
