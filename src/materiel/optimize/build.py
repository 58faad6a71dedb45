"""Build the capacity-expansion LP with linopy: one builder per variable/constraint family.

Variables (units): ``build[expansion, month]`` (share of an option decided that month),
``new_capacity[month, facility]`` (capacity the builds add, units/month), and per (scenario,
month, facility | item | allocation | demand): ``production`` (units/month),
``industry_stock`` (units), ``shipment`` (units/month), ``holder_stock`` (units), ``fired``
and ``unmet`` (units/month). Non-anticipativity is implicit: ``build`` has no
scenario dim, so every scenario shares the same investments (and ``new_capacity``).

Each constraint family is vectorised: its terms are gathered with NumPy index arithmetic
(:mod:`materiel.optimize.terms`), never a Python loop over facilities or months, and handed
to linopy as one expression. The LP is in docs/methodology-optimiser.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import linopy
import numpy as np
import pandas as pd
import xarray as xr
from linopy import Variable

from materiel.optimize.data import PlanData
from materiel.optimize.terms import (
    Terms,
    expression,
    flat_expression,
    labels,
    lagged,
    own,
    pair_index,
    regrouped,
)

linopy.options["semantics"] = "v1"

ExtraConstraint = Callable[[linopy.Model, PlanData], None]
"""An analyst's hook ``f(lp, data)``: add variables or constraints (or change the objective)
on the built LP with linopy's own API, e.g.
``lp.add_constraints(lp.variables["build"].sel(month=slice(0, 5)) == 0, name="no_early")``."""

MONTH = 1  # axis of the month in (scenario, month, ...) rows


def _rows(d: PlanData, last: str) -> list[pd.Index]:
    return [d.coords["scenario"], d.coords["month"], d.coords[last]]


def _variables(m: linopy.Model, d: PlanData, last: str, name: str) -> Variable:
    return m.add_variables(lower=0.0, coords=_rows(d, last), name=name)


def define_expansion_variables(m: linopy.Model, d: PlanData) -> Variable:
    """``build[expansion, month]`` in [0, 1]: share of an option decided in that month
    (first stage; upper bound 0 where it could not deliver within the horizon)."""
    return m.add_variables(lower=0.0, upper=d.build_upper, name="build")


def define_production_variables(m: linopy.Model, d: PlanData) -> Variable:
    """``production[scenario, month, facility]`` >= 0, units/month: the plan's orders."""
    return _variables(m, d, "facility", "production")


def define_stock_variables(m: linopy.Model, d: PlanData) -> Variable:
    """``industry_stock[scenario, month, item]`` >= 0: European industry stock at month end."""
    return _variables(m, d, "item", "industry_stock")


def define_allocation_variables(m: linopy.Model, d: PlanData) -> Variable:
    """``shipment[scenario, month, allocation]`` >= 0: output sent to a recipient, units/month."""
    return _variables(m, d, "allocation", "shipment")


def define_holder_variables(m: linopy.Model, d: PlanData) -> tuple[Variable, ...]:
    """``holder_stock`` (units), ``fired`` and ``unmet`` (units/month) per (scenario, month,
    demand), all >= 0."""
    return tuple(_variables(m, d, "demand", n) for n in ("holder_stock", "fired", "unmet"))


def _has_option(d: PlanData) -> np.ndarray:
    """(F,) True where a facility has at least one expansion option."""
    return np.isin(np.arange(len(d.coords["facility"])), d.expansion_facility)


def define_new_capacity_variables(m: linopy.Model, d: PlanData) -> Variable:
    """``new_capacity[month, facility]``: capacity the builds add (units/month, first stage;
    only at facilities with options, masked elsewhere)."""
    c = d.coords
    mask = np.broadcast_to(_has_option(d), (len(c["month"]), len(c["facility"])))
    return m.add_variables(
        lower=0.0, coords=[c["month"], c["facility"]], name="new_capacity", mask=mask
    )


