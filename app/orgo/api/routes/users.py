"""Users: admins create, list, deactivate and promote them; everyone reads their own
profile and changes their own password."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, status

from orgo.api import API_PREFIX, BODY_ERRORS, Limit, Offset, client_address, links_from_id
from orgo.api.deps import Admin, CurrentUser, Session, State
from orgo.models import User
from orgo.schemas import Page, PasswordChange, Problem, UserCreate, UserOut, UserUpdate
from orgo.services import users as service
from orgo.services.users import Principal

router = APIRouter(prefix=f"{API_PREFIX}/users", tags=["users"])

ADMINS_ONLY: dict[int | str, dict[str, Any]] = {
    403: {"model": Problem, "description": "The caller is not an admin"}
}


@router.post(
    "",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {"description": "The user, created", "links": links_from_id("user_id", "update_user")},
        **BODY_ERRORS,
        **ADMINS_ONLY,
        409: {"model": Problem, "description": "A user with this e-mail exists"},
        422: {"model": Problem},
    },
    summary="Create a user (admins only)",
)
async def create_user(body: UserCreate, _admin: Admin, state: State, session: Session) -> User:
    password_hash = await state.auth.hashing.hash(body.password)
    user = await service.create_user(session, str(body.email), password_hash, body.is_admin)
    await session.commit()
    return user


@router.get(
    "",
    response_model=Page[UserOut],
    responses=ADMINS_ONLY,
    summary="Every user, oldest first (admins only)",
)
async def list_users(
    _admin: Admin,
    session: Session,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Page[UserOut]:
    rows, total = await service.list_users(session, limit, offset)
    return Page[UserOut](
        items=[UserOut.model_validate(row) for row in rows], total=total, limit=limit, offset=offset
    )


@router.get("/me", response_model=UserOut, summary="The authenticated user")
async def me(user: CurrentUser) -> Principal:
    return user


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        **BODY_ERRORS,
        403: {"model": Problem, "description": "The current password is incorrect"},
        422: {"model": Problem, "description": "The new password is too short or too long"},
        429: {"model": Problem, "description": "Too many wrong passwords (limited like logins)"},
    },
    summary="Change your password; every session ends, this one included: log in again",
)
async def change_password(
    body: PasswordChange, user: CurrentUser, request: Request, state: State, session: Session
) -> None:
    await state.auth.change_password(
        session, user, body.current_password, body.new_password, client_address(request)
    )
    await session.commit()
    state.auth.forget(user.id)


@router.patch(
    "/{user_id:uuid}",
    response_model=UserOut,
    responses={
        **BODY_ERRORS,
        **ADMINS_ONLY,
        404: {"model": Problem, "description": "No such user"},
        409: {
            "model": Problem,
            "description": "An admin cannot deactivate or demote themselves or the last "
            "active admin",
        },
        422: {"model": Problem},
    },
    summary="Deactivate, reactivate, promote or demote a user (admins only); deactivation "
    "ends every session of the user",
)
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, admin: Admin, state: State, session: Session
) -> User:
    user = await service.update_user(session, admin, user_id, body.is_active, body.is_admin)
    await session.commit()
    state.auth.forget(user_id)
    return user
