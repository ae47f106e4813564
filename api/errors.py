"""Mastodon's error responses: `{"error": "..."}` with the status code Mastodon uses."""

from __future__ import annotations

from topology.context import RecordRejected

NOT_ALLOWED = "This action is not allowed"


class ApiError(Exception):
    """An error a handler reports to the client as `{"error": message}` with `status`."""

    def __init__(self, status: int, message: str, description: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.description = description  # OAuth's `error_description`, where the spec wants one

    def body(self) -> dict[str, str]:
        """Return the JSON body: `error`, plus `error_description` for OAuth errors."""
        if self.description is None:
            return {"error": self.message}
        return {"error": self.message, "error_description": self.description}


def bad_request(message: str) -> ApiError:
    """400: a parameter is missing or malformed."""
    return ApiError(400, message)


def unauthorized(message: str = "The access token is invalid") -> ApiError:
    """401: no token, or not a valid one."""
    return ApiError(401, message)


def forbidden(message: str = "This action is outside the authorized scopes") -> ApiError:
    """403: the token lacks the scope, or the account may not do this."""
    return ApiError(403, message)


def not_found(message: str = "Record not found") -> ApiError:
    """404: no such record (or not visible to the caller)."""
    return ApiError(404, message)


def unprocessable(message: str) -> ApiError:
    """422: the input is well-formed but invalid (Mastodon's "Validation failed: ...")."""
    return ApiError(422, f"Validation failed: {message}")


def rejection(rejected: RecordRejected) -> ApiError:
    """Return Mastodon's answer to a module's refusal, by its kind: 404, 403, or 422 with the reason."""
    if rejected.kind == "not_found":
        return not_found()  # also for what the caller may not see: its existence is not revealed
    if rejected.kind == "forbidden":
        return forbidden(NOT_ALLOWED)
    return unprocessable(str(rejected))  # invalid, limit, duplicate
