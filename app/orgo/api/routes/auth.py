"""OAuth2 password flow with rotating refresh tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from orgo.api import API_PREFIX, BODY_ERRORS, client_address
from orgo.api.deps import CurrentUser, Session, State
from orgo.schemas import Problem, RefreshRequest, TokenPair

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"])


@router.post(
    "/token",
    response_model=TokenPair,
    responses={**BODY_ERRORS, 401: {"model": Problem}, 429: {"model": Problem}},
    summary="Log in with e-mail (as `username`) and password",
)
async def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    state: State,
    session: Session,
) -> TokenPair:
    tokens = await state.auth.login(session, form.username, form.password, client_address(request))
    await session.commit()
    return tokens


@router.post(
    "/refresh",
    response_model=TokenPair,
    responses={**BODY_ERRORS, 401: {"model": Problem}},
    summary="Exchange a refresh token for new tokens (the old one stops working)",
)
async def refresh(body: RefreshRequest, state: State, session: Session) -> TokenPair:
    tokens = await state.auth.refresh(session, body.refresh_token)
    await session.commit()
    return tokens


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**BODY_ERRORS, 401: {"model": Problem}},
    summary="Revoke the refresh token (and its whole family)",
)
async def logout(body: RefreshRequest, user: CurrentUser, state: State, session: Session) -> None:
    await state.auth.logout(session, body.refresh_token, user.id)
    await session.commit()
