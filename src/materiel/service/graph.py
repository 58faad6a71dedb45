"""The supply-chain graph (items, facilities, recipes) as a Plotly figure, chokepoints in red."""

from __future__ import annotations

from typing import Any

import networkx as nx
import pandas as pd

from materiel.model.compiled import Model

KIND_COLOURS = {
    "raw": "#8d99ae",
    "intermediate": "#4c78a8",
    "end": "#2a9d8f",
    "service": "#e9c46a",
}
CHOKE = "#d62828"


def supply_graph(model: Model) -> nx.DiGraph:
    """Items and facilities as nodes; input item -> facility -> output item as edges.

    Items sit in columns by tier (end items and services in the last one)."""
    g = nx.DiGraph()
    last = int(model.item_depth.max()) if len(model.items) else 0
    depth = [
        last if model.item_kind[item] in ("end", "service") else int(model.item_depth[pos])
        for pos, item in enumerate(model.items)
    ]
    for pos, item in enumerate(model.items):
        g.add_node(
            f"item:{item}",
            kind="item",
            label=str(item),
            item_kind=model.item_kind[item],
            depth=depth[pos],
        )
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
            side=str(model.actor_region[country]),
            capacity=float(model.capacity.central[f]),
            unit=str(model.item_unit.iloc[item_pos]),
            depth=depth[item_pos],
        )
        g.add_edge(node, f"item:{model.items[item_pos]}")
        for inp in inputs.get(item_pos, []):
            g.add_edge(f"item:{model.items[inp]}", node)
    return g


def _layout(g: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """Columns by tier (facilities just left of the item they make), rows spread evenly."""
    columns: dict[float, list[str]] = {}
    for node, data in g.nodes(data=True):
        x = 2.0 * data["depth"] - (0.9 if data["kind"] == "facility" else 0.0)
        columns.setdefault(x, []).append(node)
    pos = {}
    for x, nodes in columns.items():
        nodes.sort(key=lambda n: (g.nodes[n].get("label", ""), n))
        for i, node in enumerate(nodes):
            pos[node] = (x, (i + 0.5) / len(nodes))
    return pos


def graph_figure(model: Model, chokepoints: pd.DataFrame) -> dict[str, Any]:
    """Plotly figure spec (plain dict): items as circles coloured by kind, facilities as small
    squares, chokepoint items outlined in red and larger."""
    g = supply_graph(model)
    pos = _layout(g)
    choke = (
        set(chokepoints.loc[chokepoints["chokepoint"], "item"]) if not chokepoints.empty else set()
    )
    reasons = (
        dict(zip(chokepoints["item"], chokepoints["reason"], strict=True))
        if not chokepoints.empty
        else {}
    )
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
            "line": {"width": 0.6, "color": "#c0c6cf"},
            "hoverinfo": "skip",
            "showlegend": False,
        }
    ]
    facilities = [n for n, d in g.nodes(data=True) if d["kind"] == "facility"]
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": "facility",
            "x": [pos[n][0] for n in facilities],
            "y": [pos[n][1] for n in facilities],
            "marker": {
                "symbol": "square",
                "size": 8,
                "color": [
                    "#6c757d" if g.nodes[n]["side"] in ("europe", "ukraine") else "#f4a261"
                    for n in facilities
                ],
            },
            "text": [
                f"{g.nodes[n]['label']} ({g.nodes[n]['country']})<br>"
                f"{g.nodes[n]['capacity']:,.0f} {g.nodes[n]['unit']}/month"
                for n in facilities
            ],
            "hoverinfo": "text",
        }
    )
    for kind, colour in KIND_COLOURS.items():
        nodes = [n for n, d in g.nodes(data=True) if d.get("item_kind") == kind]
        if not nodes:
            continue
        labels = [g.nodes[n]["label"] for n in nodes]
        traces.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": f"{kind} item",
                "x": [pos[n][0] for n in nodes],
                "y": [pos[n][1] for n in nodes],
                "text": labels,
                "textposition": "middle right",
                "textfont": {"size": 11},
                "hovertext": [
                    f"{lab}" + (f"<br><b>chokepoint</b>: {reasons[lab]}" if lab in choke else "")
                    for lab in labels
                ],
                "hoverinfo": "text",
                "marker": {
                    "size": [18 if lab in choke else 12 for lab in labels],
                    "color": colour,
                    "line": {
                        "width": [3 if lab in choke else 1 for lab in labels],
                        "color": [CHOKE if lab in choke else "#ffffff" for lab in labels],
                    },
                },
            }
        )
    xs = [x for x, _ in pos.values()] or [0.0]
    items_per_column = max(
        (sum(1 for n in g if g.nodes[n]["kind"] == "item" and pos[n][0] == x) for x in set(xs)),
        default=1,
    )
    layout = {
        "height": max(560, 34 * items_per_column),
        "margin": {"l": 20, "r": 20, "t": 30, "b": 20},
        "xaxis": {"visible": False, "range": [min(xs) - 0.5, max(xs) + 1.6]},
        "yaxis": {"visible": False},
        "plot_bgcolor": "#ffffff",
        "legend": {"orientation": "h", "y": -0.02},
        "hovermode": "closest",
    }
    return {"data": traces, "layout": layout}
