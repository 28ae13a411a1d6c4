"""Request and response bodies of the HTTP API (the OpenAPI contract)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from orgo.models import TaskStatus

MIN_PASSWORD_LENGTH = 12
T = TypeVar("T")


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it here rather than fail in the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\x00) characters")
    return value


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("must include a timezone, e.g. 2026-01-31T17:00:00Z")
    return value


Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_nul),
]
Description = Annotated[str, Field(max_length=10_000), AfterValidator(_no_nul)]
AwareDatetime = Annotated[datetime | None, AfterValidator(_aware)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenPair(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    refresh_token: str


class RefreshRequest(Strict):
    refresh_token: Annotated[str, Field(min_length=1, max_length=512)]


class UserCreate(Strict):
    email: EmailStr
    password: Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)]
    is_admin: bool = False


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    is_admin: bool
    is_active: bool
    created_at: datetime


class TaskCreate(Strict):
    title: Title
    description: Description = ""
    assignee_id: uuid.UUID | None = None
    due_at: AwareDatetime = None


class TaskUpdate(Strict):
    """Only the fields present are changed; `null` clears assignee or due date."""

    title: Title | None = None
    description: Description | None = None
    status: TaskStatus | None = None
    assignee_id: uuid.UUID | None = None
    due_at: AwareDatetime = None


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str
    status: TaskStatus
    owner_id: uuid.UUID
    assignee_id: uuid.UUID | None
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class ActivityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event_id: uuid.UUID
    event_type: str
    actor_id: uuid.UUID | None
    details: dict[str, Any]
    created_at: datetime


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    task_id: uuid.UUID
    event_id: uuid.UUID
    subject: str
    body: str
    created_at: datetime


class Problem(BaseModel):
    """Every error body: `detail` says what is wrong; `request_id` finds it in the logs."""

    detail: str | list[dict[str, Any]]
    request_id: str | None = None
