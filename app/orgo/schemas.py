"""Request and response bodies of the HTTP API (the OpenAPI contract)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
)

from orgo.models import TaskStatus

MIN_PASSWORD_LENGTH = 12
T = TypeVar("T")


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it here rather than fail in the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\x00) characters")
    return value


# Bidirectional embeddings, overrides and isolates reorder the text around them (a title can
# be made to read as something else); the marks only in titles, where nothing needs them.
# Character ranges in regex syntax that Python's re and the schema's ECMAScript patterns
# read alike: one definition for the check and for the documented pattern.
_BIDI_REORDERING = r"\u202a-\u202e\u2066-\u2069"
_BIDI_MARKS = r"\u061c\u200e\u200f"
# Titles are one line of visible text: no C0/C1 control (tab and line breaks included), no
# line or paragraph separator, no bidirectional control.
_NOT_IN_TITLES = rf"\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI_REORDERING}{_BIDI_MARKS}"
# Descriptions keep tabs and line breaks.
_NOT_IN_DESCRIPTIONS = rf"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI_REORDERING}"


def _refusing(characters: str, what: str) -> AfterValidator:
    found_in = re.compile(f"[{characters}]").search

    def check(value: str) -> str:
        if found := found_in(value):
            raise ValueError(f"must be {what} (found U+{ord(found.group()):04X})")
        return value

    return AfterValidator(check)


def _text_only(value: Any) -> Any:
    # Strict JSON: a date-time is a string (lax parsing would take a number as a timestamp).
    if value is not None and not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 date-time string, e.g. 2026-01-31T17:00:00Z")
    return value


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("must include a timezone, e.g. 2026-01-31T17:00:00Z")
    return value


Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_nul),
    _refusing(
        _NOT_IN_TITLES,
        "one line of text: no control characters, tabs, line breaks or bidirectional controls",
    ),
    Field(
        description="One line of text, 1-200 characters after trimming; control characters, "
        "line breaks and bidirectional controls are refused",
        # Something besides whitespace, and none of the refused characters.
        json_schema_extra={
            "pattern": f"^[^{_NOT_IN_TITLES}]*[^\\s{_NOT_IN_TITLES}][^{_NOT_IN_TITLES}]*$"
        },
    ),
]
Description = Annotated[
    str,
    Field(
        max_length=10_000,
        description="Text with tabs and line breaks allowed; other control characters and "
        "bidirectional embeddings, overrides and isolates are refused",
        json_schema_extra={"pattern": f"^[^{_NOT_IN_DESCRIPTIONS}]*$"},
    ),
    AfterValidator(_no_nul),
    _refusing(
        _NOT_IN_DESCRIPTIONS,
        "text without control characters (tabs and line breaks are fine) or bidirectional "
        "embeddings, overrides and isolates",
    ),
]
# Input models are strict (no coercion: JSON true/false for booleans, strings for text);
# these types have no JSON form of their own and are parsed from JSON strings.
JsonUuid = Annotated[uuid.UUID, Field(strict=False)]
JsonStatus = Annotated[TaskStatus, Field(strict=False)]
AwareDatetime = Annotated[
    datetime | None, Field(strict=False), BeforeValidator(_text_only), AfterValidator(_aware)
]
AssigneeId = Annotated[
    JsonUuid | None,
    Field(description="The id of an existing user; an unknown id is refused with 422"),
]


def _present(value: Any) -> Any:
    if value is None:
        raise ValueError("must not be null; leave the field out to keep its value")
    return value


def _not_nullable(schema: dict[str, Any], names: tuple[str, ...]) -> None:
    """Fields of an update that can only be changed, not emptied: the schema offers neither
    `null` nor a default for them (leaving one out keeps its value)."""
    for name in names:
        field = schema["properties"][name]
        field.pop("default", None)
        branches = [branch for branch in field.pop("anyOf") if branch.get("type") != "null"]
        field.update(branches[0])


class Strict(BaseModel):
    """Every request body: unknown fields refused, and no type coercion (`0`, `1` or "true"
    are not booleans, numbers are not text)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class TokenPair(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    refresh_token: str


class RefreshRequest(Strict):
    refresh_token: Annotated[str, Field(min_length=1, max_length=512)]


Password = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)]


class UserCreate(Strict):
    email: Annotated[
        EmailStr,
        Field(
            description="An e-mail address (stored lower-cased). Refused with 422: "
            "addresses email-validator does not accept, among them those at special-use "
            "or reserved domains (.arpa, .invalid, .local, .localhost, .onion, .test and "
            "their subdomains)"
        ),
    ]
    password: Password
    is_admin: bool = False


class PasswordChange(Strict):
    current_password: Annotated[str, Field(min_length=1, max_length=1024)]
    new_password: Password


class UserUpdate(Strict):
    """Only the fields present are changed."""

    model_config = ConfigDict(
        json_schema_extra=lambda schema: _not_nullable(schema, ("is_active", "is_admin"))
    )

    is_active: bool | None = None
    is_admin: bool | None = None

    @field_validator("is_active", "is_admin", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return _present(value)


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
    assignee_id: AssigneeId = None
    due_at: AwareDatetime = None


class TaskUpdate(Strict):
    """Only the fields present are changed; `null` clears assignee or due date."""

    model_config = ConfigDict(
        json_schema_extra=lambda schema: _not_nullable(schema, ("title", "description", "status"))
    )

    # Absent means unchanged (the service reads only the fields that were set); `null` is
    # refused, and the schema does not offer it.
    title: Title | None = None
    description: Description | None = None
    status: JsonStatus | None = None
    assignee_id: AssigneeId = None
    due_at: AwareDatetime = None

    @field_validator("title", "description", "status", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return _present(value)


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
