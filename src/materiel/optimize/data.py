"""The LP's input data: the compiled model and scenarios as labelled arrays.

Everything here is plain NumPy/xarray (no solver objects); :mod:`materiel.optimize.build` turns
it into linopy variables and constraints. Units: item units, item units/month, EUR, months.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from materiel.model.compiled import FloatArray, IntArray, Model
from materiel.model.events import ScenarioArrays
from materiel.model.plan import builds
from materiel.model.rules import ramp_fraction

PENALTY_FACTOR = 100.0
"""Default penalty per unit of unmet demand, as a multiple of the item's highest unit cost."""
PENALTY_DECAY = 0.005
"""Default monthly decay of the penalty: (1 - decay)^t, so an early shortfall weighs more."""
TIEBREAK = 1e-3
"""EUR per unit of intermediate production in the objective only (avoids idle output)."""
PENALISED_SIDES = ("ukraine",)
BOUGHT_KINDS = ("end", "service")


@dataclass(frozen=True)
class PlanData:
    """Labelled arrays for the LP. Dims: scenario, month, facility, item, expansion (options
    only), decision (the month a build is decided), allocation, demand (a penalised actor's
    consumption row, labelled ``ACTOR/item``) and year."""

    model: Model
    scenarios: tuple[ScenarioArrays, ...]
    coords: dict[str, pd.Index]
    options: IntArray
    """Positions of the expansion options in ``model.expansions``."""
    weight: xr.DataArray
    """(scenario) probability, normalised to sum to 1."""
    availability: xr.DataArray
    """(scenario, month, facility) share of capacity that works."""
    capacity: xr.DataArray
    """(scenario, month, facility) working capacity without new builds, units/month."""
    added: xr.DataArray
    """(expansion, decision, month) capacity added per whole option decided, units/month."""
    build_upper: xr.DataArray
    """(expansion, month) 1 where a build decided that month adds capacity in the horizon."""
    capex: xr.DataArray
    """(expansion) investment per whole option, EUR."""
    price: xr.DataArray
    """(facility) EUR per unit bought: unit cost of end items and services, 0 otherwise."""
    tiebreak: xr.DataArray
    """(facility) objective-only EUR per unit of intermediate output."""
    facility_item: IntArray
    """(F,) item position made by each facility."""
    expansion_facility: IntArray
    """(E,) facility position of each option."""
    input_facility: IntArray
    """(P,) facility of each (facility, limited input) pair."""
    input_item: IntArray
    """(P,) input item position of each pair."""
    input_quantity: FloatArray
    """(P,) input units per unit of output."""
    allocation_item: IntArray
    """(Q,) item position of each allocation row."""
    allocation_demand: IntArray
    """(Q,) demand position fed by each allocation row, -1 if none."""
    share: xr.DataArray
    """(scenario, month, allocation) share of output allocated (rescaled so an item's
    shares sum to at most 1)."""
    wanted: xr.DataArray
    """(scenario, month, demand) consumption wanted, units/month."""
    inflow: xr.DataArray
    """(scenario, month, demand) flows arriving from outside the facilities, units/month."""
    initial: xr.DataArray
    """(demand) holder stock at the start, units."""
    keep: xr.DataArray
    """(scenario, month, demand) share of the holder's stock surviving the month's losses."""
    penalty: xr.DataArray
    """(month, demand) EUR per unit of unmet demand."""
    budget: xr.DataArray
    """(scenario) EUR per year; NaN = no budget constraint."""
    year: xr.DataArray
    """(month) year index (months 0-11 are year 0)."""
    year_share: xr.DataArray
    """(year) months in the year / 12 (the last year may be partial)."""

    def index(self, name: str) -> pd.Index:
        return self.coords[name]


def _da(values: FloatArray, *dims: pd.Index) -> xr.DataArray:
    return xr.DataArray(np.asarray(values, dtype=float), coords=list(dims))


def committed_capacity(model: Model, months: int) -> FloatArray:
    """Base capacity plus committed expansions ramping up, central values, shape (M, F)."""
    exp, month, scale = builds(model, None)
    online = month + model.lead_time.central[exp]
    frac = ramp_fraction(months, online, model.ramp_time.central[exp])  # (M, K)
    out = np.tile(model.capacity.central, (months, 1))
    added = frac * model.added_capacity.central[exp] * scale
    np.add.at(out.T, model.expansion_facility[exp], added.T)  # scatter onto facilities
    return out


