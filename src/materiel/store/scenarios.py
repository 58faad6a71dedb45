"""Saved scenarios: every save of a scenario is a new numbered version."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from materiel.store.db import Store
from materiel.store.models import SavedScenario


def save_scenario(
    session: Session, name: str, content: dict[str, Any], user: str, comment: str = ""
) -> SavedScenario:
    """Store ``content`` as the next version of scenario ``name``."""
    last = session.scalar(select(func.max(SavedScenario.version)).where(SavedScenario.name == name))
    row = SavedScenario(
        name=name, version=(last or 0) + 1, content=content, created_by=user, comment=comment
    )
    session.add(row)
    session.flush()
    return row


def latest(store: Store, name: str, version: int | None = None) -> SavedScenario | None:
    """The newest (or the given) version of a saved scenario."""
    query = select(SavedScenario).where(SavedScenario.name == name)
    if version is not None:
        query = query.where(SavedScenario.version == version)
    with store.sessions() as s:
        return s.scalar(query.order_by(SavedScenario.version.desc()).limit(1))


def versions(store: Store, name: str) -> list[SavedScenario]:
    with store.sessions() as s:
        query = select(SavedScenario).where(SavedScenario.name == name)
        return list(s.scalars(query.order_by(SavedScenario.version.desc())).all())


def saved_names(store: Store) -> dict[str, int]:
    """Name -> latest version of every saved scenario."""
    with store.sessions() as s:
        rows = s.execute(
            select(SavedScenario.name, func.max(SavedScenario.version)).group_by(SavedScenario.name)
        ).all()
    return {str(n): int(v) for n, v in rows}
