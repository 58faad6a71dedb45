"""Run a sweep on Dask: a task per case (or per group of LP cases), each case saved at once.

Every finished case is written to ``<out stem>.cases/<case id>.nc`` (temporary file, then
rename) as soon as it completes, so an interrupted sweep resumes without redoing finished
cases. Failed tasks are retried; cases still failing are reported with their error and kept
in the gathered result with ``status="failed"`` (never dropped).
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from materiel.io.atomic import atomic_path, remove_stale
from materiel.io.dataset import Dataset, load_dataset
from materiel.model.compiled import Model, compile_model
from materiel.model.events import compile_scenario
from materiel.schema.validate import DataIssue, DatasetError
from materiel.sweep.cases import Case, expand
from materiel.sweep.montecarlo import share_model
from materiel.sweep.montecarlo import summarize_totals as _summarize
from materiel.sweep.spec import SweepSpec

if TYPE_CHECKING:
    from distributed import Client, Future

SUFFIXES = (".nc", ".parquet")
METRIC_VARS = {
    "shortfall": (
        "wanted",
        "shortfall_mean",
        "shortfall_p5",
        "shortfall_p50",
        "shortfall_p95",
        "shortfall_share",
    ),
    "p_short": ("p_short",),
    "sustained": ("sustained_p50", "sustained_p10"),
    "fire_ratio": ("fire_ratio_p10", "fire_ratio_p50", "fire_ratio_p90", "fire_ratio_mean_p50"),
    "cost": ("cost_mean", "cost_p50", "cost_p95"),
}
PLAN_GROUP = 8
"""Plan cases solved in a row on one LP when running in process."""

Runner = Callable[..., xr.Dataset]
"""(case, model, draws=, seed=, actor=) -> the case's summary Dataset."""
Progress = Callable[[Case, str], None]


def run_case(case: Case, model: Model, draws: int, seed: int, actor: str) -> xr.Dataset:
    """Simulate one case and summarise it (runs on a worker). Same seed for every case:
    common random numbers, so differences between cases are not sampling noise."""
    from materiel.simulation import iter_chunks
    from materiel.simulation.totals import DrawTotals

    t0 = time.perf_counter()
    totals = DrawTotals(actor)
    for part in iter_chunks(model, case.scenario, draws, seed):
        totals(part)
    summary = _summarize(totals.totals())
    summary.attrs.update(
        case_id=case.id,
        parameters_json=json.dumps(case.values, default=str),
        scenario_json=case.scenario.model_dump_json(),
        seconds=time.perf_counter() - t0,
        worker_pid=os.getpid(),
    )
    return summary


@dataclass
class SweepOutcome:
    """What a sweep did: the gathered result and which cases were computed, reused, failed."""

    result: xr.Dataset
    path: Path
    cases: list[Case]
    computed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def case_dir(out: Path) -> Path:
    """Folder of the per-case files of the sweep written to ``out``."""
    return out.with_suffix(".cases")


def _write_atomic(ds: xr.Dataset, target: Path) -> None:
    with atomic_path(target) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4")


def _check(spec: SweepSpec, model: Model, cases: list[Case]) -> None:
    """Fail early, on the client, for inputs no retry can fix."""
    holders = sorted(set(model.actors[model.consumption_actor]))
    issues = []
    if spec.engine == "simulate" and spec.actor not in holders:
        issues.append(
            DataIssue(spec.file, None, "actor", f"'{spec.actor}' uses nothing", ", ".join(holders))
        )
    seen: set[str] = set()
    for case in cases:
        try:
            compile_scenario(model, case.scenario)
        except DatasetError as e:
            for issue in e.issues:
                text = f"{issue.field}: {issue.message}"
                if text not in seen:
                    seen.add(text)
                    issues.append(DataIssue(spec.file, None, "scenario", text, issue.allowed))
    if issues:
        raise DatasetError(issues)


@dataclass(frozen=True)
class Prepared:
    """A sweep checked and expanded, ready to run: the model and every case."""

    spec: SweepSpec
    model: Model
    cases: list[Case]


def prepare(spec: SweepSpec, dataset: Dataset | None = None) -> Prepared:
    """Load the dataset, expand and check every case. Raises DatasetError naming the spec
    file and field for anything no retry could fix, before any cluster work."""
    data = dataset if dataset is not None else load_dataset(spec.dataset)
    model = compile_model(data)
    cases = expand(spec, extra_salt=data.digest)
    _check(spec, model, cases)
    return Prepared(spec, model, cases)


