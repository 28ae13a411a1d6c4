"""Domain errors; the API turns each into its HTTP status with the message as `detail`."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    status_code = 409


class Unauthorized(DomainError):
    status_code = 401


class InvalidField(DomainError):
    """A well-formed value that the domain refuses, reported like a validation error."""

    status_code = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class TooManyAttempts(DomainError):
    status_code = 429

    def __init__(
        self, retry_after: int, detail: str = "too many failed login attempts; retry later"
    ) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
