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
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import xarray as xr

from materiel.model.compiled import Model
from materiel.model.plan import Plan
from materiel.model.sampling import BLOCK
from materiel.scenario import Scenario
from materiel.simulation import simulate, stored_variables
from materiel.simulation.totals import concat_draws, draw_totals, summarize_totals

__all__ = [
    "DEFAULT_CHUNK",
    "chunks",
    "concat_draws",
    "draw_totals",
    "share_model",
    "simulate_chunk",
    "simulate_distributed",
    "stream_distributed",
    "summarize_totals",
]

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


def stream_distributed(
    model: Model,
    scenario: Scenario,
    path: Path,
    draws: int,
    seed: int,
    client: Client,
    chunk: int = DEFAULT_CHUNK,
    months: int | None = None,
    plan: Plan | None = None,
    progress: Callable[[int], None] | None = None,
    on_chunk: Callable[[xr.Dataset], None] | None = None,
    variables: Collection[str] | None = None,
) -> Path:
    """:func:`materiel.simulation.simulate_to_file` with the chunks computed on ``client``.

    Chunks are written in draw order as they arrive, with at most two per worker in flight,
    so the client holds a bounded number of chunks whatever the number of draws. The file
    equals the in-process one (of the same ``variables``: default every one). ``progress``
    is called with the draws finished.
    """
    from collections import deque

    from materiel.io.results import ResultWriter
    from materiel.simulation.limits import check_limits

    check_limits(model, months or scenario.months, draws, streamed=True)
    stored_variables(xr.Dataset(), variables)  # unknown names fail before any work
    shared = share_model(client, model)
    run_id = uuid.uuid4().hex[:8]
    limit = 2 * max(1, len(client.scheduler_info()["workers"]))
    todo = deque(chunks(draws, chunk))
    flying: deque[tuple[int, Future[Any]]] = deque()
    with ResultWriter(path, draws) as writer:
        while todo or flying:
            while todo and len(flying) < limit:
                lo, n = todo.popleft()
                fut = client.submit(
                    simulate_chunk, shared, scenario, lo, n, seed, months, plan,
                    key=f"materiel-stream-{run_id}-{lo}", retries=2, pure=False,
                )  # fmt: skip
                flying.append((n, fut))
            n, fut = flying.popleft()
            part = fut.result()
            fut.release()
            part.attrs["draws"] = draws
            writer.write(stored_variables(part, variables, model))
            if on_chunk is not None:
                on_chunk(part)
            if progress is not None:
                progress(n)
    return path
