"""``materiel chokepoints``: which facilities, items and source countries matter most for
end-item output, by node removal in the simulator and by the optimiser's capacity duals."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from materiel.analysis.common import end_item_mask, item_output, item_price
from materiel.model.compiled import FloatArray, Model, Uncertain
from materiel.model.events import compile_scenario
from materiel.model.sampling import sample
from materiel.scenario import Scenario
from materiel.simulation.engine import capacity_path, run

COLUMNS = [
    "node_type",
    "node",
    "name",
    "item",
    "country",
    "rank",
    "rank_low",
    "rank_high",
    "rank_mean",
    "dual_rank",
    "dual_rank_low",
    "dual_rank_high",
    "lost_share",
    "lost_share_half",
    "lost_value_eur",
    "added_weighted_shortfall_eur",
    "worst_item",
    "worst_item_lost_share",
    "shortfall_avoided_per_unit_month",
    "capacity_value",
    "suppliers",
    "single_source",
    "sole_source_of",
]
NODE_TYPES = ("facility", "item", "country")
STABILITY = (10.0, 90.0)
"""Percentiles of a node's rank across draws reported as its rank range."""
TOL = 1e-6
"""Shares and duals below this are round-off (the engine works in float32) and shown as 0."""
MIN_OUTPUT = float(np.finfo(np.float32).tiny) / TOL
"""End-item output over the horizon below this (1.2e-32 item units) counts as none. The
engine stores each facility-month's output as float32, to within 6e-8 of itself above
float32's smallest normal number (1.2e-38) but only to within a fixed 7e-46 below it: an
output of 5e-43 rounds split over two lines loses a unit of that last place to rounding
that the same output on one line does not, a 0.3 % "loss" that no removal causes. Above this
bound the round-off stays far below ``TOL`` of the output."""


