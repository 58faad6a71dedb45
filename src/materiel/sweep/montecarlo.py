"""Large Monte Carlo runs on Dask: draws split into chunks, one task per chunk.

Draw ``d`` depends only on (seed, d) (see :mod:`materiel.model.sampling`) and the chunk
boundaries depend only on the number of draws and the chunk size, never on the number of
workers, so the result is the same, bit for bit, on one worker or fifty.

For runs too large to hold every (draw, month, actor, item) value, pass
``reduce=partial(draw_totals, actor="UKR")``: each worker then returns per-draw totals
(draw, item) and :func:`summarize_totals` gives the exact percentiles over all draws.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import xarray as xr

from materiel.model.compiled import Model
from materiel.model.plan import Plan
from materiel.model.sampling import BLOCK
from materiel.scenario import Scenario
from materiel.simulation import simulate
from materiel.simulation.summary import short_months

if TYPE_CHECKING:
    from distributed import Client, Future

DEFAULT_CHUNK = 2 * BLOCK
"""Draws per task: large enough to amortise task overhead, small enough to bound memory."""

Reducer = Callable[[xr.Dataset], xr.Dataset]


def chunks(draws: int, chunk: int = DEFAULT_CHUNK, first_draw: int = 0) -> list[tuple[int, int]]:
    """(first draw, number of draws) per task. Boundaries fall on multiples of the sampling
    block where possible, so no block of random numbers is drawn twice."""
    size = max(BLOCK, -(-chunk // BLOCK) * BLOCK)
    stop = first_draw + draws
    edges = [first_draw, *range((first_draw // size + 1) * size, stop, size), stop]
    return [(lo, hi - lo) for lo, hi in itertools.pairwise(edges) if hi > lo]


def draw_totals(result: xr.Dataset, actor: str = "UKR") -> xr.Dataset:
    """Per-draw totals over the horizon: the sufficient statistics of :func:`summarize_totals`.

    Variables: shortfall and wanted (draw, item; item units over the horizon), short (any
    short month) and first_short (months before the first short month; the horizon if none),
    cost (draw; EUR over the horizon), fire_ratio_end (last month) and fire_ratio_mean.
    """
    res = result.sel(actor=actor)
    months = result.sizes["month"]
    short = short_months(result, actor)
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


def simulate_chunk(
    model: Model,
    scenario: Scenario,
    first_draw: int,
    draws: int,
    seed: int,
    months: int | None = None,
    plan: Plan | None = None,
    uncertain: bool = True,
    reduce: Reducer | None = None,
) -> xr.Dataset:
    """Draws ``first_draw .. first_draw + draws - 1``; runs on a worker."""
    result = simulate(model, scenario, draws, seed, months, plan, uncertain, first_draw=first_draw)
    return reduce(result) if reduce is not None else result


def share_model(client: Client, model: Model, how: str = "task") -> Future[Any]:
    """Make ``model`` available to every worker once, as a future tasks can depend on.

    ``task`` (default) ships it inside a task, then copies the result to every worker: if
    all workers holding it die, the scheduler recomputes it. ``scatter`` broadcasts it up
    front, but nothing can recompute it if every holder is lost. Either way every worker
    holds a copy, so the scheduler spreads dependent tasks evenly (with one holder, tasks
    queued on it and 10k draws did not run faster on 2 workers than on 1).
    """
    from distributed import wait

    if how == "scatter":
        return cast("Future[Any]", client.scatter(model, broadcast=True, hash=False))
    key = f"materiel-model-{model.dataset.digest[:12]}-{uuid.uuid4().hex[:6]}"
    future = client.submit(_identity, model, key=key, pure=False)
    wait([future])
    client.replicate([future])
    return future


def _identity(x: Any) -> Any:
    return x


def simulate_distributed(
    model: Model,
    scenario: Scenario,
    draws: int,
    seed: int,
    client: Client,
    chunk: int = DEFAULT_CHUNK,
    months: int | None = None,
    plan: Plan | None = None,
    uncertain: bool = True,
    reduce: Reducer | None = None,
    progress: Callable[[int], None] | None = None,
    model_future: Future[Any] | None = None,
) -> xr.Dataset:
    """:func:`materiel.simulation.simulate` with the draws split into tasks on ``client``.

    Equal to ``simulate(model, scenario, draws, seed, ...)`` (or its ``reduce``) whatever
    the number of workers. ``progress`` is called with the draws finished. Failed chunks
    are retried twice; a chunk failing three times raises its error here.
    """
    from distributed import as_completed

    shared = model_future if model_future is not None else share_model(client, model)
    run_id = uuid.uuid4().hex[:8]
    futures = [
        client.submit(
            simulate_chunk,
            shared,
            scenario,
            lo,
            n,
            seed,
            months,
            plan,
            uncertain,
            reduce,
            key=f"materiel-draws-{run_id}-{lo}",
            retries=2,
            pure=False,
        )
        for lo, n in chunks(draws, chunk)
    ]
    sizes = {f.key: n for f, (_lo, n) in zip(futures, chunks(draws, chunk), strict=True)}
    for fut in as_completed(futures):
        if fut.status == "error":
            fut.result()  # raises the chunk's error
        if progress is not None:
            progress(sizes[fut.key])
    parts = client.gather(futures)
    return concat_draws(parts, draws)
