"""The requests the benchmark sends: models, prompt, chat bodies and auth headers, and the unique prompts and
tags of the unique-body targets (cache-miss, cache-off)."""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Sequence
from typing import Any

MODEL = "gpt-4o-mini"
CLAUDE_MODEL = "claude-3-5-haiku-20241022"
CLAUDE_MAX_TOKENS = 64
ANTHROPIC_VERSION = "2023-06-01"
PROMPT = "Say hello"

UNIQUE_MARK = "@@UNIQUE@@"  # where the Lua script of a unique-body target puts its per-request tag
RUN_TAG = secrets.token_hex(4)  # makes this run's unique prompts differ from any earlier run's
_unique_ids = itertools.count(1)


def request_body(
    stream: bool,
    model: str = MODEL,
    max_tokens: int | None = None,
    prompt: str = PROMPT,
    fallbacks: Sequence[str] = (),
) -> bytes:
    """A chat body; OpenAI chat completions and Anthropic Messages share these fields.

    `max_tokens` is sent to Claude only: Messages requires it, and byokgate maps an OpenAI request's
    `max_tokens` to it, so every Claude target asks the Anthropic emulator for the same thing.
    `fallbacks`: OpenRouter's `models` field, the models byokgate tries after `model` if it fails.
    """
    body: dict[str, Any] = {"model": model}
    if fallbacks:
        body["models"] = list(fallbacks)
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    body["messages"] = [{"role": "user", "content": prompt}]
    if stream:
        body["stream"] = True
    return json.dumps(body, separators=(",", ":")).encode()


def unique_prompt() -> str:
    """A prompt no other request of this run (or of an earlier one) has sent: a guaranteed cache miss."""
    return f"{PROMPT} {RUN_TAG}p{next(_unique_ids)}"


def wrk_tag() -> str:
    """The tag a unique-body Lua script puts in its prompts: new for every wrk run (warm-ups included)."""
    return f"{RUN_TAG}w{next(_unique_ids)}"


def api_headers(api: str, key: str) -> dict[str, str]:
    """The request headers of one API format: OpenAI (bearer) or Anthropic (`x-api-key` + version)."""
    if api == "anthropic":
        return {"x-api-key": key, "anthropic-version": ANTHROPIC_VERSION, "Content-Type": "application/json"}
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
