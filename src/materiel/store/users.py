"""Users, passwords (argon2) and API tokens (only their SHA-256 is stored)."""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from materiel.store.models import ROLES, ApiToken, User, utcnow

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


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The active user with this name and password, else None (same cost either way)."""
    user = session.scalar(select(User).where(User.name == name))
    target = user.password_hash if user is not None else _DUMMY
    try:
        _hasher.verify(target, password)
    except (VerificationError, InvalidHashError):
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
        ApiToken(user_id=user.id, name=name[:64], token_hash=token_digest(token), prefix=token[:10])
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
    if user is None or not user.active:
        return None
    row.last_used_at = utcnow()
    return user


def role_at_least(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)
