"""Turn a scenario's events into per-month arrays over the compiled model.

Every rate is a base value (sampled per draw) times a per-month factor, or a per-month
absolute rate where an event sets one (NaN = no override). Events apply in file order, so a
later event overrides an earlier one where they clash; factors of separate events multiply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from materiel.errors import DataIssue, ScenarioError
from materiel.model import rules
from materiel.model.compiled import FloatArray, IntArray, Model, month_index, month_labels
from materiel.scenario import (
    Allocation,
    Capacity,
    Ceasefire,
    Consumption,
    DeepStrike,
    Flow,
    Intensity,
    Orders,
    Scenario,
    SupplierOutage,
    Transfer,
    USSupplyStops,
)


@dataclass(frozen=True)
class Transfers:
    """Transfer events, one column each: from ``giver`` to ``taker`` of ``item``.

    ``quantity`` (M, X): units moved in each month (NaN outside the window or for a share
    transfer); ``share`` (M, X): share of the giver's stock above its floor moved that month.
    """

    giver: IntArray
    taker: IntArray
    item: IntArray
    quantity: FloatArray
    share: FloatArray

    def __len__(self) -> int:
        return len(self.giver)


@dataclass(frozen=True)
class ScenarioArrays:
    """A scenario on the model's indices. Shapes: (months, actors | facilities | flows ...)."""

    name: str
    months: int
    probability: float
    budget: float | None
    intensity: FloatArray
    """(M, A) multiplier on each actor's consumption."""
    consumption_factor: FloatArray
    """(M, C) multiplier on each consumption row (on top of the actor's intensity)."""
    consumption_rate: FloatArray
    """(M, C) absolute wanted rate, units/month; NaN = base rate x factors."""
    availability: FloatArray
    """(M, F) multiplier on each facility's capacity (>= 0; may exceed 1)."""
    capacity_rate: FloatArray
    """(M, F) absolute capacity, units/month; NaN = sampled capacity x availability."""
    flow_factor: FloatArray
    """(M, L) multiplier on each flow."""
    flow_rate: FloatArray
    """(M, L) absolute flow rate, units/month; NaN = base rate x factor."""
    claim_factor: FloatArray
    """(M, Q) multiplier on each claim (share of need and fixed orders)."""
    claim_share: FloatArray
    """(M, Q) share of the recipient's need claimed; NaN = the sampled share."""
    claim_rate: FloatArray
    """(M, Q) fixed orders, units/month; NaN = the sampled rate."""
    order_level: FloatArray
    """(M, F) production floor as a share of capacity; NaN = produce to requirement only."""
    stock_loss: FloatArray
    """(M, A) share of an actor's stocks destroyed at the start of the month."""
    transfers: Transfers


def _window(month: int, months: int | None, horizon: int) -> slice:
    return slice(month, horizon if months is None else min(horizon, month + months))