def option_coefficients(model: Model, options: IntArray, months: int) -> FloatArray:
    """Capacity each option adds in month t if decided in month d, shape (E, d, t).

    The simulator's ramp: clip((t - (d + lead) + 1) / (ramp + 1), 0, 1) x added capacity.
    """
    decision = np.arange(months, dtype=float)[:, None]
    online = decision + model.lead_time.central[options][None, :]  # (d, E)
    ramp = np.broadcast_to(model.ramp_time.central[options], online.shape)
    frac = ramp_fraction(months, online, ramp)  # (d, t, E)
    added = model.added_capacity.central[options][:, None, None]
    coefficients: FloatArray = np.transpose(frac, (2, 0, 1)) * added
    return coefficients


def normalised_shares(model: Model, sc: ScenarioArrays) -> FloatArray:
    """Allocation shares per month (M, Q), NaN -> central, rescaled to sum <= 1 per item."""
    central = model.allocation_share.central
    share = np.where(np.isnan(sc.allocation_share), central[None], sc.allocation_share)
    totals = np.zeros((share.shape[0], len(model.items)))
    np.add.at(totals.T, model.allocation_item, share.T)
    return share / np.maximum(1.0, totals[:, model.allocation_item])


def _reference_price(model: Model) -> FloatArray:
    """Highest unit cost of any facility making each item, EUR.

    Items no facility makes (e.g. supplied only by flows) get the median price: no decision
    changes their shortfall, so their penalty only needs to be of a sensible scale.
    """
    cost = model.unit_cost.central
    price = np.zeros(len(model.items))
    np.maximum.at(price, model.facility_item, cost)
    positive = cost[cost > 0]
    fallback = float(np.median(positive)) if len(positive) else 1.0
    return np.where(price > 0, price, fallback if fallback > 0 else 1.0)


def _pairs(a: IntArray, b: IntArray) -> tuple[IntArray, IntArray]:
    """Positions (i, j) with a[i] == b[j]."""
    i, j = np.nonzero(np.asarray(a)[:, None] == np.asarray(b)[None, :])
    return i, j


