"""Errors the reference target turns into ``{"error": code, "message": text}`` responses.

ReferenceError            (anything the service raises on purpose)
├── ApiError              (an HTTP error answer: status + contract error code)
│   ├── RetryLater        (503 retry_later: transient DB failure after retries)
│   └── CommitUnknown     (503 commit_unknown: the connection died during COMMIT)
└── DatabaseConfigError   (bad --db URL: a usage error, exit 2)
    └── DatabaseUnreachable (the database cannot be reached at start-up, exit 3)
"""

from __future__ import annotations


class ReferenceTargetError(Exception):
    """Base of every error the reference target raises on purpose."""


class ApiError(ReferenceTargetError):
    """An HTTP error answer with a contract error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class RetryLater(ApiError):
    """A transient database failure survived every retry."""

    def __init__(self, message: str) -> None:
        super().__init__(503, "retry_later", message)


class CommitUnknown(ApiError):
    """The database connection failed once the work was done, during COMMIT: the write may or
    may not be applied, so the answer must not say "nothing written" (``retry_later`` does)."""

    def __init__(self, message: str) -> None:
        super().__init__(503, "commit_unknown", message)


def unauthorized(message: str = "missing or invalid bearer token") -> ApiError:
    return ApiError(401, "unauthorized", message)


def invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_request", message)


def not_found(message: str = "not found") -> ApiError:
    return ApiError(404, "not_found", message)


def conflict(code: str, message: str) -> ApiError:
    return ApiError(409, code, message)


class DatabaseConfigError(ReferenceTargetError):
    """The database URL is not one the reference target understands."""


class DatabaseUnreachable(DatabaseConfigError):
    """The database could not be reached (or its schema not created) at start-up."""


def describe_failure(exc: BaseException) -> str:
    """First line of the driver's message (SQLAlchemy wraps it in ``orig``), else the type."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
