"""The canonical (OpenAI chat-completions) stream's shapes: chunk events, the error event, ids.

Translating adapters write their streams with ``ChunkWriter``; the cache replays stored completions with it;
the relay closes a broken stream with ``error_event``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from byokgate.domain.sse import data_of, frame_json


def completion_id() -> str:
    return f"chatcmpl-{secrets.token_urlsafe(21)}"


def now_s() -> int:
    return int(time.time())


def error_event(message: str, kind: str = "api_error", code: str | None = None) -> bytes:
    """An event the OpenAI SDK raises as ``APIError`` (a data chunk carrying ``error``)."""
    return frame_json({"error": {"message": message, "type": kind, "param": None, "code": code}})


def usage_event(usage: dict[str, Any]) -> bytes:
    """A usage chunk with nothing else (as much of one as a stored stream needs)."""
    return frame_json({"choices": [], "usage": usage})


@dataclass(slots=True)
class ChunkWriter:
    """Builds the ``chat.completion.chunk`` events of one stream (one id, one ``created``)."""

    model: str
    include_usage: bool
    id: str = field(default_factory=completion_id)
    created: int = field(default_factory=now_s)

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if self.include_usage:  # as OpenAI does: every chunk says usage null until the usage chunk
            body["usage"] = None
        return frame_json(body)

    def usage_chunk(self, usage: dict[str, Any]) -> bytes:
        body = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": usage,
        }
        return frame_json(body)


def read_chunks(events: list[bytes]) -> Iterator[dict[str, Any] | None]:
    """The chunk objects of canonical stream events (complete ``data:`` events), None for ``[DONE]``;
    comments, keep-alives and anything not a JSON object skipped (what a door re-expressing them reads)."""
    for raw in events:
        payload = data_of(raw.rstrip(b"\n"))
        if payload == b"[DONE]":
            yield None
            continue
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            continue
        if isinstance(chunk, dict):
            yield chunk
