"""The deterministic content rules (pure functions)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from byokgate.emulators import content


def test_reply_is_stable_and_echoes_the_question() -> None:
    first = content.reply_text("Hello there!")
    assert first == content.reply_text("Hello there!")
    assert first.startswith("Echo: Hello there. ")
    assert first.endswith(".")
    other = content.reply_text("Hello there?")
    assert other.startswith("Echo: Hello there. ")
    assert other != first  # the words after the echo follow the hash of the whole text


def test_reply_for_uses_the_last_user_message() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}]},
    ]
    assert content.reply_for(messages) == content.reply_text("first\nsecond")


def test_token_counting_and_truncation() -> None:
    assert content.count_tokens("Hello, world!") == 4
    assert content.truncate_to_tokens("Hello, world!", 2) == "Hello,"
    assert content.truncate_to_tokens("Hello", 5) == "Hello"
    messages = [{"role": "user", "content": "Hello, world!"}]
    assert content.prompt_tokens(messages) == 3 + 4 + 4


@given(st.text())
def test_stream_pieces_concatenate_back(text: str) -> None:
    assert "".join(content.stream_pieces(text)) == text


@given(st.text(min_size=1), st.integers(min_value=1, max_value=8))
def test_split_evenly_concatenates_back(text: str, parts: int) -> None:
    pieces = content.split_evenly(text, parts)
    assert "".join(pieces) == text
    assert len(pieces) <= parts


def test_arguments_follow_the_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "metric": {"type": "boolean"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "extra": {"type": "number"},
        },
        "required": ["city", "days", "metric", "unit", "tags"],
    }
    assert content.arguments_for(schema, "Forecast for Los Angeles please") == {
        "city": "Los Angeles",
        "days": 3,
        "metric": True,
        "unit": "celsius",
        "tags": ["Los Angeles"],
    }
    assert content.arguments_for({"type": "object", "properties": {"q": {"type": "string"}}}, "no names") == {
        "q": "q_value"
    }


def test_embeddings_are_unit_vectors() -> None:
    vector = content.embed("some text", 32)
    assert abs(sum(v * v for v in vector) - 1) < 1e-9
    assert content.embed("", 8) == [1.0, 0, 0, 0, 0, 0, 0, 0]
    assert content.embed([1, 2], 8) == content.embed([1, 2], 8)
