"""Execute runs in a background thread pool and keep the store up to date.

A run is recorded ``queued`` when submitted, ``running`` when a worker takes it (with its
progress written at most every ``PROGRESS_EVERY`` seconds) and finally ``succeeded`` with its
results, or ``failed`` with a message for the user, each in one transaction.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from materiel import __version__
from materiel.io.dataset import Dataset
from materiel.model.compiled import Model
from materiel.scenario import Scenario
from materiel.schema.validate import DatasetError
from materiel.service.results import Tables, plan_outputs, simulation_outputs
from materiel.store import runs as run_store
from materiel.store.db import Store
from materiel.store.models import Run

log = logging.getLogger("materiel.service")

Outputs = tuple[dict[str, Any], Tables]
PROGRESS_EVERY = 0.25
"""Seconds between progress writes to the store."""


class RunInputError(ValueError):
    """Run parameters that do not fit the dataset (e.g. an unknown actor)."""


@dataclass(frozen=True)
class Job:
    """Everything a worker needs: inputs are pinned at submission."""

    run_id: int
    kind: str
    model: Model
    scenarios: tuple[Scenario, ...]
    params: dict[str, Any]


def user_message(error: BaseException) -> str:
    """What a user may see about a failure: input errors in full, anything else by id only."""
    if isinstance(error, DatasetError):
        return "; ".join(str(i) for i in error.issues)[:2000]
    if isinstance(error, RunInputError):
        return str(error)
    if type(error).__name__ == "PlanError":
        return str(error)
    ref = uuid.uuid4().hex[:12]
    log.exception("run failed (error id %s)", ref, exc_info=error)
    return f"internal error while running (error id {ref}); the server log has the details"


class Runner:
    """Submits runs to a thread pool; one instance per service process."""

    def __init__(self, store: Store, workers: int = 2, max_bytes: int | None = None) -> None:
        self.store = store
        self.max_bytes = max_bytes
        """Memory limit of one simulation's results (the service setting), bytes."""
        self.pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="materiel-run")
        self.futures: dict[int, Future[None]] = {}

    def submit(
        self,
        kind: str,
        dataset: Dataset,
        model: Model,
        scenarios: Sequence[Scenario],
        params: dict[str, Any],
        user: str,
        versions: Sequence[int | str] | None = None,
    ) -> Run:
        """Record a queued run and hand it to a worker. ``versions``: each scenario's saved
        version (0 for a bundled file, 'inline' for one given in full)."""
        check_params(model, params)
        scen_json = [s.model_dump(mode="json") for s in scenarios]
        tags = versions if versions is not None else ["?"] * len(scenarios)
        run = run_store.create_run(
            self.store,
            kind=kind,
            scenario="+".join(s.name for s in scenarios)[:400],
            scenario_version="+".join(
                f"{s.name}@{v}" for s, v in zip(scenarios, tags, strict=True)
            )[:400],
            scenario_json={"scenarios": scen_json},
            parameters=params,
            inputs_hash=run_store.inputs_hash(dataset.digest, scen_json, {"kind": kind, **params}),
            dataset_name=dataset.meta.name,
            dataset_version=dataset.meta.version,
            dataset_digest=dataset.digest,
            package_version=__version__,
            seed=params.get("seed"),
            draws=params.get("draws"),
            months=int(params["months"]),
            created_by=user,
        )
        job = Job(run.id, kind, model, tuple(scenarios), params)
        future = self.pool.submit(self._execute, job)
        self.futures[run.id] = future
        future.add_done_callback(partial(self._forget, run.id))
        return run

    def _forget(self, run_id: int, _future: Future[None]) -> None:
        self.futures.pop(run_id, None)

    def _execute(self, job: Job) -> None:
        if not run_store.start_run(self.store, job.run_id):
            return
        try:
            progress = self._progress(job)
            if job.kind == "simulate":
                summary, tables = self._simulate(job, progress, self.max_bytes)
            else:
                summary, tables = self._plan(job, progress)
            run_store.finish_run(self.store, job.run_id, summary, tables)
        except Exception as error:
            try:
                run_store.fail_run(self.store, job.run_id, user_message(error))
            except Exception:
                log.exception("could not record the failure of run %s", job.run_id)

    def _progress(self, job: Job) -> Callable[[int], None]:
        total = max(1, int(job.params.get("draws", 1)) * int(job.params["months"]))
        state = {"done": 0, "last": time.monotonic()}

        def advance(n: int) -> None:
            state["done"] += n
            now = time.monotonic()
            if now - state["last"] >= PROGRESS_EVERY:
                state["last"] = now
                run_store.set_progress(self.store, job.run_id, 0.95 * state["done"] / total)

        return advance

    @staticmethod
    def _simulate(job: Job, progress: Callable[[int], None], max_bytes: int | None) -> Outputs:
        from materiel.simulation import simulate

        p = job.params
        result = simulate(
            job.model,
            job.scenarios[0],
            draws=int(p["draws"]),
            seed=int(p["seed"]),
            months=int(p["months"]),
            progress=progress,
            max_bytes=max_bytes,
        )
        return simulation_outputs(result, job.model, str(p["actor"]))

    def _plan(self, job: Job, progress: Callable[[int], None]) -> Outputs:
        from materiel.optimize import plan

        run_store.set_progress(self.store, job.run_id, 0.1)
        p = job.params
        result = plan(
            job.model,
            list(job.scenarios),
            months=int(p["months"]),
            budget=p.get("budget_eur_per_year"),
            time_limit=float(p.get("time_limit", 600)),
        )
        run_store.set_progress(self.store, job.run_id, 0.8)
        return plan_outputs(result, str(p["actor"]), self._avoided(job, result))

    @staticmethod
    def _avoided(job: Job, result: Any) -> Any:
        """The first scenario replayed in the simulator with central values, without and
        with the plan (its builds as a policy, as ``simulate --plan`` replays them): the
        shortfall the plan avoids."""
        from materiel.optimize.io import replay_plan
        from materiel.service.results import avoided_table
        from materiel.simulation import simulate

        months, scenario = int(job.params["months"]), job.scenarios[0]
        common: dict[str, Any] = {"draws": 1, "months": months, "uncertain": False}
        baseline = simulate(job.model, scenario, **common)
        policy = replay_plan(result, job.model, scenario.name, months)
        planned = simulate(job.model, scenario, plan=policy, **common)
        return avoided_table(baseline, planned, str(job.params["actor"]))

    def wait(self, run_id: int, timeout: float | None = None) -> None:
        """Block until run ``run_id`` finished (tests and the CLI)."""
        future = self.futures.get(run_id)
        if future is not None:
            future.result(timeout)

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking work; runs still queued are marked failed (interrupted)."""
        pending = [rid for rid, f in list(self.futures.items()) if not f.running()]
        self.pool.shutdown(wait=wait, cancel_futures=True)
        for rid in pending:
            run_store.fail_run(self.store, rid, run_store.INTERRUPTED)


def check_params(model: Model, params: dict[str, Any]) -> None:
    """Reject parameters that do not fit this dataset, with a clear message."""
    actors = [str(a) for a in model.actors[model.holders]]
    if params.get("actor") not in actors:
        raise RunInputError(
            f"actor '{params.get('actor')}' is not tracked in this dataset; "
            f"choose one of {', '.join(actors)}"
        )
