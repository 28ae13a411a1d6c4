"""Users: created, listed, deactivated and promoted by admins (the first one by the
`orgo user create` command)."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orgo.errors import Conflict, NotFound
from orgo.models import RefreshToken, User, utcnow


@dataclass(frozen=True)
class Principal:
    """The authenticated user as requests see it: a detached, immutable copy."""

    id: uuid.UUID
    email: str
    is_admin: bool
    is_active: bool
    created_at: datetime
    token_version: int

    @classmethod
    def of(cls, user: User) -> Principal:
        return cls(
            user.id, user.email, user.is_admin, user.is_active, user.created_at, user.token_version
        )


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

    def drop(self, user_id: uuid.UUID) -> None:
        self._entries.pop(user_id, None)


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


async def list_users(session: AsyncSession, limit: int, offset: int) -> tuple[list[User], int]:
    rows = await session.scalars(
        select(User).order_by(User.created_at, User.id).limit(limit).offset(offset)
    )
    return list(rows), await count_users(session)


async def end_sessions(session: AsyncSession, user: User) -> None:
    """Every session of the user ends: each refresh-token family is revoked, and the token
    version moves on, so access tokens issued before are refused (AuthService.authenticate)."""
    user.token_version = user.token_version + 1
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def update_user(
    session: AsyncSession,
    admin: Principal,
    user_id: uuid.UUID,
    is_active: bool | None,
    is_admin: bool | None,
) -> User:
    """An admin's change of a user's flags; deactivation ends every session. Nobody may
    take away their own admin rights, nor the last active admin's."""
    if is_active is False or is_admin is False:
        await _serialise_admin_changes(session, user_id)
    user = await session.get(User, user_id, populate_existing=True)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    deactivating = is_active is False and user.is_active
    demoting = is_admin is False and user.is_admin
    if (deactivating or demoting) and user.is_admin:
        if user.id == admin.id:
            raise Conflict("admins cannot deactivate or demote themselves; ask another admin")
        others = await session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.is_admin.is_(True), User.is_active.is_(True), User.id != user.id)
        )
        if not others:
            raise Conflict(f"user {user_id} is the last active admin")
    if is_admin is not None:
        user.is_admin = is_admin
    if is_active is not None:
        user.is_active = is_active
    if deactivating:
        await end_sessions(session, user)
    return user


async def _serialise_admin_changes(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Changes that may take an admin away wait for each other, so two admins demoting each
    other at once cannot leave none: on PostgreSQL every active admin's row is locked in id
    order (no deadlock), on SQLite the no-op write takes the database's write lock (its
    reads hold no lock). What is checked afterwards is read after the wait."""
    await session.execute(
        select(User.id)
        .where(User.is_admin.is_(True), User.is_active.is_(True))
        .order_by(User.id)
        .with_for_update()
    )
    await session.execute(update(User).where(User.id == user_id).values(is_admin=User.is_admin))
