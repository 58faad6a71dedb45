"""The LP's input data: the compiled model (v2) and scenarios as labelled arrays.

Everything here is plain NumPy/xarray (no solver objects); :mod:`materiel.optimize.build` turns
it into linopy variables and constraints. Every rate is computed with the rules of
:mod:`materiel.model.rules` from one set of parameters per scenario row: a draw of
:func:`materiel.model.sampling.sample` (sample average approximation) or the central values.
Units: item units, item units/month, EUR, months. The formulation is in
docs/methodology-optimiser.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from materiel.model import rules
from materiel.model.compiled import FloatArray, IntArray, Model
from materiel.model.events import ScenarioArrays
from materiel.model.plan import builds
from materiel.model.sampling import sample

Params = dict[str, FloatArray]
"""One draw of every uncertain figure: name -> (n,) array (a row of
:func:`materiel.model.sampling.sample`)."""

PRIORITY_BASE = 10.0
"""Weight ratio between consecutive recipient priority classes (class p weighs
``PRIORITY_BASE`` times class p + 1). One unit of an item relieves at most one unit of that
item's shortfall in any class, so any ratio above 1 / (1 - decay)^months serves a better class
first; 10 leaves a wide margin and keeps coefficients within a few orders of magnitude."""
LOWEST_FACTOR = 10.0
"""Multiplier of the item weight in the worst class present: a unit short costs at least ten
times the item's weight (about its price), so the LP serves every claim the simulator would
serve when it has the capacity, as the simulator does, rather than save the purchase."""
DECAY = 0.005
"""Monthly decay of the shortfall weights in the objective only: (1 - decay)^t, so an earlier
shortfall weighs a little more (the LP fires and serves as early as the simulator does)."""
TIEBREAK = 1e-3
"""EUR per unit of intermediate output (objective only; avoids idle output) and the reward
per unit moved by a transfer (the simulator always moves what the floor allows)."""
BOUGHT_KINDS = ("end", "service")


@dataclass(frozen=True)
class PlanData:
    """Labelled arrays for the LP.

    Dims: scenario, month, decision (the month a build is decided), year, facility, item,
    expansion (options only), pair (tracked ``actor/item`` holdings, as the simulator's),
    demand (consumption rows of users on Ukraine's side, ``ACTOR/item``), claim
    (``supplier->recipient item``), link (``facility|claim``: a line that can serve a claim),
    transfer (every scenario's transfer events) and held (producer holdings of intermediates).
    """

    model: Model
    scenarios: tuple[ScenarioArrays, ...]
    """The scenario arrays of each scenario row (a future; repeated once per draw)."""
    coords: dict[str, pd.Index]
    options: IntArray
    """Positions of the expansion options in ``model.expansions``."""
    weight: xr.DataArray
    """(scenario) probability, normalised to sum to 1 (a future's probability / draws)."""
    availability: xr.DataArray
    """(scenario, month, facility) capacity per unit of added capacity (the event's
    availability; 0 where an event sets an absolute capacity)."""
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
    """(F,) item made by each facility."""
    facility_pair: IntArray
    """(F,) the producer country's holding of the line's item."""
    end_line: np.ndarray
    """(F,) True for lines of end items and services (they ship to claims)."""
    expansion_facility: IntArray
    """(E,) facility of each option."""
    input_facility: IntArray
    """(P,) facility of each (line, limited input) pair; lines with inputs='own' have none."""
    input_item: IntArray
    """(P,) input item of each pair."""
    input_quantity: FloatArray
    """(P,) input units per unit of output."""
    held_pair: IntArray
    """(H,) pair of each producer holding of an intermediate (where inputs are drawn from)."""
    held_item: IntArray
    """(H,) item of each holding."""
    link_facility: IntArray
    """(N,) facility of each claim link (:func:`materiel.model.rules.claim_links`)."""
    link_claim: IntArray
    """(N,) claim of each link."""
    claim_pair: IntArray
    """(Q,) the recipient's holding each claim delivers to."""
    claim_demand: IntArray
    """(Q,) the recipient's demand row (share-type claims are sized by its need), -1 if none."""
    claim_rate: xr.DataArray
    """(scenario, month, claim) fixed orders x the claim's factor, units/month."""
    claim_share: xr.DataArray
    """(scenario, month, claim) share of the recipient's need x the claim's factor."""
    claim_weight: xr.DataArray
    """(month, claim) EUR-equivalent per unit of fixed orders not served (objective)."""
    demand_pair: IntArray
    """(D,) the user's holding of each demand row."""
    sustain: xr.DataArray
    """(demand) months of use a user keeps on hand (its policy), central value."""
    wanted: xr.DataArray
    """(scenario, month, demand) consumption wanted, units/month."""
    shortfall_weight: xr.DataArray
    """(demand) EUR per unit short (:func:`materiel.model.rules.weighted_rows`)."""
    penalty: xr.DataArray
    """(month, demand) EUR-equivalent per unit short in the objective: the weight x the
    row's priority factor x the decay."""
    excess_upper: xr.DataArray
    """(scenario, month, demand) most a user can hold above its policy target before the
    month's deliveries (:func:`overstock_bound`), units: the bound of ``excess``, which keeps
    share-type claims feasible when the need is zero. 0 in months no overstock can occur,
    where the claim is exactly the simulator's."""
    arrivals: xr.DataArray
    """(scenario, month, pair) flows arriving plus the surviving starting stock in month 0,
    units."""
    initial: xr.DataArray
    """(scenario, pair) stock at the start, units."""
    keep: xr.DataArray
    """(scenario, month, pair) share of the holder's stock surviving the month's losses."""
    transfer_giver: IntArray
    """(X,) pair a transfer draws on."""
    transfer_taker: IntArray
    """(X,) pair a transfer delivers to."""
    transfer_quantity: xr.DataArray
    """(scenario, month, transfer) most a quantity transfer moves (inf for a share transfer,
    0 outside its window and in other scenarios)."""
    transfer_share: xr.DataArray
    """(scenario, month, transfer) share of the giver's stock above its floor moved (share
    transfers; 0 otherwise)."""
    floor: xr.DataArray
    """(scenario, month, pair) stock a giver keeps: its floor, capped by what it surely holds
    (starting stock x survival) so the LP stays feasible; 0 for users (see the docs)."""
    budget: xr.DataArray
    """(scenario) EUR per year; NaN = no budget constraint."""
    year: xr.DataArray
    """(month) year index (months 0-11 are year 0)."""
    year_share: xr.DataArray
    """(year) months in the year / 12 (the last year may be partial)."""
    future: tuple[str, ...] = ()
    """(scenario) the future (scenario name) each scenario row belongs to; several rows per
    future under sample average approximation, one draw each."""
    draws: int = 0
    """Parameter draws per future (0: central values)."""

    def index(self, name: str) -> pd.Index:
        return self.coords[name]


def _da(values: FloatArray, *dims: pd.Index) -> xr.DataArray:
    return xr.DataArray(np.asarray(values, dtype=float), coords=list(dims))


def central_params(model: Model) -> Params:
    """The central value of every uncertain figure, as one draw."""
    return {k: v[0] for k, v in sample(model, 1, 0, uncertain=False).items()}


def sampled_params(model: Model, draws: int, seed: int) -> list[Params]:
    """``draws`` parameter draws exactly as the simulator draws them (same seed, same draw
    index -> same values as :func:`materiel.simulation.simulate`)."""
    p = sample(model, draws, seed)
    return [{k: v[n] for k, v in p.items()} for n in range(draws)]


def committed_capacity(model: Model, months: int, p: Params | None = None) -> FloatArray:
    """Base capacity plus committed expansions ramping up, shape (M, F), with parameters
    ``p`` (default: central values)."""
    p = p or central_params(model)
    exp, month, scale = builds(model, None)
    online = month + p["lead_time"][exp]
    frac = rules.ramp_fraction(months, online, p["ramp_time"][exp])  # (M, K)
    out = np.tile(p["capacity"], (months, 1))
    added = frac * p["added_capacity"][exp] * scale
    np.add.at(out.T, model.expansion_facility[exp], added.T)  # scatter onto facilities
    return out


def option_coefficients(model: Model, options: IntArray, months: int) -> FloatArray:
    """Capacity each option adds in month t if decided in month d, shape (E, d, t), with the
    simulator's lead time and ramp (:func:`materiel.model.rules.ramp_fraction`)."""
    decision = np.arange(months, dtype=float)[:, None]
    online = decision + model.lead_time.central[options][None, :]  # (d, E)
    ramp = np.broadcast_to(model.ramp_time.central[options], online.shape)
    frac = rules.ramp_fraction(months, online, ramp)  # (d, t, E)
    added = model.added_capacity.central[options][:, None, None]
    coefficients: FloatArray = np.transpose(frac, (2, 0, 1)) * added
    return coefficients


@dataclass(frozen=True)
class _Pairs:
    """Tracked (actor, item) holdings, as the simulator tracks them."""

    actor: IntArray
    item: IntArray
    index: pd.Index

    @classmethod
    def of(cls, model: Model, scenarios: Sequence[ScenarioArrays]) -> _Pairs:
        n_i = len(model.items)
        parts = [
            model.stock_actor * n_i + model.stock_item,
            model.consumption_actor * n_i + model.consumption_item,
            model.flow_recipient * n_i + model.flow_item,
            model.claim_recipient * n_i + model.claim_item,
            model.facility_country * n_i + model.facility_item,
        ]
        for s in scenarios:
            x = s.transfers
            parts += [x.giver * n_i + x.item, x.taker * n_i + x.item]
        keys = np.unique(np.concatenate(parts).astype(np.int64))
        return cls(keys // n_i, keys % n_i, pd.Index(keys))

    def at(self, model: Model, actor: IntArray, item: IntArray) -> IntArray:
        key = np.asarray(actor, dtype=np.int64) * len(model.items) + np.asarray(item)
        return np.asarray(self.index.get_indexer(key), dtype=np.int64)


def priority_factor(classes: IntArray, present: IntArray) -> FloatArray:
    """Objective multiplier of each class: ``LOWEST_FACTOR x PRIORITY_BASE^(worst - class)``
    with ``worst`` the largest class number ``present``."""
    worst = int(np.max(present)) if len(present) else 1
    out: FloatArray = LOWEST_FACTOR * PRIORITY_BASE ** (worst - np.asarray(classes, dtype=float))
    return out


def prepare(
    model: Model,
    scenarios: Sequence[ScenarioArrays],
    budget: float | None = None,
    decay: float = DECAY,
    tiebreak: float = TIEBREAK,
    params: Sequence[Params] | None = None,
    labels: Sequence[str] | None = None,
    weights: Sequence[float] | None = None,
    draws: int = 0,
) -> PlanData:
    """Arrays for the LP over scenario rows ``scenarios`` (same horizon).

    ``params``: one draw of the uncertain figures per row (default: central values for every
    row). Recourse figures (capacity, committed builds, consumption, flows, stocks, floors,
    claims) come from the row's draw; figures that enter shared decisions or the LP's
    coefficients stay central: the options' lead time, ramp, added capacity and capex, unit
    costs, recipe quantities and sustain months. ``labels``: row names (default: scenario
    names); ``weights``: row probabilities (default: the scenarios'), normalised to 1.
    ``budget`` (EUR/year) overrides every scenario's budget.
    """
    if not scenarios:
        raise ValueError("at least one scenario is needed")
    months = scenarios[0].months
    futures = [s.name for s in scenarios]
    names = list(labels) if labels is not None else futures
    rows_p = list(params) if params is not None else [central_params(model)] * len(scenarios)
    if len(names) != len(scenarios) or len(rows_p) != len(scenarios):
        raise ValueError("params and labels need one entry per scenario row")
    if any(s.months != months for s in scenarios):
        raise ValueError("all scenarios of a plan must have the same number of months")
    if len(set(names)) != len(names):
        raise ValueError(f"scenario names must be unique, got {', '.join(names)}")
    if not 0.0 <= decay < 1.0:
        raise ValueError("decay must be in [0, 1)")

    n_s = len(scenarios)
    options = np.flatnonzero(np.isnan(model.decided))
    pairs = _Pairs.of(model, scenarios)
    n_p = len(pairs.index)
    a, it = model.actors, model.items

    def names_of(actor: IntArray, item: IntArray) -> list[str]:
        return [f"{x}/{y}" for x, y in zip(a[actor], it[item], strict=True)]

    # demand rows: consumption of users on Ukraine's side
    western = np.isin(rules.region_of(model, model.consumption_actor), rules.WESTERN_REGIONS)
    rows = np.flatnonzero(western)
    d_actor, d_item = model.consumption_actor[rows], model.consumption_item[rows]
    demand_pair = pairs.at(model, d_actor, d_item)
    # claims and the lines that can serve them
    link_facility, link_claim = rules.claim_links(model)
    end_line = np.isin(model.item_kind.to_numpy()[model.facility_item], BOUGHT_KINDS)
    keep_link = end_line[link_facility]
    link_facility, link_claim = link_facility[keep_link], link_claim[keep_link]
    claim_pair = pairs.at(model, model.claim_recipient, model.claim_item)
    claim_demand = pd.Index(demand_pair).get_indexer(claim_pair)
    claim_labels = rules.claim_labels(model)
    facility_pair = pairs.at(model, model.facility_country, model.facility_item)
    held = np.unique(facility_pair[~end_line])
    # transfers of every future, one column each (the draws of a future share its columns)
    unique = list(dict.fromkeys(futures))
    first = [futures.index(f) for f in unique]
    giver, taker, quantity, share, owner = [], [], [], [], []
    for k, row in enumerate(first):
        x = scenarios[row].transfers
        giver.append(pairs.at(model, x.giver, x.item))
        taker.append(pairs.at(model, x.taker, x.item))
        quantity.append(x.quantity)
        share.append(x.share)
        owner.append(np.full(len(x), k))
    t_giver = np.concatenate(giver).astype(np.int64)
    t_taker = np.concatenate(taker).astype(np.int64)
    t_owner = np.concatenate(owner).astype(np.int64)
    n_x = len(t_giver)
    t_quantity = np.zeros((n_s, months, n_x))
    t_share = np.zeros((n_s, months, n_x))
    col = 0
    for k, (q, sh) in enumerate(zip(quantity, share, strict=True)):
        width = q.shape[1]
        block = slice(col, col + width)
        is_share = ~np.isnan(sh)
        mine = np.array([f == unique[k] for f in futures])
        t_quantity[mine, :, block] = np.where(is_share, np.inf, np.nan_to_num(q))
        t_share[mine, :, block] = np.nan_to_num(sh)
        col += width
    transfer_labels = [
        f"{unique[o]}: {a[pairs.actor[g]]}->{a[pairs.actor[r]]} {it[pairs.item[g]]} #{j}"
        for j, (o, g, r) in enumerate(zip(t_owner, t_giver, t_taker, strict=True))
    ]

    coords = {
        "scenario": pd.Index(names, name="scenario"),
        "month": pd.RangeIndex(months, name="month"),
        "decision": pd.RangeIndex(months, name="decision"),
        "facility": pd.Index(model.facilities, name="facility"),
        "item": pd.Index(model.items, name="item"),
        "expansion": pd.Index(model.expansions[options], name="expansion"),
        "pair": pd.Index(names_of(pairs.actor, pairs.item), name="pair"),
        "demand": pd.Index(names_of(d_actor, d_item), name="demand"),
        "claim": pd.Index(claim_labels, name="claim"),
        "link": pd.Index(
            [
                f"{model.facilities[f]}|{claim_labels[q]}"
                for f, q in zip(link_facility, link_claim, strict=True)
            ],
            name="link",
        ),
        "transfer": pd.Index(transfer_labels, name="transfer"),
        "held": pd.Index(np.asarray(coords_of(pairs, model, held)), name="held"),
        "year": pd.RangeIndex((months + 11) // 12, name="year"),
    }
    c = coords
    sm = (c["scenario"], c["month"])

    # capacity: rules.working_capacity of the committed path, and of one unit of new capacity
    built = np.stack([committed_capacity(model, months, p) for p in rows_p])
    avail = np.stack([s.availability for s in scenarios])
    absolute = np.stack([s.capacity_rate for s in scenarios])
    capacity = rules.working_capacity(built, avail, absolute)
    per_new = rules.working_capacity(
        np.ones_like(avail), avail, np.where(np.isnan(absolute), np.nan, 0.0)
    )
    added = option_coefficients(model, options, months)
    cost = model.unit_cost.central

    # inputs: limited items of lines that draw on the chain
    match = (
        (model.facility_item[:, None] == model.recipe_item[None, :])
        & model.item_limited[model.recipe_input][None, :]
        & (model.facility_inputs == "chain")[:, None]
    )
    pf, pr = np.nonzero(match)

    # rates per month (rules.scaled_rate), each row's parameters
    rp = list(zip(scenarios, rows_p, strict=True))
    wanted = np.stack(
        [
            rules.scaled_rate(
                p["consumption_rate"][rows] * s.intensity[:, d_actor],
                s.consumption_factor[:, rows],
                s.consumption_rate[:, rows],
            )
            for s, p in rp
        ]
    )
    flows = np.stack([rules.scaled_rate(p["flow_rate"], s.flow_factor, s.flow_rate) for s, p in rp])
    flow_pair = pairs.at(model, model.flow_recipient, model.flow_item)
    arrivals = np.zeros((n_s, months, n_p))
    np.add.at(arrivals.transpose(2, 0, 1), flow_pair, flows.transpose(2, 0, 1))
    stock_pair = pairs.at(model, model.stock_actor, model.stock_item)
    initial = np.zeros((n_s, n_p))
    np.add.at(initial.T, stock_pair, np.stack([p["stock_quantity"] for p in rows_p]).T)
    keep = np.stack([1.0 - s.stock_loss[:, pairs.actor] for s in scenarios])
    arrivals[:, 0, :] += keep[:, 0, :] * initial
    ones = np.ones((months, len(model.claim_item)))
    claim_share = np.stack(
        [
            rules.claimed(
                rules.scaled_rate(p["claim_share"], ones, s.claim_share),
                ones,
                0.0 * ones,
                s.claim_factor,
            )
            for s, p in rp
        ]
    )
    claim_rate = np.stack(
        [
            rules.claimed(
                0.0 * ones,
                0.0 * ones,
                rules.scaled_rate(p["claim_rate"], ones, s.claim_rate),
                s.claim_factor,
            )
            for s, p in rp
        ]
    )
    claim_share = np.where(claim_demand[None, None, :] >= 0, claim_share, 0.0)

    # weights: item weight x recipient priority factor x decay
    row_weight = rules.weighted_rows(model)[rows]
    present = np.unique(model.claim_priority)
    best = int(present.min()) if len(present) else 1
    fed_rows = claim_demand >= 0
    row_class = np.full(len(rows), np.iinfo(np.int64).max)
    np.minimum.at(row_class, claim_demand[fed_rows], model.claim_priority[fed_rows])
    row_class = np.where(row_class == np.iinfo(np.int64).max, best, row_class)
    decay_t = (1.0 - decay) ** np.arange(months, dtype=float)
    row_factor = priority_factor(row_class, present)
    penalty = decay_t[:, None] * (row_weight * row_factor)[None, :]
    enemy = rules.region_of(model, model.claim_recipient) == "russia"
    claim_item_weight = np.where(enemy, 0.0, model.item_weight[model.claim_item])
    claim_weight = (
        decay_t[:, None]
        * (claim_item_weight * priority_factor(model.claim_priority, present))[None, :]
    )
    # the most a user can hold above its policy target before deliveries (excess bound)
    fed = np.flatnonzero(claim_demand >= 0)
    shares = np.zeros((n_s, months, len(rows)))
    rates = np.zeros((n_s, months, len(rows)))
    np.add.at(
        shares.transpose(2, 0, 1), claim_demand[fed], claim_share[..., fed].transpose(2, 0, 1)
    )
    np.add.at(rates.transpose(2, 0, 1), claim_demand[fed], claim_rate[..., fed].transpose(2, 0, 1))
    into = pd.Index(demand_pair).get_indexer(t_taker)
    moved = np.zeros((n_s, months, len(rows)))
    np.add.at(
        moved.transpose(2, 0, 1), into[into >= 0], t_quantity[..., into >= 0].transpose(2, 0, 1)
    )
    over = overstock_bound(
        sustain=model.sustain_months.central[d_actor],
        wanted=wanted,
        before=arrivals[..., demand_pair] + moved,
        after=rates
        + np.maximum(shares - 1.0, 0.0) * model.sustain_months.central[d_actor] * wanted,
        keep=keep[..., demand_pair],
    )

    # floors of givers: capped by what the giver surely keeps; users' stocks 0 (see docs)
    floors = np.zeros((n_s, n_p))
    np.add.at(floors.T, stock_pair, np.stack([p["stock_floor"] for p in rows_p]).T)
    used = np.zeros(n_p, dtype=bool)
    used[pairs.at(model, model.consumption_actor, model.consumption_item)] = True
    surely = initial[:, None, :] * np.cumprod(keep, axis=1)
    floor = np.where(used[None, None, :], 0.0, np.minimum(floors[:, None, :], surely))

    budgets = [budget if budget is not None else s.budget for s in scenarios]
    year = np.arange(months) // 12
    weight = np.array(
        list(weights) if weights is not None else [s.probability for s in scenarios], dtype=float
    )
    sustain = model.sustain_months.central[d_actor]
    return PlanData(
        model=model,
        scenarios=tuple(scenarios),
        coords=coords,
        options=options,
        weight=_da(weight / weight.sum(), c["scenario"]),
        availability=_da(per_new, *sm, c["facility"]),
        capacity=_da(capacity, *sm, c["facility"]),
        added=_da(added, c["expansion"], c["decision"], c["month"]),
        build_upper=_da(added.sum(axis=2) > 0, c["expansion"], c["month"]),
        capex=_da(model.capex.central[options], c["expansion"]),
        price=_da(cost * end_line, c["facility"]),
        tiebreak=_da(np.where(end_line, 0.0, tiebreak), c["facility"]),
        facility_item=model.facility_item,
        facility_pair=facility_pair,
        end_line=end_line,
        expansion_facility=model.expansion_facility[options],
        input_facility=pf,
        input_item=model.recipe_input[pr],
        input_quantity=model.recipe_quantity.central[pr],
        held_pair=held,
        held_item=pairs.item[held],
        link_facility=link_facility,
        link_claim=link_claim,
        claim_pair=claim_pair,
        claim_demand=np.asarray(claim_demand, dtype=np.int64),
        claim_rate=_da(claim_rate, *sm, c["claim"]),
        claim_share=_da(claim_share, *sm, c["claim"]),
        claim_weight=_da(claim_weight, c["month"], c["claim"]),
        demand_pair=demand_pair,
        sustain=_da(sustain, c["demand"]),
        wanted=_da(wanted, *sm, c["demand"]),
        shortfall_weight=_da(row_weight, c["demand"]),
        penalty=_da(penalty, c["month"], c["demand"]),
        excess_upper=_da(over, *sm, c["demand"]),
        arrivals=_da(arrivals, *sm, c["pair"]),
        initial=_da(initial, c["scenario"], c["pair"]),
        keep=_da(keep, *sm, c["pair"]),
        transfer_giver=t_giver,
        transfer_taker=t_taker,
        transfer_quantity=_da(t_quantity, *sm, c["transfer"]),
        transfer_share=_da(t_share, *sm, c["transfer"]),
        floor=_da(floor, *sm, c["pair"]),
        budget=_da(np.array([np.nan if b is None else b for b in budgets]), c["scenario"]),
        year=xr.DataArray(year, coords=[c["month"]], name="year"),
        year_share=_da(np.bincount(year) / 12.0, c["year"]),
        future=tuple(futures),
        draws=draws,
    )


def overstock_bound(
    sustain: FloatArray,
    wanted: FloatArray,
    before: FloatArray,
    after: FloatArray,
    keep: FloatArray,
) -> FloatArray:
    """Upper bound on a user's stock above its policy target (sustain x wanted) before the
    month's deliveries from lines, shape (S, M, D), units.

    The simulator's user ends a month holding what it had plus what arrived minus what it
    fired (:func:`materiel.model.rules.fired`); lines deliver at most its need
    (:func:`materiel.model.rules.need`), so what it holds after deliveries is at most
    max(stock before, target) plus fixed orders and shares above 1 (``after``). ``before``:
    the most that can arrive before deliveries (flows, transfers, the starting stock in month
    0). The recursion runs over months on (S, D) arrays.
    """
    n_s, months, n_d = wanted.shape
    held = np.zeros((n_s, n_d))
    out = np.zeros((n_s, months, n_d))
    for t in range(months):
        target = sustain * wanted[:, t]
        ahead = keep[:, t] * held + before[:, t]
        out[:, t] = np.maximum(0.0, ahead - target)
        on_hand = np.maximum(ahead, target) + after[:, t]
        with np.errstate(invalid="ignore"):
            held = on_hand - rules.fired(sustain, wanted[:, t], on_hand)
        held = np.where(np.isnan(held), np.inf, held)
    return out


def coords_of(pairs: _Pairs, model: Model, positions: IntArray) -> list[str]:
    """``actor/item`` labels of the given pair positions."""
    return [
        f"{model.actors[a]}/{model.items[i]}"
        for a, i in zip(pairs.actor[positions], pairs.item[positions], strict=True)
    ]
