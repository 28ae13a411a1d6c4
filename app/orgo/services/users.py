"""Users: created by an admin (or the `orgo user create` command)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orgo.core.security import Passwords
from orgo.errors import Conflict
from orgo.models import User


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def find_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == normalise_email(email)))


async def create_user(
    session: AsyncSession, passwords: Passwords, email: str, password: str, is_admin: bool
) -> User:
    user = User(
        id=uuid.uuid4(),
        email=normalise_email(email),
        password_hash=passwords.hash(password),
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
