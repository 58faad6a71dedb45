"""Users, passwords (argon2) and API tokens (only their SHA-256 is stored).

Every credential (API token, browser session) carries the user's ``auth_epoch`` at issue time;
changing the password or disabling the user raises the epoch, so everything issued before stops
working at once and stays dead after the user is enabled again."""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from materiel.store.models import ROLES, ApiToken, User, UserSession, utcnow

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "mtl_"

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("a password nobody has")


class UserError(ValueError):
    """A user name, role or password that cannot be accepted."""


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise UserError(
            "a user name is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"unknown role '{role}' (allowed: {', '.join(ROLES)})")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(session: Session, name: str, password: str, role: str) -> User:
    """Add a user; raises :class:`UserError` for a bad name, role or password or a taken name."""
    check_name(name)
    check_role(role)
    check_password(password)
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise UserError(f"user '{name}' already exists")
    user = User(name=name, role=role, password_hash=hash_password(password), active=True)
    session.add(user)
    session.flush()
    return user


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; an unknown user (None) costs the same and is False."""
    try:
        _hasher.verify(password_hash or _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The active user with this name and password, else None (same cost either way)."""
    user = session.scalar(select(User).where(User.name == name))
    if not verify_password(user.password_hash if user is not None else None, password):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, name: str = "api") -> str:
    """Create an API token for ``user``; returns the token (shown once, never stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            name=name[:64],
            token_hash=token_digest(token),
            prefix=token[:10],
            auth_epoch=user.auth_epoch,
        )
    )
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user owning a non-revoked ``token``, else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_digest(token), ~ApiToken.revoked)
    )
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active or row.auth_epoch != user.auth_epoch:
        return None
    row.last_used_at = utcnow()
    return user


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    """A user's API tokens, newest first (revoked ones included)."""
    query = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
    return list(session.scalars(query).all())


def token_valid(token: ApiToken, user: User) -> bool:
    """True if ``token`` still gives access (not revoked, issued at the user's epoch)."""
    return user.active and not token.revoked and token.auth_epoch == user.auth_epoch


def revoke_token(session: Session, token_id: int, user_id: int | None = None) -> ApiToken | None:
    """Revoke one token (only if it belongs to ``user_id``, when given); None if no such token."""
    row = session.get(ApiToken, token_id)
    if row is None or (user_id is not None and row.user_id != user_id):
        return None
    row.revoked = True
    return row


def end_credentials(session: Session, user: User) -> None:
    """End every session and token of ``user`` now, for good (raises the user's epoch)."""
    user.auth_epoch += 1
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ~ApiToken.revoked).values(revoked=True)
    )
    session.flush()


def set_password(session: Session, user: User, new_password: str) -> None:
    """Replace the password; every earlier session and token of the user ends."""
    check_password(new_password)
    user.password_hash = hash_password(new_password)
    end_credentials(session, user)


def change_password(session: Session, user: User, old_password: str, new_password: str) -> None:
    """The user's own change: ``old_password`` must be right (:class:`UserError` if not)."""
    if not verify_password(user.password_hash, old_password):
        raise UserError("the current password is wrong")
    if old_password == new_password:
        raise UserError("the new password must differ from the current one")
    set_password(session, user, new_password)


def update_user(session: Session, user: User, role: str | None, active: bool | None) -> None:
    """Change role and/or active; disabling ends the user's sessions and tokens for good."""
    if role is not None:
        user.role = check_role(role)
    if active is not None:
        if user.active and not active:
            end_credentials(session, user)
        user.active = active


def role_at_least(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)
