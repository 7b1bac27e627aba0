"""Providers' own words for the two errors the gateway acts on, read as OpenAI's codes."""

from __future__ import annotations

import pytest

from byokgate.providers.base import CONTENT_POLICY_VIOLATION, CONTEXT_LENGTH_EXCEEDED, overflow_code


@pytest.mark.parametrize(
    ("status", "message", "code", "expected"),
    [
        (400, "This model's maximum context length is 128000 tokens.", None, CONTEXT_LENGTH_EXCEEDED),
        (
            400,
            "prompt is too long: 208310 tokens > 200000 maximum",
            "invalid_request_error",
            CONTEXT_LENGTH_EXCEEDED,
        ),
        (
            400,
            "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576).",
            None,
            CONTEXT_LENGTH_EXCEEDED,
        ),
        (
            400,
            "This model's maximum prompt length is 131072 but the request contains 140000 tokens.",
            None,
            CONTEXT_LENGTH_EXCEEDED,
        ),
        (
            400,
            "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 131072.",
            None,
            CONTEXT_LENGTH_EXCEEDED,
        ),
        (403, "Content violates usage guidelines. Team: t, Model: grok-3", None, CONTENT_POLICY_VIOLATION),
        (
            403,
            'gpt-4o requires moderation on OpenRouter. Your input was flagged for "violence".',
            None,
            CONTENT_POLICY_VIOLATION,
        ),
        (
            400,
            "The response was filtered due to the prompt triggering content management policy.",
            "content_filter",
            "content_filter",
        ),  # the provider's own policy code is kept
        (400, "Invalid value for 'temperature'.", "invalid_value", "invalid_value"),
        (403, "Your API key does not have access to this model.", "permission_denied", "permission_denied"),
        (500, "The context length of the server is broken", None, None),  # only 4xx are read
    ],
)
def test_codes_from_the_providers_words(
    status: int, message: str, code: str | None, expected: str | None
) -> None:
    assert overflow_code(status, message, code) == expected
