"""``materiel outlook``: what can Europe deliver to Ukraine in the next few months, by item, from
donor stocks above their floors and from capacity that needs only orders, against Ukraine's
need?"""

from __future__ import annotations

import numpy as np
import pandas as pd

from materiel.analysis.common import date_labels, fill, item_output, main_actor
from materiel.analysis.layers import layered
from materiel.model import rules
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
    "short",
    "stocks_above_floors",
    "idle_capacity",
    "spare_capacity",
    "europe_extra",
    "europe_extra_p10",
    "europe_extra_p90",
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
    stock_release: float = 1.0,
    actor: str | None = None,
) -> pd.DataFrame:
    """Per item and month of the window [start, start + months): Ukraine's need, what arrives
    under the scenario as it is, and what Europe can add without building anything.

    The need is what Ukraine asks its suppliers for under its sustainment policy
    (``rules.need`` on its stock at the start of the month, before arrivals). It is met in
    order by what arrives in the scenario as it is (flows, transfers, claims served),
    European donors' stocks above their floors (``stock_release`` of what they hold above
    ``rules.above_floor`` at ``start``, handed over at once and carried between months) and
    idle European capacity (capacity minus what the lines make under the baseline, as far as
    inputs allow: the simulator with European order books at full capacity from ``start``).
    Expansion options are left out: none delivers in a few months.

    Columns (item units/month, means over draws unless noted): need, arriving, from_stocks,
    from_idle_capacity (the part of the need each source meets), short (what is left), so
    that need - arriving - from_stocks - from_idle_capacity = short in every row and draw;
    stocks_above_floors (the donors' stock offered in the first month, used or not),
    idle_capacity (the extra output offered that month, used or not), spare_capacity
    (European lines' working capacity minus what they make under the baseline, ignoring
    inputs: the gap to idle_capacity is what missing inputs hold back), europe_extra
    (stocks_above_floors + idle_capacity) with p10/p90 across draws, covered_share (share of
    the need met, 0-1; 1 with no need).
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
    need = layers.need[:, cut]
    arriving = np.minimum(need, layers.delivered[:, cut])
    open_need = need - arriving
    offered = {name: layers.supply[name][:, cut] for name in ("stocks", "idle_capacity")}
    from_stocks = fill(open_need, offered["stocks"])
    from_idle = fill(open_need - from_stocks, offered["idle_capacity"])
    short = open_need - from_stocks - from_idle
    extra = offered["stocks"] + offered["idle_capacity"]
    positions = model.items.get_indexer(pd.Index(layers.items))
    lines = rules.european_facilities(model)
    headroom = layers.base["capacity"].to_numpy() - layers.base["production"].to_numpy()
    spare = item_output(model, headroom, lines)[:, cut][..., positions]
    mean_need = need.mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        covered = np.where(mean_need > 0, 1.0 - short.mean(0) / mean_need, 1.0)
    columns = {
        "need": mean_need,
        "arriving": arriving.mean(0),
        "from_stocks": from_stocks.mean(0),
        "from_idle_capacity": from_idle.mean(0),
        "short": short.mean(0),
        "stocks_above_floors": offered["stocks"].mean(0),
        "idle_capacity": offered["idle_capacity"].mean(0),
        "spare_capacity": np.maximum(spare, 0.0).mean(0),
        "europe_extra": extra.mean(0),
        "europe_extra_p10": np.percentile(extra, 10, axis=0),
        "europe_extra_p90": np.percentile(extra, 90, axis=0),
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
    sums = ["need", "arriving", "from_stocks", "from_idle_capacity", "short"]
    sums += ["stocks_above_floors", "idle_capacity", "spare_capacity", "europe_extra"]
    out = table.groupby(["item", "unit"], sort=False)[sums].sum()
    need = out["need"].where(out["need"] > 0)
    out["covered_share"] = (1.0 - out["short"] / need).fillna(1.0)
    return out.reset_index()
