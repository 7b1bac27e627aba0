"""Responses API answers in the cache: a stored ``response`` replayed as the typed event stream, and a
stream's ``response.completed`` taken as its entry.

An entry is a completed ``response``, as it came (natively) or as the gateway rendered it (translated). A
streamed hit replays it as ``response.created``, ``response.in_progress``, each output item added, its
text or arguments in pieces, done, then ``response.completed``, numbered from 0.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from byokgate.domain.sse import EventSplitter, data_of, frame_json

_PIECE = re.compile(r"\S+\s*|\s+")
_WORDS_PER_DELTA = 4


class _Events:
    def __init__(self) -> None:
        self.out: list[bytes] = []

    def add(self, kind: str, **data: Any) -> None:
        self.out.append(frame_json({"type": kind, **data, "sequence_number": len(self.out)}, kind))


def _pieces(text: str) -> list[str]:
    words = _PIECE.findall(text)
    return ["".join(words[at : at + _WORDS_PER_DELTA]) for at in range(0, len(words), _WORDS_PER_DELTA)]


def replay_response_stream(response: dict[str, Any]) -> list[bytes]:
    """The event stream of a stored ``response``."""
    events = _Events()
    opening = {**response, "status": "in_progress", "output": [], "usage": None}
    opening.pop("completed_at", None)
    events.add("response.created", response=opening)
    events.add("response.in_progress", response=opening)
    for index, item in enumerate(response.get("output") or ()):
        kind = item.get("type")
        if kind == "message":
            _message(events, index, item)
        elif kind == "function_call":
            events.add(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "arguments": ""},
            )
            place = {"item_id": item.get("id"), "output_index": index}
            events.add("response.function_call_arguments.delta", **place, delta=item.get("arguments", ""))
            events.add(
                "response.function_call_arguments.done",
                **place,
                name=item.get("name"),
                arguments=item.get("arguments", ""),
            )
        elif kind == "reasoning":
            _reasoning(events, index, item)
        else:
            events.add("response.output_item.added", output_index=index, item=item)
        events.add("response.output_item.done", output_index=index, item=item)
    ended = "response.completed" if response.get("status") == "completed" else "response.incomplete"
    events.add(ended, response=response)
    return events.out


def _message(events: _Events, index: int, item: dict[str, Any]) -> None:
    events.add(
        "response.output_item.added",
        output_index=index,
        item={**item, "status": "in_progress", "content": []},
    )
    for part_index, part in enumerate(item.get("content") or ()):
        place = {"item_id": item.get("id"), "output_index": index, "content_index": part_index}
        if part.get("type") == "output_text":
            text = str(part.get("text", ""))
            events.add("response.content_part.added", **place, part={**part, "text": ""})
            for piece in _pieces(text):
                events.add("response.output_text.delta", **place, delta=piece, logprobs=[])
            events.add("response.output_text.done", **place, text=text, logprobs=[])
        elif part.get("type") == "refusal":
            refusal = str(part.get("refusal", ""))
            events.add("response.content_part.added", **place, part={**part, "refusal": ""})
            events.add("response.refusal.delta", **place, delta=refusal)
            events.add("response.refusal.done", **place, refusal=refusal)
        else:
            events.add("response.content_part.added", **place, part=part)
        events.add("response.content_part.done", **place, part=part)


def _reasoning(events: _Events, index: int, item: dict[str, Any]) -> None:
    events.add("response.output_item.added", output_index=index, item={**item, "summary": []})
    for summary_index, part in enumerate(item.get("summary") or ()):
        place = {"item_id": item.get("id"), "output_index": index, "summary_index": summary_index}
        text = str(part.get("text", ""))
        events.add("response.reasoning_summary_part.added", **place, part={**part, "text": ""})
        events.add("response.reasoning_summary_text.delta", **place, delta=text)
        events.add("response.reasoning_summary_text.done", **place, text=text)
        events.add("response.reasoning_summary_part.done", **place, part=part)


class ResponseAssembler:
    """The ``response`` a Responses stream ends with (its ``response.completed`` event carries it whole)."""

    def __init__(self) -> None:
        self._events = EventSplitter()
        self._response: dict[str, Any] | None = None

    def feed(self, events: list[bytes]) -> None:
        for chunk in events:
            for event in self._events.feed(chunk):
                data = data_of(event)
                if b'"response.completed"' not in data:
                    continue
                try:
                    parsed = orjson.loads(data)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(parsed, dict) and isinstance(parsed.get("response"), dict):
                    self._response = parsed["response"]

    def entry(self) -> bytes | None:
        response = self._response
        return orjson.dumps(response) if storable_response(response) else None


def storable_response(response: object) -> bool:
    """A completed response (not cut short, not failed), whose function calls' arguments parse."""
    if not isinstance(response, dict) or response.get("status") != "completed":
        return False
    for item in response.get("output") or ():
        if isinstance(item, dict) and item.get("type") == "function_call":
            try:
                orjson.loads(item.get("arguments") or "")
            except orjson.JSONDecodeError:
                return False
    return True
