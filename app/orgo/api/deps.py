"""FastAPI dependencies: the shared state, a database session, the current user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from orgo.api.state import AppState
from orgo.core.logging import user_id_var
from orgo.errors import Forbidden
from orgo.services.users import Principal

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.orgo
    return state


State = Annotated[AppState, Depends(get_state)]


async def get_session(state: State) -> AsyncIterator[AsyncSession]:
    """One session per request, connected on first use; routes commit what they change."""
    async with state.sessions() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]


async def get_current_user(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    # Called, not declared as a State dependency: one dependency fewer to solve on every
    # authenticated request.
    state = await get_state(request)
    principal = await state.auth.authenticate(state.sessions, token)
    user_id_var.set(str(principal.id))
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]


async def get_admin(user: CurrentUser) -> Principal:
    if not user.is_admin:
        raise Forbidden("this operation needs an admin")
    return user


Admin = Annotated[Principal, Depends(get_admin)]
