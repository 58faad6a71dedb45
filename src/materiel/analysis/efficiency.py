"""``materiel efficiency``: each expansion option's euros per added unit per month, months to
first output, and what it adds in end items (simulated) and in value (optimiser duals)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from materiel.analysis.common import date_labels, end_item_mask, item_output, item_price, leontief
from materiel.model.compiled import FloatArray, Model
from materiel.model.events import compile_scenario
from materiel.model.plan import Plan
from materiel.model.sampling import sample
from materiel.scenario import Scenario
from materiel.simulation.engine import run

WINDOW = 12
"""Months at full rate over which the simulated end-item gain is averaged."""
TOL = 1e-5
"""Relative to base output: smaller gains are float32 round-off, shown as 0."""
COLUMNS = [
    "expansion",
    "facility",
    "item",
    "unit",
    "country",
    "capex_eur",
    "added_capacity",
    "eur_per_unit_month",
    "lead_time",
    "ramp_time",
    "first_output_month",
    "first_output_date",
    "full_rate_month",
    "end_item",
    "end_unit",
    "end_units_supported",
    "end_gain_per_month",
    "end_gain_with_others",
    "eur_per_end_unit_month",
    "weighted_shortfall_cut",
    "lp_value_eur",
    "lp_value_per_eur",
    "lp_built_share",
    "lp_built_month",
]


def _simulated_gain(
    model: Model, scenario: Scenario, options: np.ndarray, month: int, full: np.ndarray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean extra end-item output per month (item units/month) over the ``WINDOW`` months
    from each option's full-rate month, shape (E, I) each: built alone on top of the
    scenario, and built last on top of every other option (its marginal gain when the
    others are built too). Also the priority-weighted shortfall each option alone cuts, mean
    per month over the same window (EUR-equivalent/month), shape (E,). One vectorised run
    with central values: rows are nothing, each option alone, all options, all but each
    option."""
    horizon = int(min(240, max(scenario.months, full.max(initial=0) + WINDOW)))
    n = len(options)
    build = np.concatenate([np.zeros((1, n)), np.eye(n), np.ones((1, n)), 1.0 - np.eye(n)])
    p = sample(model, len(build), seed=0, uncertain=False)
    p["added_capacity"][:, options] *= build
    plan = Plan(options, np.full(n, float(month)), np.ones(n))
    out = run(model, compile_scenario(model, scenario, horizon), p, plan)
    made = item_output(model, out["production"]) * end_item_mask(model)  # (rows, M, I)
    t = np.arange(horizon)[None, :]
    start = np.minimum(full, horizon - WINDOW)[:, None]
    window = (t >= start) & (t < start + WINDOW)  # (E, M)

    def mean(gain: FloatArray) -> FloatArray:
        total = (gain * window[..., None]).sum(axis=1) / window.sum(axis=1)[:, None]
        scale = np.maximum(made[0].mean(axis=0), 1.0)[None, :]
        return np.asarray(np.where(np.abs(total) < TOL * scale, 0.0, total), dtype=float)

    alone = mean(made[1 : n + 1] - made[:1])
    last = mean(made[n + 1 : n + 2] - made[n + 2 :])
    weighted = out["weighted_shortfall"].astype(float)  # (rows, M)
    cut = ((weighted[:1] - weighted[1 : n + 1]) * window).sum(axis=1) / window.sum(axis=1)
    return alone, last, np.where(np.abs(cut) < 1.0, 0.0, cut)  # float32 round-off, EUR


def _lp_values(model: Model, scenario: Scenario, options: np.ndarray, month: int) -> pd.DataFrame:
    """Dual value of deciding each option in ``month`` (EUR of objective), the share the
    optimal plan builds and its first decision month."""
    from materiel.optimize import plan

    result = plan(model, [scenario])
    d = result.data
    dual = -result.lp.constraints["capacity"].dual.fillna(0.0).to_numpy()  # (S, M, F)
    per_facility = (dual * d.availability.to_numpy()).sum(axis=0)  # (M, F)
    added = d.added.to_numpy()[:, month, :]  # (E_lp, M)
    value = (added * per_facility[:, d.expansion_facility].T).sum(axis=1)
    frame = pd.DataFrame({"lp_value_eur": value}, index=model.expansions[d.options])
    inv = result.investments
    frame["lp_built_share"] = inv.groupby("expansion")["scale"].sum()
    frame["lp_built_month"] = inv.groupby("expansion")["month"].min()
    frame["lp_built_share"] = frame["lp_built_share"].fillna(0.0)
    return frame.reindex(model.expansions[options])


