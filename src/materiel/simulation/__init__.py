"""Monte Carlo simulation of a scenario over the compiled model."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr

from materiel import __version__
from materiel.model.compiled import FloatArray, Model, month_labels
from materiel.model.events import compile_scenario
from materiel.model.plan import Plan
from materiel.model.sampling import sample
from materiel.scenario import Scenario
from materiel.simulation.engine import output_arrays, run
from materiel.simulation.summary import summarize

__all__ = ["simulate", "summarize", "to_xarray"]

DIMS = {
    "capacity": ("draw", "month", "facility"),
    "production": ("draw", "month", "facility"),
    "industry_stock": ("draw", "month", "item"),
    "input_use": ("draw", "month", "item"),
    "allocated": ("draw", "month", "item"),
    "delivered": ("draw", "month", "actor", "item"),
    "stock": ("draw", "month", "actor", "item"),
    "wanted": ("draw", "month", "actor", "item"),
    "fired": ("draw", "month", "actor", "item"),
    "shortfall": ("draw", "month", "actor", "item"),
    "cost": ("draw", "month"),
    "fire_ratio": ("draw", "month"),
}
UNITS = {
    "capacity": "item unit/month",
    "production": "item unit/month",
    "industry_stock": "item unit",
    "input_use": "item unit/month",
    "allocated": "item unit/month",
    "delivered": "item unit/month",
    "stock": "item unit",
    "wanted": "item unit/month",
    "fired": "item unit/month",
    "shortfall": "item unit/month",
    "cost": "EUR/month",
    "fire_ratio": "Ukraine:Russia artillery rounds fired",
}


def to_xarray(
    model: Model,
    arrays: dict[str, FloatArray],
    first_draw: int,
    attrs: dict[str, str | int | float],
) -> xr.Dataset:
    """Label engine arrays with dims and coordinates."""
    d, m = arrays["cost"].shape
    coords = {
        "draw": np.arange(first_draw, first_draw + d),
        "month": np.arange(m),
        "date": ("month", month_labels(model.start, m)),
        "facility": model.facilities.to_numpy(),
        "item": model.items.to_numpy(),
        "actor": model.actors[model.holders].to_numpy(),
        "unit": ("item", model.item_unit.to_numpy()),
    }
    data = {k: xr.Variable(DIMS[k], v, attrs={"units": UNITS[k]}) for k, v in arrays.items()}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _per_month(progress: Callable[[int], None] | None, n: int) -> Callable[[int], None] | None:
    """Adapt a draw-month progress callback to the engine's per-month callback."""
    if progress is None:
        return None
    report = progress
    return lambda _month: report(n)


def simulate(
    model: Model,
    scenario: Scenario,
    draws: int = 1000,
    seed: int = 0,
    months: int | None = None,
    plan: Plan | None = None,
    uncertain: bool = True,
    first_draw: int = 0,
    chunk: int = 4096,
    progress: Callable[[int], None] | None = None,
) -> xr.Dataset:
    """Simulate ``draws`` Monte Carlo draws of ``scenario``.

    Draw ``d`` depends only on (seed, d), so results do not depend on ``chunk`` or on how
    draws are split across processes. ``uncertain=False`` gives every draw the central values.
    ``progress`` is called with the number of draw-months completed since the last call.
    """
    sc = compile_scenario(model, scenario, months)
    arrays = output_arrays(model, sc.months, draws)
    for lo in range(0, draws, chunk):
        n = min(chunk, draws - lo)
        p = sample(model, n, seed, start=first_draw + lo, uncertain=uncertain)
        part = {k: v[lo : lo + n] for k, v in arrays.items()}
        run(model, sc, p, plan, _per_month(progress, n), out=part)
    attrs: dict[str, str | int | float] = {
        "package_version": __version__,
        "dataset": model.dataset.meta.name,
        "dataset_version": model.dataset.meta.version,
        "dataset_digest": model.dataset.digest,
        "scenario": scenario.name,
        "scenario_json": scenario.model_dump_json(),
        "seed": seed,
        "draws": draws,
        "uncertain": int(uncertain),
        "plan": int(plan is not None),
    }
    return to_xarray(model, arrays, first_draw, attrs)
