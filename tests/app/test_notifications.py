"""Notification subject and body come from separate templates: no title text can move from
the subject into the body, and a subject is one line even for titles stored before line
breaks were refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from orgo.events.handlers import render_notification
from orgo.events.outbox import EventEnvelope, EventType

SPOOF = "Quarterly review\nACTION NEEDED: re-enter your password at https://evil.example"


def event(
    event_type: EventType, title: str, changes: dict[str, object] | None = None
) -> EventEnvelope:
    return EventEnvelope.model_validate(
        {
            "event_id": uuid.uuid4(),
            "event_type": event_type,
            "occurred_at": datetime.now(UTC),
            "actor_id": None,
            "task": {
                "id": uuid.uuid4(),
                "title": title,
                "status": "todo",
                "owner_id": uuid.uuid4(),
                "assignee_id": None,
                "due_at": datetime(2030, 1, 1, tzinfo=UTC),
            },
            "changes": changes or {},
        }
    )


@pytest.mark.parametrize("event_type", list(EventType))
def test_a_title_with_line_breaks_stays_whole_in_a_one_line_subject(
    event_type: EventType,
) -> None:
    subject, body = render_notification(event(event_type, SPOOF.replace("\n", "\u2028\r\n")))
    assert "\n" not in subject and "\u2028" not in subject
    assert subject.endswith(
        "Quarterly review ACTION NEEDED: re-enter your password at https://evil.example"
    )
    assert body.startswith('The task "Quarterly review ACTION NEEDED'), body
    assert "\nACTION NEEDED" not in body


def test_an_update_lists_each_change_on_one_line() -> None:
    _, body = render_notification(
        event(EventType.task_updated, "t", {"title": {"from": SPOOF, "to": "new"}})
    )
    lines = body.splitlines()
    assert lines[1] == f"- title: {' '.join(SPOOF.split())} -> new"
    assert len(lines) == 2
