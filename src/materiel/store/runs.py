"""Run life cycle in the store: queued -> running -> succeeded | failed.

Each state change is one transaction guarded by the expected current state, and a run's status
and results are written together in one transaction at the end, so a crash never leaves a
half-written success: a run left ``queued`` or ``running`` by a dead process is marked failed by
:func:`fail_interrupted` when the service starts again.
"""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update

from materiel.store.db import Store
from materiel.store.models import ACTIVE, Run, utcnow

INTERRUPTED = "interrupted: the service stopped before the run finished"


def inputs_hash(
    dataset_digest: str, scenarios: Sequence[dict[str, Any]], params: dict[str, Any]
) -> str:
    """SHA-256 of everything a run's result depends on: data, scenarios and parameters."""
    payload = json.dumps(
        {"dataset": dataset_digest, "scenarios": list(scenarios), "parameters": params},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def finite(value: Any) -> Any:
    """``value`` (JSON-like) with every NaN or infinity replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def encode_results(results: dict[str, Any]) -> bytes:
    return zlib.compress(json.dumps(finite(results), separators=(",", ":")).encode(), 6)


def decode_results(blob: bytes | None) -> dict[str, Any]:
    """Result tables; NaN or infinities (in results stored by older versions) read as None."""
    if blob is None:
        return {}
    result: dict[str, Any] = json.loads(zlib.decompress(blob), parse_constant=lambda _: None)
    return result


def create_run(store: Store, **fields: Any) -> Run:
    """Insert a queued run and return it (detached, with its id)."""
    with store.session() as s:
        run = Run(status="queued", **fields)
        s.add(run)
        s.flush()
        s.refresh(run)
        s.expunge(run)
    return run


def start_run(store: Store, run_id: int) -> bool:
    """queued -> running; False if the run is no longer queued."""
    with store.session() as s:
        res = s.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == "queued")
            .values(status="running", started_at=utcnow(), progress=0.0)
        )
        return bool(res.rowcount)  # type: ignore[attr-defined]


def set_progress(store: Store, run_id: int, fraction: float) -> None:
    with store.session() as s:
        s.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == "running")
            .values(progress=min(max(fraction, 0.0), 1.0))
        )


def finish_run(store: Store, run_id: int, summary: dict[str, Any], results: dict[str, Any]) -> bool:
    """running -> succeeded, with the summary and results, in one transaction."""
    blob = encode_results(results)
    with store.session() as s:
        res = s.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == "running")
            .values(
                status="succeeded",
                progress=1.0,
                finished_at=utcnow(),
                summary=finite(summary),
                results=blob,
                error=None,
            )
        )
        return bool(res.rowcount)  # type: ignore[attr-defined]


def fail_run(store: Store, run_id: int, error: str) -> None:
    """Mark a queued or running run failed, with a message meant for the user."""
    with store.session() as s:
        s.execute(
            update(Run)
            .where(Run.id == run_id, Run.status.in_(ACTIVE))
            .values(status="failed", finished_at=utcnow(), error=error[:4000])
        )


def fail_interrupted(store: Store) -> int:
    """Mark every run left queued or running (by a process that died) as failed."""
    with store.session() as s:
        res = s.execute(
            update(Run)
            .where(Run.status.in_(ACTIVE))
            .values(status="failed", finished_at=utcnow(), error=INTERRUPTED)
        )
        return int(res.rowcount)  # type: ignore[attr-defined]


def get_run(store: Store, run_id: int) -> Run | None:
    with store.session_factory() as s:
        return s.get(Run, run_id)


def get_results(store: Store, run_id: int) -> dict[str, Any]:
    with store.session_factory() as s:
        blob = s.scalar(select(Run.results).where(Run.id == run_id))
    return decode_results(blob)


def list_runs(
    store: Store,
    kind: str | None = None,
    status: str | None = None,
    scenario: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Run], int]:
    """Runs, newest first, and the total count matching the filters."""
    query = select(Run)
    if kind:
        query = query.where(Run.kind == kind)
    if status:
        query = query.where(Run.status == status)
    if scenario:
        query = query.where(Run.scenario == scenario)
    with store.session_factory() as s:
        total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = s.scalars(query.order_by(Run.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), int(total)
