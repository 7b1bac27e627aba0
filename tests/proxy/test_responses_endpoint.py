"""The Responses front door (/v1/responses) driven by the official openai SDK, for every chat provider.

OpenAI models go to the OpenAI emulator's own Responses API on the project's key; every other model is
translated to chat completions and back. Streams are read raw as well and every event is validated
against the SDK's own ``ResponseStreamEvent`` union, strictly.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import FunctionToolParam, Response, ResponseStreamEvent
from pydantic import TypeAdapter

from byokgate.emulators import EmulatorServer
from tests.proxy.conftest import CHAT_KEYS as KEYS
from tests.proxy.conftest import CHAT_MODELS as MODELS
from tests.proxy.conftest import Gateway
from tests.support.providers import BY_NAME

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
RESPONSE = TypeAdapter(Response)
WEATHER: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


@pytest.fixture
def keyed(chat_gateway: Gateway) -> tuple[str, str]:
    return chat_gateway.project(**KEYS)


@pytest.fixture
def client(chat_gateway: Gateway, keyed: tuple[str, str]) -> openai.OpenAI:
    return chat_gateway.client(keyed[1])


def _tools(provider: str) -> bool:
    return BY_NAME[provider].capabilities.tools


def _stream(gateway: Gateway, key: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """A streamed request read raw: each event's data, checked against the SDK's event union (strict:
    an event the SDK does not know, or a field of the wrong type, fails)."""
    events = []
    with httpx.stream(
        "POST",
        f"{gateway.url}/v1/responses",
        json={**body, "stream": True},
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    ) as answer:
        assert answer.status_code == 200, answer.read()
        assert answer.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in answer.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
                assert data["type"] == kind  # the event line names the data's type
                EVENTS.validate_python(data, strict=False)
                events.append(data)
    numbers = [event["sequence_number"] for event in events]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == len(numbers)
    return events


def test_plain_answer(
    client: openai.OpenAI, provider: str, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    raw = client.responses.with_raw_response.create(
        model=MODELS[provider], input="Tell me about the sea.", instructions="Be brief."
    )
    response = raw.parse()
    assert raw.headers["x-byokgate-provider"] == provider
    assert raw.headers["x-byokgate-cost-usd"]
    assert response.object == "response"
    assert response.status == "completed"
    assert response.id.startswith("resp_")
    assert response.output_text
    assert response.instructions == "Be brief."
    assert response.usage is not None
    assert response.usage.output_tokens > 0
    RESPONSE.validate_python(raw.http_response.json(), strict=False)
    sent = chat_upstreams[provider].emulator.requests[-1]
    assert sent.api_key == KEYS[provider]  # the project's own key went upstream


def test_streamed_text(chat_gateway: Gateway, keyed: tuple[str, str], provider: str) -> None:
    body = {"model": MODELS[provider], "input": "Tell me about the sea.", "instructions": "Be brief."}
    events = _stream(chat_gateway, keyed[1], body)
    kinds = [event["type"] for event in events]
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    for expected in ("response.output_item.added", "response.output_text.delta", "response.output_item.done"):
        assert expected in kinds
    text = "".join(event["delta"] for event in events if event["type"] == "response.output_text.delta")
    final = events[-1]["response"]
    message = next(item for item in final["output"] if item["type"] == "message")
    assert message["content"][0]["text"] == text != ""
    assert final["usage"]["output_tokens"] > 0


def test_sdk_stream_helper(client: openai.OpenAI, provider: str) -> None:
    with client.responses.stream(model=MODELS[provider], input="Tell me about the sea.") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text != ""


def test_tool_call_and_its_result(client: openai.OpenAI, provider: str) -> None:
    if not _tools(provider):
        pytest.skip(f"{provider} takes no tools")
    first = client.responses.create(
        model=MODELS[provider], input="What's the weather in Paris?", tools=[WEATHER]
    )
    calls = [item for item in first.output if item.type == "function_call"]
    assert [call.name for call in calls] == ["get_weather"]
    assert "city" in json.loads(calls[0].arguments)
    second = client.responses.create(
        model=MODELS[provider],
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": calls[0].call_id, "output": "Sunny, 21 C"}],
        tools=[WEATHER],
    )
    assert second.previous_response_id == first.id
    assert second.output_text
    assert not [item for item in second.output if item.type == "function_call"]


def test_streamed_tool_call(chat_gateway: Gateway, keyed: tuple[str, str], provider: str) -> None:
    if not _tools(provider):
        pytest.skip(f"{provider} takes no tools")
    body = {"model": MODELS[provider], "input": "What's the weather in Paris?", "tools": [WEATHER]}
    events = _stream(chat_gateway, keyed[1], body)
    added = [e["item"] for e in events if e["type"] == "response.output_item.added"]
    assert any(item["type"] == "function_call" for item in added)
    arguments = "".join(e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta")
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert json.loads(done["arguments"]) == json.loads(arguments)
    final = events[-1]["response"]
    call = next(item for item in final["output"] if item["type"] == "function_call")
    assert call["name"] == "get_weather"
    assert call["status"] == "completed"
