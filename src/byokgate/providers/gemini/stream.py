"""A Gemini ``streamGenerateContent?alt=sse`` stream, translated chunk by chunk into OpenAI chunk SSE.

Each Gemini chunk holds only new parts: text becomes a content delta, a thought part a
``reasoning_content`` delta, and a function call (which Gemini sends whole) one complete tool-call delta
with a gateway-made id. Gemini has no end marker, so the finish chunk goes out with the chunk carrying
``finishReason`` and the usage chunk (when asked for) and ``[DONE]`` when the upstream body ends
(``finish``); a body that ends before any ``finishReason`` is an interrupted stream. A chunk that is not a
JSON object is dropped and counted (``StreamTally.dropped``).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import orjson

from byokgate.domain.chunks import ChunkWriter, error_event
from byokgate.domain.sse import DONE, EventSplitter, fields
from byokgate.domain.stream import StreamTally
from byokgate.providers.gemini.chat import canonical_usage, finish_reason, new_call_id, parts_of, tool_call


class GeminiChatStream:
    def __init__(self, model: str, *, include_usage: bool, remember: MutableMapping[str, str]) -> None:
        self.tally = StreamTally()
        self._events = EventSplitter()
        self._writer = ChunkWriter(model=model, include_usage=include_usage)
        self._remember = remember
        self._started = False
        self._calls = 0
        self._reason: str | None = None
        self._usage: dict[str, Any] = {}

    def feed(self, chunk: bytes) -> list[bytes]:
        out: list[bytes] = []
        for raw in self._events.feed(chunk):
            _name, data = fields(raw)
            if self.tally.error is not None:
                break
            try:
                response = orjson.loads(data)
            except orjson.JSONDecodeError:
                response = None
            if not isinstance(response, dict):
                self.tally.dropped += 1  # skipped: the rest of the stream may well complete
                continue
            self.tally.events += 1
            out.extend(self._translate(response))
        return out

    def _translate(self, response: dict[str, Any]) -> list[bytes]:
        if isinstance(response.get("error"), dict):
            self.tally.error = response["error"]
            return [error_event(str(response["error"].get("message") or "upstream error"))]
        out: list[bytes] = []
        if not self._started:
            self._started = True
            if isinstance(response.get("modelVersion"), str):
                self._writer.model = response["modelVersion"]
            out.append(self._writer.chunk({"role": "assistant", "content": ""}))
        if isinstance(response.get("usageMetadata"), dict):
            self._usage = response["usageMetadata"]  # cumulative: the last one counts
        parts, reason = parts_of(response)
        for part in parts:
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("functionCall"), dict):
                call_id = new_call_id()
                if isinstance(part.get("thoughtSignature"), str):
                    self._remember[call_id] = part["thoughtSignature"]
                call = {"index": self._calls, **tool_call(part, call_id)}
                self._calls += 1
                out.append(self._writer.chunk({"tool_calls": [call]}))
                self.tally.content = True
            elif isinstance(part.get("text"), str) and part["text"]:
                field = "reasoning_content" if part.get("thought") else "content"
                out.append(self._writer.chunk({field: part["text"]}))
                self.tally.content = True
        if reason is not None and self._reason is None:
            self._reason = finish_reason(reason, self._calls > 0)
            self.tally.finish_reason = self._reason
            self.tally.content = True
            out.append(self._writer.chunk({}, finish_reason=self._reason))
        return out

    def finish(self) -> list[bytes]:
        """The upstream body ended: close the stream if Gemini had finished, else leave it interrupted."""
        if self._reason is None or self.tally.error is not None:
            return []
        usage = canonical_usage(self._usage)
        self.tally.usage = usage
        self.tally.done = True
        out = [self._writer.usage_chunk(usage)] if self._writer.include_usage else []
        return [*out, DONE]
