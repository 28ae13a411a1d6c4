"""The HTTP API."""

from typing import Any

from orgo.schemas import Problem

API_PREFIX = "/api/v1"

# Documented on every route that takes a body: FastAPI answers 400 when it cannot decode it.
MALFORMED_BODY: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body could not be decoded"}
}
