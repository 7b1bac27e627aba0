"""OpenAI's Responses API on the OpenAI emulator, through the official SDK: text, streams (every event the
SDK's typed class), function calls and their follow-ups, structured output, reasoning models, incomplete
answers, and the same answers as the chat endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, get_args

import httpx
import openai
import pytest
from openai.types.responses import (
    FunctionToolParam,
    Response,
    ResponseCompletedEvent,
    ResponseFunctionToolCall,
    ResponseIncompleteEvent,
    ResponseItem,
    ResponseOutputMessage,
    ResponseReasoningItem,
    ResponseStreamEvent,
)
from pydantic import BaseModel, TypeAdapter

from byokgate.emulators import content
from tests.emulators.conftest import Target

MODEL = "gpt-4o-mini"
QUESTION = "Tell me something about emulators."
WEATHER: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["location", "unit"],
        "additionalProperties": False,
    },
    "strict": True,
}
TIME: FunctionToolParam = {
    "type": "function",
    "name": "get_local_time",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": False,
}
WEATHER_QUESTION = "What's the weather in New York?"
BOTH_QUESTION = "What's the weather and the local time in Paris?"
EXPECTED_ARGUMENTS = {"location": "New York", "unit": "c"}
LONG_QUESTION = "Please explain in great detail how a flight simulator emulates the real world physics"


def _classes() -> dict[str, type[BaseModel]]:
    """The SDK's event class for each event type (`ResponseStreamEvent` is an annotated union)."""
    union = get_args(ResponseStreamEvent)[0]
    return {get_args(cls.model_fields["type"].annotation)[0]: cls for cls in get_args(union)}


EVENT_CLASSES = _classes()


@pytest.fixture
def openai_target(get_target: Any) -> Target:
    target: Target = get_target("openai")
    return target


@pytest.fixture
def sdk(openai_target: Target) -> Iterator[openai.OpenAI]:
    with openai_target.client() as client:
        yield client


def typed(events: list[Any]) -> None:
    """Every event parsed into its own SDK class, numbered 0, 1, 2..."""
    for event in events:
        assert type(event) is EVENT_CLASSES[event.type], event
    assert [event.sequence_number for event in events] == list(range(len(events)))


def call_of(response: Response, index: int = 0) -> ResponseFunctionToolCall:
    item = response.output[index]
    assert isinstance(item, ResponseFunctionToolCall)
    return item


def message_of(response: Response, index: int = 0) -> ResponseOutputMessage:
    item = response.output[index]
    assert isinstance(item, ResponseOutputMessage)
    return item


def reasoning_of(response: Response) -> ResponseReasoningItem:
    item = response.output[0]
    assert isinstance(item, ResponseReasoningItem)
    return item


def test_text_answer(sdk: openai.OpenAI) -> None:
    response = sdk.responses.create(model=MODEL, input=QUESTION)
    expected = content.reply_for([{"role": "user", "content": QUESTION}])
    assert response.output_text == expected
    assert response.id.startswith("resp_")
    assert len(response.id) == 53
    assert (response.object, response.status, response.model) == ("response", "completed", MODEL)
    assert (response.error, response.incomplete_details) == (None, None)
    assert len(response.output) == 1
    message = message_of(response)
    assert message.id.startswith("msg_")
    assert (message.status, message.role) == ("completed", "assistant")
    part = message.content[0]
    assert part.type == "output_text"
    assert (part.annotations, part.logprobs) == ([], [])
    usage = response.usage
    assert usage is not None
    assert usage.input_tokens == content.prompt_tokens([{"role": "user", "content": QUESTION}])
    assert usage.output_tokens == content.count_tokens(expected)
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens == 0
    body = response.to_dict()
    assert (body["store"], body["parallel_tool_calls"], body["tool_choice"], body["tools"]) == (
        True,
        True,
        "auto",
        [],
    )
    assert body["text"] == {"format": {"type": "text"}, "verbosity": "medium"}
    assert body["reasoning"] == {"effort": None, "summary": None}
    assert (body["temperature"], body["top_p"], body["truncation"]) == (1.0, 1.0, "disabled")
    assert (body["metadata"], body["service_tier"], body["previous_response_id"]) == ({}, "default", None)
    assert response.completed_at is not None
    assert response.completed_at >= response.created_at


