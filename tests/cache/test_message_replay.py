"""A stored Anthropic message replayed as events adds up to the same message, for us and for the SDK."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message, ParsedMessage, RawMessageStreamEvent
from pydantic import TypeAdapter, ValidationError

from byokgate.cache.message_replay import MessageAssembler, replay_message_stream, storable_message
from byokgate.cache.replay import replay_stream
from byokgate.providers.anthropic.stream import AnthropicRelay
from byokgate.proxy.doors.messages_egress import MessageEvents, to_message

EVENTS: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)


def _message(content: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": "msg_01AbCdEf",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-20250514",
        "content": content,
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 25, "output_tokens": 40},
    }
    message.update(extra)
    return message


LONG = " ".join(f"word{n}," for n in range(300)) + "\n\n  Ünïcødé ✓ emoji 🌊 and\ttabs.  "

MESSAGES: dict[str, dict[str, Any]] = {
    "plain": _message([{"type": "text", "text": "Hello there!"}]),
    "long": _message([{"type": "text", "text": LONG}], usage={"input_tokens": 9, "output_tokens": 700}),
    "tools": _message(
        [
            {"type": "text", "text": "I'll look up the weather in both cities."},
            {
                "type": "tool_use",
                "id": "toolu_01A",
                "name": "get_weather",
                "input": {"location": "Paris, France", "unit": "celsius", "days": [1, 2, 3], "note": "é✓🌊"},
            },
            {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {}},
        ],
        stop_reason="tool_use",
    ),
    "thinking": _message(
        [
            {
                "type": "thinking",
                "thinking": "Let me think about this step by step. First, the sea is wide.",
                "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds",
            },
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIw"},
            {"type": "text", "text": "The answer is 42."},
        ]
    ),
    "cache usage": _message(
        [{"type": "text", "text": "Cached prompt, fresh answer."}],
        usage={
            "input_tokens": 12,
            "cache_creation_input_tokens": 2048,
            "cache_read_input_tokens": 1024,
            "cache_creation": {"ephemeral_5m_input_tokens": 2048, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 17,
            "service_tier": "standard",
        },
    ),
    "stop sequence": _message(
        [{"type": "text", "text": "Counting: one, two, three"}],
        stop_reason="stop_sequence",
        stop_sequence="four",
    ),
    "citations": _message(
        [
            {
                "type": "text",
                "text": "the grass is green",
                "citations": [
                    {
                        "type": "char_location",
                        "cited_text": "The grass is green.",
                        "document_index": 0,
                        "document_title": "Facts",
                        "start_char_index": 0,
                        "end_char_index": 20,
                    }
                ],
            }
        ]
    ),
    "refusal, no output": _message(
        [{"type": "text", "text": ""}],
        stop_reason="refusal",
        stop_details={"type": "refusal", "category": "cyber", "explanation": "Refused."},
        usage={"input_tokens": 5, "output_tokens": 0},
    ),
}
CASES = pytest.mark.parametrize("name", list(MESSAGES))


def _parse(event: bytes) -> tuple[str, dict[str, Any]]:
    """One framed event: its ``event:`` name and its data, checking the framing on the way."""
    assert event.endswith(b"\n\n")
    assert event.count(b"\n\n") == 1
    name_line, data_line = event[:-2].split(b"\n")
    assert name_line.startswith(b"event: ")
    assert data_line.startswith(b"data: ")
    data = orjson.loads(data_line.removeprefix(b"data: "))
    assert isinstance(data, dict)
    return name_line.removeprefix(b"event: ").decode(), data


def _assembled(events: list[bytes]) -> dict[str, Any] | None:
    assembler = MessageAssembler()
    assembler.feed(events)
    return assembler.message()


@CASES
def test_replay_then_assemble_gives_back_the_message(name: str) -> None:
    message = MESSAGES[name]
    assert _assembled(replay_message_stream(message)) == message


def test_replay_streams_in_pieces() -> None:
    kinds = [_parse(event)[1] for event in replay_message_stream(MESSAGES["long"])]
    text_deltas = [e["delta"]["text"] for e in kinds if e["type"] == "content_block_delta"]
    assert len(text_deltas) > 50
    assert "".join(text_deltas) == LONG
    tool_events = [_parse(event)[1] for event in replay_message_stream(MESSAGES["tools"])]
    fragments = [
        e["delta"]["partial_json"]
        for e in tool_events
        if e["type"] == "content_block_delta" and e["index"] == 1
    ]
    assert len(fragments) > 1
    assert orjson.loads("".join(fragments)) == MESSAGES["tools"]["content"][1]["input"]


@CASES
def test_every_replayed_event_validates_against_the_sdk_types(name: str) -> None:
    message = MESSAGES[name]
    parsed = [_parse(event) for event in replay_message_stream(message)]
    for event_name, data in parsed:
        assert event_name == data["type"]
        assert (
            type(EVENTS.validate_python(data))
            .__name__.lower()
            .endswith(event_name.replace("_", "") + "event")
        )
    names = [event_name for event_name, _ in parsed]
    blocks = len(message["content"])
    assert names[0] == "message_start"
    assert names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == names.count("content_block_stop") == blocks
    start = parsed[0][1]["message"]
    assert start["content"] == []
    assert start["stop_reason"] is None
    assert start["stop_sequence"] is None
    assert start["usage"]["input_tokens"] == message["usage"]["input_tokens"]
    assert start["usage"]["output_tokens"] == min(message["usage"]["output_tokens"], 1)
    delta = parsed[-2][1]
    assert delta["delta"]["stop_reason"] == message["stop_reason"]
    assert delta["delta"]["stop_sequence"] == message["stop_sequence"]
    assert delta["usage"]["output_tokens"] == message["usage"]["output_tokens"]
    # block by block: start, its deltas, stop, in index order, each opened empty
    at = 1
    for index, block in enumerate(message["content"]):
        _, opening = parsed[at]
        assert (opening["type"], opening["index"]) == ("content_block_start", index)
        assert opening["content_block"]["type"] == block["type"]
        if block["type"] == "tool_use":
            assert opening["content_block"]["input"] == {}
        elif block["type"] == "thinking":
            assert (opening["content_block"]["thinking"], opening["content_block"]["signature"]) == ("", "")
        elif block["type"] == "text":
            assert opening["content_block"]["text"] == ""
            assert opening["content_block"].get("citations") in (None, [])
        elif block["type"] == "redacted_thinking":
            assert opening["content_block"] == block
        at += 1
        cited = []
        while parsed[at][0] == "content_block_delta":
            assert parsed[at][1]["index"] == index
            if parsed[at][1]["delta"]["type"] == "citations_delta":
                cited.append(parsed[at][1]["delta"]["citation"])
            at += 1
        assert cited == (block.get("citations") or [])
        assert parsed[at][1] == {"type": "content_block_stop", "index": index}
        at += 1
    assert at == len(parsed) - 2


def test_the_event_adapter_is_strict() -> None:
    """The validation above is worth something: a missing required field is refused."""
    parsed = [_parse(event)[1] for event in replay_message_stream(MESSAGES["tools"])]
    delta = next(e for e in parsed if e["type"] == "message_delta")
    with pytest.raises(ValidationError):
        EVENTS.validate_python({**delta, "usage": {}})
    start = parsed[0]
    with pytest.raises(ValidationError):
        EVENTS.validate_python({**start, "message": {k: v for k, v in start["message"].items() if k != "id"}})
    tool_start = next(e for e in parsed if e["type"] == "content_block_start" and e["index"] == 1)
    block = {k: v for k, v in tool_start["content_block"].items() if k != "input"}
    with pytest.raises(ValidationError):
        EVENTS.validate_python({**tool_start, "content_block": block})


@CASES
def test_the_sdk_accumulator_rebuilds_the_stored_message(name: str) -> None:
    message = MESSAGES[name]
    snapshot: ParsedMessage[None] | None = None
    json_bufs: dict[int, bytes] = {}
    for event in replay_message_stream(message):
        snapshot = accumulate_event(
            event=EVENTS.validate_python(_parse(event)[1]), current_snapshot=snapshot, json_bufs=json_bufs
        )
    assert snapshot is not None
    final = snapshot.to_dict()
    assert final["content"] == message["content"]
    assert final["stop_reason"] == message["stop_reason"]
    assert final["stop_sequence"] == message["stop_sequence"]
    assert snapshot.usage.output_tokens == message["usage"]["output_tokens"]
    assert final["usage"] == message["usage"]
    assert final["id"] == message["id"]
    assert final["model"] == message["model"]


@CASES
def test_the_assembled_message_is_a_valid_sdk_message(name: str) -> None:
    rebuilt = _assembled(replay_message_stream(MESSAGES[name]))
    assert rebuilt is not None
    assert Message.model_validate(rebuilt) == Message.model_validate(MESSAGES[name])


def test_events_split_anywhere_or_joined_assemble_the_same() -> None:
    message = MESSAGES["tools"]
    events = replay_message_stream(message)
    joined = b"".join(events)
    assert _assembled([joined]) == message
    for size in (1, 7, 64):
        pieces = [joined[at : at + size] for at in range(0, len(joined), size)]
        assembler = MessageAssembler()
        for start in range(0, len(pieces), 3):
            assembler.feed(pieces[start : start + 3])  # several feed calls, events cut mid-line
        assert assembler.message() == message
    pairs = [
        events[at] + events[at + 1] if at + 1 < len(events) else events[at] for at in range(0, len(events), 2)
    ]
    assert _assembled(pairs) == message
    assert _assembled([joined.replace(b"\n", b"\r\n")]) == message


def test_pings_comments_and_data_only_events_are_understood() -> None:
    message = MESSAGES["thinking"]
    events = replay_message_stream(message)
    noisy: list[bytes] = [
        events[0],
        b'event: ping\ndata: {"type": "ping"}\n\n',
        b": keep-alive\n\n",
        b"event: ping\ndata: {}\n\n",
    ]
    for event in events[1:]:
        noisy.append(event.split(b"\n", 1)[1])  # the data line alone, no event: line
        noisy.append(b'event: ping\ndata: {"type":"ping"}\n\n')
    assert _assembled(noisy) == message


def test_the_gateways_own_event_streams_assemble() -> None:
    """What the gateway sends on ``/v1/messages``, relayed or translated from OpenAI chunks, is understood."""
    relay = AnthropicRelay()
    relayed = relay.feed(b"".join(replay_message_stream(MESSAGES["tools"])))
    assert relay.tally.done
    assert _assembled(relayed) == MESSAGES["tools"]
    completion: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Checking the weather now, one moment please.",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"a": [1]}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 14, "total_tokens": 24},
    }
    translator = MessageEvents("gpt-4o")
    translated = translator.feed(replay_stream(completion, include_usage=True))
    rebuilt = _assembled(translated)
    assert rebuilt is not None
    expected = to_message(completion, "gpt-4o")
    assert rebuilt == expected | {"id": rebuilt["id"]}


def test_streams_that_must_not_be_stored() -> None:
    events = replay_message_stream(MESSAGES["tools"])
    assert _assembled(events) is not None
    assert _assembled(events[:-1]) is None  # no message_stop
    assert _assembled(events[:-2] + events[-1:]) is None  # no message_delta, so no stop_reason
    assert _assembled([]) is None
    error = (
        b"event: error\n"
        b'data: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n'
    )
    assert _assembled([*events[:4], error, *events[4:]]) is None
    assert _assembled([*events, error]) is None  # even after the end
    assert _assembled([*events[:4], b"event: error\n\n", *events[4:]]) is None  # the SDK raises on the name
    assert _assembled([*events[:4], b'data: {"type": "error", "error": {}}\n\n', *events[4:]]) is None
    broken = [*events[:3], b"event: content_block_delta\ndata: {not json\n\n", *events[3:]]
    assert _assembled(broken) is None
    assert _assembled([*events[:3], b"event: content_block_delta\ndata: [1, 2]\n\n", *events[3:]]) is None
    assert _assembled([*events[:-1], events[-1][:-1]]) is None  # the last event never completed
    assert _assembled([*events, events[-1]]) is None  # something after message_stop
    assert _assembled([*events, b"event: ping\ndata: {"]) is None  # and something half-sent after it
    assert _assembled(events[1:]) is None  # no message_start


def _with_tool_json(fragments: list[str]) -> list[bytes]:
    message = _message(
        [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}], stop_reason="tool_use"
    )
    events = replay_message_stream(message)
    stop = next(at for at, event in enumerate(events) if event.startswith(b"event: content_block_stop"))
    deltas = [
        b"event: content_block_delta\ndata: "
        + orjson.dumps(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": f},
            }
        )
        + b"\n\n"
        for f in fragments
    ]
    return [*events[:1], events[1], *deltas, *events[stop:]]


def test_tool_input_must_parse_as_an_object() -> None:
    good = _assembled(_with_tool_json(["", '{"city": ', '"Paris"}']))
    assert good is not None
    assert good["content"][0]["input"] == {"city": "Paris"}
    empty = _assembled(_with_tool_json([]))
    assert empty is not None
    assert empty["content"][0]["input"] == {}
    assert _assembled(_with_tool_json(['{"city": ', '"Par'])) is None
    assert _assembled(_with_tool_json(["[1, 2]"])) is None
    # dropping the last fragment of a replayed tool input leaves JSON that does not parse
    events = replay_message_stream(MESSAGES["tools"])
    last = max(
        at for at, event in enumerate(events) if b'"index":1,"delta":{"type":"input_json_delta"' in event
    )
    assert _assembled(events[:last] + events[last + 1 :]) is None


def test_deltas_that_do_not_fit_their_block_are_refused() -> None:
    events = replay_message_stream(MESSAGES["plain"])

    def delta(index: int, body: dict[str, Any]) -> bytes:
        data = {"type": "content_block_delta", "index": index, "delta": body}
        return b"event: content_block_delta\ndata: " + orjson.dumps(data) + b"\n\n"

    assert _assembled([*events[:2], delta(5, {"type": "text_delta", "text": "x"}), *events[2:]]) is None
    assert (
        _assembled([*events[:2], delta(0, {"type": "input_json_delta", "partial_json": "{}"}), *events[2:]])
        is None
    )
    assert _assembled([*events[:2], delta(0, {"type": "mystery_delta"}), *events[2:]]) is None
    more = _assembled([*events[:2], delta(0, {"type": "text_delta", "text": ">> "}), *events[2:]])
    assert more is not None
    assert more["content"][0]["text"] == ">> Hello there!"
    assert (
        _assembled([*events[:2], b'event: future_event\ndata: {"type": "future_event"}\n\n', *events[2:]])
        == (MESSAGES["plain"])
    )


def test_storable_answers() -> None:
    for message in MESSAGES.values():
        assert storable_message(message) is True
    assert storable_message(None) is False
    assert storable_message([1, 2]) is False
    assert storable_message({"type": "error", "error": {"type": "api_error", "message": "x"}}) is False
    assert storable_message({**MESSAGES["plain"], "stop_reason": None}) is False
    assert storable_message({k: v for k, v in MESSAGES["plain"].items() if k != "stop_reason"}) is False
    assert storable_message({**MESSAGES["plain"], "content": "text"}) is False
    assert storable_message({**MESSAGES["plain"], "content": ["text"]}) is False
    tools = orjson.loads(orjson.dumps(MESSAGES["tools"]))
    tools["content"][1]["input"] = '{"location": "Paris"}'
    assert storable_message(tools) is False
    del tools["content"][1]["input"]
    assert storable_message(tools) is False
