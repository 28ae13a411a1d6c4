"""ECS JSON logs on stdout, with the request id and event id carried by context vars."""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
event_id_var: ContextVar[str | None] = ContextVar("event_id", default=None)
event_type_var: ContextVar[str | None] = ContextVar("event_type", default=None)
user_id_var: ContextVar[str | None] = ContextVar("user_id", default=None)

ECS_VERSION = "1.6.0"
# Attributes every LogRecord has; anything else on a record is a field of the line.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

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


class EcsJsonFormatter(logging.Formatter):
    """One ECS JSON object per line: dotted field names become nested objects.

    Written for the hot path (one access line per request), it emits exactly the fields of
    observability/logs/fields.py and the `extra` fields given to the logger.
    """

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {"log": {"logger": record.name}}
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and value is not None:
                _nest(fields, key, value)
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            fields["error"] = {
                "type": type(error).__name__,
                "message": str(error),
                "stack_trace": "".join(traceback.format_exception(error)),
            }
        line = {
            "@timestamp": _timestamp(record),
            "log.level": record.levelname.lower(),
            "message": record.getMessage(),
            "ecs.version": ECS_VERSION,
            **fields,
        }
        return json.dumps(line, default=str, separators=(",", ":"))


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


def _nest(fields: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for parent in parents:
        fields = fields.setdefault(parent, {})
    fields[leaf] = value


def configure_logging(service: str, level: str) -> None:
    """Routes every logger through one ECS JSON handler on stdout."""
    # Our lines carry none of the caller, thread or process fields, so the records need not
    # look them up (the logging HOWTO's "Optimization"): one access line per request.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(EcsJsonFormatter())
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
