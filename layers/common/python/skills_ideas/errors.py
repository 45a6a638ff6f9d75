"""Domain errors. Logic raises them; ``http.api_handler`` maps them to a status and the
legacy JSON envelope ``{"success": false, "message": ...}`` in one place."""

from __future__ import annotations


class ApiError(Exception):
    status = 500
    #: Response headers the error calls for (``Retry-After`` of a 429).
    headers: dict[str, str] | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class TooManyRequests(ApiError):
    """429: try again after ``retry_after`` seconds (sent as ``Retry-After``)."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class ServiceUnavailable(ApiError):
    status = 503


class Unprocessable(ApiError):
    status = 422
