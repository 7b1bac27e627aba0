"""One conformance suite over every chat provider, through the gateway, with the official OpenAI SDK.

Each provider of ``tests/support/providers.py`` runs against its emulator over real sockets; what a
scenario expects follows the adapter's declared capabilities (tools, vision, JSON mode, streamed usage,
embeddings) and the record, never the provider's name. A client must not be able to tell which API
answered, beyond what the provider itself adds.
"""

from __future__ import annotations

import json
from typing import Any, cast

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from byokgate.emulators import EmulatorServer, Fault
from tests.proxy.conftest import Gateway
from tests.support.openapi_spec import assert_valid
from tests.support.providers import BY_NAME, ProviderCase

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

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
HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


@pytest.fixture
def case(provider: str) -> ProviderCase:
    return BY_NAME[provider]


def _client(gateway: Gateway, case: ProviderCase) -> openai.OpenAI:
    _, key = gateway.project(**{case.name: case.key})
    return gateway.client(key)


def test_plain_and_streamed_answers_agree(chat_gateway: Gateway, case: ProviderCase) -> None:
    client = _client(chat_gateway, case)
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Tell me about the sea."},
    ]
    raw = client.chat.completions.with_raw_response.create(model=case.chat_model, messages=messages)
    completion = raw.parse()
    assert raw.headers["x-byokgate-provider"] == case.name
    assert raw.headers["x-byokgate-lane"] == "byok"
    if case.spec_checked:
        assert_valid("CreateChatCompletionResponse", json.loads(raw.content))
    text = completion.choices[0].message.content
    assert text
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (
        completion.usage.total_tokens >= completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens > 0

    chunks = list(
        client.chat.completions.create(
            model=case.chat_model, messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    first = next(c for c in chunks if c.choices)  # (a provider may open with a chunk of its own, as Azure)
    assert first.choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "stop"
    ]
    assert len({c.id for c in chunks if c.choices}) == 1
    # The usage arrives last: in a chunk of its own (OpenAI), on the finishing chunk, or running along.
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == completion.usage.completion_tokens
    for chunk in chunks:
        if case.spec_checked:
            assert_valid(
                "CreateChatCompletionStreamResponse", chunk.model_dump(mode="json", exclude_unset=True)
            )


def test_tool_loop_with_parallel_calls_streamed_or_not(chat_gateway: Gateway, case: ProviderCase) -> None:
    client = _client(chat_gateway, case)
    messages: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": "Use get_weather and get_time for Paris."}
    ]
    tools = [WEATHER, TIME]
    if not case.capabilities.tools:  # refused by the gateway, naming the parameter, before going upstream
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(model=case.chat_model, messages=messages, tools=tools)
        assert refused.value.body["param"] == "tools"  # type: ignore[index]
        return
    completion = client.chat.completions.create(model=case.chat_model, messages=messages, tools=tools)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]  # type: ignore[union-attr]
    plain_arguments = [json.loads(c.function.arguments) for c in calls]  # type: ignore[union-attr]
    assert all(isinstance(a, dict) and a.get("city") for a in plain_arguments)

    streamed: dict[int, dict[str, str]] = {}
    finish: list[str] = []
    for chunk in client.chat.completions.create(
        model=case.chat_model, messages=messages, tools=tools, stream=True
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
    final = client.chat.completions.create(model=case.chat_model, messages=history, tools=tools)
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content


def test_errors_raise_the_sdks_classes(
    chat_gateway: Gateway, chat_upstreams: dict[str, EmulatorServer], case: ProviderCase
) -> None:
    _, bad = chat_gateway.project("bad", **{case.name: case.key[:-4] + "zzzz"})
    with pytest.raises(openai.AuthenticationError, match="Authentication failed with"):
        chat_gateway.client(bad).chat.completions.create(model=case.chat_model, messages=HI)
    client = _client(chat_gateway, case)
    emulator = chat_upstreams[case.name].emulator
    # A retry-after longer than the gateway waits for (BYOKGATE_RETRY_AFTER_MAX_S): the client gets it.
    emulator.arm(Fault("429", retry_after_s=30))
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model=case.chat_model, messages=HI)
    assert limited.value.response.headers["retry-after"] == "30"
    assert limited.value.response.headers["x-should-retry"] == "true"
    emulator.arm(Fault("500", count=3))  # the attempt and its two retries
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(model=case.chat_model, messages=HI)
    assert failed.value.response.headers["x-byokgate-attempts"] == "3"
    assert [attempt["action"] for attempt in failed.value.body["attempts"]] == ["retry", "retry", "failover"]  # type: ignore[index]
    emulator.arm(Fault("disconnect_mid_stream", after_chunks=4))  # once the answer has begun
    with (
        client.chat.completions.create(
            model=case.chat_model,
            messages=[{"role": "user", "content": "Tell me a long story."}],
            stream=True,
        ) as stream,
        pytest.raises(openai.APIError),
    ):
        list(stream)