def define_expansion_constraints(m: linopy.Model, d: PlanData) -> None:
    """Each option is built at most once in total: sum over months of build <= 1."""
    if len(d.options):
        lhs = expression(m, [d.coords["expansion"]], Terms(labels(m, "build"), np.ones(1)))
        m.add_constraints(lhs, "<=", 1.0, name="build_once")


def define_new_capacity_constraints(m: linopy.Model, d: PlanData) -> None:
    """new_capacity[t, f] = sum over options e at f and decision months u of
    added[e, u, t] x build[e, u] (units/month), with the simulator's lead time and ramp."""
    if len(d.options) == 0:
        return
    c = d.coords
    index, _ = pair_index(np.arange(len(d.options)), d.expansion_facility, len(c["facility"]))
    e = np.maximum(index, 0)  # (F, K) options at each facility
    coeff = np.moveaxis(d.added.to_numpy()[e], -1, 0) * (index >= 0)[None, :, :, None]
    build = np.broadcast_to(labels(m, "build")[e][None], coeff.shape)  # (M, F, K, U)
    vars_ = np.where(coeff != 0, build, -1)
    shape = (*coeff.shape[:2], -1)
    built = Terms(vars_.reshape(shape), -coeff.reshape(shape))
    lhs = expression(m, [c["month"], c["facility"]], own(m, "new_capacity"), built)
    mask = np.broadcast_to(_has_option(d), (len(c["month"]), len(c["facility"])))
    rows = xr.DataArray(mask, coords=[c["month"], c["facility"]])
    m.add_constraints(lhs, "=", 0.0, name="new_capacity", mask=rows)


def define_capacity_constraints(m: linopy.Model, d: PlanData) -> None:
    """production - availability x new_capacity <= availability x (base + committed),
    per scenario, month and facility (units/month)."""
    new = Terms(labels(m, "new_capacity")[None, ..., None], -d.availability.to_numpy()[..., None])
    lhs = expression(m, _rows(d, "facility"), own(m, "production"), new)
    m.add_constraints(lhs, "<=", d.capacity, name="capacity")


def define_balance_constraints(m: linopy.Model, d: PlanData) -> None:
    """Material balance per item (units): stock[t] - stock[t-1] - made[t] + inputs used[t]
    + shipped[t] = 0, through the bill of materials; unlimited inputs are free."""
    prod, ship = labels(m, "production"), labels(m, "shipment")
    n_i, n_f = len(d.coords["item"]), len(d.coords["facility"])
    n_q = len(d.coords["allocation"])
    made = regrouped(prod, 2, np.arange(n_f), d.facility_item, n_i)
    used = regrouped(prod, 2, d.input_facility, d.input_item, n_i, d.input_quantity)
    shipped = regrouped(ship, 2, np.arange(n_q), d.allocation_item, n_i)
    lhs = expression(
        m,
        _rows(d, "item"),
        own(m, "industry_stock"),
        lagged(m, "industry_stock", MONTH, -1.0),
        made and made.scaled(-1.0),
        used,
        shipped,
    )
    m.add_constraints(lhs, "=", 0.0, name="balance")


def define_allocation_constraints(m: linopy.Model, d: PlanData) -> None:
    """shipment - share x output of the allocated item = 0 (the simulator's allocation rule),
    per scenario, month and allocation row."""
    if len(d.coords["allocation"]) == 0:
        return
    pf, pq = np.nonzero(d.facility_item[:, None] == d.allocation_item[None, :])
    made = regrouped(labels(m, "production"), 2, pf, pq, len(d.coords["allocation"]))
    lhs = expression(
        m,
        _rows(d, "allocation"),
        own(m, "shipment"),
        made and made.scaled(-d.share.to_numpy()),
    )
    m.add_constraints(lhs, "=", 0.0, name="allocation")


def define_demand_constraints(m: linopy.Model, d: PlanData) -> None:
    """fired + unmet = wanted (units/month): unmet demand is a penalised slack."""
    lhs = expression(m, _rows(d, "demand"), own(m, "fired"), own(m, "unmet"))
    m.add_constraints(lhs, "=", d.wanted, name="demand")


