"""Console logins: the ``console_users`` table, passwords kept as salted scrypt hashes.

A login for an unknown user still computes one hash, so response time does not tell which
user names exist.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from yuqing.store.models import ConsoleUser

HASH_METHOD = "scrypt"
MIN_PASSWORD_LENGTH = 8
_USERNAME_RE = re.compile(r"^[\w.@\-]{1,64}$")
_DUMMY_HASH = generate_password_hash("not-a-real-password", method=HASH_METHOD)


class UserError(ValueError):
    """A user that cannot be added (bad name, weak password, already there)."""


def check_username(username: str) -> str:
    name = username.strip()
    if not _USERNAME_RE.match(name):
        raise UserError(f"invalid user name {username!r}: use 1-64 letters, digits, . _ @ -")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters")
    return password


def set_user(session: Session, username: str, password: str, *, replace: bool = False) -> bool:
    """Create a user, or change an existing user's password when ``replace``; True if created."""
    name = check_username(username)
    password_hash = generate_password_hash(check_password(password), method=HASH_METHOD)
    user = session.get(ConsoleUser, name)
    if user is not None:
        if not replace:
            raise UserError(f"user {name!r} already exists (use --reset to change the password)")
        user.password_hash = password_hash
        return False
    session.add(ConsoleUser(username=name, password_hash=password_hash))
    session.flush()
    return True


def remove_user(session: Session, username: str) -> None:
    user = session.get(ConsoleUser, username.strip())
    if user is None:
        raise UserError(f"no user {username!r}")
    session.delete(user)


def usernames(session: Session) -> list[str]:
    return list(session.scalars(select(ConsoleUser.username).order_by(ConsoleUser.username)))


def authenticate(session: Session, username: str, password: str) -> str | None:
    """The user name when the password is right, else None (same work either way)."""
    user = (
        session.get(ConsoleUser, username.strip()) if _USERNAME_RE.match(username.strip()) else None
    )
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user.username if check_password_hash(user.password_hash, password) else None


def user_exists(session: Session, username: str) -> bool:
    return session.get(ConsoleUser, username) is not None
