"""Registry of analyses the service offers: ``name -> f(model, scenario) -> DataFrame``.

The analyses of :mod:`materiel.analysis` (its ``REGISTRY``: gap, outlook, chokepoints,
dependencies, coordination, deterrence, ...) are offered as they are; two simple structural
measures computed here are added (``single_source`` also rings chokepoints on the graph page).
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from materiel.model.compiled import Model
from materiel.scenario import Scenario

EUROPEAN = ("europe", "ukraine")
log = logging.getLogger("materiel.service")
MAX_DRAWS = 1000

AnalysisFn = Callable[..., pd.DataFrame]


@dataclass(frozen=True)
class Analysis:
    name: str
    title: str
    description: str
    fn: AnalysisFn
    scenario: str = "imposed-deal"
    """Scenario used when none is given."""
    draws: int = 1
    """Default Monte Carlo draws (1 for deterministic analyses)."""
    figure: Callable[[pd.DataFrame], Any] | None = None
    """Plotly figure of the table, if the analysis has one."""

    def figure_spec(self, table: pd.DataFrame) -> dict[str, Any] | None:
        """The figure as a plain JSON-ready dict, or None (no figure, or it failed)."""
        if self.figure is None:
            return None
        try:
            spec: dict[str, Any] = json.loads(self.figure(table).to_json())
        except Exception:  # a plot must never break the table it illustrates
            log.warning("figure of analysis %s failed", self.name, exc_info=True)
            return None
        return spec

    def run(
        self, model: Model, scenario: Scenario, draws: int | None = None, seed: int = 0
    ) -> pd.DataFrame:
        """Call the function with the draws and seed it accepts."""
        accepted = inspect.signature(self.fn).parameters
        options: dict[str, Any] = {}
        if "draws" in accepted:
            options["draws"] = min(draws or self.draws, MAX_DRAWS)
        if "seed" in accepted:
            options["seed"] = seed
        return self.fn(model, scenario, **options)


REGISTRY: dict[str, Analysis] = {}


def register(name: str, title: str, description: str) -> Callable[[AnalysisFn], AnalysisFn]:
    def wrap(fn: AnalysisFn) -> AnalysisFn:
        REGISTRY[name] = Analysis(name, title, description, fn)
        return fn

    return wrap


def item_graph(model: Model) -> nx.DiGraph:
    """Bill of materials: an edge input -> output for every recipe line."""
    graph = nx.DiGraph()
    graph.add_nodes_from(model.items)
    for out, inp in zip(model.recipe_item, model.recipe_input, strict=True):
        graph.add_edge(model.items[inp], model.items[out])
    return graph


@register(
    "single_source",
    "Single-source items",
    "Limited items made by a single facility or mostly outside Europe, with the end items "
    "that depend on them (a simple structural measure).",
)
def chokepoints(model: Model, scenario: Scenario) -> pd.DataFrame:
    """One row per limited item made by facilities: facility count, European capacity share,
    dependent end items and whether it is a chokepoint (and why)."""
    graph = item_graph(model)
    european = model.actor_region.iloc[model.facility_country].isin(EUROPEAN).to_numpy()
    capacity = model.capacity.central
    rows = []
    for pos, item in enumerate(model.items):
        made = model.facility_item == pos
        if not model.item_limited[pos] or not made.any():
            continue
        total = float(capacity[made].sum())
        if total > 0:
            eu_share = float(capacity[made & european].sum() / total)
        else:  # only plants still to be built: count them
            eu_share = float((made & european).sum() / made.sum())
        reasons = []
        if int(made.sum()) == 1:
            reasons.append("single facility")
        if eu_share < 0.5:
            reasons.append("mostly outside Europe")
        if total == 0:
            reasons.append("no capacity at the start")
        ends = sorted(
            d for d in nx.descendants(graph, item) if model.item_kind[d] in ("end", "service")
        )
        rows.append(
            {
                "item": item,
                "kind": model.item_kind[item],
                "unit": model.item_unit[item],
                "facilities": int(made.sum()),
                "capacity_per_month": total,
                "european_share": eu_share,
                "end_items_affected": len(ends),
                "affects": ", ".join(ends),
                "chokepoint": bool(reasons),
                "reason": "; ".join(reasons),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values(["chokepoint", "end_items_affected"], ascending=False).reset_index(
        drop=True
    )


@register(
    "european_supply",
    "European and non-European supply",
    "Supply of each item from actors outside Europe (flows and facilities), as a share of the "
    "central supply rate.",
)
def dependencies(model: Model, scenario: Scenario) -> pd.DataFrame:
    """Per item: monthly supply rate from European and non-European facilities and flows."""
    side = model.actor_region
    fac_eu = side.iloc[model.facility_country].isin(EUROPEAN).to_numpy()
    flow_eu = side.iloc[model.flow_supplier].isin(EUROPEAN).to_numpy()
    n = len(model.items)
    eu = np.bincount(model.facility_item, model.capacity.central * fac_eu, n)
    eu += np.bincount(model.flow_item, model.flow_rate.central * flow_eu, n)
    other = np.bincount(model.facility_item, model.capacity.central * ~fac_eu, n)
    other += np.bincount(model.flow_item, model.flow_rate.central * ~flow_eu, n)
    frame = pd.DataFrame(
        {
            "item": model.items,
            "unit": model.item_unit.to_numpy(),
            "european_per_month": eu,
            "non_european_per_month": other,
        }
    )
    total = frame["european_per_month"] + frame["non_european_per_month"]
    frame["non_european_share"] = np.where(total > 0, frame["non_european_per_month"] / total, 0)
    frame = frame[total > 0]
    return frame.sort_values("non_european_share", ascending=False).reset_index(drop=True)


def available() -> dict[str, Analysis]:
    """The analyses of ``materiel.analysis`` (if it exists) and the structural ones here."""
    found: dict[str, Analysis] = {}
    try:
        module = importlib.import_module("materiel.analysis")
    except ImportError:
        module = None
    for name, spec in dict(getattr(module, "REGISTRY", {})).items():
        found[name] = Analysis(
            name,
            spec.title,
            spec.question,
            spec.function,
            spec.scenario,
            spec.draws,
            getattr(spec, "figure", None),
        )
    for name, fn in dict(getattr(module, "ANALYSES", {})).items():
        if name not in found:
            doc = (getattr(fn, "__doc__", None) or "").strip().split("\n")[0]
            found[name] = Analysis(name, name.replace("_", " ").capitalize(), doc, fn)
    return found | REGISTRY
