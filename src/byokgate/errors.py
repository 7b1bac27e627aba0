"""Errors a client may see, rendered in OpenAI's error shape: {"error": {message, type, param, code}}.

Every message is written for the caller and never contains a credential.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ApiError(Exception):
    status: int = 500
    type: str = "api_error"
    default_code: ClassVar[str | None] = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code if code is not None else self.default_code
        self.param = param
        self.headers = headers or {}

    # A request that failed after several attempts lists them (provider, model, status, reason, ...).
    attempts: list[dict[str, Any]] | None = None

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.type,
            "param": self.param,
            "code": self.code,
        }
        if self.attempts is not None:
            error["attempts"] = self.attempts
        return {"error": error}


class InvalidRequestError(ApiError):
    status = 400
    type = "invalid_request_error"


class AuthenticationError(ApiError):
    status = 401
    type = "authentication_error"
    default_code = "invalid_api_key"


class PermissionDeniedError(ApiError):
    status = 403
    type = "permission_error"


class NotFoundError(ApiError):
    status = 404
    type = "invalid_request_error"
    default_code = "not_found"


class ConflictError(ApiError):
    status = 409
    type = "invalid_request_error"
    default_code = "conflict"


class PayloadTooLargeError(ApiError):
    status = 413
    type = "invalid_request_error"
    default_code = "payload_too_large"


class UnprocessableEntityError(ApiError):
    status = 422
    type = "invalid_request_error"
    default_code = "invalid_value"


class UnsupportedMediaTypeError(ApiError):
    status = 415
    type = "invalid_request_error"
    default_code = "unsupported_media_type"


class ServiceUnavailableError(ApiError):
    status = 503
    type = "api_error"
    default_code = "service_unavailable"


# Codes of refusals that resending cannot fix before a long wait (a spent budget, an exhausted quota).
_FUTILE = frozenset({"budget_exceeded", "insufficient_quota", "billing_hard_limit_reached", "quota_exceeded"})


def should_retry(error: ApiError) -> bool:
    """What ``x-should-retry`` tells the client (the OpenAI and Anthropic SDKs obey it): is sending the
    same request again worth it? An upstream's own advice, relayed, wins."""
    advised = error.headers.get("x-should-retry")
    if advised in ("true", "false"):
        return advised == "true"
    if error.code in _FUTILE:
        return False
    return error.status in (408, 409, 429) or error.status >= 500


def advice_headers(error: ApiError) -> list[tuple[bytes, bytes]]:
    """The error's own headers (``retry-after``, rate-limit state) and ``x-should-retry``."""
    headers = [(k.encode(), v.encode()) for k, v in error.headers.items() if k != "x-should-retry"]
    headers.append((b"x-should-retry", b"true" if should_retry(error) else b"false"))
    return headers