def pending(ready: Prepared, out: Path) -> list[Case]:
    """Cases without a case file beside ``out`` yet (those a run would compute)."""
    folder = case_dir(out)
    return [c for c in ready.cases if not (folder / f"{c.id}.nc").exists()]


def run_sweep(
    spec: SweepSpec | Prepared,
    client: Client | None,
    out: Path,
    progress: Progress | None = None,
    runner: Runner = run_case,
    retries: int = 2,
) -> SweepOutcome:
    """Run every case of ``spec`` not already in the case folder; gather and save to ``out``.

    ``out`` ends in .nc or .parquet. ``progress(case, status)`` is called with status
    "reused", "done" or "failed". ``client``: a Dask client, or None to run the cases in
    this process (see :func:`materiel.sweep.cluster.choose_backend`). Raises DatasetError
    for invalid inputs (before any task).
    """
    if out.suffix not in SUFFIXES:
        raise ValueError(f"the output must end in {' or '.join(SUFFIXES)}, got '{out.name}'")
    ready = spec if isinstance(spec, Prepared) else prepare(spec)
    spec, cases = ready.spec, ready.cases
    folder = case_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale(folder)  # temporary case files of a crashed run
    outcome = SweepOutcome(xr.Dataset(), out, cases)
    todo = []
    for case in cases:
        if (folder / f"{case.id}.nc").exists():
            outcome.reused.append(case.id)
            if progress:
                progress(case, "reused")
        else:
            todo.append(case)
    if todo and client is None:
        results = _run_here(ready, todo, runner, retries)
    else:
        results = _run_dask(client, ready, todo, runner, retries)
    for group, got in results:
        if isinstance(got, BaseException):
            text = "".join(traceback.format_exception_only(type(got), got)).strip()
            outcome.failed.update({c.id: text or type(got).__name__ for c in group})
        else:
            for case, ds in zip(group, got, strict=True):
                _write_atomic(ds, folder / f"{case.id}.nc")
                outcome.computed.append(case.id)
        if progress:
            for case in group:
                progress(case, "failed" if case.id in outcome.failed else "done")
    outcome.result = gather(spec, cases, folder, outcome.failed)
    save(outcome.result, out)
    return outcome


Finished = tuple[list[Case], list[xr.Dataset] | BaseException]
"""A group of cases and their summaries, or the error that failed them."""


def _run_here(
    ready: Prepared, todo: list[Case], runner: Runner, retries: int
) -> Iterator[Finished]:
    """Run the cases one by one in this process (plan cases in groups sharing one LP), each
    tried ``retries`` more times on an error."""
    from materiel.sweep.lp import run_plan_cases

    spec = ready.spec
    if spec.engine == "plan":
        size = PLAN_GROUP
        batches = [todo[i : i + size] for i in range(0, len(todo), size)]
    else:
        batches = [[c] for c in todo]
    for group in batches:
        error: BaseException | None = None
        for _attempt in range(retries + 1):
            try:
                if spec.engine == "plan":
                    yield group, run_plan_cases(group, ready.model)
                else:
                    case = group[0]
                    yield (
                        group,
                        [
                            runner(
                                case,
                                model=ready.model,
                                draws=spec.draws,
                                seed=spec.seed,
                                actor=spec.actor,
                            )
                        ],
                    )
                error = None
                break
            except Exception as e:  # a failed case is reported, never fatal to the sweep
                error = e
        if error is not None:
            yield group, error


def _run_dask(
    client: Client | None, ready: Prepared, todo: list[Case], runner: Runner, retries: int
) -> Iterator[Finished]:
    """Run the cases as Dask tasks; yield each group as it finishes."""
    from distributed import as_completed

    groups: dict[str, list[Case]] = {}
    futures: list[Future[Any]] = []
    if todo:
        assert client is not None
        groups, futures = _submit(client, ready, todo, runner, retries)
    try:
        for fut in as_completed(futures) if futures else []:
            group = groups[fut.key]
            if fut.status == "finished":
                got: list[xr.Dataset] | BaseException = _as_list(fut.result())
            else:
                exc = fut.exception()
                got = exc if isinstance(exc, BaseException) else RuntimeError(str(exc))
            fut.release()
            yield group, got
    finally:
        if futures and client is not None:
            client.cancel(futures)


