"""Monte Carlo simulation of a scenario over the compiled model."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import numpy as np
import xarray as xr

from materiel import __version__
from materiel.model.compiled import FloatArray, Model
from materiel.model.events import ScenarioArrays, compile_scenario
from materiel.model.plan import Plan
from materiel.model.sampling import BLOCK, sample
from materiel.scenario import Scenario
from materiel.simulation.engine import (
    BLOCK_DRAWS,
    Layout,
    Prepared,
    in_threads,
    output_arrays,
    prepare,
    simulate_block,
)
from materiel.simulation.labels import (
    DIMS,
    PAIR_STOCKS,
    PER_USE,
    SUMMARY_VARIABLES,
    RawChunk,
    consumed_pairs,
    stored_variables,
    to_file_chunk,
    to_xarray,
)
from materiel.simulation.summary import summarize

__all__ = [
    "SUMMARY_VARIABLES",
    "RawChunk",
    "chunk_size",
    "iter_chunks",
    "simulate",
    "simulate_to_file",
    "spans",
    "stored_variables",
    "summarize",
    "to_file_chunk",
    "to_xarray",
]

DEFAULT_MEMORY = 256 * 2**20
"""Memory budget of one chunk of draws (bytes): results plus the engine's working arrays."""
OVERHEAD = 3.0
"""Working memory of a chunk relative to its stored result arrays: the engine's working
arrays, the labelled Dataset (per-use arrays spread onto (actor, item) pairs, the derived
shortfall) and the file writer's buffers. Measured: 10k draws of 36 months in chunks of
1,024 draws peaked at 535 MB whole process, 2,048 at 792 MB (model v2, default dataset)."""


