"""Service settings, read from the environment (``MATERIEL_*``) or passed in by tests.

- ``MATERIEL_DATA_DIR``: where the service keeps its files (default ``~/.local/share/materiel``,
  or ``$XDG_DATA_HOME/materiel``): the SQLite database, the secret key, edited data tables.
- ``MATERIEL_DATABASE_URL``: SQLAlchemy URL of the run store (default
  ``sqlite:///<data dir>/materiel.db``), e.g. ``postgresql+psycopg://user:pw@host/db``.
- ``MATERIEL_SECRET_KEY``: signs session cookies (default: generated once into
  ``<data dir>/secret_key`` with permissions 0600).
- ``MATERIEL_DATASET``: base dataset folder (default: the bundled dataset).
- ``MATERIEL_WORKERS``: runs executed at the same time (default 2).
- ``MATERIEL_MAX_RUN_BYTES``: refuse simulations whose results would need more memory than
  this (default 2 GiB; see :mod:`materiel.simulation.limits`).
- ``MATERIEL_LOGIN_FAILURES_PER_USER`` / ``MATERIEL_LOGIN_FAILURES_PER_ADDRESS``: failed logins
  before that user name / client address is refused for a while (defaults 5 and 20).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pydantic
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "materiel"


def _secret_from_file(path: Path) -> str:
    """Read the secret key, creating it (0600) on first use."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
    return key


class Settings(BaseSettings):
    """Everything the service needs to start: each field from ``MATERIEL_<FIELD>`` in the
    environment unless given; invalid values are refused with the variable's name."""

    model_config = SettingsConfigDict(env_prefix="MATERIEL_", extra="forbid")

    data_dir: Path = pydantic.Field(default_factory=default_data_dir)
    database_url: str = ""
    secret_key: str = ""
    dataset: Path | None = None
    """Base dataset folder; None = the bundled default dataset."""
    workers: int = pydantic.Field(default=2, ge=1, le=64)
    blas_threads: int = pydantic.Field(default=1, ge=1, le=64)
    """BLAS threads per process while serving (runs execute in parallel workers)."""
    secure_cookies: bool = False
    """Mark the session cookie Secure (set when served over HTTPS behind a proxy)."""
    session_max_age: int = pydantic.Field(default=8 * 3600, gt=0)
    migrate: bool = True
    """Apply the store's migrations on start."""
    max_run_bytes: int = pydantic.Field(default=2 * 1024**3, gt=0)
    """Largest estimated result memory of one simulation, bytes (larger ones get 422)."""
    login_failures_per_user: int = 5
    """Failed logins for one user name before it is locked (1 s, doubling per failure)."""
    login_failures_per_address: int = 20
    """Failed logins from one client address before it is locked (1 s, doubling)."""
    login_window: float = 900.0
    """Seconds after the last failure when a user name's or address's count is forgotten."""
    login_max_lockout: float = 900.0
    """Longest lockout, seconds."""
    hash_workers: int = 2
    """Password hashes computed at the same time (argon2 takes 64 MiB and ~50 ms each)."""
    hash_queue: int = 32
    """Logins waiting for a hash slot before more are answered 503."""

    @pydantic.model_validator(mode="after")
    def _derived(self) -> Settings:
        """Create the data folder; derive the store URL and the secret key from it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'materiel.db'}"
        if not self.secret_key:
            self.secret_key = _secret_from_file(self.data_dir / "secret_key")
        return self

    @property
    def edits_dir(self) -> Path:
        """Folder of tables edited through the app (they override the base dataset)."""
        return self.data_dir / "dataset-edits"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from ``MATERIEL_*`` variables; keyword arguments (not None) win."""
        return cls.model_validate({k: v for k, v in overrides.items() if v is not None})