def test_same_answer_as_chat(sdk: openai.OpenAI) -> None:
    """Instructions and input read as chat messages: the same text and the same prompt tokens."""
    items: list[Any] = [
        {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": QUESTION},
    ]
    response = sdk.responses.create(
        model=MODEL, instructions="You are terse.", input=items, metadata={"run": "1"}, temperature=0.5
    )
    completion = sdk.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": QUESTION},
        ],
    )
    assert response.output_text == completion.choices[0].message.content
    assert response.usage is not None
    assert completion.usage is not None
    assert response.usage.input_tokens == completion.usage.prompt_tokens
    assert response.usage.output_tokens == completion.usage.completion_tokens
    assert response.instructions == "You are terse."
    assert (response.metadata, response.temperature) == ({"run": "1"}, 0.5)


def test_image_input_counts(sdk: openai.OpenAI) -> None:
    text = {"type": "input_text", "text": "What is this?"}
    image = {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"}
    plain_input: list[Any] = [{"role": "user", "content": [text]}]
    pictured_input: list[Any] = [{"role": "user", "content": [text, image]}]
    plain = sdk.responses.create(model=MODEL, input=plain_input)
    pictured = sdk.responses.create(model=MODEL, input=pictured_input)
    assert plain.usage is not None
    assert pictured.usage is not None
    assert pictured.usage.input_tokens == plain.usage.input_tokens + content.TOKENS_PER_IMAGE
    assert pictured.output_text == plain.output_text


def test_stream_events(sdk: openai.OpenAI) -> None:
    events: list[Any] = list(sdk.responses.create(model=MODEL, input=QUESTION, stream=True))
    typed(events)
    kinds = [event.type for event in events]
    deltas = kinds.count("response.output_text.delta")
    assert deltas >= 2
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * deltas,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    created = events[0].response
    assert (created.status, created.output, created.usage) == ("in_progress", [], None)
    text = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    final = events[-1]
    assert isinstance(final, ResponseCompletedEvent)
    assert text == final.response.output_text
    assert text == content.reply_for([{"role": "user", "content": QUESTION}])
    assert final.response.id == created.id
    item_id = message_of(final.response).id
    for event in events[2:-1]:
        assert event.output_index == 0
        if event.type not in ("response.output_item.added", "response.output_item.done"):
            assert event.item_id == item_id
    assert all(event.logprobs == [] for event in events if event.type == "response.output_text.delta")


def test_stream_wire(openai_target: Target) -> None:
    """`event:` lines name each event's type; no `[DONE]`; deltas carry `obfuscation` unless asked not to."""
    for obfuscate in (True, False):
        body: dict[str, Any] = {"model": MODEL, "input": QUESTION, "stream": True}
        if not obfuscate:
            body["stream_options"] = {"include_obfuscation": False}
        url = f"{openai_target.base_url}/responses"
        with httpx.stream("POST", url, json=body, headers=openai_target.auth()) as reply:
            assert reply.status_code == 200
            assert reply.headers["content-type"].startswith("text/event-stream")
            assert reply.headers["x-request-id"].startswith("req_")
            raw = reply.read().decode()
        assert "[DONE]" not in raw
        for block in (block for block in raw.split("\n\n") if block):
            name, data = block.split("\n")
            event = json.loads(data.removeprefix("data: "))
            assert name == f"event: {event['type']}"
            if event["type"] == "response.output_text.delta":
                assert ("obfuscation" in event) is obfuscate


def test_stream_helper(sdk: openai.OpenAI) -> None:
    with sdk.responses.stream(model=MODEL, input=QUESTION) as stream:
        events: list[Any] = list(stream)
        final = stream.get_final_response()
    assert [event.sequence_number for event in events] == list(range(len(events)))
    text = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert text == final.output_text
    assert text == content.reply_for([{"role": "user", "content": QUESTION}])


def test_function_call_and_follow_up(sdk: openai.OpenAI) -> None:
    first = sdk.responses.create(model=MODEL, input=WEATHER_QUESTION, tools=[WEATHER])
    assert len(first.output) == 1
    call = call_of(first)
    assert call.id is not None
    assert call.id.startswith("fc_")
    assert call.call_id.startswith("call_")
    assert (call.name, call.status) == ("get_weather", "completed")
    assert json.loads(call.arguments) == EXPECTED_ARGUMENTS
    assert first.output_text == ""
    assert first.to_dict()["tools"] == [{**WEATHER}]
    result = {"type": "function_call_output", "call_id": call.call_id, "output": "22 degrees and sunny"}
    follow: list[Any] = [result]
    chained = sdk.responses.create(model=MODEL, previous_response_id=first.id, input=follow, tools=[WEATHER])
    assert chained.output_text == "Based on the tool results: 22 degrees and sunny."
    assert chained.previous_response_id == first.id
    # the same conversation sent whole, without the stored response
    conversation: list[Any] = [{"role": "user", "content": WEATHER_QUESTION}, call, result]
    whole = sdk.responses.create(model=MODEL, input=conversation, tools=[WEATHER], store=False)
    assert whole.output_text == chained.output_text
    assert whole.usage is not None
    assert chained.usage is not None
    assert whole.usage.input_tokens == chained.usage.input_tokens


def test_tool_choice_and_parallel_calls(sdk: openai.OpenAI) -> None:
    both = sdk.responses.create(model=MODEL, input=BOTH_QUESTION, tools=[WEATHER, TIME])
    assert [call_of(both, index).name for index in range(2)] == ["get_weather", "get_local_time"]
    one = sdk.responses.create(
        model=MODEL, input=BOTH_QUESTION, tools=[WEATHER, TIME], parallel_tool_calls=False
    )
    assert len(one.output) == 1
    assert call_of(one).name == "get_weather"
    named = sdk.responses.create(
        model=MODEL,
        input="Hi",
        tools=[WEATHER, TIME],
        tool_choice={"type": "function", "name": "get_local_time"},
    )
    assert len(named.output) == 1
    assert call_of(named).name == "get_local_time"
    assert named.to_dict()["tool_choice"] == {"type": "function", "name": "get_local_time"}
    none = sdk.responses.create(model=MODEL, input=WEATHER_QUESTION, tools=[WEATHER], tool_choice="none")
    assert none.output_text.startswith("Echo: ")
    hosted = sdk.responses.create(model=MODEL, input="Search the news", tools=[{"type": "web_search"}])
    assert hosted.output_text.startswith("Echo: ")
    assert hosted.tools[0].type == "web_search"


def test_function_call_stream(sdk: openai.OpenAI) -> None:
    events: list[Any] = list(
        sdk.responses.create(model=MODEL, input=WEATHER_QUESTION, tools=[WEATHER], stream=True)
    )
    typed(events)
    kinds = [event.type for event in events]
    fragments = kinds.count("response.function_call_arguments.delta")
    assert fragments >= 2
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        *["response.function_call_arguments.delta"] * fragments,
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    added = events[2].item
    assert (added.type, added.arguments, added.status) == ("function_call", "", "in_progress")
    arguments = "".join(
        event.delta for event in events if event.type == "response.function_call_arguments.delta"
    )
    assert events[-3].arguments == arguments
    assert json.loads(arguments) == EXPECTED_ARGUMENTS
    final = events[-1].response
    call = call_of(final)
    assert (call.arguments, call.id, call.status) == (arguments, added.id, "completed")
    result: list[Any] = [{"type": "function_call_output", "call_id": call.call_id, "output": "rain"}]
    follow: list[Any] = list(
        sdk.responses.create(
            model=MODEL, previous_response_id=final.id, input=result, tools=[WEATHER], stream=True
        )
    )
    typed(follow)
    assert follow[-1].response.output_text == "Based on the tool results: rain."


class Weather(BaseModel):
    location: str
    unit: str
    temperature: int


def test_json_schema(sdk: openai.OpenAI) -> None:
    schema = Weather.model_json_schema()
    response = sdk.responses.create(
        model=MODEL,
        input="Describe the weather in Rome",
        text={"format": {"type": "json_schema", "name": "weather", "schema": schema, "strict": True}},
    )
    assert json.loads(response.output_text) == content.arguments_for(schema, "Describe the weather in Rome")
    text: Any = response.to_dict()["text"]
    assert text["format"] == {
        "type": "json_schema",
        "description": None,
        "name": "weather",
        "schema": schema,
        "strict": True,
    }
    parsed = sdk.responses.parse(model=MODEL, input="Describe the weather in Rome", text_format=Weather)
    assert parsed.output_parsed == Weather(location="Rome", unit="Rome", temperature=3)
    with sdk.responses.stream(model=MODEL, input="Weather in Oslo", text_format=Weather) as stream:
        list(stream)
        final = stream.get_final_response()
    assert final.output_parsed == Weather(location="Oslo", unit="Oslo", temperature=3)
    as_object = sdk.responses.create(
        model=MODEL, input="Answer in JSON please", text={"format": {"type": "json_object"}}
    )
    assert json.loads(as_object.output_text) == {}


def test_json_object_needs_the_word(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        sdk.responses.create(model=MODEL, input="Answer please", text={"format": {"type": "json_object"}})
    assert info.value.body == {
        "message": (
            "Response input messages must contain the word 'json' in some form to use 'text.format' of type "
            "'json_object'."
        ),
        "type": "invalid_request_error",
        "param": "input",
        "code": None,
    }


def test_reasoning_model(sdk: openai.OpenAI) -> None:
    response = sdk.responses.create(model="o4-mini", input=QUESTION)
    assert [item.type for item in response.output] == ["reasoning", "message"]
    reasoning = reasoning_of(response)
    assert reasoning.id.startswith("rs_")
    assert reasoning.summary == []
    assert response.to_dict()["reasoning"] == {"effort": "medium", "summary": None}
    assert response.usage is not None
    assert response.usage.output_tokens_details.reasoning_tokens == 192
    assert response.usage.output_tokens == 192 + content.count_tokens(response.output_text)
    detailed = sdk.responses.create(
        model="gpt-5",
        input=QUESTION,
        reasoning={"effort": "high", "summary": "auto"},
        include=["reasoning.encrypted_content"],
    )
    item = reasoning_of(detailed)
    assert item.summary[0].text.startswith("**Answering the question**")
    assert item.encrypted_content is not None
    assert detailed.usage is not None
    assert detailed.usage.output_tokens_details.reasoning_tokens == 448
    events: list[Any] = list(
        sdk.responses.create(model="o3", input=QUESTION, reasoning={"summary": "detailed"}, stream=True)
    )
    typed(events)
    kinds = [event.type for event in events]
    assert kinds[2:4] == ["response.output_item.added", "response.reasoning_summary_part.added"]
    summary = "".join(
        event.delta for event in events if event.type == "response.reasoning_summary_text.delta"
    )
    assert summary == reasoning_of(events[-1].response).summary[0].text
    assert kinds.index("response.reasoning_summary_part.done") < kinds.index("response.content_part.added")


def test_max_output_tokens_makes_it_incomplete(sdk: openai.OpenAI) -> None:
    full = content.reply_for([{"role": "user", "content": LONG_QUESTION}])
    assert content.count_tokens(full) > 16
    response = sdk.responses.create(model=MODEL, input=LONG_QUESTION, max_output_tokens=16)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == content.truncate_to_tokens(full, 16)
    assert message_of(response).status == "incomplete"
    assert response.usage is not None
    assert response.usage.output_tokens == 16
    events: list[Any] = list(
        sdk.responses.create(model=MODEL, input=LONG_QUESTION, max_output_tokens=16, stream=True)
    )
    typed(events)
    assert isinstance(events[-1], ResponseIncompleteEvent)
    assert events[-1].response.output_text == response.output_text
    # reasoning spends the budget first: nothing is left for the answer
    spent = sdk.responses.create(model="o4-mini", input=QUESTION, max_output_tokens=100)
    assert spent.status == "incomplete"
    assert [item.type for item in spent.output] == ["reasoning"]
    assert spent.usage is not None
    assert spent.usage.output_tokens_details.reasoning_tokens == 100


async def test_async_client(openai_target: Target) -> None:
    async with openai_target.async_client() as client:
        response = await client.responses.create(model=MODEL, input=QUESTION)
        stream = await client.responses.create(model=MODEL, input=QUESTION, stream=True)
        events: list[Any] = [event async for event in stream]
    typed(events)
    assert events[-1].response.output_text == response.output_text


def test_headers(openai_target: Target) -> None:
    reply = httpx.post(
        f"{openai_target.base_url}/responses",
        json={"model": MODEL, "input": QUESTION},
        headers=openai_target.auth(),
    )
    assert reply.status_code == 200
    assert reply.headers["x-request-id"].startswith("req_")
    assert int(reply.headers["openai-processing-ms"]) >= 1
    assert reply.headers["x-ratelimit-limit-requests"] == "10000"
    tokens = reply.json()["usage"]["total_tokens"]
    assert int(reply.headers["x-ratelimit-remaining-tokens"]) == 30_000_000 - tokens


def test_only_openai_has_it(get_target: Any) -> None:
    for name in ("groq", "openrouter"):
        target: Target = get_target(name)
        reply = httpx.post(
            f"{target.base_url}/responses",
            json={"model": target.chat_model, "input": "Hi"},
            headers=target.auth(),
        )
        assert reply.status_code == 404


STRICT_EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
STRICT_RESPONSE = TypeAdapter(Response)
STRICT_ITEM: TypeAdapter[Any] = TypeAdapter(ResponseItem)
SHAPES: list[dict[str, Any]] = [
    {"input": QUESTION},
    {"input": WEATHER_QUESTION, "tools": [WEATHER]},
    {"model": "o3", "input": WEATHER_QUESTION, "tools": [WEATHER], "reasoning": {"summary": "auto"}},
    {"model": "gpt-5", "input": QUESTION, "include": ["reasoning.encrypted_content"]},
    {"input": LONG_QUESTION, "max_output_tokens": 16},
    {
        "input": "Rome",
        "text": {"format": {"type": "json_schema", "name": "w", "schema": Weather.model_json_schema()}},
    },
    {
        "input": "Search",
        "tools": [{"type": "web_search_preview"}],
        "tool_choice": {"type": "web_search_preview"},
    },
]


@pytest.mark.parametrize("body", SHAPES)
def test_strict_shapes(openai_target: Target, body: dict[str, Any]) -> None:
    """Responses, stream events and input items as sent, validated strictly against the SDK's models (an
    unknown event type, a missing field or a wrong type fails)."""
    body = {"model": MODEL, **body}
    url = f"{openai_target.base_url}/responses"
    reply = httpx.post(url, json=body, headers=openai_target.auth())
    assert reply.status_code == 200
    STRICT_RESPONSE.validate_python(reply.json(), strict=True)
    streamed = httpx.post(url, json={**body, "stream": True}, headers=openai_target.auth())
    for block in (block for block in streamed.text.split("\n\n") if block):
        STRICT_EVENTS.validate_python(json.loads(block.split("\n")[1].removeprefix("data: ")), strict=True)
    items = httpx.get(f"{url}/{reply.json()['id']}/input_items", headers=openai_target.auth()).json()
    for item in items["data"]:
        STRICT_ITEM.validate_python(item, strict=True)


def test_tool_prompt_tokens_match_chat(sdk: openai.OpenAI) -> None:
    response = sdk.responses.create(model=MODEL, input=WEATHER_QUESTION, tools=[WEATHER])
    chat_tools: list[Any] = [
        {"type": "function", "function": {key: value for key, value in WEATHER.items() if key != "type"}}
    ]
    completion = sdk.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": WEATHER_QUESTION}], tools=chat_tools
    )
    assert response.usage is not None
    assert completion.usage is not None
    assert response.usage.input_tokens == completion.usage.prompt_tokens
    call = completion.choices[0].message.tool_calls
    assert call is not None
    assert call[0].type == "function"
    assert call_of(response).arguments == call[0].function.arguments