def test_what_a_translation_cannot_express_is_a_400_not_a_silent_change(
    chat_gateway: Gateway, case: ProviderCase
) -> None:
    if not case.translated:
        pytest.skip("a relayed request is judged by the provider itself")
    client = _client(chat_gateway, case)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model=case.chat_model, messages=HI, n=2)
    assert refused.value.body["param"] == "n"  # type: ignore[index]


PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
IMAGE_FORMS: dict[str, Any] = {
    "image_url": {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
    "base64_source": {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PIXEL},
    },
    "inline_data": {"inlineData": {"mimeType": "image/png", "data": PIXEL}},
}


def test_images_arrive_in_each_providers_own_form(
    chat_gateway: Gateway, chat_upstreams: dict[str, EmulatorServer], case: ProviderCase
) -> None:
    if not case.capabilities.vision:
        pytest.skip("the provider takes no images")
    client = _client(chat_gateway, case)
    completion = client.chat.completions.create(
        model=case.vision_model or case.chat_model,
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
    sent: Any = chat_upstreams[case.name].emulator.requests[-1].body
    path, form = case.image
    for step in path:
        sent = sent[step]
    assert sent == IMAGE_FORMS[form]


def test_json_mode_gives_json(chat_gateway: Gateway, case: ProviderCase) -> None:
    if not case.capabilities.json_mode:
        pytest.skip("the provider has no JSON mode")
    client = _client(chat_gateway, case)
    schema: dict[str, object] = {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
    }
    completion = client.chat.completions.create(
        model=case.chat_model,
        messages=[{"role": "user", "content": "Answer in JSON: what colour is the sky?"}],
        response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}},
    )
    content = completion.choices[0].message.content
    assert content is not None
    assert isinstance(json.loads(content), dict)


def test_embeddings(chat_gateway: Gateway, case: ProviderCase) -> None:
    client = _client(chat_gateway, case)
    if not case.capabilities.embeddings:
        with pytest.raises(openai.BadRequestError) as refused:
            client.embeddings.create(model=case.chat_model, input="a gateway")
        assert refused.value.body["code"] == "model_not_supported"  # type: ignore[index]
        return
    assert case.embedding_model is not None
    raw = client.embeddings.with_raw_response.create(
        model=case.embedding_model, input=["a gateway", "a road"]
    )
    answer = raw.parse()
    assert raw.headers["x-byokgate-provider"] == case.name
    assert [item.index for item in answer.data] == [0, 1]
    assert all(len(item.embedding) > 8 for item in answer.data)
    assert answer.usage.prompt_tokens > 0
    assert float(raw.headers["x-byokgate-cost-usd"]) >= 0


def test_the_provider_is_listed_for_a_project_holding_its_key(
    chat_gateway: Gateway, case: ProviderCase
) -> None:
    client = _client(chat_gateway, case)
    owned = {model.id: model.owned_by for model in client.models.list()}
    listed = chat_gateway.app.components.providers.registry[case.name].catalog.models  # type: ignore[union-attr]
    assert {model for model, owner in owned.items() if owner == case.name} == set(listed)
