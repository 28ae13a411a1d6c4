"""`orgo user create`: the first admin of a deployment is made this way."""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from orgo.core.config import Settings
from orgo.core.db import create_engine, create_sessionmaker, transaction
from orgo.core.security import Passwords
from orgo.errors import Conflict
from orgo.schemas import UserCreate
from orgo.services.users import create_user


async def create_user_from_cli(settings: Settings, email: str, password: str, admin: bool) -> str:
    try:
        data = TypeAdapter(UserCreate).validate_python(
            {"email": email, "password": password, "is_admin": admin}
        )
    except ValidationError as exc:
        fields = ", ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise SystemExit(f"orgo: invalid user: {fields}") from None
    password_hash = Passwords(settings).hash(data.password)
    engine = create_engine(settings)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            user = await create_user(session, str(data.email), password_hash, data.is_admin)
    except Conflict as exc:
        raise SystemExit(f"orgo: {exc.detail}") from None
    finally:
        await engine.dispose()
    role = "admin" if user.is_admin else "user"
    return f"orgo: created {role} {user.email} ({user.id})"
