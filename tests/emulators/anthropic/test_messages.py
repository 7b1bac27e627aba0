"""The Anthropic emulator's Messages API through the official `anthropic` SDK: text, streams, tools,
thinking, stop conditions, prompt caching and token counting, all predicted from `content`."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic.types import Message, MessageParam, ToolParam

from byokgate.emulators import EmulatorServer, content
from byokgate.emulators.anthropic_answer import signature, thinking_text
from tests.emulators.anthropic.conftest import KEY, MODEL

QUESTION_TEXT = "Tell me something about emulators."
QUESTION: list[MessageParam] = [{"role": "user", "content": QUESTION_TEXT}]
WEATHER_TOOL: ToolParam = {
    "name": "get_weather",
    "description": "Current weather",
    "input_schema": {
        "type": "object",
        "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["location", "unit"],
    },
}
TIME_TOOL: ToolParam = {
    "name": "get_local_time",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
WEATHER_QUESTION: list[MessageParam] = [
    {"role": "user", "content": "What's the weather and the local time in New York?"}
]
WEATHER_INPUT = {"location": "New York", "unit": "c"}
TIME_INPUT = {"city": "New York"}


def _tokens(*texts: str) -> int:
    """Input tokens of a plain prompt: 3 for priming, 4 + text per message (or system prompt)."""
    return 3 + sum(4 + content.count_tokens(text) for text in texts)


def _without_ids(message: Message) -> dict[str, Any]:
    data = message.model_dump(exclude={"id"})
    for block in data["content"]:
        block.pop("id", None)
    return data


def test_plain_message_is_the_predicted_text(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model=MODEL, max_tokens=1024, messages=QUESTION)
    expected = content.reply_for(QUESTION)
    assert expected.startswith("Echo: Tell me something about emulators. ")
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].type == "text"
    assert message.content[0].text == expected
    assert message.id.startswith("msg_01")
    assert (message.type, message.role, message.model) == ("message", "assistant", MODEL)
    assert (message.stop_reason, message.stop_sequence, message.stop_details) == ("end_turn", None, None)
    assert message.usage.input_tokens == _tokens(QUESTION_TEXT) == 13
    assert message.usage.output_tokens == content.count_tokens(expected)
    assert message.usage.cache_creation_input_tokens == message.usage.cache_read_input_tokens == 0
    assert message.usage.service_tier == "standard"
    assert message.usage.output_tokens_details is None


def test_the_wire_body_matches_the_sdk_types_strictly(server: EmulatorServer) -> None:
    raw = anthropic.Anthropic(base_url=server.base_url, api_key=KEY, max_retries=0)
    with raw:
        response = raw.messages.with_raw_response.create(
            model=MODEL, max_tokens=1024, system="You are terse.", messages=QUESTION
        )
    body = response.http_response.json()
    Message.model_validate(body, strict=False)
    assert list(body) == [
        "id",
        "type",
        "role",
        "model",
        "content",
        "stop_reason",
        "stop_sequence",
        "stop_details",
        "usage",
    ]
    assert body["usage"] == {
        "input_tokens": _tokens("You are terse.", QUESTION_TEXT),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": content.count_tokens(content.reply_for(QUESTION)),
        "service_tier": "standard",
    }
    headers = response.http_response.headers
    assert headers["content-type"] == "application/json"
    assert headers["request-id"].startswith("req_011C")
    assert response.request_id == headers["request-id"]
    assert headers["anthropic-ratelimit-requests-remaining"] == "3999"
    assert (
        int(headers["anthropic-ratelimit-input-tokens-remaining"])
        == 2_000_000 - body["usage"]["input_tokens"]
    )
    for name in ("requests", "tokens", "input-tokens", "output-tokens"):
        assert headers[f"anthropic-ratelimit-{name}-reset"].endswith("Z")


def test_same_request_same_content_and_aliases_resolve(client: anthropic.Anthropic) -> None:
    first = client.messages.create(model=MODEL, max_tokens=1024, messages=QUESTION)
    second = client.messages.create(model=MODEL, max_tokens=1024, messages=QUESTION)
    assert first.content == second.content
    assert first.id != second.id
    aliased = client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=QUESTION)
    assert aliased.model == "claude-haiku-4-5-20251001"
    assert aliased.content == first.content


async def test_async_message(async_client: anthropic.AsyncAnthropic) -> None:
    message = await async_client.messages.create(model=MODEL, max_tokens=1024, messages=QUESTION)
    assert message.content[0].type == "text"
    assert message.content[0].text == content.reply_for(QUESTION)


def test_stream_text_and_final_message_equal_the_plain_answer(client: anthropic.Anthropic) -> None:
    plain = client.messages.create(model=MODEL, max_tokens=1024, messages=QUESTION)
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=QUESTION) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 2
    assert "".join(pieces) == content.reply_for(QUESTION)
    assert pieces == content.stream_pieces(content.reply_for(QUESTION))
    assert _without_ids(final) == _without_ids(plain)


async def test_async_stream(async_client: anthropic.AsyncAnthropic) -> None:
    async with async_client.messages.stream(model=MODEL, max_tokens=1024, messages=QUESTION) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
    assert text == content.reply_for(QUESTION)
    assert final.usage.output_tokens == content.count_tokens(text)


def test_create_with_stream_true_yields_raw_events(client: anthropic.Anthropic) -> None:
    events = list(client.messages.create(model=MODEL, max_tokens=1024, messages=QUESTION, stream=True))
    kinds = [event.type for event in events]
    assert kinds[0] == "message_start"
    assert kinds[1] == "content_block_start"
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(kinds[2:-3]) == {"content_block_delta"}
    start, delta = events[0], events[-2]
    assert start.type == "message_start"
    assert start.message.content == []
    assert start.message.stop_reason is None
    assert start.message.usage.input_tokens == _tokens(QUESTION_TEXT)
    assert start.message.usage.output_tokens == 1
    assert delta.type == "message_delta"
    assert delta.delta.stop_reason == "end_turn"
    assert delta.usage.output_tokens == content.count_tokens(content.reply_for(QUESTION))


def test_tool_use_then_tool_result_then_text(client: anthropic.Anthropic) -> None:
    question: list[MessageParam] = [{"role": "user", "content": "What's the weather in New York?"}]
    called = client.messages.create(model=MODEL, max_tokens=1024, messages=question, tools=[WEATHER_TOOL])
    assert called.stop_reason == "tool_use"
    assert len(called.content) == 1
    block = called.content[0]
    assert block.type == "tool_use"
    assert block.id.startswith("toolu_01")
    assert (block.name, block.input) == ("get_weather", WEATHER_INPUT)
    assert called.usage.output_tokens == content.count_tokens("get_weather") + content.count_tokens(
        '{"location":"New York","unit":"c"}'
    )
    follow_up: list[MessageParam] = [
        *question,
        called.to_param(),
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "15°C, cloudy"}],
        },
    ]
    answer = client.messages.create(model=MODEL, max_tokens=1024, messages=follow_up, tools=[WEATHER_TOOL])
    assert answer.stop_reason == "end_turn"
    assert answer.content[0].type == "text"
    assert answer.content[0].text == "Based on the tool results: 15°C, cloudy."


def test_parallel_tool_use_and_its_results(client: anthropic.Anthropic) -> None:
    tools = [WEATHER_TOOL, TIME_TOOL]
    called = client.messages.create(model=MODEL, max_tokens=1024, messages=WEATHER_QUESTION, tools=tools)
    uses = [block for block in called.content if block.type == "tool_use"]
    assert [(use.name, use.input) for use in uses] == [
        ("get_weather", WEATHER_INPUT),
        ("get_local_time", TIME_INPUT),
    ]
    assert len({use.id for use in uses}) == 2
    results: list[Any] = [
        {"type": "tool_result", "tool_use_id": uses[0].id, "content": [{"type": "text", "text": "15°C"}]},
        {"type": "tool_result", "tool_use_id": uses[1].id, "content": "09:00"},
    ]
    follow_up: list[MessageParam] = [
        *WEATHER_QUESTION,
        called.to_param(),
        {"role": "user", "content": results},
    ]
    answer = client.messages.create(model=MODEL, max_tokens=1024, messages=follow_up, tools=tools)
    assert answer.content[0].type == "text"
    assert answer.content[0].text == "Based on the tool results: 15°C; 09:00."


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto", "disable_parallel_tool_use": True}, ["get_weather"]),
        ({"type": "tool", "name": "get_local_time"}, ["get_local_time"]),
        ({"type": "none"}, []),
    ],
)
def test_tool_choice(client: anthropic.Anthropic, choice: Any, expected: list[str]) -> None:
    message = client.messages.create(
        model=MODEL,
        max_tokens=1024,
        messages=WEATHER_QUESTION,
        tools=[WEATHER_TOOL, TIME_TOOL],
        tool_choice=choice,
    )
    assert [block.name for block in message.content if block.type == "tool_use"] == expected
    assert message.stop_reason == ("tool_use" if expected else "end_turn")


def test_any_calls_the_first_tool_when_none_is_mentioned(client: anthropic.Anthropic) -> None:
    auto = client.messages.create(model=MODEL, max_tokens=1024, messages=QUESTION, tools=[WEATHER_TOOL])
    assert [block.type for block in auto.content] == ["text"]
    forced = client.messages.create(
        model=MODEL, max_tokens=1024, messages=QUESTION, tools=[WEATHER_TOOL], tool_choice={"type": "any"}
    )
    assert [(block.type, getattr(block, "input", None)) for block in forced.content] == [
        ("tool_use", {"location": "location_value", "unit": "c"})
    ]


def test_streamed_tool_input_reassembles_to_the_same_json(client: anthropic.Anthropic) -> None:
    tools = [WEATHER_TOOL, TIME_TOOL]
    plain = client.messages.create(model=MODEL, max_tokens=1024, messages=WEATHER_QUESTION, tools=tools)
    partials: dict[int, list[str]] = {}
    with client.messages.stream(
        model=MODEL, max_tokens=1024, messages=WEATHER_QUESTION, tools=tools
    ) as stream:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                partials.setdefault(event.index, []).append(event.delta.partial_json)
        final = stream.get_final_message()
    assert sorted(partials) == [0, 1]
    assert partials[0][0] == ""
    assert len(partials[0]) == 4
    assert "".join(partials[0]) == '{"location":"New York","unit":"c"}'
    assert "".join(partials[1]) == '{"city":"New York"}'
    assert _without_ids(final) == _without_ids(plain)
    assert final.stop_reason == "tool_use"


def test_thinking_comes_first_and_counts_as_output(client: anthropic.Anthropic) -> None:
    thinking: Any = {"type": "enabled", "budget_tokens": 2048}
    message = client.messages.create(model=MODEL, max_tokens=4096, messages=QUESTION, thinking=thinking)
    assert [block.type for block in message.content] == ["thinking", "text"]
    thought, text = message.content
    assert thought.type == "thinking"
    assert text.type == "text"
    expected_thought = thinking_text(QUESTION_TEXT)
    assert (
        expected_thought
        == 'The user said: "Tell me something about emulators.". I will answer clearly and briefly.'
    )
    assert thought.thinking == expected_thought
    assert thought.signature == signature(MODEL, expected_thought)
    assert text.text == content.reply_for(QUESTION)
    thinking_tokens = content.count_tokens(expected_thought)
    assert message.usage.output_tokens == thinking_tokens + content.count_tokens(text.text)
    assert message.usage.output_tokens_details is not None
    assert message.usage.output_tokens_details.thinking_tokens == thinking_tokens
    with client.messages.stream(model=MODEL, max_tokens=4096, messages=QUESTION, thinking=thinking) as stream:
        kinds = [event.delta.type for event in stream if event.type == "content_block_delta"]
        final = stream.get_final_message()
    assert kinds.index("signature_delta") == kinds.count("thinking_delta")
    assert _without_ids(final) == _without_ids(message)


def test_adaptive_thinking_with_omitted_display_keeps_the_signature(client: anthropic.Anthropic) -> None:
    thinking: Any = {"type": "adaptive", "display": "omitted"}
    message = client.messages.create(model=MODEL, max_tokens=1024, messages=QUESTION, thinking=thinking)
    thought = message.content[0]
    assert thought.type == "thinking"
    assert thought.thinking == ""
    assert thought.signature == signature(MODEL, thinking_text(QUESTION_TEXT))
    assert message.usage.output_tokens_details is not None
    assert message.usage.output_tokens_details.thinking_tokens == content.count_tokens(
        thinking_text(QUESTION_TEXT)
    )


def test_max_tokens_cuts_the_text(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model=MODEL, max_tokens=3, messages=QUESTION)
    assert message.content[0].type == "text"
    assert message.content[0].text == "Echo: Tell"
    assert (message.stop_reason, message.usage.output_tokens) == ("max_tokens", 3)
    warmed = client.messages.create(model=MODEL, max_tokens=0, messages=QUESTION)
    assert (warmed.content, warmed.stop_reason, warmed.usage.output_tokens) == ([], "max_tokens", 0)


def test_stop_sequence(client: anthropic.Anthropic) -> None:
    messages: list[MessageParam] = [{"role": "user", "content": "Hello there friend"}]
    message = client.messages.create(
        model=MODEL, max_tokens=1024, messages=messages, stop_sequences=["nothing-like-this", "friend"]
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Echo: Hello there "
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "friend")
    with client.messages.stream(
        model=MODEL, max_tokens=1024, messages=messages, stop_sequences=["friend"]
    ) as stream:
        assert "".join(stream.text_stream) == "Echo: Hello there "
        assert stream.get_final_message().stop_sequence == "friend"
    cut_first = client.messages.create(
        model=MODEL, max_tokens=2, messages=messages, stop_sequences=["friend"]
    )
    assert (cut_first.stop_reason, cut_first.stop_sequence) == ("max_tokens", None)


def test_structured_output_is_json_following_the_schema(client: anthropic.Anthropic) -> None:
    schema: dict[str, object] = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
    }
    messages: list[MessageParam] = [{"role": "user", "content": "Plan a trip to Rome"}]
    message = client.messages.create(
        model=MODEL,
        max_tokens=256,
        messages=messages,
        output_config={"format": {"type": "json_schema", "schema": schema}},
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == '{"city":"Rome","days":3}'
    assert message.stop_reason == "end_turn"


def test_prefill_and_system_prompt(client: anthropic.Anthropic) -> None:
    messages: list[MessageParam] = [
        {"role": "user", "content": QUESTION_TEXT},
        {"role": "assistant", "content": "Sure,"},
    ]
    message = client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=1024,
        system=[{"type": "text", "text": "Be brief."}],
        messages=messages,
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == content.reply_for(QUESTION)
    assert message.usage.input_tokens == _tokens("Be brief.", QUESTION_TEXT, "Sure,")


def test_prompt_caching_writes_then_reads(server: EmulatorServer, client: anthropic.Anthropic) -> None:
    system: Any = [
        {"type": "text", "text": "You are a careful assistant. " * 20, "cache_control": {"type": "ephemeral"}}
    ]
    prefix = 4 + content.count_tokens(system[0]["text"])
    total = _tokens(QUESTION_TEXT) + prefix
    first = client.messages.create(model=MODEL, max_tokens=64, system=system, messages=QUESTION)
    assert first.usage.cache_creation_input_tokens == prefix
    assert first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation is not None
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == prefix
    assert first.usage.input_tokens == total - prefix
    second = client.messages.create(model=MODEL, max_tokens=64, system=system, messages=QUESTION)
    assert (second.usage.cache_creation_input_tokens, second.usage.cache_read_input_tokens) == (0, prefix)
    assert second.usage.input_tokens == total - prefix
    other_model = client.messages.create(
        model="claude-opus-4-7", max_tokens=64, system=system, messages=QUESTION
    )
    assert other_model.usage.cache_read_input_tokens == 0
    counted = client.messages.count_tokens(model=MODEL, system=system, messages=QUESTION)
    assert counted.input_tokens == total
    server.emulator.reset()
    again = client.messages.create(model=MODEL, max_tokens=64, system=system, messages=QUESTION)
    assert again.usage.cache_creation_input_tokens == prefix


def test_one_hour_cache_and_top_level_cache_control(client: anthropic.Anthropic) -> None:
    messages: list[MessageParam] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": QUESTION_TEXT, "cache_control": {"type": "ephemeral", "ttl": "1h"}}
            ],
        }
    ]
    message = client.messages.create(model=MODEL, max_tokens=64, messages=messages)
    assert message.usage.cache_creation is not None
    assert message.usage.cache_creation.ephemeral_1h_input_tokens == 4 + content.count_tokens(QUESTION_TEXT)
    assert message.usage.input_tokens == 3
    automatic = client.messages.create(
        model=MODEL, max_tokens=64, messages=WEATHER_QUESTION, cache_control={"type": "ephemeral"}
    )
    prompt = str(WEATHER_QUESTION[0]["content"])
    assert automatic.usage.cache_creation_input_tokens == 4 + content.count_tokens(prompt)


def test_count_tokens(client: anthropic.Anthropic) -> None:
    assert client.messages.count_tokens(model=MODEL, messages=QUESTION).input_tokens == _tokens(QUESTION_TEXT)
    with_system = client.messages.count_tokens(model=MODEL, system="You are terse.", messages=QUESTION)
    assert with_system.input_tokens == _tokens("You are terse.", QUESTION_TEXT)
    with_tools = client.messages.count_tokens(model=MODEL, messages=WEATHER_QUESTION, tools=[WEATHER_TOOL])
    created = client.messages.create(
        model=MODEL, max_tokens=64, messages=WEATHER_QUESTION, tools=[WEATHER_TOOL]
    )
    assert (
        with_tools.input_tokens == created.usage.input_tokens > _tokens(str(WEATHER_QUESTION[0]["content"]))
    )
    image: list[MessageParam] = [
        {
            "role": "user",
            "content": [
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
                {"type": "text", "text": "What is this?"},
            ],
        }
    ]
    assert (
        client.messages.count_tokens(model=MODEL, messages=image).input_tokens
        == _tokens("What is this?") + 85
    )
