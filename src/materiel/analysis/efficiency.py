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
    "lp_shortfall_avoided",
    "lp_cost_saved_eur",
    "lp_avoided_per_eur",
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


LP_STEP = 0.01
"""Share of a module added to value an option by finite difference (the LP is piecewise
linear: a small step gives the slope at the optimal plan)."""


def _lp_values(model: Model, scenario: Scenario, options: np.ndarray, month: int) -> pd.DataFrame:
    """The weighted shortfall one whole option decided in ``month`` avoids at the optimal plan
    (EUR-equivalent over the horizon) and the expected purchases it saves (EUR), by finite
    difference on the LP with the plan's builds held and the option's capex not counted; the
    share the optimal plan builds and its first decision month."""
    from materiel.optimize import plan
    from materiel.optimize.results import capacity_change_values

    result = plan(model, [scenario])
    d = result.data
    avail = d.availability.to_numpy()  # (S, M, F)
    added = d.added.to_numpy()[:, month, :]  # (E_lp, M)
    changes = []
    for k, f in enumerate(d.expansion_facility):
        change = np.zeros_like(avail)
        change[..., f] = LP_STEP * added[k][None, :] * avail[..., f]
        changes.append(change)
    found = capacity_change_values(result, changes, fix_builds=True)
    values = np.array(found).reshape(-1, 2) / LP_STEP
    frame = pd.DataFrame(
        {"lp_shortfall_avoided": values[:, 0], "lp_cost_saved_eur": -values[:, 1]},
        index=model.expansions[d.options],
    )
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

    From the optimiser (``lp=True``): lp_shortfall_avoided, the priority-weighted shortfall
    (EUR-equivalent over the horizon, unserved fixed orders at item weight) one whole option
    decided in ``decide_month`` avoids on top of the optimal plan's builds (a finite
    difference of :data:`LP_STEP` of a module, warm-started; its own capex not counted),
    lp_cost_saved_eur (the expected purchases it saves, EUR; either can be negative where
    the LP, which also weighs recipients by priority class, moves supply to a better class),
    lp_avoided_per_eur
    (shortfall avoided per euro of capex), and the share of the option the optimal plan
    builds and the first month.
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
        for col in ("lp_shortfall_avoided", "lp_cost_saved_eur"):  # solver round-off, EUR
            frame[col] = values[col].mask(values[col].abs() < 1.0, 0.0).to_numpy()
        value = frame["lp_shortfall_avoided"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["lp_avoided_per_eur"] = np.where(capex > 0, value / capex, np.nan)
        frame["lp_built_share"] = values["lp_built_share"].to_numpy()
        frame["lp_built_month"] = values["lp_built_month"].to_numpy()
    else:
        for col in COLUMNS[COLUMNS.index("lp_shortfall_avoided") :]:
            frame[col] = np.nan
    frame = frame.sort_values(
        ["end_item", "eur_per_end_unit_month", "eur_per_unit_month"],
        na_position="last",
        kind="stable",
    )
    return frame.reset_index(drop=True)[COLUMNS]
