"""``materiel coordination``: the same demand served by pooled European procurement versus
each nation buying only from its own industry; the difference is the cost of fragmentation.

Every structure is the optimiser's LP (min expected purchases + capex + weighted shortfall,
:mod:`materiel.optimize`) with extra constraints added through its ``extra`` hook, so pooled
is a relaxation of each national structure and can never be worse (up to solver tolerance).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from materiel.analysis.common import end_item_mask
from materiel.model.compiled import IntArray, Model
from materiel.scenario import Scenario

if TYPE_CHECKING:
    import linopy

    from materiel.optimize import ExtraConstraint, PlanData, PlanResult

STRUCTURES = ("pooled", "national", "national_chains")
WORLD = "(world)"
"""Pool of facilities outside the European nations (e.g. cotton linters from China)."""
COLUMNS = [
    "structure",
    "item",
    "unit",
    "wanted",
    "unmet",
    "unmet_share",
    "cost_eur",
    "capex_eur",
    "weighted_shortfall",
    "extra_unmet",
    "extra_cost_eur",
    "extra_weighted_shortfall",
]


def national_weights(model: Model, weights: str | Mapping[str, float] = "equal") -> pd.Series:
    """Each nation's share of the demand (sums to 1), indexed by actor code.

    Nations are the countries of the ``europe`` region hosting at least one facility (an
    aggregate such as ``EUROPE``, "location not fixed", counts as one). ``"equal"``: equal
    shares; ``"capacity"``: each nation's share of European end-item capacity valued at unit
    cost; a mapping: shares by actor code (normalised; nations left out get 0).
    """
    side = model.actor_region.to_numpy()
    hosts = np.unique(model.facility_country)
    nations = model.actors[hosts[side[hosts] == "europe"]]
    if len(nations) == 0:
        raise ValueError("no European actor hosts a facility: nothing to coordinate")
    if isinstance(weights, str):
        if weights == "equal":
            raw = pd.Series(1.0, index=nations)
        elif weights == "capacity":
            end = end_item_mask(model)[model.facility_item]
            value = model.capacity.central * model.unit_cost.central * end
            by_actor = pd.Series(value, index=model.actors[model.facility_country])
            raw = by_actor.groupby(level=0).sum().reindex(nations).fillna(0.0)
        else:
            raise ValueError(f"weights must be 'equal', 'capacity' or a mapping, got '{weights}'")
    else:
        unknown = sorted(set(weights) - set(nations))
        if unknown:
            raise ValueError(
                f"weights for actors that are not nations here: {', '.join(unknown)}; "
                f"nations: {', '.join(nations)}"
            )
        if any(w < 0 for w in weights.values()):
            raise ValueError("weights must not be negative")
        raw = pd.Series(dict(weights), dtype=float).reindex(nations).fillna(0.0)
    if raw.sum() <= 0:
        raise ValueError("the national weights sum to zero")
    return (raw / raw.sum()).rename("weight")


def _names(a: np.ndarray | pd.Index, b: np.ndarray | pd.Index) -> list[str]:
    return [f"{x}|{y}" for x, y in zip(a, b, strict=True)]


def _pooled_claims(d: PlanData) -> IntArray:
    """Claims a region's lines serve (the supplier is not one country) and that carry a
    user's need: the claims pooled procurement fills from any European line."""
    model = d.model
    regional = ~np.isin(model.claim_supplier, np.asarray(model.actors))
    return np.flatnonzero(regional & (d.claim_demand >= 0))


