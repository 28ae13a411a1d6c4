"""The HTTP API."""

API_PREFIX = "/api/v1"
