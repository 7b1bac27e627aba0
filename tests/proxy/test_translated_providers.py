"""One conformance suite over every chat provider, through the gateway, with the official OpenAI SDK.

The same scenarios run for OpenAI and Groq (pass-through), Anthropic and Gemini (translated) against their
emulators over real sockets: a client must not be able to tell which API answered.
"""

from __future__ import annotations

import json
from typing import cast

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from byokgate.emulators import EmulatorServer, Fault
from tests.proxy.conftest import CHAT_KEYS as KEYS
from tests.proxy.conftest import CHAT_MODELS as MODELS
from tests.proxy.conftest import Gateway
from tests.support.openapi_spec import assert_valid

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

# Bodies the gateway writes (translations) and OpenAI's own must match OpenAI's spec to the letter. Groq's
# are relayed byte for byte with Groq's own deviations (no `refusal`, `service_tier: "on_demand"`), which
# the SDK accepts; normalising them is a separate decision (see the issue notes).
SPEC_CHECKED = {"openai", "anthropic", "gemini"}
WEATHER: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def _client(gateway: Gateway, provider: str) -> openai.OpenAI:
    _, key = gateway.project(**{provider: KEYS[provider]})
    return gateway.client(key)


def test_plain_and_streamed_answers_agree(chat_gateway: Gateway, provider: str) -> None:
    client = _client(chat_gateway, provider)
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Tell me about the sea."},
    ]
    raw = client.chat.completions.with_raw_response.create(model=MODELS[provider], messages=messages)
    completion = raw.parse()
    assert raw.headers["x-byokgate-provider"] == provider
    if provider in SPEC_CHECKED:
        assert_valid("CreateChatCompletionResponse", json.loads(raw.content))
    text = completion.choices[0].message.content
    assert text
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (
        completion.usage.total_tokens
        == completion.usage.prompt_tokens + completion.usage.completion_tokens
        > 0
    )

    chunks = list(
        client.chat.completions.create(
            model=MODELS[provider], messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "stop"
    ]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == completion.usage.completion_tokens
    assert len({c.id for c in chunks}) == 1
    for chunk in chunks:
        if provider in SPEC_CHECKED:
            assert_valid(
                "CreateChatCompletionStreamResponse", chunk.model_dump(mode="json", exclude_unset=True)
            )


def test_tool_loop_with_parallel_calls_streamed_or_not(chat_gateway: Gateway, provider: str) -> None:
    client = _client(chat_gateway, provider)
    messages: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": "Use get_weather and get_time for Paris."}
    ]
    tools = [WEATHER, TIME]
    completion = client.chat.completions.create(model=MODELS[provider], messages=messages, tools=tools)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]  # type: ignore[union-attr]
    plain_arguments = [json.loads(c.function.arguments) for c in calls]  # type: ignore[union-attr]
    assert all(isinstance(a, dict) and a.get("city") for a in plain_arguments)

    streamed: dict[int, dict[str, str]] = {}
    finish: list[str] = []
    for chunk in client.chat.completions.create(
        model=MODELS[provider], messages=messages, tools=tools, stream=True
    ):
        for choice_delta in chunk.choices:
            if choice_delta.finish_reason:
                finish.append(choice_delta.finish_reason)
            for call in choice_delta.delta.tool_calls or ():
                entry = streamed.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                if call.id:
                    entry["id"] = call.id
                if call.function and call.function.name:
                    entry["name"] = call.function.name
                if call.function and call.function.arguments:
                    entry["arguments"] += call.function.arguments
    assert finish == ["tool_calls"]
    assert sorted(streamed) == [0, 1]
    assert [streamed[i]["name"] for i in (0, 1)] == ["get_weather", "get_time"]
    assert [json.loads(streamed[i]["arguments"]) for i in (0, 1)] == plain_arguments
    assert all(streamed[i]["id"] for i in (0, 1))

    results: list[ChatCompletionMessageParam] = [
        {"role": "tool", "tool_call_id": call.id, "content": f"result {index}"}
        for index, call in enumerate(calls)
    ]
    assistant = cast(ChatCompletionMessageParam, choice.message.model_dump(exclude_none=True))
    history: list[ChatCompletionMessageParam] = [*messages, assistant, *results]
    final = client.chat.completions.create(model=MODELS[provider], messages=history, tools=tools)
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content


