"""Dask clients: a LocalCluster by default, or a running cluster by scheduler address."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
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
