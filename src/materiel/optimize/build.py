"""Build the capacity-expansion LP with linopy: one builder per variable/constraint family.

Variables (units): ``build[expansion, month]`` (share of an option decided that month),
``new_capacity[month, facility]`` (capacity the builds add, units/month), and per (scenario,
month, ...): ``production`` (facility, units/month), ``shipment`` (link: a line serving a
claim, units/month), ``stock`` (pair: a tracked actor/item holding at month end, units),
``draw`` (held: intermediates taken from a producer's holding, units/month), ``fired``,
``unmet`` and ``excess`` (demand, units/month or units), ``short`` (claim: fixed orders not
served, units/month) and ``transfer`` (units/month). Non-anticipativity is implicit: ``build``
has no scenario dim, so every scenario shares the same investments.

Each family is vectorised: its terms are gathered with NumPy index arithmetic
(:mod:`materiel.optimize.terms`), never a Python loop over facilities or months, and handed to
linopy's public :class:`linopy.LinearExpression` constructor as one expression. No global
linopy option is set. The LP is in docs/methodology-optimiser.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import linopy
import numpy as np
import pandas as pd
import xarray as xr
from linopy import LinearExpression, Variable

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

ExtraConstraint = Callable[[linopy.Model, PlanData], None]
"""An analyst's hook ``f(lp, data)``: add variables or constraints (or change the objective)
on the built LP with linopy's own API, e.g.
``lp.add_constraints(lp.variables["build"].sel(month=slice(0, 5)) == 0, name="no_early")``."""

MONTH = 1  # axis of the month in (scenario, month, ...) rows
LAST = 2  # axis of the family's own dim in (scenario, month, ...) rows


def _rows(d: PlanData, last: str) -> list[pd.Index]:
    return [d.coords["scenario"], d.coords["month"], d.coords[last]]


def _mask(d: PlanData, last: str, values: np.ndarray) -> xr.DataArray:
    """A (scenario, month, last) mask from ``values`` broadcast to that grid."""
    rows = _rows(d, last)
    shape = tuple(len(c) for c in rows)
    return xr.DataArray(np.broadcast_to(np.asarray(values, dtype=bool), shape), coords=rows)


def _variables(
    m: linopy.Model, d: PlanData, last: str, name: str, upper: xr.DataArray | float = np.inf
) -> Variable:
    return m.add_variables(lower=0.0, upper=upper, coords=_rows(d, last), name=name)


# --- variables ---------------------------------------------------------------------------


def max_builds(d: PlanData) -> xr.DataArray:
    """(expansion) how many modules of each option may be built in total (``max_builds`` in
    expansions.csv; 1 where the column is absent)."""
    table = d.model.dataset.tables["expansions"].set_index("expansion")
    if "max_builds" not in table.columns:
        return xr.DataArray(np.ones(len(d.options)), coords=[d.coords["expansion"]])
    values = table["max_builds"].astype(float).reindex(d.coords["expansion"]).fillna(1.0)
    return xr.DataArray(values.to_numpy(), coords=[d.coords["expansion"]])


def define_expansion_variables(m: linopy.Model, d: PlanData, integer: bool = False) -> None:
    """``build[expansion, month]`` in [0, max_builds]: modules of an option decided in that
    month (first stage; upper bound 0 where it could not deliver within the horizon; whole
    modules if ``integer``), and ``new_capacity[month, facility]`` >= 0 (units/month; only
    where options exist)."""
    most = max_builds(d)
    upper = d.build_upper * (np.floor(most + 1e-9) if integer else most)
    m.add_variables(lower=0.0, upper=upper, name="build", integer=integer)
    c = d.coords
    mask = np.broadcast_to(_has_option(d), (len(c["month"]), len(c["facility"])))
    m.add_variables(
        lower=0.0,
        coords=[c["month"], c["facility"]],
        name="new_capacity",
        mask=xr.DataArray(mask, coords=[c["month"], c["facility"]]),
    )


def define_flow_variables(m: linopy.Model, d: PlanData) -> None:
    """``production[s, t, facility]``, ``shipment[s, t, link]``, ``draw[s, t, held]`` and
    ``transfer[s, t, transfer]`` (at most the event's quantity), all >= 0, units/month."""
    _variables(m, d, "facility", "production")
    _variables(m, d, "link", "shipment")
    _variables(m, d, "held", "draw")
    _variables(m, d, "transfer", "transfer", upper=UPPER["transfer"](d))


def define_holder_variables(m: linopy.Model, d: PlanData) -> None:
    """``stock[s, t, pair]`` (units at month end), ``fired``, ``unmet`` (units/month) and
    ``excess`` (units) per demand row, ``short[s, t, claim]`` (units/month), all >= 0."""
    _variables(m, d, "pair", "stock")
    for name in ("fired", "unmet"):
        _variables(m, d, "demand", name)
    _variables(m, d, "demand", "excess", upper=UPPER["excess"](d))
    _variables(m, d, "claim", "short")


def _has_option(d: PlanData) -> np.ndarray:
    """(F,) True where a facility has at least one expansion option."""
    return np.isin(np.arange(len(d.coords["facility"])), d.expansion_facility)


# --- capacity ----------------------------------------------------------------------------


def define_expansion_constraints(m: linopy.Model, d: PlanData) -> None:
    """Each option is built at most its module limit in total: sum over months of build <=
    max_builds (expansions.csv; 1 by default)."""
    if len(d.options):
        lhs = expression(m, [d.coords["expansion"]], Terms(labels(m, "build"), np.ones(1)))
        m.add_constraints(lhs, "<=", max_builds(d), name="build_once")


def define_new_capacity_constraints(m: linopy.Model, d: PlanData) -> None:
    """new_capacity[t, f] = sum over options e at f and decision months u of
    added[e, u, t] x build[e, u] (units/month): the simulator's lead time and ramp."""
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
    """production - availability x new_capacity <= working capacity of base + committed
    builds (rules.working_capacity; an absolute capacity ignores builds), units/month."""
    new = Terms(labels(m, "new_capacity")[None, ..., None], -d.availability.to_numpy()[..., None])
    lhs = expression(m, _rows(d, "facility"), own(m, "production"), new)
    m.add_constraints(lhs, "<=", RHS["capacity"](d), name="capacity")


# --- material --------------------------------------------------------------------------


def _regrouped(
    m: linopy.Model, name: str, target: np.ndarray, n_new: int, sign: float
) -> Terms | None:
    """Variable ``name`` (one per link or transfer on its last axis) regrouped onto a new
    last axis of width ``n_new`` by ``target``, with coefficient ``sign``."""
    return regrouped(
        labels(m, name),
        LAST,
        np.arange(len(target)),
        target,
        n_new,
        np.full(len(target), sign),
    )


def define_shipment_constraints(m: linopy.Model, d: PlanData) -> None:
    """A line ships at most what it makes: sum of its shipments - production <= 0
    (end items and services; what nobody takes stays with the producer country)."""
    n_f = len(d.coords["facility"])
    lhs = expression(
        m,
        _rows(d, "facility"),
        _regrouped(m, "shipment", d.link_facility, n_f, 1.0),
        own(m, "production", -1.0),
    )
    m.add_constraints(lhs, "<=", 0.0, name="ship_limit", mask=_mask(d, "facility", d.end_line))


def define_balance_constraints(m: linopy.Model, d: PlanData) -> None:
    """Stock of every tracked holding (units): stock[t] - keep x stock[t-1] - made + shipped
    out - shipped in + drawn + fired - transfers in + transfers out = flows[t] (+ the
    surviving starting stock in month 0). End items a line makes land at the producer
    country's holding and leave it as shipments; intermediates land there and leave as draws."""
    n_p = len(d.coords["pair"])
    n_f = len(d.coords["facility"])
    prod = labels(m, "production")
    lhs = expression(
        m,
        _rows(d, "pair"),
        own(m, "stock"),
        lagged(m, "stock", MONTH).scaled(-d.keep.to_numpy()),
        regrouped(prod, LAST, np.arange(n_f), d.facility_pair, n_p, -np.ones(n_f)),
        _regrouped(m, "shipment", d.facility_pair[d.link_facility], n_p, 1.0),
        _regrouped(m, "shipment", d.claim_pair[d.link_claim], n_p, -1.0),
        regrouped(labels(m, "draw"), LAST, np.arange(len(d.held_pair)), d.held_pair, n_p),
        regrouped(labels(m, "fired"), LAST, np.arange(len(d.demand_pair)), d.demand_pair, n_p),
        _regrouped(m, "transfer", d.transfer_taker, n_p, -1.0),
        _regrouped(m, "transfer", d.transfer_giver, n_p, 1.0),
    )
    m.add_constraints(lhs, "=", RHS["balance"](d), name="balance")


def define_input_constraints(m: linopy.Model, d: PlanData) -> None:
    """Inputs (units/month): sum of draws on producers' holdings of item i - sum over lines
    of recipe quantity x production = 0, for every limited input drawn from the chain (one
    allied market: any holding serves any line)."""
    n_i = len(d.coords["item"])
    items = np.union1d(d.input_item, d.held_item)
    if len(items) == 0:
        return
    lhs = expression(
        m,
        _rows(d, "item"),
        regrouped(labels(m, "draw"), LAST, np.arange(len(d.held_item)), d.held_item, n_i),
        regrouped(
            labels(m, "production"), LAST, d.input_facility, d.input_item, n_i, -d.input_quantity
        ),
    )
    mask = np.isin(np.arange(n_i), items)
    m.add_constraints(lhs, "=", 0.0, name="inputs", mask=_mask(d, "item", mask))


# --- right-hand sides and bounds (shared with the sweep's in-place update) -----------------


def claim_rhs(d: PlanData) -> xr.DataArray:
    """rate + share x (sustain x wanted - flows and surviving starting stock), units/month."""
    share = d.claim_share.to_numpy()
    fed = d.claim_demand >= 0
    target = np.zeros_like(share)
    if fed.any():
        dem = np.maximum(d.claim_demand, 0)
        need = d.sustain.to_numpy()[dem] * d.wanted.to_numpy()[..., dem]
        target = np.where(fed, need - d.arrivals.to_numpy()[..., d.claim_pair], 0.0)
    return xr.DataArray(d.claim_rate.to_numpy() + share * target, coords=_rows(d, "claim"))


def _spare(d: PlanData) -> np.ndarray:
    first = (d.coords["month"] == 0).astype(float)[None, :, None]
    initial = d.initial.to_numpy()[:, None, :]
    spare: np.ndarray = d.keep.to_numpy() * initial * first - d.floor.to_numpy()
    return spare


def floor_rhs(d: PlanData) -> xr.DataArray:
    """keep x starting stock (month 0) - floor of each holding, units."""
    return xr.DataArray(_spare(d), coords=_rows(d, "pair"))


def transfer_share_rhs(d: PlanData) -> xr.DataArray:
    """share x (keep x starting stock (month 0) - floor) of each transfer's giver, units."""
    share = d.transfer_share.to_numpy()
    spare = _spare(d)[..., d.transfer_giver]
    return xr.DataArray(share * spare, coords=_rows(d, "transfer"))


def budget_rhs(d: PlanData) -> xr.DataArray:
    """Budget per scenario and year, EUR (0 where a scenario has none: the row is masked)."""
    rhs: xr.DataArray = d.budget.fillna(0.0) * d.year_share
    return rhs


RHS: dict[str, Callable[[PlanData], xr.DataArray]] = {
    "capacity": lambda d: d.capacity,
    "balance": lambda d: d.arrivals,
    "demand": lambda d: d.wanted,
    "claim": claim_rhs,
    "orders": lambda d: d.claim_rate,
    "floor": floor_rhs,
    "transfer_share": transfer_share_rhs,
    "budget": budget_rhs,
}
"""Right-hand side of each constraint family whose rhs depends on the data."""
UPPER: dict[str, Callable[[PlanData], xr.DataArray]] = {
    "transfer": lambda d: d.transfer_quantity,
    "excess": lambda d: d.excess_upper,
}
"""Upper bound of each variable family whose bound depends on the data."""


# --- users and claims --------------------------------------------------------------------


def define_demand_constraints(m: linopy.Model, d: PlanData) -> None:
    """fired + unmet = wanted (units/month), and the sustainment policy (rules.fired):
    fired <= stock on hand / sustain, i.e. (sustain - 1) x fired - stock at month end <= 0
    (rows only where sustain > 1; with sustain = 1 a user fires all it has)."""
    lhs = expression(m, _rows(d, "demand"), own(m, "fired"), own(m, "unmet"))
    m.add_constraints(lhs, "=", RHS["demand"](d), name="demand")
    sustain = d.sustain.to_numpy()
    stock = labels(m, "stock")[..., d.demand_pair]
    spread = expression(
        m,
        _rows(d, "demand"),
        own(m, "fired", 1.0).scaled(np.maximum(sustain - 1.0, 0.0)),
        Terms(stock[..., None], -np.ones(1)),
    )
    m.add_constraints(spread, "<=", 0.0, name="sustain", mask=_mask(d, "demand", sustain > 1.0))


def define_claim_constraints(m: linopy.Model, d: PlanData) -> None:
    """What lines ship to a claim (units/month) is at most the simulator's claim
    (rules.claimed) with the need linear while positive: served <= rate + share x (sustain x
    wanted - stock before deliveries + excess), stock before deliveries = keep x stock[t-1] +
    flows + transfers in - out. ``excess`` (>= 0, at most the stock a user can hold above
    its target, 0 in most months) only keeps the row feasible when the need is zero. Fixed
    orders not served: served + short >= rate."""
    n_q = len(d.coords["claim"])
    if n_q == 0:
        return
    share = d.claim_share.to_numpy()  # (S, M, Q), 0 where the recipient has no demand row
    rate = d.claim_rate.to_numpy()
    dem = np.maximum(d.claim_demand, 0)
    pair = d.claim_pair
    served = _regrouped(m, "shipment", d.link_claim, n_q, 1.0)
    prev = lagged(m, "stock", MONTH)
    prev_at = Terms(prev.vars[..., pair, :], np.ones(1)).scaled(
        share * d.keep.to_numpy()[..., pair]
    )
    fed = d.claim_demand >= 0
    excess = None
    if fed.any():
        excess = regrouped(
            labels(m, "excess"), LAST, dem[fed], np.flatnonzero(fed), n_q, -np.ones(fed.sum())
        )
        excess = excess and excess.scaled(share)
    tr = labels(m, "transfer")
    taker = np.nonzero(d.transfer_taker[:, None] == pair[None, :])
    giver = np.nonzero(d.transfer_giver[:, None] == pair[None, :])
    tr_in = regrouped(tr, LAST, taker[0], taker[1], n_q)
    tr_out = regrouped(tr, LAST, giver[0], giver[1], n_q, -np.ones(len(giver[0])))
    lhs = expression(
        m,
        _rows(d, "claim"),
        served,
        prev_at,
        excess,
        tr_in and tr_in.scaled(share),
        tr_out and tr_out.scaled(share),
    )
    m.add_constraints(lhs, "<=", claim_rhs(d), name="claim")
    short = expression(m, _rows(d, "claim"), served, own(m, "short"))
    m.add_constraints(
        short, ">=", RHS["orders"](d), name="orders", mask=_mask(d, "claim", rate > 0)
    )


def define_transfer_constraints(m: linopy.Model, d: PlanData) -> None:
    """A giver moves at most its stock above its floor (rules.above_floor), before the
    month's flows: sum of its transfers - keep x stock[t-1] <= keep x starting stock (month 0)
    - floor; a share transfer moves at most share x that."""
    n_x = len(d.coords["transfer"])
    if n_x == 0:
        return
    n_p = len(d.coords["pair"])
    keep = d.keep.to_numpy()
    prev = lagged(m, "stock", MONTH).scaled(-keep)
    moved = _regrouped(m, "transfer", d.transfer_giver, n_p, 1.0)
    lhs = expression(m, _rows(d, "pair"), moved, prev)
    givers = np.isin(np.arange(n_p), d.transfer_giver)
    m.add_constraints(
        lhs,
        "<=",
        floor_rhs(d),
        name="floor",
        mask=_mask(d, "pair", givers),
    )
    share = d.transfer_share.to_numpy()
    g = d.transfer_giver
    lagged_giver = Terms(lagged(m, "stock", MONTH).vars[..., g, :], np.ones(1))
    rows = expression(
        m,
        _rows(d, "transfer"),
        own(m, "transfer"),
        lagged_giver.scaled(-share * keep[..., g]),
    )
    m.add_constraints(
        rows,
        "<=",
        transfer_share_rhs(d),
        name="transfer_share",
        mask=_mask(d, "transfer", share > 0),
    )


# --- money ---------------------------------------------------------------------------------


def _by_year(lab: np.ndarray, years: int) -> np.ndarray:
    """Labels (..., M, N) -> (..., Y, 12 N), padding the last year's missing months with -1."""
    pad = years * 12 - lab.shape[-2]
    width = [(0, 0)] * (lab.ndim - 2) + [(0, pad), (0, 0)]
    padded = np.pad(lab, width, constant_values=-1)
    return padded.reshape(*lab.shape[:-2], years, -1)


def capex_schedule(d: PlanData) -> np.ndarray:
    """Share of an option's capex paid in month t when decided in month u, shape (E, u, t):
    spread evenly over the lead time (months u to u + lead; all in month u if the lead time
    is 0). Payments after the horizon fall in no budget year."""
    months = len(d.coords["month"])
    lead = d.model.lead_time.central[d.options][:, None, None]  # (E, 1, 1)
    start = np.arange(months, dtype=float)
    k = start[None, None, :] - start[None, :, None]  # months since the decision, (1, u, t)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = (np.clip(k + 1.0, 0.0, lead) - np.clip(k, 0.0, lead)) / lead
    at_once = np.broadcast_to(k == 0, spread.shape).astype(float)
    out: np.ndarray = np.where(lead > 0, spread, at_once)
    return out


def define_budget_constraints(m: linopy.Model, d: PlanData, spread: bool = False) -> None:
    """Per scenario and year: purchases of end items + capex <= budget x months in the year /
    12 (EUR). Capex is paid in the decision month, or, if ``spread``, evenly over the lead
    time (:func:`capex_schedule`). Scenarios without a budget get no row."""
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
    if len(d.options) and spread:
        pay = capex_schedule(d)  # (E, u, t)
        per_year = np.stack(
            [pay[..., (d.year == y).to_numpy()].sum(axis=-1) for y in range(years)]
        )  # (Y, E, u)
        cost = per_year * d.capex.to_numpy()[None, :, None]
        lab = np.broadcast_to(labels(m, "build")[None], cost.shape)
        capex = Terms(lab.reshape(1, years, -1), cost.reshape(1, years, -1))
    elif len(d.options):
        build = _by_year(np.moveaxis(labels(m, "build"), 0, -1), years)  # (Y, 12 E)
        capex = Terms(build[None], np.tile(d.capex.to_numpy(), 12)[None, None])
    coords = [d.coords["scenario"], d.coords["year"]]
    lhs = expression(m, coords, purchases, capex)
    rhs = budget_rhs(d)
    mask = np.broadcast_to(has[:, None], (len(has), years))
    m.add_constraints(lhs, "<=", rhs, name="budget", mask=rhs.copy(data=mask))


def objective_terms(m: linopy.Model, d: PlanData) -> list[Terms]:
    """Terms of the objective (EUR-equivalent): per scenario, probability x (penalty x unmet +
    unserved fixed orders x their weight + unit cost x production + tie-break x (excess -
    transfers)), plus capex x build."""
    w = d.weight.to_numpy()[:, None, None]
    per_unit = (d.price + d.tiebreak).to_numpy()[None, None, :]
    tie = float(d.tiebreak.max()) if d.tiebreak.size else 0.0
    parts = [
        Terms(labels(m, "unmet"), w * d.penalty.to_numpy()[None]),
        Terms(labels(m, "short"), w * d.claim_weight.to_numpy()[None]),
        Terms(labels(m, "excess"), w * tie * np.ones(1)),
        Terms(labels(m, "production"), w * per_unit),
        Terms(labels(m, "transfer"), -w * tie * np.ones(1)),
    ]
    if len(d.options):
        parts.append(Terms(labels(m, "build"), d.capex.to_numpy()[:, None]))
    return parts


def define_objective(m: linopy.Model, d: PlanData) -> None:
    """Minimise the expected shortfall penalty plus costs (see :func:`objective_terms`)."""
    m.add_objective(flat_expression(m, *objective_terms(m, d)), overwrite=True)


def weighted_shortfall(m: linopy.Model, d: PlanData) -> LinearExpression:
    """Per scenario: sum over months and demand rows of weight x unmet (EUR-equivalent, the
    simulator's ``weighted_shortfall`` summed over the horizon; no priority factor, no
    decay)."""
    weight = d.shortfall_weight.to_numpy()[None, None, :]
    unmet = Terms(labels(m, "unmet"), weight)
    n_s = len(d.coords["scenario"])
    vars_ = unmet.vars.reshape(n_s, -1)
    coeffs = np.broadcast_to(unmet.coeffs, unmet.vars.shape).reshape(n_s, -1)
    return expression(m, [d.coords["scenario"]], Terms(vars_, coeffs))


VARIABLES = (define_expansion_variables, define_flow_variables, define_holder_variables)
CONSTRAINTS = (
    define_expansion_constraints,
    define_new_capacity_constraints,
    define_capacity_constraints,
    define_shipment_constraints,
    define_balance_constraints,
    define_input_constraints,
    define_demand_constraints,
    define_claim_constraints,
    define_transfer_constraints,
    define_budget_constraints,
)


def build_problem(
    d: PlanData, extra: Sequence[ExtraConstraint] = (), lumpy: bool = False
) -> linopy.Model:
    """The full LP: every variable and constraint family, the objective, then each ``extra``
    hook in order. ``lumpy``: whole modules (integer ``build``, a MIP) with capex paid over
    the lead time."""
    m = linopy.Model(force_dim_names=True)
    for define in (*VARIABLES, *CONSTRAINTS, define_objective):
        if define is define_expansion_variables:
            define_expansion_variables(m, d, integer=lumpy)
        elif define is define_budget_constraints:
            define_budget_constraints(m, d, spread=lumpy)
        else:
            define(m, d)
    for hook in extra:
        hook(m, d)
    return m
