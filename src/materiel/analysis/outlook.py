"""``materiel outlook``: what can Europe deliver to Ukraine in the next few months, by item, from
stocks and from capacity that needs only orders, against Ukraine's need?"""

from __future__ import annotations

import numpy as np
import pandas as pd

from materiel.analysis.common import date_labels, main_actor
from materiel.analysis.layers import layered
from materiel.model.compiled import Model
from materiel.scenario import Scenario

COLUMNS = [
    "item",
    "unit",
    "month",
    "date",
    "need",
    "arriving",
    "from_stocks",
    "from_idle_capacity",
    "europe_extra",
    "europe_extra_p10",
    "europe_extra_p90",
    "shortfall_before",
    "shortfall_after",
    "covered_share",
]


def outlook(
    model: Model,
    scenario: Scenario,
    *,
    draws: int = 200,
    seed: int = 0,
    months: int = 4,
    start: int = 0,
    stock_release: float = 0.5,
    actor: str | None = None,
) -> pd.DataFrame:
    """Per item and month of the window [start, start + months): Ukraine's need, what arrives
    under the scenario as it is, and what Europe can add without building anything.

    Europe's extra supply comes from stocks (``stock_release`` of what Europe holds at
    ``start``, handed over at once) and from idle capacity (European order books raised to
    full capacity from ``start``: base capacity and committed expansions already online; the
    simulator still limits output by inputs). Expansion options are left out: none delivers in
    a few months. Extra supply fills the shortfall with stock carried between months.

    Columns (item units/month, means over draws unless noted): need, arriving (everything
    delivered in the scenario as is: European allocations, flows, own production),
    from_stocks and from_idle_capacity (extra supply offered, used or not),
    europe_extra (their sum) with p10/p90 across draws, shortfall_before / shortfall_after
    (before and after the extra supply is used), covered_share (share of the need fired after
    the extra supply, 0-1).
    """
    if months < 1:
        raise ValueError(f"the outlook needs at least one month, got {months}")
    if not 0 <= start < scenario.months:
        raise ValueError(f"the start month must be in 0-{scenario.months - 1}, got {start}")
    holder = actor or main_actor(model, "ukraine")
    horizon = max(scenario.months, start + months)
    window = scenario.model_copy(update={"months": horizon})
    layers = layered(
        model,
        window,
        start,
        draws=draws,
        seed=seed,
        release=stock_release,
        actor=holder,
        expansions=False,
    )
    cut = slice(start, start + months)
    need = layers.wanted[:, cut]
    extra = layers.supply["stocks"][:, cut] + layers.supply["idle_capacity"][:, cut]
    after = layers.residual[:, cut]
    with np.errstate(divide="ignore", invalid="ignore"):
        covered = np.where(need.mean(0) > 0, 1.0 - after.mean(0) / need.mean(0), 1.0)
    columns = {
        "need": need.mean(0),
        "arriving": layers.delivered[:, cut].mean(0),
        "from_stocks": layers.supply["stocks"][:, cut].mean(0),
        "from_idle_capacity": layers.supply["idle_capacity"][:, cut].mean(0),
        "europe_extra": extra.mean(0),
        "europe_extra_p10": np.percentile(extra, 10, axis=0),
        "europe_extra_p90": np.percentile(extra, 90, axis=0),
        "shortfall_before": layers.shortfall[:, cut].mean(0),
        "shortfall_after": after.mean(0),
        "covered_share": covered,
    }
    month_index = np.arange(start, start + months)
    n = len(layers.items)
    frame = pd.DataFrame(
        {
            "item": np.tile(layers.items, months),
            "unit": np.tile(layers.units, months),
            "month": np.repeat(month_index, n),
            "date": np.repeat(date_labels(model, month_index), n),
            **{k: np.asarray(v, dtype=float).ravel() for k, v in columns.items()},
        }
    )
    return frame.sort_values(["item", "month"], kind="stable", ignore_index=True)[COLUMNS]


def outlook_totals(table: pd.DataFrame) -> pd.DataFrame:
    """Per item: the window's totals (item units) and the share of the need covered."""
    sums = ["need", "arriving", "from_stocks", "from_idle_capacity", "europe_extra"]
    sums += ["shortfall_before", "shortfall_after"]
    out = table.groupby(["item", "unit"], sort=False)[sums].sum()
    need = out["need"].where(out["need"] > 0)
    out["covered_share"] = (1.0 - out["shortfall_after"] / need).fillna(1.0)
    return out.reset_index()
