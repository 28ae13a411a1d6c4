"""Users: created by an admin (or the `orgo user create` command)."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orgo.errors import Conflict
from orgo.models import User


@dataclass(frozen=True)
class Principal:
    """The authenticated user as requests see it: a detached, immutable copy."""

    id: uuid.UUID
    email: str
    is_admin: bool
    is_active: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> Principal:
        return cls(user.id, user.email, user.is_admin, user.is_active, user.created_at)


class PrincipalCache:
    """Users recently loaded, so that a request whose data is cached needs no database."""

    MAX_ENTRIES = 10_000

    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[uuid.UUID, tuple[float, Principal]] = {}

    def get(self, user_id: uuid.UUID) -> Principal | None:
        entry = self._entries.get(user_id)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, principal: Principal) -> None:
        if self._ttl <= 0:
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[principal.id] = (time.monotonic() + self._ttl, principal)


# Whitespace (`\s` is every character str.isspace counts, all of Unicode's White_Space
# included) and the invisible characters Unicode does not count as whitespace but pasted
# addresses carry: at either end of an account name.
_EDGES = re.compile(r"^[\s\u180e\u200b\u2060\ufeff]+|[\s\u180e\u200b\u2060\ufeff]+$")


def normalise_email(email: str) -> str:
    """The one form of an account name: for storing it, finding it and limiting its logins.

    The characters above are dropped from both ends, then the case is lowered. Stored
    addresses passed e-mail validation, which admits none of those characters, and were
    stored as `strip().lower()`: they are their own normal form, so no migration.
    """
    return _EDGES.sub("", email).lower()


async def find_by_email(session: AsyncSession, email: str) -> User | None:
    if "\x00" in email:  # no stored address has one, and PostgreSQL text cannot hold it
        return None
    return await session.scalar(select(User).where(User.email == normalise_email(email)))


async def create_user(
    session: AsyncSession, email: str, password_hash: str, is_admin: bool
) -> User:
    user = User(
        id=uuid.uuid4(),
        email=normalise_email(email),
        password_hash=password_hash,
        is_admin=is_admin,
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"a user with e-mail {user.email} already exists") from exc
    return user


async def count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)
