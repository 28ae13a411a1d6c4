"""Notifications rendered by the worker for the authenticated user (stored, not mailed)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from orgo.api import API_PREFIX, Limit, Offset
from orgo.api.deps import CurrentUser, Session
from orgo.models import Notification
from orgo.schemas import NotificationOut

router = APIRouter(prefix=f"{API_PREFIX}/notifications", tags=["notifications"])


@router.get("", response_model=list[NotificationOut], summary="Your notifications, newest first")
async def list_notifications(
    user: CurrentUser,
    session: Session,
    limit: Limit = 20,
    offset: Offset = 0,
) -> list[Notification]:
    rows = await session.scalars(
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows)
