"""The HTTP API."""

from typing import Annotated, Any

from fastapi import Query
from starlette.requests import Request

from orgo.schemas import Problem

API_PREFIX = "/api/v1"

# Every list is paged alike.
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=100_000)]

# Documented on every route that takes a body: FastAPI answers 400 when it cannot decode it,
# orgo.api.body_limit 413 when it is larger than ORGO_MAX_BODY_BYTES.
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body could not be decoded"},
    413: {"model": Problem, "description": "The body is larger than the limit it names"},
}


def links_from_id(parameter: str, *operation_ids: str) -> dict[str, dict[str, Any]]:
    """OpenAPI links from a created resource's `id` to the operations taking it (followed
    by clients, and by schemathesis' stateful tests to reach them with real ids)."""
    return {
        operation_id: {
            "operationId": operation_id,
            "parameters": {parameter: "$response.body#/id"},
        }
        for operation_id in operation_ids
    }


def client_address(request: Request) -> str:
    """The client's address: the one a trusted proxy forwarded (ORGO_FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else "unknown"
