"""Dask clients: a LocalCluster by default, or a running cluster by scheduler address."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distributed import Client


SPAWN_NOTE = """Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536. That turns off
glibc's adaptive mmap threshold, so every large NumPy temporary is mmap'd and page-faulted
afresh: the simulator ran 2.5x slower (1,480 vs 3,770 draws/s at 10k draws, in one process
with and without the variable). LocalClusters started here unset it; for a real cluster's
workers, see docs/scale.md (a Dask config file setting it to null)."""
UNSET_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
DASHBOARD = "127.0.0.1:0"
"""The LocalCluster dashboard listens on loopback only, on a free port."""


def default_workers() -> int:
    """Worker processes for a LocalCluster: one per CPU core available to this process."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


IN_PROCESS_CORES = 2
"""On this many cores or fewer, work runs in this process: Dask's scheduler and worker
processes would compete with the work for the cores (a 2-worker sweep on 2 cores was no
faster than 1 worker, and slower than no Dask at all: issue 17)."""


@dataclass(frozen=True)
class Backend:
    """Where work runs: in this process, or on Dask (a LocalCluster or a scheduler)."""

    dask: bool
    scheduler: str | None
    workers: int | None
    reason: str

    def describe(self, what: str) -> str:
        """One line for the user: where ``what`` runs and why."""
        if not self.dask:
            return f"{what} in this process ({self.reason})"
        if self.scheduler:
            return f"{what} on the Dask scheduler at {self.scheduler}"
        n = self.workers or default_workers()
        return f"{what} on a local Dask cluster of {n} worker(s) ({self.reason})"

    @contextmanager
    def client(self) -> Iterator[Client | None]:
        """A Dask client for this backend, or None in process."""
        if not self.dask:
            yield None
            return
        with dask_client(self.scheduler, self.workers) as client:
            yield client


def choose_backend(
    scheduler: str | None = None,
    in_process: bool = False,
    workers: int | None = None,
    cores: int | None = None,
    small: bool = False,
) -> Backend:
    """In process when asked, with <= :data:`IN_PROCESS_CORES` cores, or for ``small``
    work (unless a scheduler or workers are given); on the scheduler when an address is
    given; else on a LocalCluster."""
    n = cores if cores is not None else default_workers()
    if scheduler and in_process:
        raise ValueError("give either --scheduler or --in-process, not both")
    if scheduler:
        return Backend(True, scheduler, workers, "scheduler address given")
    if in_process:
        return Backend(False, None, None, "--in-process")
    if workers is not None and workers > 1:
        return Backend(True, None, workers, f"--workers {workers}")
    if small and workers is None:
        return Backend(False, None, None, "a run this small is faster without Dask")
    if n <= IN_PROCESS_CORES:
        return Backend(
            False,
            None,
            None,
            f"{n} core(s): Dask's processes would compete for them; "
            "--scheduler ADDR or --workers N use Dask",
        )
    return Backend(True, None, workers, f"{n} cores; --in-process to skip Dask")


@contextmanager
def dask_client(
    scheduler: str | None = None,
    workers: int | None = None,
    timeout: float = 30.0,
    dashboard: str | None = None,
) -> Iterator[Client]:
    """A connected client, closed (with its LocalCluster, if any) on exit.

    ``scheduler``: address of a running scheduler (``tcp://host:8786``); None starts a
    LocalCluster of ``workers`` single-threaded processes on 127.0.0.1 with its dashboard at
    ``dashboard`` (default ``$MATERIEL_DASK_DASHBOARD``, else ``127.0.0.1:0``: loopback only,
    a free port; ``client.dashboard_link``).
    Raises OSError (with the address) if the scheduler cannot be reached in ``timeout`` s.
    """
    import os

    import dask
    from distributed import Client, LocalCluster

    dashboard = dashboard or os.environ.get("MATERIEL_DASK_DASHBOARD") or DASHBOARD

    if scheduler:
        try:
            client = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError) as e:
            raise OSError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
        with client:
            yield client
        return
    with (
        dask.config.set({UNSET_TRIM: None}),  # None unsets it (2.5x faster: see SPAWN_NOTE)
        LocalCluster(
            n_workers=workers or default_workers(),
            threads_per_worker=1,
            processes=True,
            dashboard_address=dashboard,  # None still binds :8787 (clashes); :0 = any port
            host="127.0.0.1",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
