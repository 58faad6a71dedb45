"""Is the dataset's start a steady state? Run it without events and see what drifts.

A planner reading a scenario's results needs to know what the start itself implies: if a
user's fire falls by half in three months with no event at all, that fall is the dataset's
(supply below demand at the start), not the scenario's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from materiel.model.compiled import Model
from materiel.scenario import Scenario
from materiel.simulation import simulate

DRIFT = 0.25
"""A user-item drifts when its fire moves by more than this share of the month-0 fire."""


def start_drift(model: Model, months: int = 6) -> pd.DataFrame:
    """Per consumption row, at central values and with no events: wanted, fired in month 0
    and in month ``months - 1`` (item units/month), deliveries in month 0 and the relative
    change of fire; ``drifts`` is True where |change| > ``DRIFT``."""
    quiet = Scenario(name="no-events", months=months)
    result = simulate(model, quiet, draws=1, uncertain=False)
    rows = []
    for actor, item in zip(
        model.actors[model.consumption_actor], model.items[model.consumption_item], strict=True
    ):
        pick = {"actor": actor, "item": item, "draw": 0}
        wanted = result["wanted"].sel(pick).to_numpy()
        fired = result["fired"].sel(pick).to_numpy()
        arriving = result["delivered"].sel(pick).to_numpy()
        change = (fired[-1] - fired[0]) / fired[0] if fired[0] > 0 else np.nan
        rows.append(
            {
                "actor": actor,
                "item": item,
                "wanted": float(wanted[0]),
                "arriving_first": float(arriving[0]),
                "fired_first": float(fired[0]),
                "fired_last": float(fired[-1]),
                "change": float(change),
                "drifts": bool(abs(change) > DRIFT) if np.isfinite(change) else False,
            }
        )
    return pd.DataFrame(rows)