def _buyers_hook(weights: pd.Series, nation_of: IntArray) -> ExtraConstraint:
    """National buyers: each pooled claim (a user's need served by a region's lines) is split
    among the nations by ``weights``; nation n's lines ship to it at most w_n x the claim
    (the claim row of the LP scaled by w_n). Lines of no nation serve every share."""

    def hook(m: linopy.Model, d: PlanData) -> None:
        from materiel.optimize.build import LAST, MONTH, claim_rhs  # imports linopy
        from materiel.optimize.terms import Terms, expression, labels, lagged, regrouped

        c = d.coords
        claims = _pooled_claims(d)
        n_n, n_q = len(weights), len(claims)
        if n_q == 0:
            return
        q_of = np.repeat(claims, n_n)  # row -> claim
        n_of = np.tile(np.arange(n_n), n_q)  # row -> nation
        rows = pd.Index(_names(c["claim"][q_of], weights.index[n_of]), name="claim_nation")
        grid = [c["scenario"], c["month"], rows]
        w = weights.to_numpy()[n_of]
        share = d.claim_share.to_numpy()[..., q_of] * w  # (S, M, R)
        position = pd.Index(claims).get_indexer(d.link_claim)
        nation = nation_of[d.link_facility]
        mine = (position >= 0) & (nation >= 0)
        links = np.flatnonzero(mine)
        pair = d.claim_pair[q_of]
        prev = lagged(m, "stock", MONTH)
        tr = labels(m, "transfer")
        taker = np.nonzero(d.transfer_taker[:, None] == pair[None, :])
        giver = np.nonzero(d.transfer_giver[:, None] == pair[None, :])
        tr_in = regrouped(tr, LAST, taker[0], taker[1], len(rows))
        tr_out = regrouped(tr, LAST, giver[0], giver[1], len(rows), -np.ones(len(giver[0])))
        lhs = expression(
            m,
            grid,
            regrouped(
                labels(m, "shipment"), LAST, links, position[links] * n_n + nation[links], len(rows)
            ),
            Terms(prev.vars[..., pair, :], np.ones(1)).scaled(share * d.keep.to_numpy()[..., pair]),
            Terms(labels(m, "excess")[..., d.claim_demand[q_of], None], -np.ones(1)).scaled(share),
            tr_in and tr_in.scaled(share),
            tr_out and tr_out.scaled(share),
        )
        rhs = claim_rhs(d).to_numpy()[..., q_of] * w
        m.add_constraints(lhs, "<=", xr.DataArray(rhs, coords=grid), name="nation_share")

    return hook


def _chains_hook(weights: pd.Series, nation_of: IntArray) -> ExtraConstraint:
    """National supply chains: each nation's lines use only intermediates held in that nation
    or bought from the world pool (holdings of no nation). One row per (pool, input item):
    draws on the pool's holdings + purchases from the world (nations) or - sales to the
    nations (world) = the pool's lines' use (units/month); the rows add up to the LP's
    inputs row."""

    def hook(m: linopy.Model, d: PlanData) -> None:
        from materiel.optimize.build import LAST  # imports linopy
        from materiel.optimize.terms import expression, labels, regrouped

        c = d.coords
        items = np.union1d(d.input_item, d.held_item)
        n_n, n_k = len(weights), len(items)
        if n_k == 0:
            return
        n_p = n_n + 1  # nations and the world
        pools = np.append(np.asarray(weights.index), WORLD)
        keys = pd.Index(
            _names(np.repeat(c["item"][items], n_p), np.tile(pools, n_k)), name="pool_item"
        )
        bought = pd.Index(
            _names(np.repeat(c["item"][items], n_n), np.tile(pools[:n_n], n_k)), name="bought"
        )
        sm = [c["scenario"], c["month"]]
        buy = np.asarray(
            m.add_variables(lower=0.0, coords=[*sm, bought], name="world_purchase").labels.values
        )
        slot = pd.Index(items)

        def key(item: IntArray, pool: IntArray) -> IntArray:
            """Row of (item, pool); -1 where the item is not an input."""
            k = np.asarray(slot.get_indexer(np.asarray(item)))
            out: IntArray = np.where(k >= 0, k * n_p + np.asarray(pool), -1)
            return out

        line_pool = np.where(nation_of >= 0, nation_of, n_n)
        owners = pd.Index([str(p).split("/")[0] for p in c["pair"]])
        holder_of = weights.index.get_indexer(owners)
        held = d.held_pair
        held_pool = np.where(holder_of[held] >= 0, holder_of[held], n_n)
        use = key(d.input_item, line_pool[d.input_facility])
        draws = key(d.held_item, held_pool)
        b = np.arange(len(bought))
        b_item, b_nation = np.repeat(items, n_n), np.tile(np.arange(n_n), n_k)
        lhs = expression(
            m,
            [*sm, keys],
            regrouped(
                labels(m, "draw"), LAST, np.flatnonzero(draws >= 0), draws[draws >= 0], len(keys)
            ),
            regrouped(
                labels(m, "production"),
                LAST,
                d.input_facility[use >= 0],
                use[use >= 0],
                len(keys),
                -d.input_quantity[use >= 0],
            ),
            regrouped(buy, LAST, b, key(b_item, b_nation), len(keys)),
            regrouped(buy, LAST, b, key(b_item, np.full(len(b), n_n)), len(keys), -np.ones(len(b))),
        )
        m.add_constraints(lhs, "=", 0.0, name="pool_balance")

    return hook


