"""Anthropic's wire details other than the message bodies: ids, headers, error bodies and fault errors.

Unverified choices: errors carry `request_id` in the body (stream `error` events too) and `x-should-retry`
(true for 408/409/429/5xx); 502 and 503 use the type `api_error`; `anthropic-ratelimit-*` headers (reset
times one second ahead) go on `/v1/messages` answers and on 429s (0 requests remaining); other answers
carry only `request-id` and `anthropic-organization-id`. Ids: `msg_01…`, `toolu_01…`, `req_011C…`.
"""

from __future__ import annotations

import time
from typing import Any

from byokgate.emulators.faults import Fault
from byokgate.emulators.profile import ApiError, Headers, ProviderProfile, random_alnum, retry_headers
from byokgate.emulators.recorder import RecordedRequest

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
SERVER_ERRORS = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Request timed out",  # (unverified) text; Cloudflare's HTML 504 page has also been seen (2025)
    529: "Overloaded",
}
ORGANIZATION_ID = "5a1c3f0e-7b2d-4e9a-8c61-0f2b9d4e7a13"
REQUESTS_PER_MINUTE = 4000
INPUT_TOKENS_PER_MINUTE = 2_000_000
OUTPUT_TOKENS_PER_MINUTE = 400_000
RATE_LIMIT_DOCS = "https://docs.claude.com/en/api/rate-limits"


def anthropic_error(status: int, message: str, headers: dict[str, str] | None = None) -> ApiError:
    """An error of the type Anthropic uses for this status."""
    return ApiError(status, message, type=ERROR_TYPES.get(status, "api_error"), headers=headers)


def _reset_time(seconds: float = 1.0) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))


class AnthropicRecordedRequest(RecordedRequest):
    """A recorded request whose `api_key` is the `x-api-key` header, else the bearer token."""

    __slots__ = ()

    @property
    def api_key(self) -> str | None:
        return self.headers.get("x-api-key") or super().api_key


class AnthropicProfile(ProviderProfile):
    """Names, ids and headers (the OpenAI-format rendering hooks of `ProviderProfile` are unused)."""

    name = "anthropic"
    base_path = ""
    has_embeddings = False

    def completion_id(self) -> str:
        return "msg_01" + random_alnum(22)

    def tool_call_id(self) -> str:
        return "toolu_01" + random_alnum(22)

    def request_id(self) -> str:
        return "req_011C" + random_alnum(20)

    def error_payload(self, error: ApiError, request_id: str) -> dict[str, Any]:
        return {
            "type": "error",
            "error": {"type": error.type, "message": error.message},
            "request_id": request_id,
        }

    def base_headers(self, request_id: str) -> Headers:
        return [("request-id", request_id), ("anthropic-organization-id", ORGANIZATION_ID)]

    def rate_limit_headers(
        self, input_tokens: int, output_tokens: int, *, exhausted: bool = False
    ) -> Headers:
        limits = {
            "requests": (REQUESTS_PER_MINUTE, 1),
            "tokens": (INPUT_TOKENS_PER_MINUTE + OUTPUT_TOKENS_PER_MINUTE, input_tokens + output_tokens),
            "input-tokens": (INPUT_TOKENS_PER_MINUTE, input_tokens),
            "output-tokens": (OUTPUT_TOKENS_PER_MINUTE, output_tokens),
        }
        headers: Headers = []
        for name, (limit, used) in limits.items():
            remaining = 0 if exhausted and name == "requests" else max(limit - used, 0)
            headers += [
                (f"anthropic-ratelimit-{name}-limit", str(limit)),
                (f"anthropic-ratelimit-{name}-remaining", str(remaining)),
                (f"anthropic-ratelimit-{name}-reset", _reset_time()),
            ]
        return headers

    def error_headers(self, error: ApiError, request_id: str) -> Headers:
        retry = error.status in (408, 409, 429) or error.status >= 500
        headers = [*self.base_headers(request_id), ("x-should-retry", "true" if retry else "false")]
        if error.status == 429:
            headers += self.rate_limit_headers(0, 0, exhausted=True)
        return headers + list(error.headers.items())

    def fault_error(self, fault: Fault, model: str | None) -> ApiError:
        if fault.kind == "429":
            message = (
                f"This request would exceed the rate limit for your organization ({ORGANIZATION_ID}) of "
                f"{REQUESTS_PER_MINUTE:,} requests per minute. For details, refer to: {RATE_LIMIT_DOCS}. You "
                "can see the response headers for current usage. Please reduce the prompt length or the "
                "maximum tokens requested, or try again later."
            )
            return anthropic_error(429, message, retry_headers(fault))
        status = int(fault.kind)
        return anthropic_error(status, SERVER_ERRORS[status])
