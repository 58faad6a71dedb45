"""Browser sessions kept in the store: the cookie carries a random session id, the store only
its SHA-256. A session is valid while its row exists, has not expired, its user is active and
the user's ``auth_epoch`` is the one the session was opened at."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from materiel.store.models import User, UserSession, utcnow


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(session: Session, user: User, max_age: int) -> str:
    """Record a new session for ``user`` lasting ``max_age`` seconds; returns its id (for the
    cookie only). Expired sessions of every user are removed on the way."""
    now = utcnow()
    session.execute(delete(UserSession).where(UserSession.expires_at < now))
    session_id = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            id_hash=_digest(session_id),
            user_id=user.id,
            auth_epoch=user.auth_epoch,
            created_at=now,
            expires_at=now + timedelta(seconds=max_age),
        )
    )
    session.flush()
    return session_id


def session_user(session: Session, session_id: str) -> User | None:
    """The user of a live session, else None."""
    row = session.get(UserSession, _digest(session_id))
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active or user.auth_epoch != row.auth_epoch:
        return None
    return user


def close_session(session: Session, session_id: str) -> None:
    """End one session (logout); a no-op if it is already gone."""
    session.execute(delete(UserSession).where(UserSession.id_hash == _digest(session_id)))
