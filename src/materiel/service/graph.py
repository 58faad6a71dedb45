"""The supply chain of one end item as a layered Plotly figure: raw materials on the left,
the end item on the right, every node labelled; items shaded by the output lost when they
are removed and single sources ringed, as ``materiel chokepoints`` defines them
(:func:`materiel.analysis.chokepoints.chokepoints`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import Any

import pandas as pd

from materiel.model.compiled import Model

EUROPEAN = ("europe", "ukraine")
SINGLE = "#d62728"
"""Ring colour of a single source (the CLI's ``single_source``)."""


@dataclass
class SupplyGraph:
    """A directed graph of node ids ('item:x', 'facility:y') with attributes per node;
    nodes and edges keep their insertion order."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Node id -> attributes (kind, label, ...)."""
    succ: dict[str, dict[str, None]] = field(default_factory=dict)
    """Node id -> the nodes it has an edge to (an ordered set)."""

    def add_node(self, node: str, **attrs: Any) -> None:
        """Add ``node`` (or update its attributes)."""
        self.nodes.setdefault(node, {}).update(attrs)
        self.succ.setdefault(node, {})

    def add_edge(self, a: str, b: str) -> None:
        """Add the edge ``a -> b`` (and its nodes, if new)."""
        for node in (a, b):
            if node not in self.nodes:
                self.add_node(node)
        self.succ[a][b] = None

    def __contains__(self, node: object) -> bool:
        return node in self.nodes

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    @property
    def edges(self) -> list[tuple[str, str]]:
        """Every edge ``(a, b)``: by source node, then in insertion order."""
        return [(a, b) for a, targets in self.succ.items() for b in targets]

    def predecessors(self) -> dict[str, list[str]]:
        """Node id -> the nodes with an edge into it (every node present)."""
        preds: dict[str, list[str]] = {node: [] for node in self.nodes}
        for a, b in self.edges:
            preds[b].append(a)
        return preds

    def subgraph(self, keep: set[str]) -> SupplyGraph:
        """The graph induced by the nodes in ``keep`` (a copy; order kept)."""
        sub = SupplyGraph()
        for node, attrs in self.nodes.items():
            if node in keep:
                sub.add_node(node, **attrs)
        for a, b in self.edges:
            if a in keep and b in keep:
                sub.add_edge(a, b)
        return sub


def end_items(model: Model) -> list[str]:
    """End items and services, the roots a user can filter the graph by."""
    return [str(i) for i in model.items if model.item_kind[i] in ("end", "service")]


def supply_graph(model: Model) -> SupplyGraph:
    """Items and facilities as nodes; input item -> facility -> output item as edges."""
    g = SupplyGraph()
    for item in model.items:
        g.add_node(f"item:{item}", kind="item", label=str(item), item_kind=model.item_kind[item])
    inputs: dict[int, list[int]] = {}
    for out, inp in zip(model.recipe_item, model.recipe_input, strict=True):
        inputs.setdefault(int(out), []).append(int(inp))
    for f, facility in enumerate(model.facilities):
        item_pos = int(model.facility_item[f])
        country = model.actors[model.facility_country[f]]
        node = f"facility:{facility}"
        g.add_node(
            node,
            kind="facility",
            label=str(facility),
            country=str(country),
            european=str(model.actor_region[country]) in EUROPEAN,
            capacity=float(model.capacity.central[f]),
            unit=str(model.item_unit.iloc[item_pos]),
        )
        g.add_edge(node, f"item:{model.items[item_pos]}")
        for inp in inputs.get(item_pos, []):
            g.add_edge(f"item:{model.items[inp]}", node)
    return g


def upstream(g: SupplyGraph, end_item: str) -> SupplyGraph:
    """The end item with everything it is made from (facilities and inputs, all tiers)."""
    root = f"item:{end_item}"
    if root not in g:
        raise KeyError(end_item)
    preds = g.predecessors()
    seen = {root}
    todo = [root]
    while todo:
        for p in preds[todo.pop()]:
            if p not in seen:
                seen.add(p)
                todo.append(p)
    return g.subgraph(seen)


def chain(model: Model, table: pd.DataFrame, end_item: str) -> pd.DataFrame:
    """The rows of a chokepoints table for the items and facilities in ``end_item``'s supply
    chain, most output lost first."""
    nodes = set(upstream(supply_graph(model), end_item))
    keys = table["node_type"] + ":" + table["node"].astype(str)
    rows = table[keys.isin(nodes)]
    return rows.sort_values(["lost_share", "lost_share_half"], ascending=False, kind="stable")


def _layout(g: SupplyGraph) -> dict[str, tuple[float, float]]:
    """Layers by longest path from a source (inputs left, the end item right), nodes spread
    evenly within a layer, ordered by label."""
    preds = g.predecessors()
    layer: dict[str, int] = {}
    for node in TopologicalSorter(preds).static_order():
        layer[node] = 1 + max((layer[p] for p in preds[node]), default=-1)
    columns: dict[int, list[str]] = {}
    for node, x in layer.items():
        columns.setdefault(x, []).append(node)
    pos = {}
    for x, nodes in columns.items():
        nodes.sort(key=lambda n: g.nodes[n]["label"])
        for i, node in enumerate(nodes):
            pos[node] = (float(x), 1.0 - (i + 0.5) / len(nodes))
    return pos


def chokepoint_marks(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Node id ('item:x', 'facility:y') -> the CLI's measures: rank, lost_share,
    single_source."""
    marks: dict[str, dict[str, Any]] = {}
    for row in table.to_dict("records"):
        if row["node_type"] in ("item", "facility"):
            marks[f"{row['node_type']}:{row['node']}"] = {
                "rank": int(row["rank"]),
                "lost_share": float(row["lost_share"]),
                "single_source": bool(row["single_source"]),
            }
    return marks


def graph_figure(model: Model, chokepoints: pd.DataFrame, end_item: str) -> dict[str, Any]:
    """Plotly figure spec (plain dict) of ``end_item``'s supply chain: items as circles
    shaded by the share of end-item output lost when removed, facilities as squares (grey in
    Europe, orange outside), single sources ringed in red, every node labelled."""
    g = upstream(supply_graph(model), end_item)
    pos = _layout(g)
    marks = chokepoint_marks(chokepoints)
    ex: list[float | None] = []
    ey: list[float | None] = []
    for a, b in g.edges:
        ex += [pos[a][0], pos[b][0], None]
        ey += [pos[a][1], pos[b][1], None]
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": ex,
            "y": ey,
            "line": {"width": 1, "color": "#c0c6cf"},
            "hoverinfo": "skip",
            "showlegend": False,
        }
    ]

    def ring(node: str) -> tuple[int, str]:
        single = marks.get(node, {}).get("single_source", False)
        return (3, SINGLE) if single else (1, "#ffffff")

    facilities = [n for n, d in g.nodes.items() if d["kind"] == "facility"]
    traces.append(
        {
            "type": "scatter",
            "mode": "markers+text",
            "name": "facility (orange: outside Europe)",
            "x": [pos[n][0] for n in facilities],
            "y": [pos[n][1] for n in facilities],
            "text": [f"{g.nodes[n]['label']} ({g.nodes[n]['country']})" for n in facilities],
            "textposition": "bottom center",
            "textfont": {"size": 10, "color": "#555"},
            "hovertext": [
                f"{g.nodes[n]['label']} ({g.nodes[n]['country']})<br>"
                f"{g.nodes[n]['capacity']:,.0f} {g.nodes[n]['unit']}/month"
                + (
                    f"<br>output lost if removed: {marks[n]['lost_share']:.1%}"
                    if n in marks
                    else ""
                )
                for n in facilities
            ],
            "hoverinfo": "text",
            "marker": {
                "symbol": "square",
                "size": 11,
                "color": ["#6c757d" if g.nodes[n]["european"] else "#f4a261" for n in facilities],
                "line": {
                    "width": [ring(n)[0] for n in facilities],
                    "color": [ring(n)[1] for n in facilities],
                },
            },
        }
    )
    items = [n for n, d in g.nodes.items() if d["kind"] == "item"]
    lost = [marks.get(n, {}).get("lost_share", 0.0) for n in items]
    traces.append(
        {
            "type": "scatter",
            "mode": "markers+text",
            "name": "item (shade: output lost if removed)",
            "x": [pos[n][0] for n in items],
            "y": [pos[n][1] for n in items],
            "text": [g.nodes[n]["label"] for n in items],
            "textposition": "top center",
            "textfont": {"size": 12},
            "hovertext": [
                f"{g.nodes[n]['label']} ({g.nodes[n]['item_kind']})"
                + (
                    f"<br>output lost if removed: {marks[n]['lost_share']:.1%} "
                    f"(rank {marks[n]['rank']})"
                    + ("<br><b>single source</b>" if marks[n]["single_source"] else "")
                    if n in marks
                    else ""
                )
                for n in items
            ],
            "hoverinfo": "text",
            "marker": {
                "size": 18,
                "color": lost,
                "cmin": 0.0,
                "cmax": max(max(lost, default=0.0), 0.01),
                "colorscale": "Reds",
                "showscale": True,
                "colorbar": {"title": {"text": "lost"}, "tickformat": ".0%"},
                "line": {
                    "width": [ring(n)[0] for n in items],
                    "color": [ring(n)[1] if ring(n)[0] > 1 else "#555" for n in items],
                },
            },
        }
    )
    per_layer = max(
        (sum(1 for p in pos.values() if p[0] == x) for x in {p[0] for p in pos.values()}),
        default=1,
    )
    xs = [x for x, _ in pos.values()] or [0.0]
    layout = {
        "title": {"text": f"Supply chain of {end_item}", "x": 0.01},
        "height": max(480, 60 * per_layer + 120),
        "margin": {"l": 20, "r": 20, "t": 40, "b": 20},
        "xaxis": {"visible": False, "range": [min(xs) - 0.6, max(xs) + 0.6]},
        "yaxis": {"visible": False, "range": [-0.05, 1.08]},
        "plot_bgcolor": "#ffffff",
        "legend": {"orientation": "h", "y": -0.02},
        "hovermode": "closest",
    }
    return {"data": traces, "layout": layout}
