"""``materiel coordination``: the same demand served by pooled European procurement versus
each nation buying only from its own industry; the difference is the cost of fragmentation.

Every structure is the optimiser's LP (min expected purchases + capex + penalised shortfall,
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
from materiel.analysis.lpterms import expression, gather, labels, lagged, own
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
    "penalty_eur",
    "objective_eur",
    "extra_unmet",
    "extra_cost_eur",
    "extra_objective_eur",
]


def national_weights(model: Model, weights: str | Mapping[str, float] = "equal") -> pd.Series:
    """Each nation's share of the demand (sums to 1), indexed by actor code.

    Nations are the actors on the ``europe`` side hosting at least one facility (an
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


def labels_of(variable: linopy.Variable) -> IntArray:
    return np.asarray(variable.labels.values)


def _names(a: np.ndarray | pd.Index, b: np.ndarray | pd.Index) -> list[str]:
    return [f"{x}|{y}" for x, y in zip(a, b, strict=True)]


def _shipping_pairs(d: PlanData, fed_only: bool) -> tuple[IntArray, IntArray]:
    """Pairs (facility, allocation row) where the facility makes the row's item; with
    ``fed_only`` only rows feeding a penalised demand."""
    pf, pq = np.nonzero(d.facility_item[:, None] == d.allocation_item[None, :])
    if fed_only:
        keep = d.allocation_demand[pq] >= 0
        pf, pq = pf[keep], pq[keep]
    return pf, pq


def _buyers_hook(weights: pd.Series, nation_of: IntArray) -> ExtraConstraint:
    """National buyers: for each penalised demand k and nation n, an account receives the
    shipments made by n's facilities and may fire at most w_n x wanted_k (units/month); a
    common account holds the starting stock, external flows and shipments from facilities of
    no nation. Accounts keep stock like the holder; their fired add up to the holder's."""

    def hook(m: linopy.Model, d: PlanData) -> None:
        c = d.coords
        demand, n_n = c["demand"], len(weights)
        n_k = len(demand)
        if n_k == 0:
            return
        k_of = np.repeat(np.arange(n_k), n_n)  # account -> demand
        n_of = np.tile(np.arange(n_n), n_k)  # account -> nation
        accounts = pd.Index(_names(demand[k_of], weights.index[n_of]), name="account")
        sm = [c["scenario"], c["month"]]
        stock = labels_of(m.add_variables(lower=0.0, coords=[*sm, accounts], name="nation_stock"))
        fired = labels_of(m.add_variables(lower=0.0, coords=[*sm, accounts], name="nation_fired"))
        cstock = labels_of(m.add_variables(lower=0.0, coords=[*sm, demand], name="common_stock"))
        cfired = labels_of(m.add_variables(lower=0.0, coords=[*sm, demand], name="common_fired"))

        prod = labels(m, "production")
        pf, pq = _shipping_pairs(d, fed_only=True)
        share = d.share.to_numpy()[:, :, pq]  # (S, M, P) coefficient of each pair
        nation, target = nation_of[pf], d.allocation_demand[pq]
        mine = nation >= 0
        keep = d.keep.to_numpy()
        national = expression(
            m,
            [*sm, accounts],
            own(stock),
            lagged(stock, 1, -keep[:, :, k_of]),
            own(fired),
            gather(
                prod, pf[mine], target[mine] * n_n + nation[mine], len(accounts), -share[:, :, mine]
            ),
        )
        m.add_constraints(national, "=", 0.0, name="nation_holder")
        common = expression(
            m,
            [*sm, demand],
            own(cstock),
            lagged(cstock, 1, -keep),
            own(cfired),
            gather(prod, pf[~mine], target[~mine], n_k, -share[:, :, ~mine]),
        )
        first = (c["month"] == 0).astype(float)[None, :, None]
        m.add_constraints(common, "=", d.inflow + d.keep * d.initial * first, name="common_holder")
        cap = d.wanted.to_numpy()[:, :, k_of] * weights.to_numpy()[n_of]
        m.add_constraints(
            expression(m, [*sm, accounts], own(fired)),
            "<=",
            xr.DataArray(cap, coords=[*sm, accounts]),
            name="nation_share",
        )
        total = expression(
            m,
            [*sm, demand],
            own(labels(m, "fired")),
            own(cfired, -1.0),
            gather(fired, np.arange(len(accounts)), k_of, n_k, -np.ones(len(accounts))),
        )
        m.add_constraints(total, "=", 0.0, name="nation_fired_sum")

    return hook


def _chains_hook(weights: pd.Series, nation_of: IntArray) -> ExtraConstraint:
    """National supply chains: each nation's facilities use only intermediates made in that
    nation or bought from the world pool (facilities of no nation). A stock per (item, pool)
    whose balances add up to the European industry balance (units)."""

    def hook(m: linopy.Model, d: PlanData) -> None:
        c = d.coords
        items = np.asarray(c["item"])
        n_i, n_n = len(items), len(weights)
        pools = np.append(np.asarray(weights.index), WORLD)
        n_p = len(pools)
        pool_of = np.where(nation_of >= 0, nation_of, n_n)  # facility -> pool
        keys = pd.Index(_names(np.repeat(items, n_p), np.tile(pools, n_i)), name="pool_item")
        bought = pd.Index(_names(np.repeat(items, n_n), np.tile(pools[:n_n], n_i)), name="bought")
        sm = [c["scenario"], c["month"]]
        stock = labels_of(m.add_variables(lower=0.0, coords=[*sm, keys], name="pool_stock"))
        buy = labels_of(m.add_variables(lower=0.0, coords=[*sm, bought], name="world_purchase"))

        prod = labels(m, "production")
        n_f = len(c["facility"])

        def key(item: IntArray, pool: IntArray | int) -> IntArray:
            """Position in ``keys`` of (item, pool)."""
            position: IntArray = np.asarray(item) * n_p + np.asarray(pool)
            return position

        pf, pq = _shipping_pairs(d, fed_only=False)
        b_item, b_nation = np.repeat(np.arange(n_i), n_n), np.tile(np.arange(n_n), n_i)
        lhs = expression(
            m,
            [*sm, keys],
            own(stock),
            lagged(stock, 1, -1.0),
            gather(prod, np.arange(n_f), key(d.facility_item, pool_of), len(keys), -np.ones(n_f)),
            gather(
                prod,
                d.input_facility,
                key(d.input_item, pool_of[d.input_facility]),
                len(keys),
                d.input_quantity,
            ),
            gather(
                prod,
                pf,
                key(d.allocation_item[pq], pool_of[pf]),
                len(keys),
                d.share.to_numpy()[:, :, pq],
            ),
            gather(
                buy, np.arange(len(bought)), key(b_item, b_nation), len(keys), -np.ones(len(bought))
            ),
            gather(buy, np.arange(len(bought)), key(b_item, n_n), len(keys), np.ones(len(bought))),
        )
        m.add_constraints(lhs, "=", 0.0, name="pool_balance")

    return hook


def _tables(r: PlanResult, structure: str) -> pd.DataFrame:
    """Item rows and a total row of one solved structure."""
    short = r.shortfall_by_item()
    purchases = r.production.groupby("item")["purchases_eur"].sum()
    items = short.assign(
        structure=structure,
        cost_eur=short["item"].map(purchases).fillna(0.0).to_numpy(),
        capex_eur=np.nan,
        penalty_eur=np.nan,
        objective_eur=np.nan,
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
            "penalty_eur": [s["expected_penalty_eur"]],
            "objective_eur": [s["objective"]],
        }
    )
    return pd.concat([items, total], ignore_index=True)


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
    buyer). ``national``: Ukraine's need (every penalised demand) is split among the European
    nations by ``weights`` (see :func:`national_weights`; default equal shares, an
    assumption) and each nation's share can only be met by shipments from facilities in its
    own country; starting stocks, external flows (US, own production) and facilities of no
    nation serve every share; intermediates still trade freely across Europe.
    ``national_chains``: the same, and each nation's facilities also use only intermediates
    made in that nation or bought from outside Europe. In all three, investments and the
    budget (``budget`` EUR/year overrides the scenario's) are European. Central values
    (``draws`` and ``seed`` are ignored).

    Rows: per structure, one per demanded item and a ``total``. Columns: wanted and unmet
    (item units over the horizon; for the total only if all items share a unit),
    unmet_share (0-1), cost_eur (purchases of the item; for the total purchases + capex),
    capex_eur, penalty_eur (shortfall penalty) and objective_eur (LP objective) on total
    rows, all EUR; extra_unmet, extra_cost_eur and extra_objective_eur: the structure minus
    pooled (the cost of fragmentation; objective >= 0).
    """
    from materiel.optimize import plan

    w = national_weights(model, weights)
    nation_of = np.asarray(w.index.get_indexer(model.actors[model.facility_country]))
    hooks = {
        "pooled": [],
        "national": [_buyers_hook(w, nation_of)],
        "national_chains": [_buyers_hook(w, nation_of), _chains_hook(w, nation_of)],
    }
    frames = [
        _tables(plan(model, [scenario], budget=budget, extra=extra), name)
        for name, extra in hooks.items()
    ]
    pooled = frames[0].set_index("item")
    out = pd.concat(frames, ignore_index=True)
    for col in ("unmet", "cost_eur", "objective_eur"):
        out[f"extra_{col}"] = out[col].to_numpy() - pooled.loc[out["item"], col].to_numpy()
    return out[COLUMNS]
