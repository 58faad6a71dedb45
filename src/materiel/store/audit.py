"""The audit log: every data edit and every change to users or tokens, with before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from materiel.store.db import Store
from materiel.store.models import AuditEntry


def record(
    session: Session,
    user: str,
    action: str,
    table: str,
    key: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEntry:
    """Add an audit entry to ``session`` (committed with the change it describes)."""
    entry = AuditEntry(
        user=user, action=action, table_name=table, row_key=key[:255], before=before, after=after
    )
    session.add(entry)
    return entry


def entries(store: Store, table: str | None = None, limit: int = 200) -> list[AuditEntry]:
    """Audit entries, newest first."""
    query = select(AuditEntry)
    if table:
        query = query.where(AuditEntry.table_name == table)
    with store.session_factory() as s:
        return list(s.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)).all())
