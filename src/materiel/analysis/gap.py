"""``materiel gap``: if US deliveries stop in month k, what is Ukraine short of, by item and
month, how much of it can Europe fill (stocks, idle capacity, expansions) and what is left?"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from materiel.analysis.common import (
    date_labels,
    edit_events,
    holder_pairs,
    main_actor,
    pair_floors,
    pair_values,
    pairs_of,
    stock_before,
    us_stop_month,
)
from materiel.analysis.layers import LAYERS, layered
from materiel.model import rules
from materiel.model.compiled import FloatArray, Model
from materiel.model.events import compile_scenario
from materiel.model.sampling import sample
from materiel.scenario import Scenario
from materiel.simulation import simulate
from materiel.simulation.summary import SHORT

DEFAULT_STOP = 2
"""US stop month used when neither the option nor the scenario sets one."""

COLUMNS = [
    "item",
    "unit",
    "month",
    "date",
    "wanted",
    "shortfall_with_us",
    "us_lost",
    "gap",
    "from_stocks",
    "from_idle_capacity",
    "from_expansions",
    "residual",
    "residual_p50",
    "residual_p95",
    "p_residual",
    "p_residual_by",
]


def us_arrivals(
    model: Model,
    scenario: Scenario,
    result: xr.Dataset,
    holder: str,
    items: list[str],
    *,
    seed: int,
    uncertain: bool = True,
) -> FloatArray:
    """What ``holder`` receives from the US in ``result`` (a run of ``scenario``), (D, M, I_sel)
    in item units/month: US claims served and US flows (``rules.us_outbound``) and transfers
    from US holders (the scenario's quantity or share of the giver's stock above its floor,
    capped at that stock above the floor; several transfers from one holder are not pooled)."""
    draws, months = result.sizes["draw"], result.sizes["month"]
    sc = compile_scenario(model, scenario, months)
    to_holder = model.actors.get_loc(holder)
    pos = {code: j for j, code in enumerate(items)}
    out = np.zeros((draws, months, len(items)))
    flows, claims = rules.us_outbound(model)
    served = result["served"].to_numpy().astype(float)
    for q in np.flatnonzero(claims & (model.claim_recipient == to_holder)):
        j = pos.get(str(model.items[model.claim_item[q]]))
        if j is not None:
            out[:, :, j] += served[:, :, q]
    base = sample(model, draws, seed, uncertain=uncertain)["flow_rate"]
    for f in np.flatnonzero(flows & (model.flow_recipient == to_holder)):
        j = pos.get(str(model.items[model.flow_item[f]]))
        if j is not None:
            # the scenario's absolute rate where it sets one, else the sampled rate x factor
            rate = np.where(
                np.isnan(sc.flow_rate[:, f]),
                base[:, f, None] * sc.flow_factor[None, :, f],
                sc.flow_rate[None, :, f],
            )
            out[:, :, j] += rate
    x = sc.transfers
    from_us = (rules.region_of(model, x.giver) == "us") & (x.taker == to_holder)
    if from_us.any():
        opening, floor = pair_floors(model, result, draws, seed, uncertain)
        index = pd.MultiIndex.from_arrays(pairs_of(result))
        for n in np.flatnonzero(from_us):
            j = pos.get(str(model.items[x.item[n]]))
            key = (str(model.actors[x.giver[n]]), str(model.items[x.item[n]]))
            if j is None or key not in index:
                continue
            pair = index.get_loc(key)
            keep = 1.0 - sc.stock_loss[:, x.giver[n]]
            for t in range(months):
                held = stock_before(result, opening, np.full(len(index), keep[t]), t)[:, pair]
                spare = rules.above_floor(held, floor[:, pair])
                wanted = (
                    np.nan_to_num(x.share[t, n]) * spare
                    if np.isnan(x.quantity[t, n])
                    else np.full(draws, x.quantity[t, n])
                )
                out[:, t, j] += np.minimum(wanted, spare)
    return out


def gap(
    model: Model,
    scenario: Scenario,
    *,
    draws: int = 200,
    seed: int = 0,
    stop_month: int | None = None,
    stock_release: float = 1.0,
    actor: str | None = None,
) -> pd.DataFrame:
    """Ukraine's gap after a US stop in month k and how Europe fills it, per item and month.

    k is ``stop_month``, else the scenario's ``us_supply_stops`` month, else 2; the scenario's
    own US-stop events are replaced by one at k, which ends every US claim, flow and transfer
    to countries outside the US (``rules.us_outbound``). The gap is the holder's shortfall
    (wanted - fired) in that run; it is filled in order by European donors' stocks above
    their floors (``stock_release`` of what they hold above ``rules.above_floor`` at k), idle
    European capacity (order books to full capacity from k) and every expansion option
    decided at k (see :mod:`materiel.analysis.layers`). Per draw, gap = from_stocks +
    from_idle_capacity + from_expansions + residual, so the means add up too.

    One row per (item, month) from month k on. Columns (item units/month unless noted):
    wanted, shortfall_with_us (the shortfall had the US kept delivering), us_lost (what the
    holder stops receiving from the US: US claims served, flows and transfers with the US
    minus without), gap, from_stocks, from_idle_capacity, from_expansions, residual (means
    over draws), residual_p50 / residual_p95 (percentiles), p_residual (probability that more
    than 1 % of the month's need stays unmet), p_residual_by (probability of such a month at
    or before this one, from k on).
    """
    k = stop_month if stop_month is not None else us_stop_month(model, scenario)
    k = DEFAULT_STOP if k is None else k
    if not 0 <= k < scenario.months:
        raise ValueError(f"the US stop month must be in 0-{scenario.months - 1}, got {k}")
    holder = actor or main_actor(model, "ukraine")
    stopped = edit_events(
        scenario, [{"type": "us_supply_stops", "month": k}], drop=["us_supply_stops"]
    )
    layers = layered(model, stopped, k, draws=draws, seed=seed, release=stock_release, actor=holder)
    kept = edit_events(scenario, drop=["us_supply_stops"])
    with_us_run = simulate(model, kept, draws=draws, seed=seed)
    with_us = pair_values(with_us_run, "shortfall", holder_pairs(with_us_run, holder, layers.items))
    lost = us_arrivals(model, kept, with_us_run, holder, layers.items, seed=seed) - us_arrivals(
        model, stopped, layers.base, holder, layers.items, seed=seed
    )

    after = slice(k, None)
    wanted = layers.wanted[:, after]
    residual = layers.residual[:, after]
    short = (residual > SHORT * wanted) & (wanted > 0)
    columns = {
        "wanted": wanted.mean(0),
        "shortfall_with_us": with_us[:, after].mean(0),
        "us_lost": lost[:, after].mean(0),
        "gap": layers.shortfall[:, after].mean(0),
        **{f"from_{name}": layers.filled[name][:, after].mean(0) for name in LAYERS},
        "residual": residual.mean(0),
        "residual_p50": np.percentile(residual, 50, axis=0),
        "residual_p95": np.percentile(residual, 95, axis=0),
        "p_residual": short.mean(0),
        "p_residual_by": np.maximum.accumulate(short, axis=1).mean(0),
    }
    months = np.arange(k, scenario.months)
    n_items = len(layers.items)
    frame = pd.DataFrame(
        {
            "item": np.tile(layers.items, len(months)),
            "unit": np.tile(layers.units, len(months)),
            "month": np.repeat(months, n_items),
            "date": np.repeat(date_labels(model, months), n_items),
            **{name: np.asarray(v, dtype=float).ravel() for name, v in columns.items()},
        }
    )
    return frame.sort_values(["item", "month"], kind="stable", ignore_index=True)[COLUMNS]


def gap_totals(table: pd.DataFrame) -> pd.DataFrame:
    """Per item: totals over the months of a :func:`gap` table (item units) and the share of
    the gap each layer fills; p_residual_any is the probability of at least one month with a
    residual gap."""
    sums = ["wanted", "gap", "from_stocks", "from_idle_capacity", "from_expansions", "residual"]
    out = table.groupby(["item", "unit"], sort=False)[sums].sum()
    out["p_residual_any"] = table.groupby(["item", "unit"], sort=False)["p_residual_by"].last()
    total = out["gap"].where(out["gap"] > 0)
    for name in ("from_stocks", "from_idle_capacity", "from_expansions", "residual"):
        out[f"{name}_share"] = (out[name] / total).fillna(0.0)
    return out.reset_index()
