"""Chat completions through the official SDK, for every provider: plain, streamed, tools, determinism."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from byokgate.emulators import content
from tests.emulators.conftest import Target

QUESTION: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Tell me something about emulators."},
]
WEATHER_TOOL: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["location", "unit"],
        },
    },
}
TIME_TOOL: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_local_time",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
WEATHER_QUESTION: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "What's the weather and the local time in New York?"}
]
EXPECTED_ARGUMENTS = {"location": "New York", "unit": "c"}


def test_non_stream_answer_is_the_predicted_text(target: Target, client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=target.chat_model, messages=QUESTION)
    expected = content.reply_for(QUESTION)
    assert expected.startswith("Echo: Tell me something about emulators. ")
    choice = completion.choices[0]
    assert choice.message.content == expected
    assert choice.message.role == "assistant"
    assert choice.finish_reason == "stop"
    assert completion.object == "chat.completion"
    assert completion.model == target.chat_model
    assert completion.id.startswith("gen-" if target.name == "openrouter" else "chatcmpl-")
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == content.prompt_tokens(QUESTION)
    assert completion.usage.completion_tokens == content.count_tokens(expected)
    assert (
        completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_same_request_same_content(target: Target, client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model=target.chat_model, messages=QUESTION)
    second = client.chat.completions.create(model=target.chat_model, messages=QUESTION)
    other = client.chat.completions.create(
        model=target.chat_model, messages=[{"role": "user", "content": "Hi"}]
    )
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.id != second.id
    assert other.choices[0].message.content != first.choices[0].message.content


async def test_async_non_stream(target: Target, async_client: openai.AsyncOpenAI) -> None:
    completion = await async_client.chat.completions.create(model=target.chat_model, messages=QUESTION)
    assert completion.choices[0].message.content == content.reply_for(QUESTION)


def test_stream_concatenates_to_the_same_text(target: Target, client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model=target.chat_model, messages=QUESTION, stream=True))
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == content.reply_for(QUESTION)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == ""
    content_chunks = [chunk for chunk in chunks if chunk.choices and chunk.choices[0].delta.content]
    assert len(content_chunks) > 3
    finishing = [chunk for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
    assert [chunk.choices[0].finish_reason for chunk in finishing] == ["stop"]
    assert len({chunk.id for chunk in chunks}) == 1
    assert len({chunk.created for chunk in chunks}) == 1
    # Without include_usage only OpenRouter (which always does) sends a usage chunk.
    usage_chunks = [chunk for chunk in chunks if not chunk.choices]
    assert len(usage_chunks) == (1 if target.name == "openrouter" else 0)


async def test_async_stream_with_usage(target: Target, async_client: openai.AsyncOpenAI) -> None:
    stream = await async_client.chat.completions.create(
        model=target.chat_model, messages=QUESTION, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens == content.count_tokens(content.reply_for(QUESTION))
    if target.name == "openai":
        # OpenAI sends `usage: null` on every other chunk when include_usage is set.
        assert all("usage" in chunk.model_fields_set and chunk.usage is None for chunk in chunks[:-1])


def test_sse_framing(target: Target) -> None:
    body = {"model": target.chat_model, "messages": QUESTION, "stream": True}
    response = httpx.post(f"{target.base_url}/chat/completions", json=body, headers=target.auth())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    text = response.text
    assert text.endswith("data: [DONE]\n\n")
    events = text.split("\n\n")[:-1]
    if target.name == "openrouter":
        assert events[0] == ": OPENROUTER PROCESSING"
        events = events[1:]
    assert all(event.startswith("data: ") for event in events)
    payloads = [json.loads(event[6:]) for event in events[:-1]]
    assert all(payload["object"] == "chat.completion.chunk" for payload in payloads)


def test_max_tokens_truncates_with_finish_reason_length(target: Target, client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=target.chat_model, messages=QUESTION, max_tokens=5)
    expected = content.truncate_to_tokens(content.reply_for(QUESTION), 5)
    assert completion.choices[0].message.content == expected
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 5
    streamed = client.chat.completions.create(
        model=target.chat_model, messages=QUESTION, max_completion_tokens=5, stream=True
    )
    chunks = list(streamed)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == expected
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "length"
    ]


def test_tool_call_non_stream(target: Target, client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model=target.chat_model, messages=WEATHER_QUESTION, tools=[WEATHER_TOOL, TIME_TOOL]
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls or []
    assert [call.function.name for call in calls] == ["get_weather", "get_local_time"]  # type: ignore[union-attr]
    assert all(call.id.startswith("call_") and call.type == "function" for call in calls)
    assert json.loads(calls[0].function.arguments) == EXPECTED_ARGUMENTS  # type: ignore[union-attr]
    assert json.loads(calls[1].function.arguments) == {"city": "New York"}  # type: ignore[union-attr]


def test_tool_choice_rules(target: Target, client: openai.OpenAI) -> None:
    def names(**kwargs: Any) -> list[str]:
        completion = client.chat.completions.create(model=target.chat_model, **kwargs)
        return [call.function.name for call in completion.choices[0].message.tool_calls or []]

    tools = [WEATHER_TOOL, TIME_TOOL]
    assert names(messages=WEATHER_QUESTION, tools=tools, parallel_tool_calls=False) == ["get_weather"]
    assert names(messages=WEATHER_QUESTION, tools=tools, tool_choice="none") == []
    assert names(messages=QUESTION, tools=tools) == []
    assert names(messages=QUESTION, tools=tools, tool_choice="required") == ["get_weather"]
    named = {"type": "function", "function": {"name": "get_local_time"}}
    assert names(messages=QUESTION, tools=tools, tool_choice=named) == ["get_local_time"]


def test_tool_call_stream(target: Target, client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=target.chat_model, messages=WEATHER_QUESTION, tools=[WEATHER_TOOL, TIME_TOOL], stream=True
    )
    calls: dict[int, dict[str, str]] = {}
    finish = []
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        for fragment in delta.tool_calls or []:
            call = calls.setdefault(fragment.index, {"id": "", "name": "", "arguments": ""})
            if fragment.id:
                assert not call["id"], "id only on the first fragment"
                call["id"] = fragment.id
                call["name"] = fragment.function.name or ""  # type: ignore[union-attr]
            if fragment.function and fragment.function.arguments:
                call["arguments"] += fragment.function.arguments
        if chunk.choices[0].finish_reason:
            finish.append(chunk.choices[0].finish_reason)
    assert finish == ["tool_calls"]
    assert [calls[i]["name"] for i in sorted(calls)] == ["get_weather", "get_local_time"]
    assert json.loads(calls[0]["arguments"]) == EXPECTED_ARGUMENTS
    assert all(call["id"].startswith("call_") for call in calls.values())


def test_after_tool_result_answers_text(target: Target, client: openai.OpenAI) -> None:
    first = client.chat.completions.create(
        model=target.chat_model, messages=WEATHER_QUESTION, tools=[WEATHER_TOOL]
    )
    call = (first.choices[0].message.tool_calls or [])[0]
    history: list[ChatCompletionMessageParam] = [
        *WEATHER_QUESTION,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},  # type: ignore[list-item]
        {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 21}'},
    ]
    second = client.chat.completions.create(model=target.chat_model, messages=history, tools=[WEATHER_TOOL])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == 'Based on the tool results: {"temp_c": 21}.'
    assert not second.choices[0].message.tool_calls


def test_provider_extras(target: Target) -> None:
    body = {"model": target.chat_model, "messages": QUESTION}
    response = httpx.post(f"{target.base_url}/chat/completions", json=body, headers=target.auth())
    payload = response.json()
    message = payload["choices"][0]["message"]
    if target.name == "openai":
        assert message["refusal"] is None
        assert message["annotations"] == []
        assert payload["service_tier"] == "default"
        assert payload["system_fingerprint"].startswith("fp_")
        assert payload["usage"]["prompt_tokens_details"] == {"cached_tokens": 0, "audio_tokens": 0}
        assert response.headers["x-request-id"].startswith("req_")
        assert len(response.headers["x-request-id"]) == 36
        assert response.headers["openai-version"] == "2020-10-01"
        assert int(response.headers["x-ratelimit-remaining-requests"]) < int(
            response.headers["x-ratelimit-limit-requests"]
        )
    elif target.name == "groq":
        assert payload["x_groq"]["id"] == response.headers["x-request-id"]
        assert {"queue_time", "prompt_time", "completion_time", "total_time"} <= set(payload["usage"])
        assert payload["service_tier"] == "on_demand"
        assert response.headers["x-ratelimit-limit-requests"] == "14400"  # per day
    else:
        assert payload["provider"] == "OpenAI"
        assert payload["system_fingerprint"] is None
        assert payload["choices"][0]["native_finish_reason"] == "stop"
        assert payload["usage"]["cost"] > 0
        assert response.headers["x-generation-id"] == payload["id"]
        assert "x-ratelimit-limit" not in response.headers


def test_openrouter_native_finish_reason_follows_the_upstream(get_target: Any) -> None:
    target: Target = get_target("openrouter")
    body = {"model": "anthropic/claude-3.5-sonnet", "messages": QUESTION, "max_tokens": 3}
    payload = httpx.post(f"{target.base_url}/chat/completions", json=body, headers=target.auth()).json()
    assert payload["provider"] == "Anthropic"
    assert payload["choices"][0]["finish_reason"] == "length"
    assert payload["choices"][0]["native_finish_reason"] == "max_tokens"


def test_obfuscation_present_by_default_and_switchable(get_target: Any) -> None:
    target: Target = get_target("openai")
    with target.client() as client:
        chunks = list(client.chat.completions.create(model=target.chat_model, messages=QUESTION, stream=True))
        assert all(chunk.obfuscation for chunk in chunks)
        plain = client.chat.completions.create(
            model=target.chat_model,
            messages=QUESTION,
            stream=True,
            stream_options={"include_obfuscation": False},
        )
        assert all("obfuscation" not in chunk.model_fields_set for chunk in plain)
    for name in ("groq", "openrouter"):
        other: Target = get_target(name)
        with other.client() as client:
            chunks = list(
                client.chat.completions.create(model=other.chat_model, messages=QUESTION, stream=True)
            )
            assert all("obfuscation" not in chunk.model_fields_set for chunk in chunks)
