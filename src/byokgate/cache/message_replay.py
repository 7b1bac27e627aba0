"""Anthropic Messages between the two answer modes: a stored message replayed as events, a stream assembled.

A cache entry for ``/v1/messages`` is always a non-streamed ``message`` body. A streamed miss is assembled
into one from the events relayed to the client (``MessageAssembler``) and stored only when the stream ended
with ``message_stop``, carried no ``error`` and every tool input parses as a JSON object; a streamed hit
replays the entry as the real API streams it (``replay_message_stream``): ``message_start`` with empty
content, per block ``content_block_start`` / deltas / ``content_block_stop``, ``message_delta`` with the stop
reason and the cumulative usage, ``message_stop``. Events are framed as the gateway frames Anthropic events
(``event: NAME\\ndata: JSON\\n\\n``, one event per item). No ``ping`` is replayed: it carries nothing.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import orjson

from byokgate.domain import messages_format
from byokgate.domain.sse import EventSplitter, fields

_PIECE = re.compile(r"\S+\s*|\s+")
_WORDS_PER_DELTA = 4
_JSON_CHARS_PER_DELTA = 32
# Blocks whose ``input`` is streamed as ``input_json_delta`` fragments (the SDK's ``TRACKS_TOOL_INPUT``).
_TOOL_BLOCKS = frozenset({"tool_use", "server_tool_use"})
# Usage counts a ``message_delta`` may carry (cumulative), and the ones the SDK's accumulator copies from it.
_DELTA_USAGE = (
    "input_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "server_tool_use",
    "output_tokens_details",
)
# Usage fields that describe the output, so they are known only at the end: left out of ``message_start``.
_OUTPUT_USAGE = frozenset({"output_tokens", "output_tokens_details", "server_tool_use"})


def _words(text: str) -> list[str]:
    pieces = _PIECE.findall(text)
    return ["".join(pieces[at : at + _WORDS_PER_DELTA]) for at in range(0, len(pieces), _WORDS_PER_DELTA)]


def replay_message_stream(message: dict[str, Any]) -> list[bytes]:
    """The Anthropic event stream that adds up to ``message``, one SSE event per item.

    ``message_start`` carries the message without its answer (empty content, null stop reason) and the usage
    known up front (input and cache counts, ``output_tokens`` at most 1, as the API reports it then);
    ``message_delta`` carries the stop reason and the final, cumulative counts. Text and thinking are sent a
    few words per delta, a tool input as its JSON in fragments, a thinking block's signature in one
    ``signature_delta``; blocks with nothing to stream (``redacted_thinking``, server tool results) are
    sent whole in their ``content_block_start``.
    """
    usage: dict[str, Any] = message["usage"] if isinstance(message.get("usage"), dict) else {}
    output_tokens = usage.get("output_tokens")
    output_tokens = output_tokens if isinstance(output_tokens, int) else 0
    start_usage = {key: value for key, value in usage.items() if key not in _OUTPUT_USAGE}
    start_usage.setdefault("input_tokens", 0)
    start_usage["output_tokens"] = min(output_tokens, 1)
    start = {key: value for key, value in message.items() if key not in ("content", "usage")}
    start.update(content=[], stop_reason=None, stop_sequence=None, usage=start_usage)
    if "stop_details" in message:
        start["stop_details"] = None
    events = [messages_format.event("message_start", {"message": start})]
    blocks = [block for block in message.get("content") or () if isinstance(block, dict)]
    for index, block in enumerate(blocks):
        events.extend(_block_events(index, block))
    delta: dict[str, Any] = {
        "stop_reason": message.get("stop_reason"),
        "stop_sequence": message.get("stop_sequence"),
    }
    if "stop_details" in message:
        delta["stop_details"] = message["stop_details"]
    if message.get("container") is not None:
        delta["container"] = message["container"]
    end_usage = {key: usage[key] for key in _DELTA_USAGE if usage.get(key) is not None}
    end_usage["output_tokens"] = output_tokens
    events.append(messages_format.event("message_delta", {"delta": delta, "usage": end_usage}))
    events.append(messages_format.event("message_stop", {}))
    return events


def _block_events(index: int, block: dict[str, Any]) -> list[bytes]:
    kind = block.get("type")
    deltas: list[dict[str, Any]] = []
    if kind == "text":
        text = block["text"] if isinstance(block.get("text"), str) else ""
        opening = {**block, "text": ""}
        deltas.extend({"type": "text_delta", "text": piece} for piece in _words(text))
        if isinstance(block.get("citations"), list):
            opening["citations"] = []
            deltas.extend({"type": "citations_delta", "citation": cited} for cited in block["citations"])
    elif kind == "thinking":
        thinking = block["thinking"] if isinstance(block.get("thinking"), str) else ""
        opening = {**block, "thinking": "", "signature": ""}
        deltas.extend({"type": "thinking_delta", "thinking": piece} for piece in _words(thinking))
        if block.get("signature"):
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind in _TOOL_BLOCKS:
        arguments = orjson.dumps(block.get("input") or {}).decode()
        opening = {**block, "input": {}}
        deltas.extend(
            {"type": "input_json_delta", "partial_json": arguments[at : at + _JSON_CHARS_PER_DELTA]}
            for at in range(0, len(arguments), _JSON_CHARS_PER_DELTA)
        )
    else:
        opening = block  # redacted thinking, server tool results: nothing to stream, sent whole
    return [
        messages_format.event("content_block_start", {"index": index, "content_block": opening}),
        *(messages_format.event("content_block_delta", {"index": index, "delta": delta}) for delta in deltas),
        messages_format.event("content_block_stop", {"index": index}),
    ]


class MessageAssembler:
    """Watches the Anthropic events a client is sent and rebuilds the ``message`` they add up to.

    Items may hold one event, several, or part of one (a partial event waits for the rest). The usage is
    merged as the SDK's accumulator merges it: ``message_start``'s counts, overwritten by those
    ``message_delta`` reports. Anything that leaves the result in doubt (an ``error`` event, a line that
    does not parse, a delta for a block that was never opened or of the wrong kind, an event after
    ``message_stop``) means the stream is not stored; unknown event types are ignored, as the API asks.
    """

    def __init__(self) -> None:
        self._events = EventSplitter()
        self._start: dict[str, Any] | None = None
        self._blocks: dict[int, dict[str, Any]] = {}
        self._pieces: dict[int, list[str]] = {}  # text, thinking, or tool-input JSON, by block index
        self._delta: dict[str, Any] = {}
        self._usage: dict[str, Any] = {}
        self._done = False
        self._broken = False

    def feed(self, events: list[bytes]) -> None:
        for item in events:
            for raw in self._events.feed(item):
                if not self._broken:
                    self._read(raw)

    def _read(self, raw: bytes) -> None:
        name, data = fields(raw)
        if name == "ping":
            return
        if name == "error":
            self._broken = True
            return
        if not data:
            return  # no data: nothing to dispatch (the SDK skips such events too)
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            event = None
        kind = event.get("type") if isinstance(event, dict) else None
        if not isinstance(event, dict) or not isinstance(kind, str) or (name is not None and name != kind):
            self._broken = True
            return
        self._take(kind, event)

    def _take(self, kind: str, event: dict[str, Any]) -> None:
        if kind == "ping":
            return
        if kind == "error" or self._done:
            self._broken = True  # an error, or anything after the end: not something to replay
        elif kind == "message_start":
            message = event.get("message")
            if self._start is not None or not isinstance(message, dict):
                self._broken = True
                return
            self._start = message
            usage = message.get("usage")
            self._usage = dict(usage) if isinstance(usage, dict) else {}
        elif self._start is None:
            self._broken = True  # the stream did not begin with message_start
        elif kind == "message_stop":
            self._done = True
        elif kind == "message_delta":
            self._message_delta(event)
        elif kind in ("content_block_start", "content_block_delta", "content_block_stop"):
            index = event.get("index")
            if not isinstance(index, int) or isinstance(index, bool):
                self._broken = True
            elif kind == "content_block_start":
                self._open(index, event.get("content_block"))
            elif kind == "content_block_delta":
                self._block_delta(index, event.get("delta"))
            elif index not in self._blocks:
                self._broken = True  # content_block_stop for a block never opened
        # event types added later are ignored, as the API asks of clients

    def _open(self, index: int, block: Any) -> None:
        if index in self._blocks or not isinstance(block, dict) or not isinstance(block.get("type"), str):
            self._broken = True
            return
        self._blocks[index] = dict(block)
        if block["type"] == "text":
            self._pieces[index] = [str(block.get("text") or "")]
        elif block["type"] == "thinking":
            self._pieces[index] = [str(block.get("thinking") or "")]
        elif block["type"] in _TOOL_BLOCKS:
            self._pieces[index] = []

    def _block_delta(self, index: int, delta: Any) -> None:
        block = self._blocks.get(index)
        if block is None or not isinstance(delta, dict):
            self._broken = True
            return
        kind, block_kind = delta.get("type"), block["type"]
        if kind == "text_delta" and block_kind == "text" and isinstance(delta.get("text"), str):
            self._pieces[index].append(delta["text"])
        elif kind == "thinking_delta" and block_kind == "thinking" and isinstance(delta.get("thinking"), str):
            self._pieces[index].append(delta["thinking"])
        elif (
            kind == "signature_delta" and block_kind == "thinking" and isinstance(delta.get("signature"), str)
        ):
            block["signature"] = delta["signature"]
        elif (
            kind == "input_json_delta"
            and block_kind in _TOOL_BLOCKS
            and isinstance(delta.get("partial_json"), str)
        ):
            self._pieces[index].append(delta["partial_json"])
        elif kind == "citations_delta" and block_kind == "text" and isinstance(delta.get("citation"), dict):
            citations = block.get("citations")
            block["citations"] = [*(citations if isinstance(citations, list) else ()), delta["citation"]]
        else:
            self._broken = True  # a delta of a kind we cannot fold in: the rebuilt message would be wrong

    def _message_delta(self, event: dict[str, Any]) -> None:
        delta, usage = event.get("delta"), event.get("usage")
        if not isinstance(delta, dict) or not isinstance(usage, dict) or "output_tokens" not in usage:
            self._broken = True  # the SDK would refuse it too: output_tokens is required there
            return
        self._delta = delta
        self._usage["output_tokens"] = usage["output_tokens"]
        for key in _DELTA_USAGE:
            if usage.get(key) is not None:
                self._usage[key] = usage[key]

    def message(self) -> dict[str, Any] | None:
        """The assembled ``message``, or None when the stream must not be stored."""
        if not self._done or self._broken or self._start is None or self._events.rest.strip():
            return None
        if not self._delta.get("stop_reason"):
            return None
        content: list[dict[str, Any]] = []
        for index in sorted(self._blocks):
            block = dict(self._blocks[index])
            pieces = self._pieces.get(index)
            if block["type"] == "text" and pieces is not None:
                block["text"] = "".join(pieces)
            elif block["type"] == "thinking" and pieces is not None:
                block["thinking"] = "".join(pieces)
            elif block["type"] in _TOOL_BLOCKS and pieces is not None:
                try:
                    block["input"] = orjson.loads("".join(pieces) or "{}")
                except orjson.JSONDecodeError:
                    return None  # unparseable tool input is never stored
                if not isinstance(block["input"], dict):
                    return None
            content.append(block)
        message = {key: value for key, value in self._start.items() if key not in ("content", "usage")}
        message.update(
            content=content,
            stop_reason=self._delta["stop_reason"],
            stop_sequence=self._delta.get("stop_sequence"),
            usage=self._usage,
        )
        if "stop_details" in self._delta or "stop_details" in self._start:
            message["stop_details"] = self._delta.get("stop_details")
        if self._delta.get("container") is not None:
            message["container"] = self._delta["container"]
        return copy.deepcopy(message)

    def entry(self) -> bytes | None:
        """The message as the entry to store, or None."""
        message = self.message()
        return None if message is None else orjson.dumps(message)


def storable_message(message: object) -> bool:
    """Whether a non-streamed ``/v1/messages`` answer (parsed) may be stored: a finished message, tool
    inputs objects.

    A message without a stop reason is unfinished; a tool input that is not an object cannot be replayed as
    the ``input_json_delta`` fragments of one (nor would the SDK accept it).
    """
    if not isinstance(message, dict) or message.get("type") != "message":
        return False
    if not isinstance(message.get("stop_reason"), str) or not message["stop_reason"]:
        return False
    content = message.get("content")
    if not isinstance(content, list):
        return False
    for block in content:
        if not isinstance(block, dict):
            return False
        if block.get("type") in _TOOL_BLOCKS and not isinstance(block.get("input"), dict):
            return False
    return True
