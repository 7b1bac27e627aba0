"""Between the two answer modes: a stored completion replayed as a chunk stream, a stream assembled into one.

A cache entry is always a ``chat.completion`` body. A streamed miss is assembled into one (content, tool
calls, finish reason, usage) as it is relayed and stored only when the stream ended cleanly and every tool
call's arguments parse as JSON; a streamed hit replays the entry as a proper stream: role chunk, content
deltas, tool calls, the finish chunk, the usage chunk when asked for, ``[DONE]``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from byokgate.domain.chunks import ChunkWriter
from byokgate.domain.sse import DONE, EventSplitter, data_of

_PIECE = re.compile(r"\S+\s*|\s+")
_WORDS_PER_CHUNK = 4


def replay_stream(completion: dict[str, Any], *, include_usage: bool) -> list[bytes]:
    """The stream of a stored completion, with its own id and creation time (like the answer it replays)."""
    writer = ChunkWriter(model=str(completion.get("model") or ""), include_usage=include_usage)
    if isinstance(completion.get("id"), str):
        writer.id = completion["id"]
    if isinstance(completion.get("created"), int):
        writer.created = completion["created"]
    choice = (completion.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    events = [writer.chunk({"role": "assistant", "content": ""})]
    if isinstance(message.get("reasoning_content"), str) and message["reasoning_content"]:
        events.append(writer.chunk({"reasoning_content": message["reasoning_content"]}))
    content = message.get("content")
    if isinstance(content, str) and content:
        pieces = _PIECE.findall(content)
        for start in range(0, len(pieces), _WORDS_PER_CHUNK):
            events.append(writer.chunk({"content": "".join(pieces[start : start + _WORDS_PER_CHUNK])}))
    for index, call in enumerate(message.get("tool_calls") or ()):
        delta = {"index": index, "id": call.get("id"), "type": "function", "function": call.get("function")}
        events.append(writer.chunk({"tool_calls": [delta]}))
    events.append(writer.chunk({}, finish_reason=choice.get("finish_reason") or "stop"))
    if include_usage and isinstance(completion.get("usage"), dict):
        events.append(writer.usage_chunk(completion["usage"]))
    events.append(DONE)
    return events


class StreamAssembler:
    """Rebuilds the completion that OpenAI chunk events add up to (the events a client was sent: whole
    events, several at once, or pieces of one)."""

    def __init__(self) -> None:
        self._events = EventSplitter()
        self._id: str | None = None
        self._model: str | None = None
        self._created: int | None = None
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}
        self._finish: str | None = None
        self._usage: dict[str, Any] | None = None
        self._done = False
        self._broken = False

    def feed(self, events: list[bytes]) -> None:
        for item in events:
            for event in self._events.feed(item):
                self._read(event)

    def _read(self, event: bytes) -> None:
        payload = data_of(event)
        if not payload:
            return  # comments, keep-alives
        if payload == b"[DONE]":
            self._done = True
            return
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            self._broken = True
            return
        if not isinstance(chunk, dict):
            self._broken = True
            return
        self.take(chunk)

    def take(self, chunk: dict[str, Any]) -> None:
        """One parsed chunk object."""
        choices = chunk.get("choices") or ()
        if "error" in chunk or len(choices) > 1 or any(choice.get("index", 0) != 0 for choice in choices):
            self._broken = True  # an error, or n > 1 (one choice per chunk, or several): not to replay
            return
        self._id = self._id or chunk.get("id")
        self._model = self._model or chunk.get("model")
        self._created = self._created or chunk.get("created")
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        for choice in choices:
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                self._content.append(delta["content"])
            if isinstance(delta.get("reasoning_content"), str):
                self._reasoning.append(delta["reasoning_content"])
            for call in delta.get("tool_calls") or ():
                entry = self._calls.setdefault(
                    int(call.get("index", 0)), {"id": None, "type": "function", "name": "", "arguments": ""}
                )
                entry["id"] = call.get("id") or entry["id"]
                function = call.get("function") or {}
                entry["name"] += function.get("name") or ""
                entry["arguments"] += function.get("arguments") or ""
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]

    def completion(self) -> dict[str, Any] | None:
        """The assembled ``chat.completion``, or None when the stream must not be stored."""
        if not self._done or self._broken or self._finish is None or self._events.rest.strip():
            return None
        calls = []
        for index in sorted(self._calls):
            call = self._calls[index]
            try:
                orjson.loads(call["arguments"] or "{}")
            except orjson.JSONDecodeError:
                return None  # unparseable tool arguments are never stored
            calls.append(
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["name"], "arguments": call["arguments"]},
                }
            )
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self._content) if self._content or not calls else None,
            "refusal": None,
            "annotations": [],
        }
        if calls:
            message["tool_calls"] = calls
        if self._reasoning:
            message["reasoning_content"] = "".join(self._reasoning)
        completion: dict[str, Any] = {
            "id": self._id,
            "object": "chat.completion",
            "created": self._created,
            "model": self._model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": self._finish}],
        }
        if self._usage is not None:
            completion["usage"] = self._usage
        return completion

    def entry(self) -> bytes | None:
        """The completion as the entry to store. Without ``usage.cost``: the gateway adds it to the usage
        chunk it sends, and a stored answer must not carry the cost of the request that made it."""
        completion = self.completion()
        if completion is None:
            return None
        usage = completion.get("usage")
        if isinstance(usage, dict) and "cost" in usage:
            completion["usage"] = {name: value for name, value in usage.items() if name != "cost"}
        return orjson.dumps(completion)


def storable(completion: object) -> bool:
    """Whether a non-streamed answer (parsed) may be stored: one choice, and tool arguments that parse."""
    choices = completion.get("choices") if isinstance(completion, dict) else None
    if not isinstance(choices, list) or len(choices) != 1:
        return False
    for call in (choices[0].get("message") or {}).get("tool_calls") or ():
        try:
            orjson.loads((call.get("function") or {}).get("arguments") or "{}")
        except orjson.JSONDecodeError:
            return False
    return True