def _as_list(results: xr.Dataset | list[xr.Dataset]) -> list[xr.Dataset]:
    return [results] if isinstance(results, xr.Dataset) else list(results)


def _submit(
    client: Client, ready: Prepared, todo: list[Case], runner: Runner, retries: int
) -> tuple[dict[str, list[Case]], list[Future[Any]]]:
    """One task per case (simulate), or per group of neighbouring cases (plan: each group
    re-solves one LP in place). Returns {task key: its cases} and the futures."""
    spec = ready.spec
    shared = share_model(client, ready.model)
    if spec.engine == "plan":
        from materiel.sweep.lp import run_plan_cases

        n = min(len(todo), 2 * max(1, len(client.scheduler_info()["workers"])))
        size = -(-len(todo) // n)
        batches = [todo[i : i + size] for i in range(0, len(todo), size)]
        task: Callable[..., object] = run_plan_cases
    else:
        batches = [[c] for c in todo]
        # settings bound with partial: distributed 2026.8 takes a bare string argument of a
        # task (e.g. actor="UKR") for a key and fails with KeyError on the scheduler
        task = partial(_first, partial(runner, draws=spec.draws, seed=spec.seed, actor=spec.actor))
    keys = [f"materiel-case-{b[0].id}-{len(b)}-{os.urandom(3).hex()}" for b in batches]
    futures = client.map(task, batches, model=shared, key=keys, retries=retries, pure=False)
    return dict(zip(keys, batches, strict=True)), futures


def _first(runner: Callable[..., xr.Dataset], cases: list[Case], model: Model) -> xr.Dataset:
    """Run a one-case batch."""
    return runner(cases[0], model=model)


def gather(spec: SweepSpec, cases: list[Case], folder: Path, failed: dict[str, str]) -> xr.Dataset:
    """One Dataset with a ``case`` dim: the chosen metrics per case (and item), the swept
    values as coordinates, and ``status``/``error`` per case. Missing cases are NaN."""
    names = [v for m in spec.metrics for v in METRIC_VARS[m]]
    parts, ids = [], []
    for case in cases:
        path = folder / f"{case.id}.nc"
        if path.exists():
            ds = xr.load_dataset(path, engine="netcdf4")
            keep = list(ds.data_vars) if spec.engine == "plan" else [n for n in names if n in ds]
            parts.append(ds[keep])
            ids.append(case.id)
    all_ids = [c.id for c in cases]
    if parts:
        joined = xr.concat(
            parts,
            dim="case",
            join="outer",
            data_vars="all",
            coords="minimal",
            compat="override",
            fill_value=np.nan,
        ).assign_coords(case=ids)
        joined = joined.reindex(case=all_ids)
    else:
        joined = xr.Dataset(coords={"case": all_ids})
    status = ["ok" if c.id in ids else ("failed" if c.id in failed else "missing") for c in cases]
    coords: dict[str, tuple[str, Sequence[object]]] = {
        "status": ("case", status),
        "error": ("case", [failed.get(c.id, "") for c in cases]),
    }
    for p in spec.parameters:
        coords[p.label] = ("case", [c.values[p.label] for c in cases])
    joined = joined.assign_coords(coords)
    joined.attrs = {
        "sweep": spec.name,
        "spec_json": spec.model_dump_json(),
        "parameters": ", ".join(p.label for p in spec.parameters),
        "paths": json.dumps({p.label: p.path for p in spec.parameters}),
        "actor": spec.actor,
        "draws": spec.draws,
        "seed": spec.seed,
        "failed_cases": ", ".join(c.id for c in cases if c.id in failed),
    }
    return joined


def save(result: xr.Dataset, out: Path) -> Path:
    """Write the gathered result: netCDF, or a tidy Parquet table (one row per case, item)."""
    with atomic_path(out) as tmp:
        if out.suffix == ".nc":
            result.to_netcdf(tmp, engine="netcdf4")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(result.to_dataframe().reset_index(), preserve_index=False)
            meta = {f"materiel.{k}".encode(): str(v).encode() for k, v in result.attrs.items()}
            pq.write_table(table.replace_schema_metadata({**table.schema.metadata, **meta}), tmp)
    return out