def _nodes(model: Model, working: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Candidate nodes and their membership (N, F): facilities with capacity in the horizon,
    limited non-end items made by such facilities, countries hosting them."""
    names = model.dataset.tables["facilities"]["name"].to_numpy()
    item_names = model.dataset.tables["items"].set_index("item")["name"]
    country_names = model.dataset.tables["countries"].set_index("country")["name"]
    fac = np.flatnonzero(working)
    n_f = len(model.facilities)
    made = np.unique(model.facility_item[fac])
    items = made[model.item_limited[made] & ~end_item_mask(model)[made]]
    countries = np.unique(model.facility_country[fac])
    member = np.concatenate(
        [
            np.eye(n_f, dtype=bool)[fac],
            (model.facility_item[None, :] == items[:, None]) & working[None, :],
            (model.facility_country[None, :] == countries[:, None]) & working[None, :],
        ]
    )
    fi, fc = model.facility_item[fac], model.facility_country[fac]
    nodes = pd.DataFrame(
        {
            "node_type": ["facility"] * len(fac)
            + ["item"] * len(items)
            + ["country"] * len(countries),
            "node": [*model.facilities[fac], *model.items[items], *model.actors[countries]],
            "name": [
                *names[fac],
                *item_names.reindex(model.items[items]).to_numpy(),
                *country_names.reindex(model.actors[countries]).to_numpy(),
            ],
            "item": [*model.items[fi], *model.items[items], *[""] * len(countries)],
            "country": [*model.actors[fc], *[""] * len(items), *model.actors[countries]],
        }
    )
    return nodes, member


def _removal(
    model: Model,
    scenario: Scenario,
    member: np.ndarray,
    fractions: tuple[float, ...],
    params: dict[str, FloatArray] | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """End-item output over the horizon (item units; below ``MIN_OUTPUT``: 0) with no node
    removed, shape (I,), and with each node cut by each fraction, shape (len(fractions), N,
    I); and the weighted shortfall over the horizon each cut adds (EUR-equivalent), shape
    (len(fractions), N).
    One vectorised run: draw 0 is the base, then one draw per (fraction, node), all with the
    parameters of ``params`` (one draw, each array (1, n); default: central values)."""
    n = len(member)
    rows = 1 + n * len(fractions)
    if params is None:
        p = sample(model, rows, seed=0, uncertain=False)
    else:
        p = {k: np.repeat(v[:1], rows, axis=0) for k, v in params.items()}
    cut = np.concatenate([np.zeros((1, member.shape[1]))] + [f * member for f in fractions])
    p["capacity"] = p["capacity"] * (1.0 - cut)
    p["added_capacity"] = p["added_capacity"] * (1.0 - cut[:, model.expansion_facility])
    out = run(model, compile_scenario(model, scenario), p)
    made = item_output(model, out["production"].sum(axis=1))  # (rows, I)
    made = np.where(made < MIN_OUTPUT, 0.0, made) * end_item_mask(model)[None, :]
    weighted = out["weighted_shortfall"].astype(float).sum(axis=1)  # (rows,)
    added = (weighted[1:] - weighted[0]).reshape(len(fractions), n)
    return made[0], made[1:].reshape(len(fractions), n, -1), added


def _duals(model: Model, scenario: Scenario, member: np.ndarray) -> tuple[FloatArray, FloatArray]:
    """Per node, in planner units: the highest value of one more unit/month of capacity among
    its facilities (priority-weighted shortfall avoided over the horizon, EUR-equivalent per
    unit/month) and the sum over its facilities of value x mean working capacity
    (EUR-equivalent). Measured by warm-started finite differences on the LP
    (:func:`materiel.optimize.results.capacity_change_values`) at the facilities whose
    capacity binds (non-zero LP dual); 0 elsewhere."""
    from materiel.optimize import plan
    from materiel.optimize.results import capacity_change_values

    result = plan(model, [scenario])
    d = result.data
    duals = result.capacity_duals.set_index("facility")["value_eur_per_unit_month"]
    binding = np.flatnonzero(np.abs(duals.reindex(model.facilities).fillna(0.0).to_numpy()) > 1e-6)
    capacity = d.capacity.to_numpy()  # (S, M, F)
    avail = d.availability.to_numpy()
    changes, steps = [], []
    for f in binding:
        step = max(1.0, 1e-3 * float(np.mean(capacity[..., f])))
        change = np.zeros_like(capacity)
        change[..., f] = step * np.where(avail[..., f] > 0, avail[..., f], 1.0)
        changes.append(change)
        steps.append(step)
    value = np.zeros(len(model.facilities))
    found = capacity_change_values(result, changes) if changes else []
    value[binding] = [ws / step for (ws, _), step in zip(found, steps, strict=True)]
    value = np.where(np.abs(value) < 1e-6, 0.0, value)
    mean_capacity = capacity.mean(axis=(0, 1))
    per_unit = np.where(member, value[None, :], -np.inf).max(axis=1)
    per_unit = np.where(np.isfinite(per_unit), per_unit, 0.0)
    return per_unit, member.astype(float) @ (value * mean_capacity)


def _shares(base: FloatArray, removed: FloatArray, price: FloatArray) -> FloatArray:
    """Lost end-item output valued at ``price`` as a share of the base value, (F, N)."""
    lost = base[None, None, :] - removed  # (fractions, N, I)
    total = float(base @ price)
    if total <= 0:
        return np.full(lost.shape[:2], np.nan)
    shares: FloatArray = (lost @ price) / total
    return np.where(np.abs(shares) < TOL, 0.0, shares)


def _ranks(types: np.ndarray, *keys: FloatArray) -> np.ndarray:
    """Rank of each node within its type (1 = first) by ``keys`` (descending, lexicographic;
    NaN last, ties by position)."""
    frame = pd.DataFrame({f"k{i}": k for i, k in enumerate(keys)}).assign(_type=types)
    order = frame.sort_values(
        list(frame.columns[:-1]), ascending=False, na_position="last", kind="stable"
    )
    ranks = order.groupby("_type").cumcount() + 1
    return ranks.reindex(frame.index).to_numpy()


def _at_draw(model: Model, params: dict[str, FloatArray], k: int) -> Model:
    """``model`` with draw ``k`` of the sampled figures as its central values (for the LP,
    which plans on central values)."""
    fixed: dict[str, Any] = {
        name: Uncertain(params[name][k], params[name][k], params[name][k])
        for name in model.uncertain()
    }
    return dataclasses.replace(model, **fixed)


def _rank_range(ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,) p10 and p90 of each node's rank over draws (ranks shape (K, N))."""
    low, high = np.percentile(ranks, STABILITY, axis=0, method="inverted_cdf")
    return low.astype(int), high.astype(int)


def stability(
    model: Model,
    scenario: Scenario,
    nodes: pd.DataFrame,
    member: np.ndarray,
    fraction: float,
    draws: int,
    seed: int,
    dual_draws: int = 0,
) -> pd.DataFrame:
    """Each node's rank (by the removal, and by the dual value) on ``draws`` sampled draws
    (``seed``; duals on the first ``dual_draws`` of them, one LP each): the p10 and p90 of
    its rank over the draws, and its mean rank. Columns rank_low, rank_high, rank_mean,
    dual_rank_low, dual_rank_high (NaN where not computed)."""
    params = sample(model, draws, seed=seed)
    price = item_price(model)
    types = nodes["node_type"].to_numpy()
    ranks = np.zeros((draws, len(nodes)), dtype=int)
    for k in range(draws):
        one = {name: v[k : k + 1] for name, v in params.items()}
        base, removed, _ = _removal(model, scenario, member, (fraction, 0.5 * fraction), one)
        unit = price if float(base @ price) > 0 else np.ones_like(price)
        shares = _shares(base, removed, unit)
        ranks[k] = _ranks(types, shares[0], shares[1])
    low, high = _rank_range(ranks)
    out = pd.DataFrame(
        {
            "rank_low": low,
            "rank_high": high,
            "rank_mean": ranks.mean(axis=0),
            "dual_rank_low": np.nan,
            "dual_rank_high": np.nan,
        },
        index=nodes.index,
    )
    if dual_draws > 0:
        dual_ranks = np.zeros((min(dual_draws, draws), len(nodes)), dtype=int)
        for k in range(len(dual_ranks)):
            _, value = _duals(_at_draw(model, params, k), scenario, member)
            value = np.where(np.abs(value) < 1e-3, 0.0, value)
            dual_ranks[k] = _ranks(types, value)
        d_low, d_high = _rank_range(dual_ranks)
        out["dual_rank_low"], out["dual_rank_high"] = d_low, d_high
    return out


def chokepoints(
    model: Model,
    scenario: Scenario,
    *,
    draws: int = 1,
    seed: int = 0,
    fraction: float = 1.0,
    duals: bool = True,
    dual_draws: int = 0,
) -> pd.DataFrame:
    """Facilities, items and source countries ranked by the end-item output lost when each
    is removed, with the optimiser's capacity duals and single-source flags.

    The ranking re-simulates the scenario with central values: a facility loses
    ``fraction`` of its capacity (and of its committed expansions), an item all its
    facilities, a country every facility it hosts.
    Output is counted over the horizon; lost_share is the lost end-item output valued at
    each end item's mean unit cost, as a share of the base value; lost_share_half the same
    with half the node's capacity cut (it separates items whose full removal stops every end
    item alike); both NaN when there is no output (below ``MIN_OUTPUT``: float32 round-off).
    A removal can raise another end item's output when lines compete for a shared input;
    the loss then comes out negative for that item.

    Stability: with ``draws`` > 1 the removal is repeated on that many sampled draws
    (``seed``; same seed, same table) and each node's rank in every draw gives rank_low and
    rank_high (p10 and p90 over the draws; rank_mean their mean); with ``dual_draws`` > 0
    the LP is solved on the first that many draws too (one LP each, with the draw's figures
    as central values) and dual_rank_low/high give the range of the node's rank by
    capacity_value (dual_rank: at central values). NaN where not computed.

    Columns: node_type (facility | item | country), node, name, item, country, rank (1 =
    biggest loss within its node type; ties broken by the half cut, then capacity_value),
    lost_share and lost_share_half (0-1), lost_value_eur (EUR over the horizon),
    added_weighted_shortfall_eur (the priority-weighted shortfall the full cut adds over the
    horizon, ``rules.weighted_rows`` weights, EUR-equivalent; the engine computes it), worst_item
    and worst_item_lost_share (the end item losing the largest share),
    shortfall_avoided_per_unit_month (the optimiser's value of one more unit/month of
    capacity in planner units: priority-weighted shortfall avoided over the horizon,
    EUR-equivalent per item unit/month, highest of the node's facilities; finite differences
    on the LP), capacity_value (sum over the node's facilities of that value x mean working
    capacity, EUR-equivalent), suppliers (facilities with capacity in
    month 0 making the node's item; for countries: the number of items it alone supplies),
    single_source (in month 0 the only facility, or the only country, supplying a limited
    item), sole_source_of (for countries: those items).
    ``duals=False`` skips the optimiser (dual columns NaN).
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"the removal fraction must be in (0, 1], got {fraction}")
    central = sample(model, 1, seed=0, uncertain=False)
    capacity = capacity_path(model, central, compile_scenario(model, scenario), None)[0]
    working = capacity.max(axis=0) > 0  # (F,) facilities with capacity in the horizon
    nodes, member = _nodes(model, working)
    if len(nodes) == 0:
        return pd.DataFrame(columns=COLUMNS)
    base, removed, weighted = _removal(model, scenario, member, (fraction, 0.5 * fraction))
    weighted = np.where(np.abs(weighted) < 1.0, 0.0, weighted)  # float32 round-off, EUR
    price = item_price(model)
    if float(base @ price) <= 0:  # no prices: count units
        price = np.ones_like(price)
    lost = base[None, None, :] - removed  # (2, N, I)
    total = float(base @ price)
    shares = (lost @ price) / total if total > 0 else np.full(lost.shape[:2], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        by_item = np.where(base > 0, lost[0] / base, np.nan)  # (N, I)
    ranked = np.where(np.isnan(by_item), -np.inf, by_item)
    worst = ranked.argmax(axis=1)
    has_worst = np.isfinite(ranked.max(axis=1, initial=-np.inf))

    n_i, n_a = len(model.items), len(model.actors)
    now = capacity[0] > 0  # single sources are judged on the supply at the start
    suppliers = np.bincount(model.facility_item[now], minlength=n_i)
    sources = np.zeros((n_i, n_a), dtype=bool)  # item i has a facility in country a at start
    sources[model.facility_item[now], model.facility_country[now]] = True
    sole = (sources.sum(axis=1) == 1) & model.item_limited  # (I,) one supplier country
    is_country = (nodes["node_type"] == "country").to_numpy()
    sole_of = [
        ", ".join(model.items[sole & sources[:, model.actors.get_loc(c)]]) if country else ""
        for c, country in zip(nodes["country"], is_country, strict=True)
    ]
    item_pos = model.items.get_indexer(pd.Index(nodes["item"].where(~is_country, None)))
    n_sup = np.where(item_pos >= 0, suppliers[item_pos], 0)
    single_facility = (n_sup == 1) & model.item_limited[item_pos] & (item_pos >= 0)
    frame = nodes.assign(
        lost_share=shares[0],
        lost_share_half=shares[1],
        lost_value_eur=lost[0] @ item_price(model),
        added_weighted_shortfall_eur=weighted[0],
        worst_item=np.where(has_worst, model.items[worst].to_numpy(), ""),
        worst_item_lost_share=np.where(has_worst, by_item[np.arange(len(nodes)), worst], np.nan),
        shortfall_avoided_per_unit_month=np.nan,
        capacity_value=np.nan,
        suppliers=np.where(is_country, [len(s.split(", ")) if s else 0 for s in sole_of], n_sup),
        single_source=np.where(is_country, [bool(s) for s in sole_of], single_facility),
        sole_source_of=sole_of,
    )
    frame["dual_rank"] = np.nan
    if duals:
        per_unit, value = _duals(model, scenario, member)
        frame["shortfall_avoided_per_unit_month"] = per_unit
        frame["capacity_value"] = value
        dual_key = np.where(np.abs(value) < 1e-3, 0.0, value)
        frame["dual_rank"] = _ranks(frame["node_type"].to_numpy(), dual_key)
    if draws > 1:
        frame = frame.join(
            stability(
                model, scenario, nodes, member, fraction, draws, seed, dual_draws if duals else 0
            )
        )
    else:
        frame = frame.assign(
            rank_low=np.nan,
            rank_high=np.nan,
            rank_mean=np.nan,
            dual_rank_low=np.nan,
            dual_rank_high=np.nan,
        )
    for col in ("lost_share", "lost_share_half", "worst_item_lost_share"):
        noise = frame[col].abs() < TOL  # float32 output: round-off, not a loss
        frame[col] = frame[col].mask(noise, 0.0)
        if col == "lost_share":
            frame["lost_value_eur"] = frame["lost_value_eur"].mask(noise, 0.0)
    for col in ("shortfall_avoided_per_unit_month", "capacity_value"):  # solver round-off
        frame[col] = frame[col].mask(frame[col].abs() < 1e-3, 0.0)
    key = ["lost_share", "lost_share_half", "capacity_value"]
    frame = frame.sort_values(key, ascending=False, na_position="last", kind="stable")
    frame["rank"] = frame.groupby("node_type").cumcount() + 1
    frame["_type"] = frame["node_type"].map({t: i for i, t in enumerate(NODE_TYPES)})
    frame = frame.sort_values(["_type", "rank"], kind="stable")
    return frame.reset_index(drop=True)[COLUMNS]
