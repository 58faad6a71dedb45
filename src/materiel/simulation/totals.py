"""Streaming reductions of simulation results: per-draw totals, summarised over all draws.

A run too large to keep every (draw, month, ...) value is reduced chunk by chunk: each chunk
gives per-draw totals over the horizon (:func:`draw_totals`: a few numbers per draw and
item), and the summary percentiles are computed over all draws' totals at the end
(:func:`summarize_totals`), exactly as :func:`materiel.simulation.summary.summarize` would
on the full result. :class:`DrawTotals` does this for chunks streamed by
:func:`materiel.simulation.simulate_to_file`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from materiel.simulation.summary import fire_ratio, is_short, short_of

if TYPE_CHECKING:
    from materiel.simulation.labels import RawChunk

SUMMARY_COLUMNS = (
    "unit",
    "wanted",
    "shortfall_mean",
    "shortfall_p5",
    "shortfall_p50",
    "shortfall_p95",
    "shortfall_share",
    "p_short",
    "sustained_p50",
    "sustained_p10",
)
"""Columns of :func:`materiel.simulation.summary.summarize`, in order."""


def draw_totals(result: xr.Dataset, actor: str = "UKR") -> xr.Dataset:
    """Per-draw totals over the horizon: the sufficient statistics of :func:`summarize_totals`.

    Variables: shortfall and wanted (draw, item; item units over the horizon), short (any
    short month) and first_short (months before the first short month; the horizon if none),
    cost (draw; EUR over the horizon), fire_ratio_end (last month) and fire_ratio_mean.
    """
    res = result[["wanted", "shortfall"]].sel(actor=actor)  # selects only what is summed
    months = result.sizes["month"]
    short = short_of(res)
    ever = short.any("month")
    out = xr.Dataset(
        {
            "shortfall": res["shortfall"].sum("month"),
            "wanted": res["wanted"].sum("month"),
            "short": ever,
            "first_short": short.argmax("month").where(ever, months),
            "cost": result["cost"].sum("month"),
        },
        attrs={**result.attrs, "months": months, "actor": actor},
    )
    if "fire_ratio" in result:
        fr = result["fire_ratio"]
        out["fire_ratio_end"] = fr.isel(month=-1, drop=True)
        with np.errstate(all="ignore"):
            out["fire_ratio_mean"] = fr.mean("month", skipna=True)
    return out.drop_vars(["actor", "date"], errors="ignore")


def _nansum(values: np.ndarray) -> np.ndarray:
    """Sum over the last axis (months) with NaN as 0, as xarray's ``.sum("month")``."""
    return np.asarray(np.where(np.isnan(values), np.zeros_like(values), values).sum(axis=-1))


def _arrays(part: xr.Dataset) -> Arrays:
    """A chunk's per-draw variables and draw numbers as arrays."""
    return {"draw": part["draw"].to_numpy(), **{str(k): v.to_numpy() for k, v in part.items()}}


def _labelled(template: xr.Dataset, parts: list[Arrays], draws: int) -> xr.Dataset:
    """Chunks' arrays (in draw order) as one Dataset laid out as ``template`` (one draw):
    what :func:`concat_draws` gives for the labelled chunks."""
    joined = template.drop_dims("draw").assign(
        {
            name: (var.dims, np.concatenate([p[str(name)] for p in parts]), var.attrs)
            for name, var in template.data_vars.items()
        }
    )
    joined = joined.assign_coords(draw=np.concatenate([p["draw"] for p in parts]))
    joined.attrs = {**template.attrs, "draws": draws}
    return joined


