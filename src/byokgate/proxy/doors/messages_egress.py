"""The Messages front door's answers: a canonical answer as a Message, a canonical stream as its events.

OpenAI ``stop`` -> ``end_turn``, ``length`` -> ``max_tokens``, ``tool_calls`` -> ``tool_use``,
``content_filter`` -> ``refusal``; usage in the format's terms (input tokens without cache reads and writes).
Pure.
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson

from byokgate.domain.chunks import read_chunks
from byokgate.domain.messages_format import STOP_REASONS, event, message_id, messages_usage
from byokgate.domain.stream import EventStream


def to_message(completion: dict[str, Any], model: str) -> dict[str, Any]:
    """An Anthropic ``Message`` for an OpenAI ``chat.completion``."""
    choice = (completion.get("choices") or [{}])[0]
    reply = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    if reply.get("content"):
        content.append({"type": "text", "text": str(reply["content"])})
    for call in reply.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{secrets.token_urlsafe(18)}",
                "name": function.get("name"),
                "input": _arguments(function.get("arguments")),
            }
        )
    return {
        "id": message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": STOP_REASONS.get(str(choice.get("finish_reason")), "end_turn"),
        "stop_sequence": None,
        "usage": messages_usage(completion.get("usage")),
    }


def _arguments(raw: Any) -> dict[str, Any]:
    try:
        parsed = orjson.loads(raw) if isinstance(raw, str) and raw else {}
    except orjson.JSONDecodeError:
        parsed = {}
    return parsed if isinstance(parsed, dict) else {}


class MessageEvents:
    """Turns canonical chunk events (complete ``data:`` events) into Messages stream events."""

    def __init__(self, model: str) -> None:
        self._model = model
        self._started = False
        self._block = -1  # index of the open content block, -1 when none is open
        self._block_kind: str | None = None
        self._tools: dict[int, int] = {}  # OpenAI tool-call index -> Anthropic block index
        self._stop_reason = "end_turn"
        self._usage: dict[str, Any] | None = None
        self.closed = False

    def feed(self, events: list[bytes]) -> list[bytes]:
        out: list[bytes] = []
        for chunk in read_chunks(events):
            if chunk is None:
                out.extend(self.close())
            elif isinstance(chunk.get("error"), dict):
                message = str(chunk["error"].get("message") or "upstream error")
                out.append(event("error", {"error": {"type": "api_error", "message": message}}))
                self.closed = True
            else:
                out.extend(self._chunk(chunk))
        return out

    def _start(self) -> list[bytes]:
        if self._started:
            return []
        self._started = True
        message: dict[str, Any] = {
            "id": message_id(),
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return [event("message_start", {"message": message}), event("ping", {})]

    def _close_block(self) -> list[bytes]:
        if self._block < 0 or self._block_kind is None:
            return []
        self._block_kind = None
        return [event("content_block_stop", {"index": self._block})]

    def _open(self, block: dict[str, Any], kind: str) -> list[bytes]:
        out = self._close_block()
        self._block += 1
        self._block_kind = kind
        return [*out, event("content_block_start", {"index": self._block, "content_block": block})]

    def _chunk(self, chunk: dict[str, Any]) -> list[bytes]:
        out = self._start()
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if isinstance(text, str) and text:
                if self._block_kind != "text":
                    out.extend(self._open({"type": "text", "text": ""}, "text"))
                out.append(
                    event(
                        "content_block_delta",
                        {"index": self._block, "delta": {"type": "text_delta", "text": text}},
                    )
                )
            for call in delta.get("tool_calls") or ():
                index = int(call.get("index", 0))
                function = call.get("function") or {}
                if index not in self._tools:
                    block: dict[str, Any] = {
                        "type": "tool_use",
                        "id": call.get("id") or f"toolu_{secrets.token_urlsafe(18)}",
                        "name": function.get("name"),
                        "input": {},
                    }
                    out.extend(self._open(block, "tool_use"))
                    self._tools[index] = self._block
                fragment = function.get("arguments")
                if isinstance(fragment, str) and fragment:
                    json_delta = {"type": "input_json_delta", "partial_json": fragment}
                    out.append(
                        event("content_block_delta", {"index": self._tools[index], "delta": json_delta})
                    )
            reason = choice.get("finish_reason")
            if reason:
                self._stop_reason = STOP_REASONS.get(str(reason), "end_turn")
        return out

    def close(self) -> list[bytes]:
        if self.closed:
            return []
        self.closed = True
        out = [*self._start(), *self._close_block()]
        usage = messages_usage(self._usage)
        delta = {"stop_reason": self._stop_reason, "stop_sequence": None}
        out.append(event("message_delta", {"delta": delta, "usage": usage}))
        out.append(event("message_stop", {}))
        return out


class MessageStream:
    """Any adapter's canonical ``EventStream`` re-expressed as the format's events."""

    def __init__(self, inner: EventStream, model: str) -> None:
        self._inner = inner
        self._events = MessageEvents(model)
        self.tally = inner.tally  # the same object: usage, finish and errors as the inner stream saw them

    def feed(self, chunk: bytes) -> list[bytes]:
        return self._events.feed(self._inner.feed(chunk))

    def finish(self) -> list[bytes]:
        return self._events.feed(self._inner.finish())
