"""Users: admins create them; everyone can read their own profile."""

from __future__ import annotations

from fastapi import APIRouter, status

from orgo.api import API_PREFIX, BODY_ERRORS
from orgo.api.deps import Admin, CurrentUser, Session, State
from orgo.models import User
from orgo.schemas import Problem, UserCreate, UserOut
from orgo.services.users import Principal, create_user

router = APIRouter(prefix=f"{API_PREFIX}/users", tags=["users"])


@router.post(
    "",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses={**BODY_ERRORS, 403: {"model": Problem}, 409: {"model": Problem}},
    summary="Create a user (admins only)",
)
async def create(body: UserCreate, _admin: Admin, state: State, session: Session) -> User:
    password_hash = await state.auth.hashing.hash(body.password)
    user = await create_user(session, str(body.email), password_hash, body.is_admin)
    await session.commit()
    return user


@router.get("/me", response_model=UserOut, summary="The authenticated user")
async def me(user: CurrentUser) -> Principal:
    return user
