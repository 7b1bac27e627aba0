"""The transcript a continuation is prefilled with: the text of choice 0, and whether a prefill can carry
it on (plain text only)."""

from __future__ import annotations

from typing import Any

import pytest

from byokgate.domain.sse import DONE, frame_json
from byokgate.proxy.continuation import ChunkTranscript


def chunk(delta: dict[str, Any], index: int = 0) -> bytes:
    return frame_json({"object": "chat.completion.chunk", "choices": [{"index": index, "delta": delta}]})


def test_the_text_of_choice_zero_is_written_down() -> None:
    transcript = ChunkTranscript()
    transcript.add([chunk({"role": "assistant", "content": ""}), chunk({"content": "Hello"})])
    transcript.add([chunk({"content": ", world"}), b": keep-alive\n\n", DONE])
    assert transcript.text == "Hello, world"
    assert transcript.continuable


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (
            chunk({"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f", "arguments": ""}}]}),
            "tool",
        ),
        (chunk({"refusal": "I can't."}), "refusal"),
        (chunk({"content": "Other"}, index=1), "second choice"),
    ],
)
def test_anything_but_plain_text_cannot_be_carried_on(event: bytes, why: str) -> None:
    transcript = ChunkTranscript()
    transcript.add([chunk({"content": "Some text"}), event, chunk({"content": " more"})])
    assert not transcript.continuable, why


def test_nothing_but_whitespace_is_nothing_to_carry_on() -> None:
    transcript = ChunkTranscript()
    transcript.add([chunk({"role": "assistant", "content": ""}), chunk({"content": "  "})])
    assert not transcript.continuable
