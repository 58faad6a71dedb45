"""Labelling the engine's arrays: dims, coordinates and units of a result, the layout of a
results file, and which variables it keeps (:data:`SUMMARY_VARIABLES`, ``--full``).

Per (actor, item) variables share the dim ``pair`` (a MultiIndex with levels ``actor`` and
``item`` in memory, plain coordinates in files); ``wanted`` and ``fired`` come from the
engine per consumption row and are spread onto the pairs.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from materiel.model import rules
from materiel.model.compiled import FloatArray, IntArray, Model, month_labels
from materiel.simulation.engine import Layout

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
SUMMARY_VARIABLES = ("wanted", "fired", "weighted_shortfall", "cost", "fire_ratio")
"""What ``materiel simulate`` saves unless asked for everything (``--full``): what its
summary, per-month table and fire ratio read (``shortfall`` = wanted - fired is rebuilt on
load), wanted and fired on the (actor, item) pairs someone consumes only. For 10k draws x 36
months: 59 MB of arrays instead of 1.2 GB."""


PAIR_STOCKS = ("stock", "delivered")
"""The variables on every tracked (actor, item) pair: donors' and producers' stocks too."""


def stored_variables(
    ds: xr.Dataset, variables: Collection[str] | None, model: Model | None = None
) -> xr.Dataset:
    """``ds`` with only the data variables in ``variables`` (all if None) and the
    coordinates they use. Without :data:`PAIR_STOCKS` among them, only the (actor, item)
    pairs that ``model``'s users consume are kept (wanted and fired are zero on the others).
    Raises ValueError naming an unknown variable."""
    if variables is None:
        return ds
    unknown = sorted(set(variables) - set(DIMS) - {"shortfall"})
    if unknown:
        raise ValueError(
            f"unknown result variable(s) {', '.join(unknown)}; choose from {', '.join(DIMS)}"
        )
    kept = ds[[str(k) for k in ds.data_vars if k in variables]]
    if model is None or "pair" not in kept.dims or set(PAIR_STOCKS) & set(variables):
        return kept
    users, items = model.actors[model.consumption_actor], model.items[model.consumption_item]
    uses = set(zip(users, items, strict=True))
    pairs = zip(kept["actor"].to_numpy(), kept["item"].to_numpy(), strict=True)
    return kept.isel(pair=np.array([pair in uses for pair in pairs], dtype=bool))


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
    data = _variables(arrays, layout)
    d, m = arrays["cost"].shape
    data["shortfall"] = xr.Variable(  # per use, then spread: 0 - 0 = 0 elsewhere
        DIMS["wanted"],
        on_pairs(arrays["wanted"] - arrays["fired"], layout),
        attrs={"units": UNITS["shortfall"]},
    )
    pair = pd.MultiIndex.from_arrays(
        [model.actors[layout.pair_actor], model.items[layout.pair_item]], names=["actor", "item"]
    )
    coords = xr.Coordinates.from_pandas_multiindex(pair, "pair")
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    return ds.assign_coords(_coords(model, layout, first_draw, d, m))


def to_file_chunk(
    model: Model,
    arrays: dict[str, FloatArray],
    first_draw: int,
    attrs: dict[str, str | int | float],
    layout: Layout,
    spread: dict[str, FloatArray] | None = None,
    pairs: IntArray | None = None,
) -> xr.Dataset:
    """Engine arrays as results files store them: ``to_file_layout(to_xarray(...))`` without
    deriving ``shortfall`` or building the ``pair`` MultiIndex (``actor`` and ``item`` are
    plain coordinates on ``pair``).

    ``spread``: zeroed (D, M, P) arrays for ``wanted`` and ``fired`` on the pair dim to
    reuse (their columns without a use stay zero); by default they are allocated here.
    ``pairs``: the positions (ascending) of the pairs to keep, every consumed pair among
    them (default: all).
    """
    data = _variables(arrays, layout, spread, pairs)
    d, m = next(iter(arrays.values())).shape[:2]
    at = slice(None) if pairs is None else pairs
    coords = {
        "actor": ("pair", model.actors[layout.pair_actor[at]].to_numpy()),
        "item": ("pair", model.items[layout.pair_item[at]].to_numpy()),
        **_coords(model, layout, first_draw, d, m),
        "unit": ("pair", model.item_unit.to_numpy()[layout.pair_item[at]]),
    }
    used = {dim for var in data.values() for dim in var.dims}
    coords = {k: v for k, v in coords.items() if (v[0] if isinstance(v, tuple) else k) in used}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def consumed_pairs(layout: Layout) -> IntArray:
    """Positions (ascending) of the pairs some consumption row uses."""
    return np.unique(layout.use_pair)


def on_pairs(
    values: FloatArray,
    layout: Layout,
    out: FloatArray | None = None,
    pairs: IntArray | None = None,
) -> FloatArray:
    """A per-use array (D, M, C) spread onto the pair dim (D, M, P), zero where no use
    (onto ``pairs`` only if given, a superset of the consumed pairs: when they are the
    consumption rows in order, ``values`` itself).

    ``out``: a zeroed (D, M, P) array to fill (only the use columns are written)."""
    width = layout.pairs if pairs is None else len(pairs)
    at = layout.use_pair if pairs is None else np.searchsorted(pairs, layout.use_pair)
    if width == len(at) and np.array_equal(at, np.arange(width)):
        return values
    d, m = values.shape[:2]
    spread = np.zeros((d, m, width), dtype=values.dtype) if out is None else out
    spread[:, :, at] = values
    return spread


def _variables(
    arrays: dict[str, FloatArray],
    layout: Layout,
    spread: dict[str, FloatArray] | None = None,
    pairs: IntArray | None = None,
) -> dict[str, xr.Variable]:
    """The engine's arrays as variables with dims and units, per-use ones spread on pairs
    (on ``pairs`` only, if given)."""
    data: dict[str, xr.Variable] = {}
    for name, values in arrays.items():
        if name in PER_USE:
            out = None if spread is None else spread.get(name)
            values = on_pairs(values, layout, out, pairs)
        elif pairs is not None and DIMS[name][-1] == "pair":
            values = values[:, :, pairs]
        data[name] = xr.Variable(DIMS[name], values, attrs={"units": UNITS[name]})
    return data


def _coords(model: Model, layout: Layout, first_draw: int, d: int, m: int) -> dict[str, Any]:
    """Coordinates of a chunk of ``d`` draws from ``first_draw``, ``m`` months."""
    return {
        "draw": np.arange(first_draw, first_draw + d),
        "month": np.arange(m),
        "date": ("month", month_labels(model.start, m)),
        "facility": model.facilities.to_numpy(),
        "claim": rules.claim_labels(model),
        "supplier": ("claim", model.claim_supplier.astype(str)),
        "recipient": ("claim", model.actors[model.claim_recipient].to_numpy()),
        "claimed_item": ("claim", model.items[model.claim_item].to_numpy()),
        "unit": ("pair", model.item_unit.to_numpy()[layout.pair_item]),
    }


@dataclass(frozen=True)
class RawChunk:
    """One chunk of draws as the engine wrote it (arrays of :func:`engine.output_arrays`
    for draws ``first_draw ..``, ``wanted`` and ``fired`` per consumption row), before
    labelling: what :func:`materiel.simulation.simulate_to_file` hands to ``on_raw``."""

    model: Model
    layout: Layout
    first_draw: int
    arrays: dict[str, FloatArray]
    attrs: dict[str, str | int | float]

    @property
    def draws(self) -> int:
        return int(self.arrays["cost"].shape[0])

    def labelled(self, draws: int | None = None) -> xr.Dataset:
        """The chunk (its first ``draws`` draws, default all) as :func:`to_xarray` labels it
        (the arrays not spread onto pairs are the chunk's own, not copies)."""
        arrays = self.arrays if draws is None else {k: v[:draws] for k, v in self.arrays.items()}
        return to_xarray(self.model, arrays, self.first_draw, self.attrs, self.layout)

    def monthly(self) -> xr.Dataset:
        """The variables on (draw, month) only (e.g. cost, fire ratio), labelled as in
        :meth:`labelled`; copies."""
        d, m = self.arrays["cost"].shape
        return xr.Dataset(
            {
                k: xr.Variable(DIMS[k], v.copy(), {"units": UNITS[k]})
                for k, v in self.arrays.items()
                if v.ndim == 2
            },
            coords={
                "draw": np.arange(self.first_draw, self.first_draw + d),
                "month": np.arange(m),
                "date": ("month", month_labels(self.model.start, m)),
            },
            attrs=self.attrs,
        )
