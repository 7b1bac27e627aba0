"""The Messages wire format (Anthropic's), as far as more than one layer needs it.

The ``/v1/messages`` front door speaks it to clients, the cache stores and replays its answers, and the
adapter of a provider serving it natively reads it from upstream. Here: stop reasons and usage in both
directions between it and the canonical (OpenAI chat) terms, its error bodies and error event, and its
event framing. Pure.
"""

from __future__ import annotations

import secrets
from typing import Any

from byokgate.domain.sse import frame_json

# Messages ``stop_reason`` -> canonical ``finish_reason``.
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
# Canonical ``finish_reason`` -> Messages ``stop_reason``.
STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}
# Client-facing error types by HTTP status, in the format's vocabulary.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def message_id() -> str:
    return f"msg_{secrets.token_urlsafe(18)}"


def event(kind: str, data: dict[str, Any]) -> bytes:
    """One stream event as the format frames it: ``event: KIND`` and the data with its ``type``."""
    return frame_json({"type": kind, **data}, kind)


def error_body(status: int, message: str, request_id: str | None) -> dict[str, Any]:
    kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}


def error_event(message: str, kind: str = "api_error") -> bytes:
    """An ``error`` event (what the Anthropic SDK raises mid-stream)."""
    return frame_json({"type": "error", "error": {"type": kind, "message": message}}, "error")


def canonical_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """A Messages usage in canonical terms: prompt tokens include cache reads and writes."""
    fresh = _count(usage.get("input_tokens"))
    read = _count(usage.get("cache_read_input_tokens"))
    written = _count(usage.get("cache_creation_input_tokens"))
    output = _count(usage.get("output_tokens"))
    prompt = fresh + read + written
    converted: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": output,
        "total_tokens": prompt + output,
        "prompt_tokens_details": {"cached_tokens": read, "cache_write_tokens": written},
    }
    details = usage.get("output_tokens_details")
    if isinstance(details, dict) and isinstance(details.get("thinking_tokens"), int):
        converted["completion_tokens_details"] = {"reasoning_tokens": details["thinking_tokens"]}
    return converted


def messages_usage(usage: dict[str, Any] | None) -> dict[str, Any]:
    """A canonical usage in the Messages format's terms (input tokens exclude cache reads and writes)."""
    usage = usage or {}
    details = usage.get("prompt_tokens_details") or {}
    cached = _count(details.get("cached_tokens"))
    written = _count(details.get("cache_write_tokens"))
    return {
        "input_tokens": max(_count(usage.get("prompt_tokens")) - cached - written, 0),
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cached,
        "output_tokens": _count(usage.get("completion_tokens")),
    }


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