def test_errors_raise_the_sdks_classes(
    chat_gateway: Gateway, chat_upstreams: dict[str, EmulatorServer], provider: str
) -> None:
    _, bad = chat_gateway.project("bad", **{provider: KEYS[provider][:-4] + "zzzz"})
    with pytest.raises(openai.AuthenticationError, match="Authentication failed with"):
        chat_gateway.client(bad).chat.completions.create(
            model=MODELS[provider], messages=[{"role": "user", "content": "hi"}]
        )
    client = _client(chat_gateway, provider)
    emulator = chat_upstreams[provider].emulator
    emulator.arm(Fault("429", retry_after_s=3))
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model=MODELS[provider], messages=[{"role": "user", "content": "hi"}])
    assert limited.value.response.headers["retry-after"] == "3"
    emulator.arm(Fault("500"))
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model=MODELS[provider], messages=[{"role": "user", "content": "hi"}])
    emulator.arm(Fault("disconnect_mid_stream", after_chunks=2))
    with (
        client.chat.completions.create(
            model=MODELS[provider],
            messages=[{"role": "user", "content": "Tell me a long story."}],
            stream=True,
        ) as stream,
        pytest.raises(openai.APIError),
    ):
        list(stream)


def test_unsupported_requests_are_400s_not_silently_changed(chat_gateway: Gateway, provider: str) -> None:
    if provider in ("openai", "groq"):
        pytest.skip("OpenAI-format providers judge n themselves")
    client = _client(chat_gateway, provider)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model=MODELS[provider], messages=[{"role": "user", "content": "hi"}], n=2
        )
    assert refused.value.body["param"] == "n"  # type: ignore[index]


PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="


def test_images_arrive_in_each_providers_own_form(
    chat_gateway: Gateway, chat_upstreams: dict[str, EmulatorServer], provider: str
) -> None:
    client = _client(chat_gateway, provider)
    completion = client.chat.completions.create(
        model=MODELS[provider],
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
                ],
            }
        ],
    )
    assert completion.choices[0].message.content
    sent = chat_upstreams[provider].emulator.requests[-1].body
    assert PIXEL in json.dumps(sent)
    if provider == "anthropic":
        image = sent["messages"][0]["content"][1]
        assert image == {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": PIXEL},
        }
    elif provider == "gemini":
        assert sent["contents"][0]["parts"][1] == {"inlineData": {"mimeType": "image/png", "data": PIXEL}}


def test_json_mode_gives_json(chat_gateway: Gateway, provider: str) -> None:
    client = _client(chat_gateway, provider)
    schema: dict[str, object] = {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
    }
    completion = client.chat.completions.create(
        model=MODELS[provider],
        messages=[{"role": "user", "content": "Answer in JSON: what colour is the sky?"}],
        response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}},
    )
    content = completion.choices[0].message.content
    assert content is not None
    assert isinstance(json.loads(content), dict)


def test_gemini_3_thought_signatures_survive_the_tool_loop(
    chat_gateway: Gateway, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    client = _client(chat_gateway, "gemini")
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Use get_weather for Rome."}]
    first = client.chat.completions.create(model="gemini-3-pro-preview", messages=messages, tools=[WEATHER])
    calls = first.choices[0].message.tool_calls or []
    assert calls
    call_part = chat_upstreams["gemini"].emulator.requests[-1]
    assert call_part.status == 200
    assistant = cast(ChatCompletionMessageParam, first.choices[0].message.model_dump(exclude_none=True))
    follow_up: list[ChatCompletionMessageParam] = [
        *messages,
        assistant,
        {"role": "tool", "tool_call_id": calls[0].id, "content": "22C"},
    ]
    final = client.chat.completions.create(model="gemini-3-pro-preview", messages=follow_up, tools=[WEATHER])
    assert final.choices[0].finish_reason == "stop"
    replayed = chat_upstreams["gemini"].emulator.requests[-1].body["contents"][1]["parts"][0]
    assert replayed.get("thoughtSignature")  # Gemini 3 rejects a replayed call without it


def test_an_anthropic_error_event_mid_stream_reaches_the_openai_sdk(
    chat_gateway: Gateway, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    client = _client(chat_gateway, "anthropic")
    chat_upstreams["anthropic"].emulator.arm(Fault("error_event", after_chunks=3))
    with (
        client.chat.completions.create(
            model=MODELS["anthropic"],
            messages=[{"role": "user", "content": "Tell me a long story."}],
            stream=True,
        ) as stream,
        pytest.raises(openai.APIError, match=r"(?i)overloaded"),
    ):
        list(stream)