def summarize_totals(totals: xr.Dataset) -> xr.Dataset:
    """Summary over draws of :func:`draw_totals`, for the items the actor uses.

    Per item: wanted (mean, item units), shortfall_mean/p5/p50/p95 (item units),
    shortfall_share (mean unmet share), p_short (probability of a short month),
    sustained_p50/p10 (months). Scalars: cost_mean/p50/p95 (EUR over the horizon),
    fire_ratio_p10/p50/p90 (last month) and fire_ratio_mean_p50. The per-item figures equal
    :func:`materiel.simulation.summary.summarize` on the full result.
    """
    used = totals["wanted"].sum("draw") > 0
    t = totals.sel(item=used)
    q = t["shortfall"].quantile([0.05, 0.5, 0.95], dim="draw")
    with np.errstate(all="ignore"):
        share = (t["shortfall"] / t["wanted"].where(t["wanted"] > 0)).mean("draw")
    cost = totals["cost"].astype(float)
    out = xr.Dataset(
        {
            "wanted": t["wanted"].mean("draw"),
            "shortfall_mean": t["shortfall"].mean("draw"),
            "shortfall_p5": q.sel(quantile=0.05, drop=True),
            "shortfall_p50": q.sel(quantile=0.5, drop=True),
            "shortfall_p95": q.sel(quantile=0.95, drop=True),
            "shortfall_share": share,
            "p_short": t["short"].mean("draw"),
            "sustained_p50": t["first_short"].quantile(0.5, dim="draw").drop_vars("quantile"),
            "sustained_p10": t["first_short"].quantile(0.1, dim="draw").drop_vars("quantile"),
            "cost_mean": cost.mean("draw"),
            "cost_p50": cost.quantile(0.5, dim="draw").drop_vars("quantile"),
            "cost_p95": cost.quantile(0.95, dim="draw").drop_vars("quantile"),
        },
        attrs={k: v for k, v in totals.attrs.items() if k != "draws"},
    )
    if "fire_ratio_end" in totals:
        fr = totals["fire_ratio_end"]
        for p in (10, 50, 90):
            out[f"fire_ratio_p{p}"] = _nanquantile(fr, p / 100)
        out["fire_ratio_mean_p50"] = _nanquantile(totals["fire_ratio_mean"], 0.5)
    out.attrs["draws"] = totals.sizes["draw"]
    return out


def _nanquantile(x: xr.DataArray, q: float) -> xr.DataArray:
    values = x.to_numpy().astype(float)
    values = values[~np.isnan(values)]
    return xr.DataArray(float(np.quantile(values, q)) if len(values) else np.nan)


def concat_draws(parts: list[xr.Dataset], draws: int) -> xr.Dataset:
    """Join chunk results along ``draw`` (in order) and set the total draw count."""
    if len(parts) == 1:
        joined = parts[0]
    else:
        joined = xr.concat(
            parts, dim="draw", data_vars="minimal", coords="minimal", compat="override"
        )
    joined.attrs = {**parts[0].attrs, "draws": draws}
    return joined


Arrays = dict[str, np.ndarray]
"""One chunk's per-draw figures by variable name, draws first (``draw``: their numbers)."""


