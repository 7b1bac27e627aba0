"""The Responses API's wire format, where more than one layer reads it: its usage in canonical
(chat-completions) terms, and how an answer ends in chat-completions words."""

from __future__ import annotations

from typing import Any


def canonical_usage(usage: Any) -> dict[str, Any]:
    """A Responses ``usage`` as chat-completions usage (what costs and records read)."""
    if not isinstance(usage, dict):
        return {}
    prompt, completion = usage.get("input_tokens") or 0, usage.get("output_tokens") or 0
    canonical: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": usage.get("total_tokens") or prompt + completion,
    }
    details = usage.get("input_tokens_details")
    if isinstance(details, dict) and details.get("cached_tokens") is not None:
        canonical["prompt_tokens_details"] = {"cached_tokens": details["cached_tokens"]}
    details = usage.get("output_tokens_details")
    if isinstance(details, dict) and details.get("reasoning_tokens") is not None:
        canonical["completion_tokens_details"] = {"reasoning_tokens": details["reasoning_tokens"]}
    return canonical


def finish_of(response: dict[str, Any]) -> str:
    """A ``response``'s end in chat-completions words (``stop``, ``length``, ``tool_calls``...)."""
    if response.get("status") == "incomplete":
        reason = (response.get("incomplete_details") or {}).get("reason")
        return "content_filter" if reason == "content_filter" else "length"
    output = response.get("output")
    if isinstance(output, list) and any(
        isinstance(item, dict) and item.get("type") == "function_call" for item in output
    ):
        return "tool_calls"
    return "stop"
