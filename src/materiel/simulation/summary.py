"""Summaries of a simulation result: percentiles, probability of shortfall, sustainment."""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import pandas as pd
import xarray as xr

T = TypeVar("T", np.ndarray, xr.DataArray)
SHORT = 0.01
"""A month counts as short when more than this share of the wanted quantity is not fired."""


def of_actor(result: xr.Dataset, actor: str) -> xr.Dataset:
    """The per-(actor, item) variables of one actor, on dim ``item``."""
    names = [k for k, v in result.data_vars.items() if "pair" in v.dims]
    return result[names].sel(actor=actor)


def short_months(result: xr.Dataset, actor: str = "UKR") -> xr.DataArray:
    """Boolean (draw, month, item): more than ``SHORT`` of the month's need unmet."""
    return short_of(of_actor(result, actor))


def is_short(shortfall: T, wanted: T) -> T:
    """The short-month rule on arrays (NumPy or xarray alike): the shortfall is more than
    :data:`SHORT` of a positive need."""
    return (shortfall > SHORT * wanted) & (wanted > 0)


def short_of(mine: xr.Dataset) -> xr.DataArray:
    """:func:`short_months` of one actor's variables (``wanted`` and ``shortfall`` on
    ``item``, e.g. from :func:`of_actor`)."""
    return is_short(mine["shortfall"], mine["wanted"])


def weighted_shortfall(result: xr.Dataset) -> dict[str, float]:
    """The priority-weighted total shortfall over the horizon (EUR-equivalent): mean and
    p10/p50/p90 across draws."""
    total = result["weighted_shortfall"].sum("month")
    q = total.quantile([0.1, 0.5, 0.9], dim="draw").to_numpy()
    return {"mean": float(total.mean()), "p10": float(q[0]), "p50": float(q[1]), "p90": float(q[2])}


def summarize(result: xr.Dataset, actor: str = "UKR") -> pd.DataFrame:
    """One row per item ``actor`` uses: totals over the horizon across draws.

    Columns: wanted (mean total, item units), shortfall mean and p5/p50/p95 (item units),
    shortfall_share (mean unmet share), p_short (probability of at least one short month),
    sustained_p50 / sustained_p10 (months before the first short month; the horizon if none).
    """
    mine = of_actor(result, actor)
    used = mine["wanted"].sum(["draw", "month"]) > 0
    res = mine.sel(item=used)
    months = res.sizes["month"]
    short = short_months(result, actor).sel(item=used)
    total_short = res["shortfall"].sum("month")
    total_wanted = res["wanted"].sum("month")
    first = short.argmax("month").where(short.any("month"), months)
    q = total_short.quantile([0.05, 0.5, 0.95], dim="draw")
    table = pd.DataFrame(
        {
            "unit": res["unit"].to_numpy(),
            "wanted": total_wanted.mean("draw").to_numpy(),
            "shortfall_mean": total_short.mean("draw").to_numpy(),
            "shortfall_p5": q.sel(quantile=0.05).to_numpy(),
            "shortfall_p50": q.sel(quantile=0.5).to_numpy(),
            "shortfall_p95": q.sel(quantile=0.95).to_numpy(),
            "shortfall_share": (total_short / total_wanted.where(total_wanted > 0))
            .mean("draw")
            .to_numpy(),
            "p_short": short.any("month").mean("draw").to_numpy(),
            "sustained_p50": first.quantile(0.5, dim="draw").to_numpy(),
            "sustained_p10": first.quantile(0.1, dim="draw").to_numpy(),
        },
        index=pd.Index(res["item"].to_numpy(), name="item"),
    )
    return table


def by_month(result: xr.Dataset, actor: str = "UKR") -> pd.DataFrame:
    """Tidy table (month, item): probability of a short month and shortfall percentiles."""
    mine = of_actor(result, actor)
    used = mine["wanted"].sum(["draw", "month"]) > 0
    res = mine.sel(item=used)
    q = res["shortfall"].quantile([0.05, 0.5, 0.95], dim="draw")
    frame = (
        xr.Dataset(
            {
                "p_short": short_months(result, actor).sel(item=used).mean("draw"),
                "wanted_mean": res["wanted"].mean("draw"),
                "shortfall_p5": q.sel(quantile=0.05, drop=True),
                "shortfall_p50": q.sel(quantile=0.5, drop=True),
                "shortfall_p95": q.sel(quantile=0.95, drop=True),
            }
        )
        .drop_vars(["unit", "actor"], errors="ignore")
        .to_dataframe()
    )
    return frame.reset_index()


def fire_ratio(result: xr.Dataset) -> pd.DataFrame:
    """Ukraine:Russia artillery fire ratio per month: p10, median, p90 across draws."""
    if "fire_ratio" not in result:
        return pd.DataFrame()
    fr = result["fire_ratio"]
    q = fr.quantile([0.1, 0.5, 0.9], dim="draw", skipna=True)
    return pd.DataFrame(
        {
            "date": result["date"].to_numpy(),
            "p10": q.sel(quantile=0.1).to_numpy(),
            "p50": q.sel(quantile=0.5).to_numpy(),
            "p90": q.sel(quantile=0.9).to_numpy(),
        },
        index=pd.Index(result["month"].to_numpy(), name="month"),
    )