class DrawTotals:
    """Accumulate chunks of a streamed run (call it with each chunk Dataset, or
    :meth:`add` each chunk as the engine wrote it); memory grows with draws x items and
    draws x months, never with draws x months x items.

    Keeps :func:`draw_totals` of each chunk, the variables on (draw, month) only (e.g. cost,
    fire ratio, weighted shortfall) whole, and the sum over draws of every variable, so
    :meth:`summary` and :meth:`fire_ratio` equal
    :func:`~materiel.simulation.summary.summarize` and
    :func:`~materiel.simulation.summary.fire_ratio` on the full result, and
    :meth:`draw_means` gives the mean over draws of every variable per month (of the
    variables in ``means`` only, if given: summing every variable of 10k draws costs 0.3 s).
    Chunks are kept as arrays and labelled once, when asked for (:meth:`totals`,
    :meth:`per_month`).
    """

    def __init__(self, actor: str = "UKR", means: Collection[str] | None = None) -> None:
        self.actor = actor
        self.means = None if means is None else frozenset(means)
        self.parts: list[Arrays] = []
        """Each chunk's :func:`draw_totals`."""
        self.monthly: list[Arrays] = []
        """Each chunk's variables on (draw, month) only."""
        self.sums: dict[str, np.ndarray] = {}
        self.first: xr.Dataset | None = None
        """The first draw, labelled: dims, coordinates and attributes of the result."""
        self._layout: dict[str, xr.Dataset] = {}  # one-draw templates of totals and monthly
        self.attrs: dict[str, object] = {}

    def __call__(self, chunk: xr.Dataset) -> None:
        """Reduce one chunk of draws (in draw order)."""
        if self.first is None:
            self._start(chunk.isel(draw=[0]))
        self.parts.append(_arrays(draw_totals(chunk, self.actor)))
        self.monthly.append(_arrays(chunk[list(self._layout["monthly"].data_vars)]))
        for name, var in chunk.data_vars.items():
            if self.means is None or name in self.means:
                self._sum(str(name), var.to_numpy().sum(axis=0, dtype=np.float64))
        self.attrs = dict(chunk.attrs)

    def add(self, raw: RawChunk) -> None:
        """Reduce one chunk as the engine wrote it (in draw order): the same as calling this
        object with ``raw.labelled()``, in NumPy on the actor's consumption rows instead of
        xarray on every (actor, item) pair. Keeps copies, never the chunk's own arrays
        (which :func:`~materiel.simulation.simulate_to_file` reuses)."""
        a, lay = raw.arrays, raw.layout
        if self.first is None:
            self._start(raw.labelled(draws=1).copy(deep=True))
        d, m = a["cost"].shape
        pairs = np.flatnonzero(raw.model.actors[lay.pair_actor] == self.actor)
        rows = np.flatnonzero(np.isin(lay.use_pair, pairs))  # the actor's consumption rows
        # (draw, item, month), months contiguous: each draw's and item's months are summed
        # pairwise in one run, as by xarray's .sum("month") of the actor's pairs
        wanted = np.zeros((d, len(pairs), m), np.float32)
        shortfall = np.zeros_like(wanted)
        for c, j in zip(rows, np.searchsorted(pairs, lay.use_pair[rows]), strict=True):
            wanted[:, j] = a["wanted"][:, :, c]
            np.subtract(a["wanted"][:, :, c], a["fired"][:, :, c], out=shortfall[:, j])
        short = is_short(shortfall, wanted)
        ever = short.any(axis=-1)
        part = {
            "draw": np.arange(raw.first_draw, raw.first_draw + d),
            "shortfall": _nansum(shortfall),
            "wanted": _nansum(wanted),
            "short": ever,
            "first_short": np.where(ever, short.argmax(axis=-1), m),
            "cost": _nansum(a["cost"]),
        }
        if "fire_ratio" in a:
            part["fire_ratio_end"] = a["fire_ratio"][:, -1].copy()
            with np.errstate(all="ignore"):  # xarray's own NaN-skipping mean
                mean = xr.Variable(("draw", "month"), a["fire_ratio"]).mean("month", skipna=True)
            part["fire_ratio_mean"] = mean.to_numpy()
        self.parts.append(part)
        scalars = self._layout["monthly"].data_vars
        self.monthly.append({"draw": part["draw"], **{str(k): a[str(k)].copy() for k in scalars}})
        names = [*a, "shortfall"]
        for name in names if self.means is None else [n for n in names if n in self.means]:
            if name in ("wanted", "fired", "shortfall"):  # per use, then spread onto pairs
                values = a["wanted"] - a["fired"] if name == "shortfall" else a[name]
                total = np.zeros((m, lay.pairs))
                total[:, lay.use_pair] = values.sum(axis=0, dtype=np.float64)
            else:
                total = a[name].sum(axis=0, dtype=np.float64)
            self._sum(name, total)
        self.attrs = dict(raw.attrs)

    def _start(self, first: xr.Dataset) -> None:
        """Keep the first draw (labelled) and the layout of the totals and monthly figures."""
        self.first = first
        monthly = [str(k) for k, v in first.data_vars.items() if v.dims == ("draw", "month")]
        self._layout = {"totals": draw_totals(first, self.actor), "monthly": first[monthly]}

    def _sum(self, name: str, total: np.ndarray) -> None:
        self.sums[name] = total if name not in self.sums else self.sums[name] + total

    @property
    def draws(self) -> int:
        """Draws reduced so far."""
        return sum(len(p["draw"]) for p in self.parts)

    def totals(self) -> xr.Dataset:
        """Per-draw totals of every draw so far (see :func:`draw_totals`)."""
        if not self.parts:
            raise ValueError("no draws were reduced")
        return _labelled(self._layout["totals"], self.parts, self.draws)

    def per_month(self) -> xr.Dataset:
        """Every draw's variables that are on (draw, month) only (no item or facility dim)."""
        if not self.monthly:
            raise ValueError("no draws were reduced")
        return _labelled(self._layout["monthly"], self.monthly, self.draws)

    def draw_means(self) -> xr.Dataset:
        """Every variable's mean over draws (those in ``means`` if given), per month, as a
        result with one draw (float64; same dims, coordinates and attributes as the chunks)."""
        if self.first is None:
            raise ValueError("no draws were reduced")
        n = self.draws
        means = self.first.copy() if self.means is None else self.first[list(self.sums)]
        for name, total in self.sums.items():
            var = means[name]
            means[name] = (var.dims, (total / n)[None], var.attrs)
        means.attrs = {**self.attrs, "draws": n}
        return means

    def summary(self) -> pd.DataFrame:
        """Per item the actor uses: the table of :func:`materiel.simulation.summary.summarize`."""
        s = summarize_totals(self.totals())
        return pd.DataFrame(
            {c: s[c].to_numpy() for c in SUMMARY_COLUMNS},
            index=pd.Index(s["item"].to_numpy(), name="item"),
        )

    def fire_ratio(self) -> pd.DataFrame:
        """Fire ratio per month across draws: :func:`materiel.simulation.summary.fire_ratio`."""
        return fire_ratio(self.per_month()) if self.monthly else pd.DataFrame()
