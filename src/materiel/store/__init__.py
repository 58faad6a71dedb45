"""The run store: users, API tokens, saved scenarios, runs and the audit log (SQLAlchemy 2 +
Alembic; SQLite by default, PostgreSQL by URL)."""

from materiel.store.db import Store
from materiel.store.models import (
    ROLES,
    ApiToken,
    AuditEntry,
    Base,
    Run,
    SavedScenario,
    User,
)

__all__ = ["ROLES", "ApiToken", "AuditEntry", "Base", "Run", "SavedScenario", "Store", "User"]
