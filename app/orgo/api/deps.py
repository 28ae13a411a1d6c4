"""FastAPI dependencies: the shared state, a database session, the current user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from orgo.api.state import AppState
from orgo.core.logging import user_id_var
from orgo.core.security import InvalidTokenError
from orgo.errors import Forbidden, Unauthorized
from orgo.models import User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.orgo
    return state


State = Annotated[AppState, Depends(get_state)]


async def get_session(state: State) -> AsyncIterator[AsyncSession]:
    """One session per request; routes commit what they change, anything else rolls back."""
    async with state.sessions() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]


async def get_current_user(
    state: State, session: Session, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> User:
    if not token:
        raise Unauthorized("not authenticated")
    try:
        claims = state.auth.tokens.verify(token)
    except InvalidTokenError as exc:
        raise Unauthorized("invalid or expired access token") from exc
    user = await session.get(User, claims.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("invalid or expired access token")
    user_id_var.set(str(user.id))
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Forbidden("this operation needs an admin")
    return user


Admin = Annotated[User, Depends(get_admin)]