def compile_scenario(model: Model, scenario: Scenario, months: int | None = None) -> ScenarioArrays:
    """Apply events in file order. Raises :class:`ScenarioError` naming each bad event field.

    A month before the dataset start or after the scenario's last month is an error; with a
    shorter run (``months`` below the scenario's), events after the run's end do nothing."""
    m = scenario.months if months is None else months
    n_a, n_f = len(model.actors), len(model.facilities)
    n_c, n_l, n_q = len(model.consumption_rate), len(model.flow_rate), len(model.claim_share)
    nan = np.nan
    intensity = np.ones((m, n_a))
    consumption_factor, consumption_rate = np.ones((m, n_c)), np.full((m, n_c), nan)
    availability, capacity_rate = np.ones((m, n_f)), np.full((m, n_f), nan)
    flow_factor, flow_rate = np.ones((m, n_l)), np.full((m, n_l), nan)
    claim_factor = np.ones((m, n_q))
    claim_share, claim_rate = np.full((m, n_q), nan), np.full((m, n_q), nan)
    order_level = np.full((m, n_f), nan)
    stock_loss = np.zeros((m, n_a))
    giver: list[int] = []
    taker: list[int] = []
    t_item: list[int] = []
    t_quantity: list[FloatArray] = []
    t_share: list[FloatArray] = []
    us_stop: int | None = None
    issues: list[DataIssue] = []
    actors, items = list(model.actors), list(model.items)
    groups = rules.supplier_groups(model)

    def bad(i: int, field: str, message: str, allowed: list[str] | None = None) -> None:
        text = None
        if allowed is not None:
            text = ", ".join(allowed[:15]) + (", ..." if len(allowed) > 15 else "")
        issues.append(DataIssue(scenario.name, None, f"events.{i}.{field}", message, text))

    def month_of(i: int, field: str, value: int | str) -> int | None:
        """A month index from an index or a 'YYYY-MM' text, checked against the horizon."""
        t = value if isinstance(value, int) else month_index(model.start, value)
        if t < 0:
            bad(i, field, f"{value} is before the dataset start {model.start}")
            return None
        if t >= scenario.months:
            last = month_labels(model.start, scenario.months)[-1]
            message = (
                f"{value} is after the scenario's last month {last} (month {scenario.months - 1})"
            )
            bad(i, field, message)
            return None
        if t >= m:
            return None  # the run stops before this event (a shorter horizon than the scenario's)
        return t

    def actor(i: int, field: str, code: str) -> int | None:
        if code not in model.actors:
            bad(i, field, f"unknown actor '{code}'", actors)
            return None
        return int(model.actors.get_indexer(pd.Index([code]))[0])

    def item(i: int, field: str, code: str | None) -> int | None:
        if code is None:
            return -1
        if code not in model.items:
            bad(i, field, f"unknown item '{code}'", items)
            return None
        return int(model.items.get_indexer(pd.Index([code]))[0])

    for i, event in enumerate(scenario.events):
        start = month_of(i, "month", event.month) if hasattr(event, "month") else 0
        if start is None:
            continue
        window = _window(start, getattr(event, "months", None), m)
        if isinstance(event, USSupplyStops):
            us_stop = start
            flows, claims = rules.us_outbound(model)
            flow_factor[start:, flows] = 0.0
            flow_rate[start:, flows] = nan
            claim_factor[start:, claims] = 0.0
        elif isinstance(event, Ceasefire):
            intensity[start:, :] = event.intensity
        elif isinstance(event, Intensity):
            unknown = [a for a in event.actors or [] if a not in model.actors]
            if unknown:
                bad(i, "actors", f"unknown actor(s) {', '.join(unknown)}", actors)
                continue
            cols = model.actors.get_indexer(pd.Index(event.actors)) if event.actors else slice(None)
            steps = [(month_of(i, "profile.month", s.month), s.factor) for s in event.profile]
            for t, factor in sorted((t, f) for t, f in steps if t is not None):
                intensity[t:, cols] = factor
        elif isinstance(event, Consumption):
            a, it = actor(i, "actor", event.actor), item(i, "item", event.item)
            if a is None or it is None:
                continue
            rows = (model.consumption_actor == a) & ((model.consumption_item == it) | (it < 0))
            if not rows.any():
                bad(i, "item", f"{event.actor} has no consumption row for this item")
                continue
            _scale(consumption_factor, consumption_rate, window, rows, event.factor, event.rate)
        elif isinstance(event, Flow):
            r, it = actor(i, "recipient", event.recipient), item(i, "item", event.item)
            if r is None or it is None:
                continue
            if event.supplier not in groups:
                bad(i, "supplier", f"unknown supplier '{event.supplier}'", sorted(groups))
                continue
            flows, claims = rules.flow_rows(model, event.supplier, r, it)
            if not flows.any() and not claims.any():
                known = rules.flow_labels(model)
                bad(i, "supplier", "no flow or claim matches supplier, recipient and item", known)
                continue
            if event.rate is not None and flows.sum() + claims.sum() > 1:
                bad(i, "rate", "an absolute rate needs one flow or claim: name the item")
                continue
            _scale(flow_factor, flow_rate, window, flows, event.factor, event.rate)
            if event.rate is not None:
                claim_share[window, claims] = 0.0
            _scale(claim_factor, claim_rate, window, claims, event.factor, event.rate)
        elif isinstance(event, Transfer):
            g, r, it = (
                actor(i, "from", event.giver),
                actor(i, "to", event.to),
                item(i, "item", event.item),
            )
            if g is None or r is None or it is None or it < 0:
                continue
            quantity, share = np.full(m, nan), np.full(m, nan)
            if event.quantity is not None:
                quantity[window] = event.quantity / event.months
            else:
                share[window] = event.share
            giver.append(g)
            taker.append(r)
            t_item.append(it)
            t_quantity.append(quantity)
            t_share.append(share)
        elif isinstance(event, Capacity):
            rows = rules.node_facilities(model, event.node)
            if rows is None:
                bad(i, "node", f"unknown facility or country '{event.node}'", actors)
                continue
            if event.rate is not None and rows.sum() != 1:
                bad(i, "rate", "an absolute capacity needs one facility: name it as the node")
                continue
            _scale(availability, capacity_rate, window, rows, event.factor, event.rate)
        elif isinstance(event, SupplierOutage):
            keep = 1.0 - event.fraction
            rows = rules.node_facilities(model, event.node)
            if rows is None:
                allowed = list(model.facilities) + actors
                bad(i, "node", f"unknown facility or actor '{event.node}'", allowed)
                continue
            availability[window, rows] *= keep
            if event.node in model.actors:
                flow_factor[window, model.flow_supplier == model.actors.get_loc(event.node)] *= keep
        elif isinstance(event, DeepStrike):
            a = actor(i, "target", event.target)
            if a is None:
                continue
            own = (model.flow_supplier == a) & (model.flow_recipient == a)
            flow_factor[window, own] *= 1.0 - event.fraction
            availability[window, model.facility_country == a] *= 1.0 - event.fraction
            stock_loss[start, a] = event.stock_fraction
        elif isinstance(event, Orders):
            if event.supplier not in groups:
                bad(i, "supplier", f"unknown supplier '{event.supplier}'", sorted(groups))
                continue
            unknown = [x for x in event.items or [] if x not in model.items]
            if unknown:
                bad(i, "items", f"unknown item(s) {', '.join(unknown)}", items)
                continue
            chosen = groups[event.supplier].copy()
            if event.items:
                chosen &= np.isin(
                    model.facility_item, model.items.get_indexer(pd.Index(event.items))
                )
            order_level[window, chosen] = event.level
        elif isinstance(event, Allocation):
            rows = model.actors[model.claim_recipient] == event.recipient
            if event.item is not None:
                rows &= model.items[model.claim_item] == event.item
            if event.supplier is not None:
                rows &= model.claim_supplier == event.supplier
            if not rows.any():
                bad(i, "item", "no claim matches recipient and item", rules.claim_labels(model))
                continue
            claim_share[window, rows] = event.share
    if issues:
        raise ScenarioError(issues)
    transfers = Transfers(
        np.array(giver, dtype=np.int64),
        np.array(taker, dtype=np.int64),
        np.array(t_item, dtype=np.int64),
        np.stack(t_quantity, axis=1) if t_quantity else np.zeros((m, 0)),
        np.stack(t_share, axis=1) if t_share else np.zeros((m, 0)),
    )
    if us_stop is not None and len(transfers):
        from_us = rules.region_of(model, transfers.giver) == "us"
        leaving = from_us & (rules.region_of(model, transfers.taker) != "us")
        transfers.quantity[us_stop:, leaving] = 0.0
        transfers.share[us_stop:, leaving] = 0.0
    return ScenarioArrays(
        name=scenario.name,
        months=m,
        probability=scenario.probability,
        budget=scenario.budget,
        intensity=intensity,
        consumption_factor=consumption_factor,
        consumption_rate=consumption_rate,
        availability=availability,
        capacity_rate=capacity_rate,
        flow_factor=flow_factor,
        flow_rate=flow_rate,
        claim_factor=claim_factor,
        claim_share=claim_share,
        claim_rate=claim_rate,
        order_level=order_level,
        stock_loss=stock_loss,
        transfers=transfers,
    )


def _scale(
    factor: FloatArray,
    rate: FloatArray,
    window: slice,
    rows: np.ndarray,
    by: float | None,
    to: float | None,
) -> None:
    """Multiply ``factor`` by ``by``, or set an absolute ``rate`` (clearing the factor)."""
    if by is not None:
        factor[window, rows] *= by
        rate[window, rows] *= by  # an absolute rate set earlier scales too
    else:
        rate[window, rows] = to
        factor[window, rows] = 1.0
