"""Static matplotlib figures for papers, one ``png_<analysis>(table) -> Figure`` per analysis.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot state), so they are
safe in threads and servers; :func:`save_png` writes one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator

from materiel.analysis.gap import gap_totals
from materiel.analysis.outlook import outlook_totals
from materiel.reporting.colours import (
    LABELS,
    LAYER_COLOURS,
    NODE_COLOURS,
    STRUCTURE_COLOURS,
    country_colours,
)

DPI = 150


def save_png(figure: Figure, path: Path | str) -> Path:
    """Write ``figure`` as a PNG file and return its path."""
    path = Path(path)
    figure.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def _figure(height: float, width: float = 8.0) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def _note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _stacked_shares(ax: Axes, frame: pd.DataFrame, columns: list[str], base: str) -> None:
    left = np.zeros(len(frame))
    for col in columns:
        share = (frame[col] / frame[base]).to_numpy(dtype=float)
        ax.barh(frame["item"], share, left=left, color=LAYER_COLOURS[col], label=LABELS[col])
        left += share
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.legend(loc="lower right", fontsize=8)


def png_gap(table: pd.DataFrame) -> Figure:
    totals = gap_totals(table)
    totals = totals[totals["gap"] > 0].sort_values("residual_share")
    fig, ax = _figure(max(2.5, 0.35 * len(totals) + 1.2))
    if totals.empty:
        _note(ax, "no gap")
        return fig
    layers = ["from_stocks", "from_idle_capacity", "from_expansions", "residual"]
    _stacked_shares(ax, totals, layers, "gap")
    ax.set_xlabel("share of the gap after the US stop")
    ax.set_title("What Europe can fill of Ukraine's gap (totals over the horizon)")
    return fig


def png_outlook(table: pd.DataFrame) -> Figure:
    totals = outlook_totals(table)
    totals = totals[totals["need"] > 0].sort_values("covered_share")
    fig, ax = _figure(max(2.5, 0.35 * len(totals) + 1.2))
    if totals.empty:
        _note(ax, "nothing wanted")
        return fig
    _stacked_shares(ax, totals, ["arriving", "from_stocks", "from_idle_capacity"], "need")
    ax.axvline(1.0, color="black", linestyle="--", linewidth=1)
    ax.set_xlabel("share of Ukraine's need in the window")
    ax.set_title("What Europe can deliver in the coming months")
    return fig


def png_chokepoints(table: pd.DataFrame, top: int = 10) -> Figure:
    """Per node type, the ``top`` nodes by share of output lost (pale: half the capacity)."""
    types = [t for t in NODE_COLOURS if t in set(table["node_type"])]
    fig = Figure(figsize=(4.2 * max(len(types), 1), 0.32 * top + 1.4), layout="constrained")
    if not types:
        _note(fig.add_subplot(), "no nodes")
        return fig
    for k, node_type in enumerate(types, start=1):
        ax = fig.add_subplot(1, len(types), k)
        part = table[table["node_type"] == node_type].sort_values("rank").head(top).iloc[::-1]
        labels = part["node"] + np.where(part["single_source"], " *", "")
        y = np.arange(len(part))
        colour = NODE_COLOURS[node_type]
        ax.barh(y + 0.2, part["lost_share"], 0.4, color=colour, label="removed")
        ax.barh(y - 0.2, part["lost_share_half"], 0.4, color=colour, alpha=0.45, label="half cut")
        ax.set_yticks(y, labels, fontsize=8)
        ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        ax.set_title({"facility": "facilities", "item": "items", "country": "countries"}[node_type])
    ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("End-item output value lost when a node is removed (* single source)")
    return fig


def png_dependencies(table: pd.DataFrame) -> Figure:
    known = table[table["origin"].isin(["europe", "outside"])].drop_duplicates(["input", "country"])
    grid = known.pivot_table(index="input", columns="country", values="input_share", fill_value=0)
    fig, ax = _figure(max(2.5, 0.35 * len(grid) + 1.4))
    if grid.empty:
        _note(ax, "no inputs with a known origin")
        return fig
    outside = set(known.loc[known["origin"] == "outside", "country"])
    order = grid[[c for c in grid.columns if c in outside]].sum(axis=1).sort_values().index
    grid = grid.loc[order]
    left = np.zeros(len(grid))
    countries = sorted(grid.columns, key=lambda c: (c not in outside, c))
    colours = country_colours(countries, outside)
    for country in countries:
        ax.barh(grid.index, grid[country], left=left, color=colours[country], label=country)
        left += grid[country].to_numpy()
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.legend(fontsize=7, ncol=2, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set_title("Origin of each input (share of supply; red tones: outside Europe)")
    return fig


def png_coordination(table: pd.DataFrame) -> Figure:
    items = table[table["item"] != "total"]
    fig, ax = _figure(4.0, 9.0)
    if items.empty:
        _note(ax, "no demand")
        return fig
    grid = items.pivot_table(index="item", columns="structure", values="unmet_share", sort=False)
    x = np.arange(len(grid))
    width = 0.8 / max(len(grid.columns), 1)
    for k, structure in enumerate(grid.columns):
        ax.bar(
            x + k * width,
            grid[structure],
            width,
            label=structure,
            color=STRUCTURE_COLOURS.get(structure, "grey"),
        )
    ax.set_xticks(x + width * (len(grid.columns) - 1) / 2, grid.index, rotation=45, ha="right")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_ylabel("share of need unmet")
    ax.legend(fontsize=8)
    ax.set_title("Pooled vs national procurement")
    return fig


def png_deterrence(table: pd.DataFrame) -> Figure:
    fig, ax = _figure(4.0, 9.0)
    if table.empty:
        _note(ax, "no data")
        return fig
    t = table["month"].to_numpy()
    upper = table["ratio_p90"].replace(np.inf, np.nan)
    ax.fill_between(t, table["ratio_p10"], upper, color="#d62728", alpha=0.15, label="p10-p90")
    ax.plot(t, table["ratio_p50"], color="#d62728", label="median Russia:West stock ratio")
    ax.axhline(table["threshold"].iloc[0], color="black", linestyle="--", label="threshold")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_minor_formatter(lambda v, _: "")
    ceasefire = table.loc[table["phase"] == "ceasefire", "month"]
    if len(ceasefire):
        ax.axvline(ceasefire.iloc[0], color="grey", label="ceasefire")
    ax.set_xlabel(f"month from {table['date'].iloc[0]}")
    ax.set_ylabel("artillery rounds held, Russia : West")
    ax.legend(fontsize=8)
    ax.set_title("Deterrence balance after the ceasefire")
    return fig


def png_sead(table: pd.DataFrame) -> Figure:
    rows = table.dropna(subset=["item"])
    fig, ax = _figure(3.5, 7.0)
    if rows.empty:
        _note(ax, str(table["note"].iloc[0]) if len(table) else "no data")
        return fig
    x = np.arange(len(rows))
    for k, (col, colour) in enumerate(
        (("need", "#d62728"), ("stock", "#1f77b4"), ("available", "#2ca02c"))
    ):
        ax.bar(x + 0.27 * k, rows[col].fillna(0), 0.27, label=col, color=colour)
    ax.set_xticks(x + 0.27, rows["item"])
    ax.legend(fontsize=8)
    ax.set_title("Air campaign munitions: need vs stock and availability")
    return fig


def png_efficiency(table: pd.DataFrame) -> Figure:
    fig, ax = _figure(4.5, 8.0)
    gain = table["end_gain_per_month"].where(table["end_gain_per_month"] > 0)
    alt = table["end_gain_with_others"].where(table["end_gain_with_others"] > 0)
    per_end = table["capex_eur"] / gain.fillna(alt)
    frame = table.assign(per_end=per_end, alone=gain.notna()).dropna(subset=["per_end"])
    if frame.empty:
        _note(ax, "no option adds end-item output")
        return fig
    palette = colormaps["tab20"]
    for k, (end, part) in enumerate(frame.groupby("end_item")):
        colour = palette(k % 20)
        alone, other = part[part["alone"]], part[~part["alone"]]
        ax.scatter(alone["first_output_month"], alone["per_end"], s=40, color=colour, label=end)
        ax.scatter(
            other["first_output_month"],
            other["per_end"],
            s=40,
            facecolors="none",
            edgecolors=colour,
        )
    ax.set_yscale("log")
    ax.set_xlabel("months to first output")
    ax.set_ylabel("EUR per end item/month")
    ax.legend(fontsize=7)
    ax.set_title("Expansion options (hollow: gain only with other options)")
    return fig
