"""ECS JSON logs on stdout, with the request id and event id carried by context vars."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any

import ecs_logging

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
event_id_var: ContextVar[str | None] = ContextVar("event_id", default=None)
event_type_var: ContextVar[str | None] = ContextVar("event_type", default=None)
user_id_var: ContextVar[str | None] = ContextVar("user_id", default=None)

# uvicorn's own access log is replaced by ours (one line per request with the route).
_QUIET_LOGGERS = ("uvicorn.access", "aiormq", "aio_pika")


class _ContextFilter(logging.Filter):
    def __init__(self, service: str, dataset: str) -> None:
        super().__init__()
        self._service = service
        self._dataset = dataset

    def filter(self, record: logging.LogRecord) -> bool:
        fields: dict[str, Any] = {"service.name": self._service}
        if not hasattr(record, "event.dataset"):
            fields["event.dataset"] = self._dataset
        if (request_id := request_id_var.get()) is not None:
            fields["http.request.id"] = request_id
        if (user_id := user_id_var.get()) is not None:
            fields["user.id"] = user_id
        if (event_id := event_id_var.get()) is not None:
            fields["orgo.event_id"] = event_id
            fields["orgo.event_type"] = event_type_var.get()
        for key, value in fields.items():
            setattr(record, key, value)
        return True


def configure_logging(service: str, level: str) -> None:
    """Routes every logger through one ECS JSON handler on stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(ecs_logging.StdlibFormatter(exclude_fields=["process", "log.origin"]))
    dataset = "orgo.worker" if service == "orgo-worker" else "orgo.app"
    handler.addFilter(_ContextFilter(service, dataset))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").disabled = True
