"""Errors that come from upstream or from reaching it, in OpenAI's error shape."""

from __future__ import annotations

from byokgate.errors import ApiError


class UpstreamApiError(ApiError):
    """A provider's error relayed with its own status (so the OpenAI SDK raises the matching class)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=code, param=param, headers=headers)
        self.status = status
        self.type = kind


class BadGatewayError(ApiError):
    status = 502
    type = "api_error"
    default_code = "upstream_unreachable"


class GatewayTimeoutError(ApiError):
    status = 504
    type = "api_error"
    default_code = "upstream_timeout"


class FirstTokenTimeoutError(GatewayTimeoutError):
    """A stream's first content did not come within the time-to-first-token limit."""

    default_code = "upstream_first_token_timeout"


class DeadlineExceededError(GatewayTimeoutError):
    """The request's deadline passed before any attempt answered."""

    default_code = "deadline_exceeded"


class KeysCoolingError(ApiError):
    """Every key of the project's pool for the provider is cooling down after a rate limit."""

    status = 429
    type = "rate_limit_error"
    default_code = "provider_keys_cooling"


class CircuitOpenError(ApiError):
    """The provider's circuit breaker is open: the gateway does not send it requests for now."""

    status = 503
    type = "api_error"
    default_code = "circuit_open"
