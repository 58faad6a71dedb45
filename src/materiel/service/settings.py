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
from dataclasses import dataclass, field
from pathlib import Path


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


@dataclass
class Settings:
    """Everything the service needs to start."""

    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str = ""
    secret_key: str = ""
    dataset: Path | None = None
    """Base dataset folder; None = the bundled default dataset."""
    workers: int = 2
    blas_threads: int = 1
    """BLAS threads per process while serving (runs execute in parallel workers)."""
    secure_cookies: bool = False
    """Mark the session cookie Secure (set when served over HTTPS behind a proxy)."""
    session_max_age: int = 8 * 3600
    migrate: bool = True
    """Apply the store's migrations on start."""
    max_run_bytes: int = 2 * 1024**3
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

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'materiel.db'}"
        if not self.secret_key:
            self.secret_key = _secret_from_file(self.data_dir / "secret_key")
        if self.dataset is not None:
            self.dataset = Path(self.dataset)

    @property
    def edits_dir(self) -> Path:
        """Folder of tables edited through the app (they override the base dataset)."""
        return self.data_dir / "dataset-edits"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from ``MATERIEL_*`` variables; keyword arguments win."""
        env = os.environ
        values: dict[str, object] = {}
        if env.get("MATERIEL_DATA_DIR"):
            values["data_dir"] = Path(env["MATERIEL_DATA_DIR"])
        if env.get("MATERIEL_DATABASE_URL"):
            values["database_url"] = env["MATERIEL_DATABASE_URL"]
        if env.get("MATERIEL_SECRET_KEY"):
            values["secret_key"] = env["MATERIEL_SECRET_KEY"]
        if env.get("MATERIEL_DATASET"):
            values["dataset"] = Path(env["MATERIEL_DATASET"])
        if env.get("MATERIEL_WORKERS"):
            values["workers"] = int(env["MATERIEL_WORKERS"])
        for key, name in (
            ("max_run_bytes", "MATERIEL_MAX_RUN_BYTES"),
            ("login_failures_per_user", "MATERIEL_LOGIN_FAILURES_PER_USER"),
            ("login_failures_per_address", "MATERIEL_LOGIN_FAILURES_PER_ADDRESS"),
        ):
            if env.get(name):
                values[key] = int(env[name])
        if env.get("MATERIEL_SECURE_COOKIES"):
            values["secure_cookies"] = env["MATERIEL_SECURE_COOKIES"].lower() in ("1", "true")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
