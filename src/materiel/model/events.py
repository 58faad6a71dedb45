"""Turn a scenario's events into per-month arrays over the compiled model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from materiel.model.compiled import FloatArray, Model
from materiel.scenario import (
    Allocation,
    Ceasefire,
    DeepStrike,
    Intensity,
    Orders,
    Scenario,
    SupplierOutage,
    USSupplyStops,
)
from materiel.schema.validate import DataIssue, DatasetError

EUROPEAN_SIDES = ("europe", "ukraine")


@dataclass(frozen=True)
class ScenarioArrays:
    """A scenario on the model's indices. Shapes: (months, actors | facilities | flows ...)."""

    name: str
    months: int
    probability: float
    budget: float | None
    intensity: FloatArray
    """(M, A) multiplier on each actor's consumption."""
    availability: FloatArray
    """(M, F) share of each facility's capacity that works."""
    flow_factor: FloatArray
    """(M, L) multiplier on each flow."""
    order_level: FloatArray
    """(M, F) share of capacity ordered; NaN = the facility's sampled utilisation."""
    allocation_share: FloatArray
    """(M, Q) share of European output allocated; NaN = the sampled share."""
    stock_loss: FloatArray
    """(M, A) share of an actor's stocks destroyed at the start of the month."""


def _window(month: int, months: int | None, horizon: int) -> slice:
    return slice(month, horizon if months is None else min(horizon, month + months))


def compile_scenario(model: Model, scenario: Scenario, months: int | None = None) -> ScenarioArrays:
    """Apply events in file order (a later event overrides an earlier one where they clash)."""
    m = scenario.months if months is None else months
    n_a, n_f, n_l = len(model.actors), len(model.facilities), len(model.flow_rate)
    intensity = np.ones((m, n_a))
    availability = np.ones((m, n_f))
    flow_factor = np.ones((m, n_l))
    order_level = np.full((m, n_f), np.nan)
    allocation = np.full((m, len(model.allocation_share)), np.nan)
    stock_loss = np.zeros((m, n_a))
    side = model.actor_side.to_numpy()
    european_facility = np.isin(side[model.facility_country], EUROPEAN_SIDES)
    issues: list[DataIssue] = []

    def bad(i: int, field: str, message: str, allowed: list[str]) -> None:
        text = ", ".join(allowed[:15]) + (", ..." if len(allowed) > 15 else "")
        issues.append(DataIssue(scenario.name, None, f"events.{i}.{field}", message, text))

    actors = list(model.actors)
    for i, event in enumerate(scenario.events):
        if isinstance(event, USSupplyStops):
            flow_factor[event.month :, side[model.flow_supplier] == "us"] = 0.0
        elif isinstance(event, Ceasefire):
            intensity[event.month :, :] = event.intensity
        elif isinstance(event, Intensity):
            unknown = [a for a in event.actors or [] if a not in model.actors]
            if unknown:
                bad(i, "actors", f"unknown actor(s) {', '.join(unknown)}", actors)
                continue
            cols = (
                model.actors.get_indexer(pd.Index(event.actors)) if event.actors else np.arange(n_a)
            )
            for step in sorted(event.profile, key=lambda s: s.month):
                intensity[step.month :, cols] = step.factor
        elif isinstance(event, SupplierOutage):
            window = _window(event.month, event.months, m)
            keep = 1.0 - event.fraction
            if event.node in model.facilities:
                availability[window, model.facilities.get_loc(event.node)] *= keep
            elif event.node in model.actors:
                a = model.actors.get_loc(event.node)
                availability[window, model.facility_country == a] *= keep
                flow_factor[window, model.flow_supplier == a] *= keep
            else:
                bad(
                    i,
                    "node",
                    f"unknown facility or actor '{event.node}'",
                    list(model.facilities) + actors,
                )
        elif isinstance(event, DeepStrike):
            if event.target not in model.actors:
                bad(i, "target", f"unknown actor '{event.target}'", actors)
                continue
            a = model.actors.get_loc(event.target)
            window = _window(event.month, event.months, m)
            own = (model.flow_supplier == a) & (model.flow_recipient == a)
            flow_factor[window, own] *= 1.0 - event.fraction
            availability[window, model.facility_country == a] *= 1.0 - event.fraction
            if event.month < m:
                stock_loss[event.month, a] = event.stock_fraction
        elif isinstance(event, Orders):
            unknown = [x for x in event.items or [] if x not in model.items]
            if unknown:
                bad(i, "items", f"unknown item(s) {', '.join(unknown)}", list(model.items))
                continue
            chosen = european_facility.copy()
            if event.items:
                chosen &= np.isin(
                    model.facility_item, model.items.get_indexer(pd.Index(event.items))
                )
            order_level[event.month :, chosen] = event.level
        elif isinstance(event, Allocation):
            rows = np.flatnonzero(
                (model.actors[model.allocation_recipient] == event.recipient)
                & (model.items[model.allocation_item] == event.item)
            )
            if len(rows) == 0:
                known = [
                    f"{r}/{it}"
                    for r, it in zip(
                        model.actors[model.allocation_recipient],
                        model.items[model.allocation_item],
                        strict=True,
                    )
                ]
                bad(i, "item", f"no allocation row for {event.recipient}/{event.item}", known)
                continue
            allocation[event.month :, rows] = event.share
    if issues:
        raise DatasetError(issues)
    return ScenarioArrays(
        scenario.name,
        m,
        scenario.probability,
        scenario.budget,
        intensity,
        availability,
        flow_factor,
        order_level,
        allocation,
        stock_loss,
    )