def prepare(
    model: Model,
    scenarios: Sequence[ScenarioArrays],
    budget: float | None = None,
    penalty_factor: float = PENALTY_FACTOR,
    penalty: Mapping[str, float] | None = None,
    penalty_decay: float = PENALTY_DECAY,
    tiebreak: float = TIEBREAK,
) -> PlanData:
    """Arrays for the LP over ``scenarios`` (same horizon), central values.

    ``budget`` (EUR/year) overrides every scenario's budget. The penalty per unit of unmet
    demand of item i in month t is ``penalty[i]`` (EUR/unit) if given, else ``penalty_factor``
    x the item's highest unit cost, times ``(1 - penalty_decay) ** t``.
    """
    if not scenarios:
        raise ValueError("at least one scenario is needed")
    months = scenarios[0].months
    names = [s.name for s in scenarios]
    if any(s.months != months for s in scenarios):
        raise ValueError("all scenarios of a plan must have the same number of months")
    if len(set(names)) != len(names):
        raise ValueError(f"scenario names must be unique, got {', '.join(names)}")
    if not 0.0 <= penalty_decay < 1.0:
        raise ValueError("penalty_decay must be in [0, 1)")
    if penalty and (unknown := sorted(set(penalty) - set(model.items))):
        raise ValueError(f"penalty for unknown item(s): {', '.join(unknown)}")

    options = np.flatnonzero(np.isnan(model.decided))
    side = model.actor_region.to_numpy()
    demand = np.flatnonzero(np.isin(side[model.consumption_actor], PENALISED_SIDES))
    d_actor, d_item = model.consumption_actor[demand], model.consumption_item[demand]
    d_key = d_actor * len(model.items) + d_item
    q_key = model.allocation_recipient * len(model.items) + model.allocation_item
    f_key = model.flow_recipient * len(model.items) + model.flow_item
    s_key = model.stock_actor * len(model.items) + model.stock_item

    def labels(actor: IntArray, item: IntArray) -> list[str]:
        return [f"{a}/{i}" for a, i in zip(model.actors[actor], model.items[item], strict=True)]

    coords = {
        "scenario": pd.Index(names, name="scenario"),
        "month": pd.RangeIndex(months, name="month"),
        "decision": pd.RangeIndex(months, name="decision"),
        "facility": pd.Index(model.facilities, name="facility"),
        "item": pd.Index(model.items, name="item"),
        "expansion": pd.Index(model.expansions[options], name="expansion"),
        "allocation": pd.Index(
            labels(model.allocation_recipient, model.allocation_item), name="allocation"
        ),
        "demand": pd.Index(labels(d_actor, d_item), name="demand"),
        "year": pd.RangeIndex((months + 11) // 12, name="year"),
    }
    c = coords
    sm = (c["scenario"], c["month"])
    avail = np.stack([s.availability for s in scenarios])
    added = option_coefficients(model, options, months)
    bought = np.isin(model.item_kind.to_numpy()[model.facility_item], BOUGHT_KINDS)
    cost = model.unit_cost.central

    feeds = np.full(len(q_key), -1)
    qi, di = _pairs(q_key, d_key)
    feeds[qi] = di
    fi, fd = _pairs(f_key, d_key)
    si, sd = _pairs(s_key, d_key)
    initial = np.zeros(len(demand))
    np.add.at(initial, sd, model.stock_quantity.central[si])
    inflow = np.zeros((len(scenarios), months, len(demand)))
    for k, s in enumerate(scenarios):  # a handful of scenarios
        np.add.at(inflow[k].T, fd, (model.flow_rate.central[fi] * s.flow_factor[:, fi]).T)

    per_unit = _reference_price(model)[d_item] * penalty_factor
    if penalty:
        given = np.array([penalty.get(str(i), np.nan) for i in model.items[d_item]])
        per_unit = np.where(np.isnan(given), per_unit, given)
    decay = (1.0 - penalty_decay) ** np.arange(months, dtype=float)

    match = (model.facility_item[:, None] == model.recipe_item[None, :]) & model.item_limited[
        model.recipe_input
    ][None, :]
    pf, pr = np.nonzero(match)
    budgets = [budget if budget is not None else s.budget for s in scenarios]
    year = np.arange(months) // 12
    weight = np.array([s.probability for s in scenarios])
    return PlanData(
        model=model,
        scenarios=tuple(scenarios),
        coords=coords,
        options=options,
        weight=_da(weight / weight.sum(), c["scenario"]),
        availability=_da(avail, *sm, c["facility"]),
        capacity=_da(avail * committed_capacity(model, months)[None], *sm, c["facility"]),
        added=_da(added, c["expansion"], c["decision"], c["month"]),
        build_upper=_da(added.sum(axis=2) > 0, c["expansion"], c["month"]),
        capex=_da(model.capex.central[options], c["expansion"]),
        price=_da(cost * bought, c["facility"]),
        tiebreak=_da(np.where(bought, 0.0, tiebreak), c["facility"]),
        facility_item=model.facility_item,
        expansion_facility=model.expansion_facility[options],
        input_facility=pf,
        input_item=model.recipe_input[pr],
        input_quantity=model.recipe_quantity.central[pr],
        allocation_item=model.allocation_item,
        allocation_demand=feeds,
        share=_da(np.stack([normalised_shares(model, s) for s in scenarios]), *sm, c["allocation"]),
        wanted=_da(
            np.stack(
                [
                    model.consumption_rate.central[demand] * s.intensity[:, d_actor]
                    for s in scenarios
                ]
            ),
            *sm,
            c["demand"],
        ),
        inflow=_da(inflow, *sm, c["demand"]),
        initial=_da(initial, c["demand"]),
        keep=_da(np.stack([1.0 - s.stock_loss[:, d_actor] for s in scenarios]), *sm, c["demand"]),
        penalty=_da(decay[:, None] * per_unit[None, :], c["month"], c["demand"]),
        budget=_da(np.array([np.nan if b is None else b for b in budgets]), c["scenario"]),
        year=xr.DataArray(year, coords=[c["month"]], name="year"),
        year_share=_da(np.bincount(year) / 12.0, c["year"]),
    )
