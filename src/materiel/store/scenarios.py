"""Saved scenarios: every save of a scenario is a new numbered version.

Versions are allocated safely under concurrency: on PostgreSQL a transaction-scoped advisory
lock per name serialises the saves of one scenario; on SQLite the version is computed inside
the INSERT statement itself, which holds the database's write lock from its start. The unique
(name, version) constraint backs both, and :func:`with_retry` retries a transaction that lost a
race anyway.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from materiel.store.db import Store
from materiel.store.models import SavedScenario

T = TypeVar("T")
ATTEMPTS = 8


def save_scenario(
    session: Session, name: str, content: dict[str, Any], user: str, comment: str = ""
) -> SavedScenario:
    """Store ``content`` as the next version of scenario ``name`` (call it first in a
    transaction, so that on SQLite the write lock is taken before anything is read)."""
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(f"materiel.scenario:{name}".encode()) - 2**31
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    next_version = (
        select(func.coalesce(func.max(SavedScenario.version), 0) + 1)
        .where(SavedScenario.name == name)
        .scalar_subquery()
    )
    row = SavedScenario(
        name=name, version=next_version, content=content, created_by=user, comment=comment
    )
    session.add(row)
    session.flush()
    session.refresh(row, ["version"])
    return row


def previous_version(session: Session, name: str, version: int) -> SavedScenario | None:
    """The newest version of ``name`` older than ``version``."""
    query = select(SavedScenario).where(SavedScenario.name == name, SavedScenario.version < version)
    return session.scalar(query.order_by(SavedScenario.version.desc()).limit(1))


def with_retry(store: Store, write: Callable[[Session], T]) -> T:
    """Run ``write`` in a transaction, again (in a new one) if it lost a race for a version
    or for SQLite's write lock."""
    for attempt in range(ATTEMPTS):
        try:
            with store.session() as s:
                return write(s)
        except (IntegrityError, OperationalError) as e:
            lost = isinstance(e, IntegrityError) or "locked" in str(e).lower()
            if not lost or attempt == ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0, 0.05 * 2**attempt))
    raise AssertionError("unreachable")


def latest(store: Store, name: str, version: int | None = None) -> SavedScenario | None:
    """The newest (or the given) version of a saved scenario."""
    query = select(SavedScenario).where(SavedScenario.name == name)
    if version is not None:
        query = query.where(SavedScenario.version == version)
    with store.session_factory() as s:
        return s.scalar(query.order_by(SavedScenario.version.desc()).limit(1))


def versions(store: Store, name: str) -> list[SavedScenario]:
    with store.session_factory() as s:
        query = select(SavedScenario).where(SavedScenario.name == name)
        return list(s.scalars(query.order_by(SavedScenario.version.desc())).all())


def saved_names(store: Store) -> dict[str, int]:
    """Name -> latest version of every saved scenario."""
    with store.session_factory() as s:
        rows = s.execute(
            select(SavedScenario.name, func.max(SavedScenario.version)).group_by(SavedScenario.name)
        ).all()
    return {str(n): int(v) for n, v in rows}
