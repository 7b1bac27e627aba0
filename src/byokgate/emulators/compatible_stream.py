"""The chunk sequence of a streamed answer, cut the way a `StreamShape` describes.

Per choice: an optional role chunk, reasoning deltas (when the trace rides in its own field), content or
tool-call deltas, then the finishing chunk; usage arrives on request, with the finishing chunk, in a final
chunk of its own, or (running) on every chunk. The SSE framing and `[DONE]` are the engine's.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from byokgate.emulators import content
from byokgate.emulators.chat import ARGUMENT_FRAGMENTS
from byokgate.emulators.profile import Exchange

if TYPE_CHECKING:
    from byokgate.emulators.compatible import CompatibleProfile

_PADDING = "abcdefghijklmnopqrstuvwxyz"


def _tool_deltas(profile: CompatibleProfile, calls: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    shape = profile.spec.stream
    if shape.tool_calls != "fragments":
        yield {"tool_calls": [profile.tool_call(call, index) for index, call in enumerate(calls)]}
        return
    for index, call in enumerate(calls):
        head: dict[str, Any] = {"index": index, "id": call["id"]}
        if profile.spec.tool_call_type:
            head["type"] = "function"
        yield {"tool_calls": [{**head, "function": {"name": call["function"]["name"], "arguments": ""}}]}
        for piece in content.split_evenly(call["function"]["arguments"], ARGUMENT_FRAGMENTS):
            fragment: dict[str, Any] = {"index": index, "function": {"arguments": piece}}
            if shape.fragment_nulls:
                fragment = {
                    "id": None,
                    "index": index,
                    "type": "function",
                    "function": {"name": None, "arguments": piece},
                }
            yield {"tool_calls": [fragment]}


def _deltas(profile: CompatibleProfile, exchange: Exchange, reasoning: str | None) -> list[dict[str, Any]]:
    """The deltas between the role chunk and the finishing chunk."""
    deltas: list[dict[str, Any]] = []
    field = profile.spec.reasoning.field if profile.spec.reasoning else None
    if reasoning and field:
        deltas += [{field: piece} for piece in content.stream_pieces(reasoning)]
    if exchange.answer.tool_calls:
        deltas += _tool_deltas(profile, profile.calls(exchange))
    else:
        deltas += [{"content": piece} for piece in content.stream_pieces(profile.visible_content(exchange))]
    return deltas


class _Builder:
    """Assembles chunk objects for one exchange, tracking the text sent so far (cumulative streams)."""

    def __init__(self, profile: CompatibleProfile, exchange: Exchange) -> None:
        self.profile = profile
        self.shape = profile.spec.stream
        self.exchange = exchange
        self.sent = ""
        self.streams_usage = self.shape.usage != "on_request" or exchange.include_usage

    def choice(self, index: int, delta: Mapping[str, Any], finish: str | None) -> dict[str, Any]:
        shape = self.shape
        full_delta = {**shape.delta_extras, **delta}
        choice: dict[str, Any] = {"index": index, **shape.choice_extras}
        if shape.cumulative:
            self.sent += str(delta.get("content") or "")
            choice["message"] = {"role": "assistant", "content": self.sent}
        choice["delta"] = full_delta
        if shape.logprobs_null:
            choice["logprobs"] = None
        if finish is not None or shape.finish_null:
            choice["finish_reason"] = finish
        return choice

    def chunk(
        self, choices: list[dict[str, Any]], *, usage: bool = False, closing: bool = False
    ) -> dict[str, Any]:
        """A chunk; `usage` attaches the whole usage, `closing` marks the answer's last chunk (where a
        running usage becomes the final one)."""
        chunk = self.profile.chunk(self.exchange, choices, "middle")
        if usage:
            chunk["usage"] = self.profile.usage_for(self.exchange)
            chunk.update(self.profile.timing_for(self.exchange))
        elif self.shape.usage == "every_chunk":
            so_far = None if closing else content.count_tokens(self.sent)
            chunk["usage"] = self.profile.usage_for(self.exchange, final=closing, completion_tokens=so_far)
        elif self.streams_usage and self.shape.usage_null:
            chunk["usage"] = None
        if self.shape.padding_field and any(choice["delta"].get("content") is not None for choice in choices):
            chunk[self.shape.padding_field] = _PADDING[: random.randint(1, len(_PADDING))]  # noqa: S311
        return chunk


def stream_chunks(profile: CompatibleProfile, exchange: Exchange) -> Iterator[dict[str, Any]]:
    """The chunk objects of a streamed answer, in order."""
    shape = profile.spec.stream
    builder = _Builder(profile, exchange)
    answer = exchange.answer
    reasoning = profile.shown_reasoning(exchange)
    for index in range(answer.n):
        last_choice = index == answer.n - 1
        if shape.first_delta is not None:
            yield builder.chunk([builder.choice(index, shape.first_delta, None)])
        deltas = _deltas(profile, exchange, reasoning)
        merged_finish = bool(answer.tool_calls) and shape.tool_calls == "whole_with_finish"
        for position, delta in enumerate(deltas):
            closing = merged_finish and position == len(deltas) - 1
            finish = answer.finish_reason if closing else None
            with_usage = closing and last_choice and shape.usage == "with_finish"
            choice = builder.choice(index, delta, finish)
            yield builder.chunk([choice], usage=with_usage, closing=closing and last_choice)
        if not merged_finish:
            with_usage = last_choice and shape.usage == "with_finish"
            finish_choice = builder.choice(index, shape.finish_delta, answer.finish_reason)
            yield builder.chunk([finish_choice], usage=with_usage, closing=last_choice)
    if shape.usage == "final_chunk" or (shape.usage == "on_request" and exchange.include_usage):
        yield builder.chunk([], usage=True)
