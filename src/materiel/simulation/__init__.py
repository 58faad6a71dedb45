"""Monte Carlo simulation of a scenario over the compiled model."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

from materiel import __version__
from materiel.model import rules
from materiel.model.compiled import FloatArray, Model, month_labels
from materiel.model.events import compile_scenario
from materiel.model.plan import Plan
from materiel.model.sampling import sample
from materiel.scenario import Scenario
from materiel.simulation.engine import Layout, output_arrays, run
from materiel.simulation.summary import summarize

__all__ = ["simulate", "summarize", "to_xarray"]

DIMS = {
    "capacity": ("draw", "month", "facility"),
    "production": ("draw", "month", "facility"),
    "stock": ("draw", "month", "pair"),
    "delivered": ("draw", "month", "pair"),
    "served": ("draw", "month", "claim"),
    "wanted": ("draw", "month", "pair"),
    "fired": ("draw", "month", "pair"),
    "weighted_shortfall": ("draw", "month"),
    "cost": ("draw", "month"),
    "fire_ratio": ("draw", "month"),
}
UNITS = {
    "capacity": "item unit/month",
    "production": "item unit/month",
    "stock": "item unit",
    "delivered": "item unit/month",
    "served": "item unit/month",
    "wanted": "item unit/month",
    "fired": "item unit/month",
    "shortfall": "item unit/month",
    "weighted_shortfall": "EUR-equivalent/month",
    "cost": "EUR/month",
    "fire_ratio": "Ukraine:Russia artillery rounds fired",
}
PER_USE = ("wanted", "fired")
"""Engine arrays per consumption row, spread onto the pair dim when labelled."""


def to_xarray(
    model: Model,
    arrays: dict[str, FloatArray],
    first_draw: int,
    attrs: dict[str, str | int | float],
    layout: Layout,
) -> xr.Dataset:
    """Label engine arrays with dims and coordinates.

    Per (actor, item) variables share the dim ``pair`` (a MultiIndex with levels ``actor``
    and ``item``), so ``result["fired"].sel(actor="RUS", item="shell_152")`` selects by
    name; ``shortfall`` = wanted - fired is derived here, not stored by the engine.
    """
    d, m = arrays["cost"].shape
    pair = pd.MultiIndex.from_arrays(
        [model.actors[layout.pair_actor], model.items[layout.pair_item]], names=["actor", "item"]
    )
    claim = rules.claim_labels(model)
    data: dict[str, xr.Variable] = {}
    for name, values in arrays.items():
        if name in PER_USE:
            spread = np.zeros((d, m, layout.pairs), dtype=values.dtype)
            spread[:, :, layout.use_pair] = values
            values = spread
        data[name] = xr.Variable(DIMS[name], values, attrs={"units": UNITS[name]})
    data["shortfall"] = xr.Variable(
        DIMS["wanted"],
        data["wanted"].values - data["fired"].values,
        attrs={"units": UNITS["shortfall"]},
    )
    coords = xr.Coordinates.from_pandas_multiindex(pair, "pair")
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    return ds.assign_coords(
        draw=np.arange(first_draw, first_draw + d),
        month=np.arange(m),
        date=("month", month_labels(model.start, m)),
        facility=model.facilities.to_numpy(),
        claim=claim,
        supplier=("claim", model.claim_supplier.astype(str)),
        recipient=("claim", model.actors[model.claim_recipient].to_numpy()),
        claimed_item=("claim", model.items[model.claim_item].to_numpy()),
        unit=("pair", model.item_unit.to_numpy()[layout.pair_item]),
    )


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
    arrays = output_arrays(model, sc, draws)
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
    return to_xarray(model, arrays, first_draw, attrs, Layout.of(model, sc))