def chunk_size(model: Model, months: int, memory: int = DEFAULT_MEMORY) -> int:
    """Draws per chunk so that one chunk needs about ``memory`` bytes (at least 1 draw).

    Chunks of :data:`~materiel.model.sampling.BLOCK` draws or more are rounded down to a
    multiple of it, so no block of random numbers is drawn twice.
    """
    from materiel.simulation.limits import estimate_bytes

    n = max(1, int(memory // (OVERHEAD * max(1, estimate_bytes(model, months, 1)))))
    return n // BLOCK * BLOCK if n >= BLOCK else n


def spans(draws: int, chunk: int, first_draw: int = 0) -> list[tuple[int, int]]:
    """(first draw, number of draws) of each chunk, in order."""
    if chunk < 1:
        raise ValueError(f"the chunk size must be at least 1 draw, got {chunk}")
    return [
        (lo, min(chunk, first_draw + draws - lo))
        for lo in range(first_draw, first_draw + draws, chunk)
    ]


def _attrs(
    model: Model, scenario: Scenario, seed: int, draws: int, uncertain: bool, plan: Plan | None
) -> dict[str, str | int | float]:
    return {
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


def _run_span(
    model: Model,
    prepared: Prepared,
    seed: int,
    uncertain: bool,
    start: int,
    out: dict[str, FloatArray],
    progress: Callable[[int], None] | None,
) -> None:
    """Run draws ``start ..`` into ``out`` (arrays with a leading draw axis): blocks of
    draws, each sampled and simulated in a thread."""
    n = next(iter(out.values())).shape[0]

    def block(lo: int, hi: int) -> Callable[[], int]:
        def task() -> int:
            p = sample(model, hi - lo, seed, start=start + lo, uncertain=uncertain)
            return simulate_block(prepared, p, {k: v[lo:hi] for k, v in out.items()})

        return task

    cuts = [*range(0, n, BLOCK_DRAWS), n]
    in_threads([block(lo, hi) for lo, hi in itertools.pairwise(cuts)], progress)


def _raw_chunks(
    model: Model,
    scenario: Scenario,
    sc: ScenarioArrays,
    draws: int,
    seed: int,
    plan: Plan | None,
    uncertain: bool,
    first_draw: int,
    size: int,
    progress: Callable[[int], None] | None,
    buffers: int = 0,
    outputs: Collection[str] | None = None,
) -> Iterator[RawChunk]:
    """Simulate draws ``first_draw ..`` in chunks of ``size``; yield each as the engine wrote it.

    ``buffers``: how many sets of output arrays to fill in turn (a chunk's arrays are then
    overwritten ``buffers`` chunks later); 0 allocates new arrays for every chunk.
    ``outputs``: the engine outputs to store (default all); the per-month ones (cost...)
    always are, the others are left out of the chunks.
    """
    attrs = _attrs(model, scenario, seed, draws, uncertain, plan)
    layout = Layout.of(model, sc)
    prepared = prepare(model, sc, plan)

    def allocate(n: int) -> dict[str, FloatArray]:
        """Output arrays for ``n`` draws; (n, M, 0) for an output not stored."""
        arrays = output_arrays(model, sc, n)
        stored = arrays if outputs is None else outputs
        return {
            name: v if v.ndim < 3 or name in stored else np.zeros((n, sc.months, 0), v.dtype)
            for name, v in arrays.items()
        }

    ring = [allocate(min(size, draws)) for _ in range(buffers)]
    for k, (lo, n) in enumerate(spans(draws, size, first_draw)):
        arrays = {name: v[:n] for name, v in ring[k % len(ring)].items()} if ring else allocate(n)
        _run_span(model, prepared, seed, uncertain, lo, arrays, progress)
        kept = {name: v for name, v in arrays.items() if v.ndim < 3 or v.shape[2]}
        yield RawChunk(model, layout, lo, kept, attrs)
        del arrays, kept  # hold no chunk of its own while the next one runs


def iter_chunks(
    model: Model,
    scenario: Scenario,
    draws: int = 1000,
    seed: int = 0,
    months: int | None = None,
    plan: Plan | None = None,
    uncertain: bool = True,
    first_draw: int = 0,
    chunk: int | None = None,
    memory: int = DEFAULT_MEMORY,
    progress: Callable[[int], None] | None = None,
) -> Iterator[xr.Dataset]:
    """Simulate draws chunk by chunk; yield each chunk as a labelled Dataset.

    Only one chunk is held at a time: ``chunk`` draws, or as many as fit in ``memory``
    bytes. Concatenated along ``draw`` the chunks equal :func:`simulate` exactly, whatever
    the chunk size. Each chunk's ``draws`` attribute is the total number of draws.
    """
    sc = compile_scenario(model, scenario, months)
    size = chunk or chunk_size(model, sc.months, memory)
    for raw in _raw_chunks(
        model, scenario, sc, draws, seed, plan, uncertain, first_draw, size, progress
    ):
        part = raw.labelled()
        del raw  # peak memory: one chunk, not two
        yield part
        del part


def simulate(
    model: Model,
    scenario: Scenario,
    draws: int = 1000,
    seed: int = 0,
    months: int | None = None,
    plan: Plan | None = None,
    uncertain: bool = True,
    first_draw: int = 0,
    chunk: int | None = None,
    progress: Callable[[int], None] | None = None,
    memory: int = DEFAULT_MEMORY,
    max_bytes: int | None = None,
) -> xr.Dataset:
    """Simulate ``draws`` Monte Carlo draws of ``scenario``; every result held in memory.

    Draw ``d`` depends only on (seed, d), so results do not depend on ``chunk`` (draws run
    at once; default: as many as fit in ``memory`` bytes of working arrays) or on how draws
    are split across processes. ``uncertain=False`` gives every draw the central values.
    ``progress`` is called with the number of draw-months completed since the last call.
    Raises :class:`~materiel.simulation.limits.LimitError` before any work if the results
    would exceed the memory limit (``max_bytes``, default ``MATERIEL_MAX_MEMORY`` or 2 GiB)
    or the time limit (see :mod:`materiel.simulation.limits`); for larger runs use
    :func:`simulate_to_file`.
    """
    from materiel.simulation.limits import check_limits

    sc = compile_scenario(model, scenario, months)
    check_limits(model, sc.months, draws, max_bytes)
    arrays = output_arrays(model, sc, draws)
    size = chunk or chunk_size(model, sc.months, memory)
    prepared = prepare(model, sc, plan)
    for lo, n in spans(draws, size):
        part = {k: v[lo : lo + n] for k, v in arrays.items()}
        _run_span(model, prepared, seed, uncertain, first_draw + lo, part, progress)
    attrs = _attrs(model, scenario, seed, draws, uncertain, plan)
    return to_xarray(model, arrays, first_draw, attrs, Layout.of(model, sc))


def simulate_to_file(
    model: Model,
    scenario: Scenario,
    path: Path | str,
    draws: int = 1000,
    seed: int = 0,
    months: int | None = None,
    plan: Plan | None = None,
    uncertain: bool = True,
    chunk: int | None = None,
    memory: int = DEFAULT_MEMORY,
    progress: Callable[[int], None] | None = None,
    on_chunk: Callable[[xr.Dataset], None] | None = None,
    background: bool = False,
    on_raw: Callable[[RawChunk], None] | None = None,
    variables: Collection[str] | None = None,
    outputs: Collection[str] | None = None,
) -> Path:
    """Simulate and stream the results to ``path`` (.nc or .parquet) chunk by chunk.

    ``variables``: the variables to save (e.g. :data:`SUMMARY_VARIABLES`; ``shortfall`` is
    rebuilt on load from wanted and fired), on the consumed pairs only unless stock or
    delivered is among them (see :func:`stored_variables`); default every one. ``outputs``:
    the engine outputs ``on_raw`` needs besides them (default every one; without
    ``on_chunk``, the others are not stored, which saves time).

    Peak memory is about ``memory`` bytes whatever the number of draws. The file is written
    atomically: until the last chunk is written the target is untouched (absent, or an
    earlier complete result). ``on_chunk`` sees every chunk labelled (e.g.
    :class:`~materiel.simulation.totals.DrawTotals` for a summary without re-reading the
    file); ``on_raw`` sees every chunk as the engine wrote it (:class:`RawChunk`, e.g.
    ``DrawTotals.add``: the same summary, cheaper), before the next chunk is computed.
    Without ``on_chunk`` no chunk is labelled and the output arrays are reused from chunk to
    chunk, so an ``on_raw`` callback must copy what it keeps. The file equals
    ``save_result(simulate(...), path)``. ``background=True`` writes each chunk from a
    thread while the next one is computed (faster with a free core; two chunks of half the
    ``memory`` each, see :class:`~materiel.io.results.ResultWriter`). Raises
    :class:`~materiel.simulation.limits.LimitError` before any work if the file size or
    the time would exceed a limit.
    """
    from materiel.io.results import ResultWriter
    from materiel.simulation.limits import check_limits

    sc = compile_scenario(model, scenario, months)
    check_limits(model, sc.months, draws, streamed=True)
    stored_variables(xr.Dataset(), variables)  # unknown names fail before any work
    keep = [n for n in DIMS if variables is None or n in variables]
    in_flight = 2 if background else 1  # chunks held at once: one written, one computed
    size = chunk or chunk_size(model, sc.months, memory // in_flight)
    reuse = 0 if on_chunk is not None else in_flight
    layout = Layout.of(model, sc)
    pairs = None if variables is None or set(PAIR_STOCKS) & set(keep) else consumed_pairs(layout)
    width = layout.pairs if pairs is None else len(pairs)
    shape = (min(size, draws), sc.months, width)
    spreads = [{n: np.zeros(shape, np.float32) for n in PER_USE if n in keep} for _ in range(reuse)]
    needed = None if outputs is None or on_chunk is not None else {*outputs, *keep}
    chunks = _raw_chunks(
        model, scenario, sc, draws, seed, plan, uncertain, 0, size, progress, reuse, needed
    )
    with ResultWriter(Path(path), draws, background=background) as writer:
        for k, raw in enumerate(chunks):
            if on_chunk is None:
                spread = {n: v[: raw.draws] for n, v in spreads[k % reuse].items()}
                arrays = {n: v for n, v in raw.arrays.items() if n in keep}
                stored = to_file_chunk(
                    model, arrays, raw.first_draw, raw.attrs, raw.layout, spread, pairs
                )
                writer.write(stored_variables(stored, variables))
            else:
                part = raw.labelled()
                writer.write(stored_variables(part, variables, model))
                on_chunk(part)
                del part  # freed before the next chunk is computed
            if on_raw is not None:
                on_raw(raw)
            del raw
    return Path(path)
