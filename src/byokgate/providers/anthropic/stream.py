"""An Anthropic Messages event stream, translated event by event into OpenAI ``chat.completion.chunk`` SSE.

Nothing is held back: each Anthropic event that carries something for the client becomes one chunk as soon
as it is parsed. ``message_start`` gives the role chunk; text, thinking (as ``reasoning_content``) and tool
input deltas become content / tool-call deltas, tool calls numbered 0, 1, ... in the order their blocks
open (not Anthropic's block index); ``message_delta`` gives the finish reason; ``message_stop`` the usage
chunk (when the client asked for it) and ``[DONE]``; an ``error`` event becomes an error the SDK raises. An
event whose data is not a JSON object is dropped and counted (``StreamTally.dropped``).
"""

from __future__ import annotations

from typing import Any

import orjson

from byokgate.domain.chunks import ChunkWriter, error_event
from byokgate.domain.messages_format import FINISH_REASONS, canonical_usage
from byokgate.domain.sse import DONE, EventSplitter, fields
from byokgate.domain.stream import StreamTally
from byokgate.providers.event_relay import EventRelay

# Events that come before anything for the client (a stream that fails after only these can be retried).
_PREAMBLE = frozenset({"message_start", "ping", "error"})


class AnthropicChatStream:
    def __init__(self, model: str, *, include_usage: bool) -> None:
        self.tally = StreamTally()
        self._events = EventSplitter()
        self._writer = ChunkWriter(model=model, include_usage=include_usage)
        self._usage: dict[str, Any] = {}
        self._tool_index: dict[int, int] = {}  # Anthropic block index -> OpenAI tool-call index
        self._finish: str | None = None

    def finish(self) -> list[bytes]:
        return []  # the stream's own end marker closed it (or it is interrupted)

    def feed(self, chunk: bytes) -> list[bytes]:
        out: list[bytes] = []
        for raw in self._events.feed(chunk):
            name, data = fields(raw)
            if self.tally.error is not None or self.tally.done:
                break
            try:
                event = orjson.loads(data) if data else {}
            except orjson.JSONDecodeError:
                event = None
            if not isinstance(event, dict):
                self.tally.dropped += 1  # skipped: the rest of the stream may well complete
                continue
            self.tally.events += 1
            translated = self._translate(str(event.get("type") or name or ""), event)
            if translated is not None:
                out.append(translated)
                if not self.tally.content and str(event.get("type")) not in _PREAMBLE:
                    self.tally.content = True
            if self.tally.done:
                out.append(DONE)
        return out

    def _translate(self, kind: str, event: dict[str, Any]) -> bytes | None:
        if kind == "message_start":
            message = event.get("message") or {}
            self._usage.update(message.get("usage") or {})
            if isinstance(message.get("model"), str):
                self._writer.model = message["model"]
            return self._writer.chunk({"role": "assistant", "content": ""})
        if kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") != "tool_use":
                return None
            index = self._tool_index.setdefault(int(event.get("index", 0)), len(self._tool_index))
            call = {
                "index": index,
                "id": block.get("id"),
                "type": "function",
                "function": {"name": block.get("name"), "arguments": ""},
            }
            return self._writer.chunk({"tool_calls": [call]})
        if kind == "content_block_delta":
            return self._delta(event)
        if kind == "message_delta":
            self._usage.update(event.get("usage") or {})
            reason = (event.get("delta") or {}).get("stop_reason")
            self._finish = FINISH_REASONS.get(str(reason), "stop")
            self.tally.finish_reason = self._finish
            return self._writer.chunk({}, finish_reason=self._finish)
        if kind == "message_stop":
            usage = canonical_usage(self._usage)
            self.tally.usage = usage
            self.tally.done = True
            return self._writer.usage_chunk(usage) if self._writer.include_usage else None
        if kind == "error":
            error = event.get("error") or {}
            self.tally.error = error if isinstance(error, dict) else {"message": str(error)}
            message = str(self.tally.error.get("message") or "upstream error")
            kind_name = str(self.tally.error.get("type") or "api_error")
            return error_event(
                message,
                kind="server_error" if kind_name == "overloaded_error" else "api_error",
                code=kind_name,
            )
        return None  # ping, content_block_stop, and event types added later

    def _delta(self, event: dict[str, Any]) -> bytes | None:
        delta = event.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            return self._writer.chunk({"content": delta.get("text", "")})
        if kind == "thinking_delta":
            return self._writer.chunk({"reasoning_content": delta.get("thinking", "")})
        if kind == "input_json_delta":
            index = self._tool_index.get(int(event.get("index", 0)))
            if index is None:
                return None
            fragment = delta.get("partial_json", "")
            if not fragment:
                return None
            return self._writer.chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
        return None  # signature and citation deltas have no OpenAI counterpart


class AnthropicRelay(EventRelay):
    """Native Anthropic streams for ``/v1/messages``: events forwarded byte for byte, usage noted on the way.

    Each event is forwarded as the provider framed it; its ``data`` is still parsed, so the request record
    gets the usage (in OpenAI's terms) and the stop reason, and an ``error`` event ends the stream.
    """

    def __init__(self) -> None:
        super().__init__()
        self._usage: dict[str, Any] = {}

    def _note(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if not self.tally.content and kind not in _PREAMBLE and kind != "error":
            self.tally.content = True
        if kind == "message_start":
            self._usage.update((event.get("message") or {}).get("usage") or {})
        elif kind == "message_delta":
            self._usage.update(event.get("usage") or {})
            reason = (event.get("delta") or {}).get("stop_reason")
            self.tally.finish_reason = FINISH_REASONS.get(str(reason), "stop")
        elif kind == "message_stop":
            self.tally.usage = canonical_usage(self._usage)
            self.tally.done = True
        elif kind == "error":
            error = event.get("error")
            self.tally.error = error if isinstance(error, dict) else {"message": str(error)}
