"""The Anthropic-format front door (/v1/messages) driven by the official anthropic SDK.

Claude models pass through to the Anthropic emulator natively; gpt-4o and Gemini models are translated
from Anthropic format and back. The client cannot tell the difference.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import anthropic
import httpx
import pytest
from anthropic.types import MessageParam, ToolParam

from byokgate.emulators import EmulatorServer
from tests.proxy.conftest import CHAT_KEYS as KEYS
from tests.proxy.conftest import CHAT_MODELS as MODELS
from tests.proxy.conftest import Gateway
from tests.support.providers import BY_NAME

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

WEATHER: ToolParam = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def client(chat_gateway: Gateway) -> Iterator[anthropic.Anthropic]:
    _, key = chat_gateway.project(**KEYS)
    with anthropic.Anthropic(base_url=chat_gateway.url, api_key=key, max_retries=0) as sdk:
        yield sdk


def test_messages_plain_and_streamed(
    client: anthropic.Anthropic, provider: str, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    messages: list[MessageParam] = [{"role": "user", "content": "Tell me about the sea."}]
    raw = client.messages.with_raw_response.create(
        model=MODELS[provider], max_tokens=200, system="Be brief.", messages=messages
    )
    message = raw.parse()
    assert raw.headers["x-byokgate-provider"] == provider
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.stop_reason == "end_turn"
    text = "".join(block.text for block in message.content if block.type == "text")
    assert text
    assert message.usage.output_tokens > 0
    sent = chat_upstreams[provider].emulator.requests[-1]
    assert sent.api_key == KEYS[provider]  # the project's own key went upstream

    with client.messages.stream(
        model=MODELS[provider], max_tokens=200, system="Be brief.", messages=messages
    ) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed == text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == message.usage.output_tokens


def test_tools_through_messages(client: anthropic.Anthropic, provider: str) -> None:
    if not BY_NAME[provider].capabilities.tools:
        pytest.skip("the provider takes no tools (the conformance suite checks the refusal)")
    messages: list[MessageParam] = [{"role": "user", "content": "Use get_weather for Paris."}]
    message = client.messages.create(
        model=MODELS[provider], max_tokens=300, messages=messages, tools=[WEATHER]
    )
    assert message.stop_reason == "tool_use"
    calls = [block for block in message.content if block.type == "tool_use"]
    assert [call.name for call in calls] == ["get_weather"]
    assert isinstance(calls[0].input, dict)
    assert calls[0].input.get("city")

    with client.messages.stream(
        model=MODELS[provider], max_tokens=300, messages=messages, tools=[WEATHER]
    ) as stream:
        final = stream.get_final_message()
    streamed_calls = [block for block in final.content if block.type == "tool_use"]
    assert [(c.name, c.input) for c in streamed_calls] == [(c.name, c.input) for c in calls]
    assert final.stop_reason == "tool_use"

    follow_up: list[MessageParam] = [
        *messages,
        cast(
            MessageParam,
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in message.content]},
        ),
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": calls[0].id, "content": "18C, sunny"}],
        },
    ]
    answer = client.messages.create(
        model=MODELS[provider], max_tokens=300, messages=follow_up, tools=[WEATHER]
    )
    assert answer.stop_reason == "end_turn"
    assert any(block.type == "text" and block.text for block in answer.content)


def test_auth_by_either_header_and_errors_in_anthropics_shape(chat_gateway: Gateway) -> None:
    _, key = chat_gateway.project(anthropic=KEYS["anthropic"])
    body = {"model": MODELS["anthropic"], "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    version = {"anthropic-version": "2023-06-01"}
    with httpx.Client(base_url=chat_gateway.url, timeout=30) as http:
        assert http.post("/v1/messages", json=body, headers={"x-api-key": key, **version}).status_code == 200
        bearer = {"authorization": f"Bearer {key}", **version}
        assert http.post("/v1/messages", json=body, headers=bearer).status_code == 200
        denied = http.post("/v1/messages", json=body, headers={"x-api-key": "lgw_proj_wrong", **version})
        assert denied.status_code == 401
        assert denied.json()["type"] == "error"
        assert denied.json()["error"]["type"] == "authentication_error"
        missing = http.post("/v1/messages", json={**body, "max_tokens": None}, headers=bearer)
        assert missing.status_code == 400
        assert missing.json()["error"]["type"] == "invalid_request_error"
        unknown = http.post("/v1/messages", json={**body, "model": "gpt-4o"}, headers=bearer)
        assert unknown.status_code == 404  # no OpenAI key in this project
        assert unknown.json()["error"]["type"] == "not_found_error"


def test_the_sdk_raises_its_own_classes(chat_gateway: Gateway) -> None:
    _, key = chat_gateway.project(anthropic=KEYS["anthropic"][:-4] + "zzzz")
    with (
        anthropic.Anthropic(base_url=chat_gateway.url, api_key=key, max_retries=0) as sdk,
        pytest.raises(anthropic.AuthenticationError, match="Authentication failed with Anthropic"),
    ):
        sdk.messages.create(
            model=MODELS["anthropic"], max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )


def test_count_tokens_passes_through_for_claude(client: anthropic.Anthropic) -> None:
    counted = client.messages.count_tokens(
        model=MODELS["anthropic"], messages=[{"role": "user", "content": "How many tokens is this?"}]
    )
    assert counted.input_tokens > 0


def test_native_streams_are_relayed_byte_for_byte(
    chat_gateway: Gateway, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    _, key = chat_gateway.project(anthropic=KEYS["anthropic"])
    body = {
        "model": MODELS["anthropic"],
        "max_tokens": 50,
        "stream": True,
        "messages": [{"role": "user", "content": "Stream this please."}],
    }
    headers = {"anthropic-version": "2023-06-01", "content-type": "application/json"}
    with httpx.Client(timeout=30) as http:
        via_gateway = http.post(
            f"{chat_gateway.url}/v1/messages", json=body, headers={**headers, "x-api-key": key}
        )
        direct = http.post(
            f"{chat_upstreams['anthropic'].base_url.rstrip('/')}/v1/messages",
            json=body,
            headers={**headers, "x-api-key": KEYS["anthropic"]},
        )
    assert via_gateway.status_code == direct.status_code == 200

    def shape(raw: str) -> list[Any]:  # ids differ per response; everything else must not
        events = []
        for event in raw.strip().split("\n\n"):
            lines = event.split("\n")
            data = json.loads(lines[1].removeprefix("data: "))
            if data.get("type") == "message_start":
                data["message"]["id"] = "msg"
            events.append((lines[0], data))
        return events

    assert shape(via_gateway.text) == shape(direct.text)


def test_the_version_header_is_required_and_upstream_headers_come_back(chat_gateway: Gateway) -> None:
    _, key = chat_gateway.project(anthropic=KEYS["anthropic"])
    body = {"model": MODELS["anthropic"], "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(base_url=chat_gateway.url, timeout=30) as http:
        unversioned = http.post("/v1/messages", json=body, headers={"x-api-key": key})
        assert unversioned.status_code == 400
        assert unversioned.json()["error"]["message"] == "anthropic-version: header is required"
        answered = http.post(
            "/v1/messages", json=body, headers={"x-api-key": key, "anthropic-version": "2023-06-01"}
        )
    assert answered.status_code == 200
    assert answered.headers["request-id"].startswith("req_")
    assert "anthropic-ratelimit-requests-remaining" in answered.headers


def test_structured_output_reaches_every_json_model(
    client: anthropic.Anthropic, provider: str, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    """``output_config.format`` is structured output for any model: a Claude gets it as it is, any other
    model as ``response_format`` (never dropped: a client parsing the JSON would get free text)."""
    if not BY_NAME[provider].capabilities.json_mode:
        pytest.skip(f"{provider} takes no response_format")
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
        "additionalProperties": False,
    }
    message = client.messages.create(
        model=MODELS[provider],
        max_tokens=200,
        messages=[{"role": "user", "content": "Name a big city and its population."}],
        output_config={"format": {"type": "json_schema", "schema": schema}},
    )
    text = "".join(block.text for block in message.content if block.type == "text")
    assert set(json.loads(text)) == {"city", "population"}
    sent = chat_upstreams[provider].emulator.requests[-1].body
    assert isinstance(sent, dict)
    if not BY_NAME[provider].translated:  # an OpenAI-format provider: the canonical body as it is
        assert sent["response_format"]["json_schema"]["schema"] == schema
