"""The events of a streamed Responses API answer, in the real API's order, from the finished response.

The engine frames each as `event: <type>` + `data: <json>` and ends the stream without `[DONE]` (the
Responses API just closes it). Every event carries a `sequence_number` counting from 0. The order:

- `response.created`, `response.in_progress` (the response with `status: in_progress`, no output, no usage);
- per output item, at `output_index`:
  - reasoning: `response.output_item.added`, then per summary part `response.reasoning_summary_part.added`,
    `response.reasoning_summary_text.delta`..., `response.reasoning_summary_text.done`,
    `response.reasoning_summary_part.done`; then `response.output_item.done`;
  - message: `response.output_item.added` (`status: in_progress`, no content),
    `response.content_part.added` (empty `output_text`), `response.output_text.delta`... (a few words each,
    `logprobs: []`), `response.output_text.done`, `response.content_part.done`, `response.output_item.done`;
  - function call: `response.output_item.added` (`arguments: ""`), `response.function_call_arguments.delta`
    (3 fragments), `response.function_call_arguments.done`, `response.output_item.done`;
- `response.completed`, or `response.incomplete` when `max_output_tokens` cut the answer short.

Delta events carry a random `obfuscation` string unless `stream_options.include_obfuscation` is false.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from byokgate.emulators import content
from byokgate.emulators.chat import ARGUMENT_FRAGMENTS
from byokgate.emulators.profile import random_alnum

# Events sent before any content: `slow_first_token` waits after them.
OPENING = frozenset(
    {
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.reasoning_summary_part.added",
    }
)


def is_opening(event: Any) -> bool:
    return isinstance(event, dict) and event.get("type") in OPENING


class _Events:
    """Numbers the events of one stream."""

    def __init__(self, obfuscate: bool) -> None:
        self._numbers = itertools.count()
        self.obfuscate = obfuscate

    def event(self, kind: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "sequence_number": next(self._numbers), **fields}

    def delta(self, kind: str, delta: str, **fields: Any) -> dict[str, Any]:
        event = self.event(kind, **fields, delta=delta)
        if kind == "response.output_text.delta":
            event["logprobs"] = []
        if self.obfuscate:  # random padding so event sizes do not reveal token lengths (length rule ours)
            event["obfuscation"] = random_alnum(1 + (15 - len(delta)) % 16)
        return event


def _reasoning(events: _Events, item: dict[str, Any], index: int) -> Iterator[dict[str, Any]]:
    added = {key: value for key, value in item.items() if key != "status"}
    yield events.event("response.output_item.added", output_index=index, item={**added, "summary": []})
    where = {"item_id": item["id"], "output_index": index}
    for summary_index, part in enumerate(item["summary"]):
        at = {**where, "summary_index": summary_index}
        empty = {"type": "summary_text", "text": ""}
        yield events.event("response.reasoning_summary_part.added", **at, part=empty)
        for piece in content.stream_pieces(part["text"]):
            yield events.delta("response.reasoning_summary_text.delta", piece, **at)
        yield events.event("response.reasoning_summary_text.done", **at, text=part["text"])
        yield events.event("response.reasoning_summary_part.done", **at, part=part)
    yield events.event("response.output_item.done", output_index=index, item=item)


def _message(events: _Events, item: dict[str, Any], index: int) -> Iterator[dict[str, Any]]:
    added = {**item, "status": "in_progress", "content": []}
    yield events.event("response.output_item.added", output_index=index, item=added)
    for content_index, part in enumerate(item["content"]):
        at = {"item_id": item["id"], "output_index": index, "content_index": content_index}
        if part["type"] != "output_text":
            yield events.event("response.content_part.added", **at, part=part)
            yield events.event("response.content_part.done", **at, part=part)
            continue
        empty = {**part, "text": ""}
        yield events.event("response.content_part.added", **at, part=empty)
        for piece in content.stream_pieces(part["text"]):
            yield events.delta("response.output_text.delta", piece, **at)
        yield events.event("response.output_text.done", **at, text=part["text"], logprobs=[])
        yield events.event("response.content_part.done", **at, part=part)
    yield events.event("response.output_item.done", output_index=index, item=item)


def _function_call(events: _Events, item: dict[str, Any], index: int) -> Iterator[dict[str, Any]]:
    added = {**item, "status": "in_progress", "arguments": ""}
    yield events.event("response.output_item.added", output_index=index, item=added)
    where = {"item_id": item["id"], "output_index": index}
    for fragment in content.split_evenly(item["arguments"], ARGUMENT_FRAGMENTS):
        yield events.delta("response.function_call_arguments.delta", fragment, **where)
    yield events.event("response.function_call_arguments.done", **where, arguments=item["arguments"])
    yield events.event("response.output_item.done", output_index=index, item=item)


def stream_events(response: dict[str, Any], *, obfuscate: bool = True) -> Iterator[dict[str, Any]]:
    """The events of `response` (a finished response object) streamed, in order."""
    events = _Events(obfuscate)
    shell = {
        **response,
        "status": "in_progress",
        "completed_at": None,
        "incomplete_details": None,
        "output": [],
        "usage": None,
    }
    yield events.event("response.created", response=shell)
    yield events.event("response.in_progress", response=shell)
    for index, item in enumerate(response["output"]):
        if item["type"] == "reasoning":
            yield from _reasoning(events, item, index)
        elif item["type"] == "message":
            yield from _message(events, item, index)
        elif item["type"] == "function_call":
            yield from _function_call(events, item, index)
        else:
            yield events.event("response.output_item.added", output_index=index, item=item)
            yield events.event("response.output_item.done", output_index=index, item=item)
    final = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
    yield events.event(final, response=response)


def replay(response: dict[str, Any], starting_after: int | None) -> Iterator[dict[str, Any]]:
    """A stored response streamed again (`GET /v1/responses/{id}?stream=true`), from the event after
    `starting_after`."""
    for event in stream_events(response):
        if starting_after is None or event["sequence_number"] > starting_after:
            yield event