def define_holder_constraints(m: linopy.Model, d: PlanData) -> None:
    """Holder stock (units): stock[t] - keep[t] x stock[t-1] + fired[t] - shipments[t] =
    flows[t] (+ keep[0] x starting stock in month 0); stock >= 0 means fired <= stock on hand."""
    feeding = np.flatnonzero(d.allocation_demand >= 0)
    arrivals = regrouped(
        labels(m, "shipment"), 2, feeding, d.allocation_demand[feeding], len(d.coords["demand"])
    )
    keep = d.keep.to_numpy()
    lhs = expression(
        m,
        _rows(d, "demand"),
        own(m, "holder_stock"),
        lagged(m, "holder_stock", MONTH).scaled(-keep),
        own(m, "fired"),
        arrivals and arrivals.scaled(-1.0),
    )
    first = (d.coords["month"] == 0).astype(float)[None, :, None]
    rhs = d.inflow + d.keep * d.initial * first
    m.add_constraints(lhs, "=", rhs, name="holder")


def _by_year(lab: np.ndarray, years: int) -> np.ndarray:
    """Labels (..., M, N) -> (..., Y, 12 N), padding the last year's missing months with -1."""
    pad = years * 12 - lab.shape[-2]
    width = [(0, 0)] * (lab.ndim - 2) + [(0, pad), (0, 0)]
    padded = np.pad(lab, width, constant_values=-1)
    return padded.reshape(*lab.shape[:-2], years, -1)


def define_budget_constraints(m: linopy.Model, d: PlanData) -> None:
    """Per scenario and year: purchases of end items + capex decided that year <= budget x
    months in the year / 12 (EUR). Scenarios without a budget get no row."""
    has = d.budget.notnull().to_numpy()
    if not has.any():
        return
    years = len(d.coords["year"])
    price = d.price.to_numpy()
    priced = np.flatnonzero(price > 0)
    purchases = Terms(
        _by_year(labels(m, "production")[:, :, priced], years),
        np.tile(price[priced], 12)[None, None],
    )
    capex = None
    if len(d.options):
        build = _by_year(np.moveaxis(labels(m, "build"), 0, -1), years)  # (Y, 12 E)
        capex = Terms(build[None], np.tile(d.capex.to_numpy(), 12)[None, None])
    coords = [d.coords["scenario"], d.coords["year"]]
    lhs = expression(m, coords, purchases, capex)
    rhs = d.budget.fillna(0.0) * d.year_share
    mask = np.broadcast_to(has[:, None], (len(has), years))
    m.add_constraints(lhs, "<=", rhs, name="budget", mask=rhs.copy(data=mask))


def define_objective(m: linopy.Model, d: PlanData) -> None:
    """Minimise sum over scenarios of probability x (penalty x unmet + unit cost x production)
    + capex x build (EUR)."""
    w = d.weight.to_numpy()[:, None, None]
    per_unit = (d.price + d.tiebreak).to_numpy()[None, None, :]
    parts = [
        Terms(labels(m, "unmet"), w * d.penalty.to_numpy()[None]),
        Terms(labels(m, "production"), w * per_unit),
    ]
    if len(d.options):
        parts.append(Terms(labels(m, "build"), d.capex.to_numpy()[:, None]))
    m.add_objective(flat_expression(m, *parts))


VARIABLES = (
    define_expansion_variables,
    define_new_capacity_variables,
    define_production_variables,
    define_stock_variables,
    define_allocation_variables,
    define_holder_variables,
)
CONSTRAINTS = (
    define_expansion_constraints,
    define_new_capacity_constraints,
    define_capacity_constraints,
    define_balance_constraints,
    define_allocation_constraints,
    define_demand_constraints,
    define_holder_constraints,
    define_budget_constraints,
)


def build_problem(d: PlanData, extra: Sequence[ExtraConstraint] = ()) -> linopy.Model:
    """The full LP: every variable and constraint family, the objective, then each ``extra``
    hook in order."""
    m = linopy.Model(force_dim_names=True)
    for define in (*VARIABLES, *CONSTRAINTS, define_objective):
        define(m, d)
    for hook in extra:
        hook(m, d)
    return m
