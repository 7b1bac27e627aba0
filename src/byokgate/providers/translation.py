"""What every translating adapter shares: the stream contract, its tally, request errors, OpenAI chunk shapes.

A translating provider (Anthropic, Gemini) turns an OpenAI chat-completions body into its own request, its
answer back into an OpenAI ``chat.completion``, and its stream into OpenAI ``chat.completion.chunk`` SSE
events. The pass-through relay for OpenAI-format providers (``proxy/relay.py``) honours the same
``ChatStream`` contract, so the data plane relays every provider the same way.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

# A base64 ``data:`` URL, the only way images and files travel inline in OpenAI-format content parts.
DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)$", re.DOTALL)


class TranslationError(Exception):
    """The request cannot be expressed for this provider: the client gets a 400 naming the parameter."""

    def __init__(
        self, message: str, *, param: str | None = None, code: str = "unsupported_parameter"
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


class UpstreamFormatError(Exception):
    """A provider's successful answer that cannot be read (not JSON, wrong shape): a 502 for the client."""


@dataclass(slots=True)
class StreamTally:
    """What a relayed or translated stream learned: usage, finish reason, clean end, or an error."""

    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    done: bool = False
    error: dict[str, Any] | None = None
    events: int = 0
    # The usage chunk the gateway asked upstream for but the client did not (an OpenAI-format relay drops
    # it and keeps its event here: a streamed cache miss stores it with the answer).
    withheld: bytes = b""


class ChatStream(Protocol):
    """Feed raw upstream bytes as they arrive; get back complete OpenAI SSE events to send on."""

    tally: StreamTally

    def feed(self, chunk: bytes) -> list[bytes]: ...

    def finish(self) -> list[bytes]:
        """The upstream body ended: any closing events (for formats without an end marker of their own)."""
        ...


def text_parts(content: Any, where: str) -> list[str]:
    """The non-empty texts of an OpenAI message ``content`` that may only hold text (or refusal) parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [content] if content else []
    if not isinstance(content, list):
        raise TranslationError(f"{where}: content must be a string or an array of parts", param=where)
    texts = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        text = part.get("text" if kind == "text" else "refusal") if kind in ("text", "refusal") else None
        if not isinstance(text, str):
            raise TranslationError(f"{where}: only text parts are allowed here", param=where)
        if text:
            texts.append(text)
    return texts


def error_event(message: str, kind: str = "api_error", code: str | None = None) -> bytes:
    """An SSE event the OpenAI SDK raises as ``APIError`` (a data chunk carrying ``error``)."""
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return b"data: " + orjson.dumps(body) + b"\n\n"


DONE_EVENT = b"data: [DONE]\n\n"


def completion_id() -> str:
    return f"chatcmpl-{secrets.token_urlsafe(21)}"


def now_s() -> int:
    return int(time.time())


@dataclass(slots=True)
class ChunkWriter:
    """Builds the ``chat.completion.chunk`` events of one translated stream (one id, one ``created``)."""

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
        return b"data: " + orjson.dumps(body) + b"\n\n"

    def usage_chunk(self, usage: dict[str, Any]) -> bytes:
        body = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": usage,
        }
        return b"data: " + orjson.dumps(body) + b"\n\n"


class RawEvents:
    """Splits a byte stream into complete server-sent events, as raw bytes (no trailing blank line)."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self._buffer + chunk
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        events = data.split(b"\n\n")
        self._buffer = events.pop()
        return [event for event in events if event]


class SSEEvents:
    """Splits a byte stream into server-sent events: (event name or None, joined data) per event."""

    __slots__ = ("_raw",)

    def __init__(self) -> None:
        self._raw = RawEvents()

    def feed(self, chunk: bytes) -> list[tuple[str | None, bytes]]:
        events: list[tuple[str | None, bytes]] = []
        for raw in self._raw.feed(chunk):
            name: str | None = None
            payload: list[bytes] = []
            for line in raw.split(b"\n"):
                if line.startswith(b"data:"):
                    payload.append(line[5:].lstrip(b" "))
                elif line.startswith(b"event:"):
                    name = line[6:].strip().decode("utf-8", "replace")
            if name is not None or payload:
                events.append((name, b"\n".join(payload)))
        return events