def _tables(r: PlanResult, structure: str) -> pd.DataFrame:
    """Item rows and a total row of one solved structure."""
    short = r.shortfall_by_item()
    purchases = r.production.groupby("item")["purchases_eur"].sum()
    d = r.data
    weight = pd.Series(d.shortfall_weight.to_numpy(), index=d.coords["demand"])
    row_weight = (short["actor"] + "/" + short["item"]).map(weight).fillna(0.0)
    items = short.assign(
        structure=structure,
        cost_eur=short["item"].map(purchases).fillna(0.0).to_numpy(),
        capex_eur=np.nan,
        weighted_shortfall=short["unmet"].to_numpy() * row_weight.to_numpy(),
    )
    s = r.summary
    units = items["unit"].unique()
    single = len(units) == 1
    wanted = float(items["wanted"].sum()) if single else np.nan
    unmet = float(items["unmet"].sum()) if single else np.nan
    total = pd.DataFrame(
        {
            "structure": [structure],
            "item": ["total"],
            "unit": [units[0] if single else ""],
            "wanted": [wanted],
            "unmet": [unmet],
            "unmet_share": [unmet / wanted if single and wanted > 0 else np.nan],
            "cost_eur": [s["expected_purchases_eur"] + s["capex_eur"]],
            "capex_eur": [s["capex_eur"]],
            "weighted_shortfall": [s["expected_weighted_shortfall_eur"]],
        }
    )
    return pd.concat([items, total], ignore_index=True)


def structure_hooks(
    model: Model, weights: str | Mapping[str, float] = "equal"
) -> dict[str, list[ExtraConstraint]]:
    """The optimiser's ``extra`` constraints of each structure (:data:`STRUCTURES`), nations
    weighted by ``weights`` (:func:`national_weights`)."""
    w = national_weights(model, weights)
    nation_of = np.asarray(w.index.get_indexer(model.actors[model.facility_country]))
    return {
        "pooled": [],
        "national": [_buyers_hook(w, nation_of)],
        "national_chains": [_buyers_hook(w, nation_of), _chains_hook(w, nation_of)],
    }


def coordination(
    model: Model,
    scenario: Scenario,
    *,
    draws: int = 1,
    seed: int = 0,
    weights: str | Mapping[str, float] = "equal",
    budget: float | None = None,
) -> pd.DataFrame:
    """Pooled versus national procurement of the same demand: shortfall and cost of each.

    ``pooled``: the optimiser's plan as it is (one European pool: any facility serves any
    buyer). ``national``: every claim a region's lines serve for a user's need (e.g.
    europe->UKR) is split among the European nations by ``weights`` (see
    :func:`national_weights`; default equal shares, an assumption) and each nation's share
    can only be met by shipments from lines in its own country; lines of no nation (Ukrainian,
    US, allied), stocks, flows and transfers serve every share; intermediates still trade
    freely across the allied market.
    ``national_chains``: the same, and each nation's facilities also use only intermediates
    held in that nation or bought from the holdings of no nation (the world pool). In all
    three, investments and the budget (``budget`` EUR/year overrides the scenario's) are
    shared. Central values
    (``draws`` and ``seed`` are ignored).

    Rows: per structure, one per demanded item and a ``total``. Columns: wanted and unmet
    (item units over the horizon; for the total only if all items share a unit),
    unmet_share (0-1), cost_eur (purchases of the item; for the total purchases + capex),
    capex_eur on total rows, EUR; weighted_shortfall: unmet x the item's shortfall weight
    (model v2's ``weighted_shortfall``, EUR-equivalent over the horizon); extra_unmet,
    extra_cost_eur and extra_weighted_shortfall: the structure minus pooled (the cost of
    fragmentation, in planner units).
    """
    from materiel.optimize import plan

    frames = [
        _tables(plan(model, [scenario], budget=budget, extra=extra), name)
        for name, extra in structure_hooks(model, weights).items()
    ]
    pooled = frames[0].set_index("item")
    out = pd.concat(frames, ignore_index=True)
    for col in ("unmet", "cost_eur", "weighted_shortfall"):
        out[f"extra_{col}"] = out[col].to_numpy() - pooled.loc[out["item"], col].to_numpy()
    return out[COLUMNS]