def efficiency(
    model: Model,
    scenario: Scenario,
    *,
    draws: int = 1,
    seed: int = 0,
    decide_month: int = 0,
    lp: bool = True,
) -> pd.DataFrame:
    """Each expansion option: cost per unit of capacity, time to output, end items it adds.

    With central values (``draws`` and ``seed`` are ignored) and the option decided in
    ``decide_month``: eur_per_unit_month = capex / added capacity (EUR per item unit/month);
    first_output_month = floor(decide + lead time) and full_rate_month = ceil(decide + lead +
    ramp), the simulator's ramp. end_units_supported = added / L[item, end item]: end items
    per month the added capacity could feed if nothing else bound (L the Leontief inverse).
    end_gain_per_month is the simulated extra end-item output per month over the 12 months
    from full rate with this option alone built on top of the scenario (other inputs may
    bind, so it can be 0); end_gain_with_others the same when it is built last, on top of
    every other option (complementary options, e.g. powder and charge modules, gain only
    together); eur_per_end_unit_month = capex / end_gain_per_month (NaN when nothing is
    gained alone); weighted_shortfall_cut, the priority-weighted shortfall
    (``rules.weighted_rows`` weights, computed by the engine) the option alone cuts, mean per
    month over the same window (EUR-equivalent/month; 0 when the extra output only goes to
    recipients without a shortfall).

    From the optimiser (``lp=True``): lp_value_eur, the capacity duals summed over the months
    the option would add capacity (EUR of objective, i.e. purchases plus the shortfall
    penalty: the marginal value of the option at the optimal plan), lp_value_per_eur (per
    euro of capex), and the share of the option the optimal plan builds and the first month.
    Sorted by end item, then eur_per_end_unit_month and eur_per_unit_month.
    """
    if not 0 <= decide_month < scenario.months:
        raise ValueError(f"the decision month must be in 0-{scenario.months - 1}")
    options = np.flatnonzero(np.isnan(model.decided))
    if len(options) == 0:
        return pd.DataFrame(columns=COLUMNS)
    fac = model.expansion_facility[options]
    item = model.facility_item[fac]
    capex = model.capex.central[options]
    added = model.added_capacity.central[options]
    lead, ramp = model.lead_time.central[options], model.ramp_time.central[options]
    online = decide_month + lead
    first = np.floor(online).astype(int)
    full = np.ceil(online + ramp).astype(int)
    gain, last, cut = _simulated_gain(model, scenario, options, decide_month, full)  # (E, I)
    price = item_price(model)
    total = leontief(model)[item]  # (E, I): units of the option's item per unit of each item
    feeds = (total > 0) & end_item_mask(model)[None, :]
    best = np.maximum(gain, last)
    scored = np.where(best > 0, best * np.maximum(price, 1e-9), -np.inf)
    fallback = np.where(feeds, total, -np.inf).argmax(axis=1)
    end = np.where(np.isfinite(scored.max(axis=1)), scored.argmax(axis=1), fallback)
    has_end = feeds[np.arange(len(options)), end]
    rows = np.arange(len(options))
    end_gain = np.where(has_end, gain[rows, end], np.nan)
    end_last = np.where(has_end, last[rows, end], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        supported = np.where(has_end, added / total[np.arange(len(options)), end], np.nan)
        per_end = np.where(end_gain > 0, capex / end_gain, np.nan)
        per_unit = np.where(added > 0, capex / added, np.nan)
    frame = pd.DataFrame(
        {
            "expansion": model.expansions[options],
            "facility": model.facilities[fac],
            "item": model.items[item],
            "unit": model.item_unit.to_numpy()[item],
            "country": model.actors[model.facility_country[fac]],
            "capex_eur": capex,
            "added_capacity": added,
            "eur_per_unit_month": per_unit,
            "lead_time": lead,
            "ramp_time": ramp,
            "first_output_month": first,
            "first_output_date": date_labels(model, first),
            "full_rate_month": full,
            "end_item": np.where(has_end, model.items[end].to_numpy(), ""),
            "end_unit": np.where(has_end, model.item_unit.to_numpy()[end], ""),
            "end_units_supported": supported,
            "end_gain_per_month": end_gain,
            "end_gain_with_others": end_last,
            "eur_per_end_unit_month": per_end,
            "weighted_shortfall_cut": cut,
        }
    )
    if lp:
        values = _lp_values(model, scenario, options, decide_month)
        value = values["lp_value_eur"].to_numpy()
        frame["lp_value_eur"] = np.where(np.abs(value) < 1e-3, 0.0, value)  # solver round-off
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["lp_value_per_eur"] = np.where(capex > 0, frame["lp_value_eur"] / capex, np.nan)
        frame["lp_built_share"] = values["lp_built_share"].to_numpy()
        frame["lp_built_month"] = values["lp_built_month"].to_numpy()
    else:
        for col in ("lp_value_eur", "lp_value_per_eur", "lp_built_share", "lp_built_month"):
            frame[col] = np.nan
    frame = frame.sort_values(
        ["end_item", "eur_per_end_unit_month", "eur_per_unit_month"],
        na_position="last",
        kind="stable",
    )
    return frame.reset_index(drop=True)[COLUMNS]
