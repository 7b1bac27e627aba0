"""The response cache on the Anthropic-format front door (/v1/messages), driven by the official anthropic SDK.

Entries are Anthropic ``message`` bodies: a hit returns the miss's body byte for byte, and a streamed request
is answered by replaying the entry as Anthropic's event stream (and the other way round), for Claude models
passed through natively and for translated ones alike.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import anthropic
import httpx
import pytest
from anthropic.types import MessageParam, ToolParam

from byokgate.emulators import EmulatorServer, Fault
from tests.proxy.conftest import CHAT_KEYS as KEYS
from tests.proxy.conftest import CHAT_MODELS as MODELS
from tests.proxy.conftest import Gateway
from tests.support.providers import BY_NAME

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SEA: list[MessageParam] = [{"role": "user", "content": "Tell me about the sea."}]
WEATHER: ToolParam = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def project(chat_gateway: Gateway) -> Iterator[tuple[Gateway, anthropic.Anthropic, str]]:
    project_id, key = chat_gateway.project(**KEYS)
    response = chat_gateway.admin.put(f"/projects/{project_id}/cache", json={"enabled": True})
    assert response.status_code == 200
    _wait_for_cache(chat_gateway, key)
    with anthropic.Anthropic(base_url=chat_gateway.url, api_key=key, max_retries=0) as sdk:
        yield chat_gateway, sdk, key


def _wait_for_cache(gateway: Gateway, key: str) -> None:
    probe: dict[str, object] = {
        "model": MODELS["anthropic"],
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "probe"}],
    }
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01", "x-byokgate-cache": "no-store"}
    for _ in range(200):
        answered = httpx.post(f"{gateway.url}/v1/messages", json=probe, headers=headers)
        if answered.headers.get("x-byokgate-cache") != "BYPASS":
            return
        time.sleep(0.02)
    raise AssertionError("the cache settings never reached the data plane")


def _calls(server: EmulatorServer) -> int:
    """Upstream answers asked for (the probes of ``_wait_for_cache`` excluded)."""
    return sum(1 for r in server.emulator.requests if "'probe'" not in str(r.body))


def test_a_hit_is_the_same_message_in_either_mode(
    project: tuple[Gateway, anthropic.Anthropic, str],
    provider: str,
    chat_upstreams: dict[str, EmulatorServer],
) -> None:
    _, client, _ = project
    upstream = chat_upstreams[provider]
    before = _calls(upstream)
    model = MODELS[provider]
    miss = client.messages.with_raw_response.create(model=model, max_tokens=300, messages=SEA)
    hit = client.messages.with_raw_response.create(model=model, max_tokens=300, messages=SEA)
    assert (miss.headers["x-byokgate-cache"], hit.headers["x-byokgate-cache"]) == ("MISS", "HIT")
    assert hit.http_response.content == miss.http_response.content
    stored = miss.parse()
    with client.messages.stream(model=model, max_tokens=300, messages=SEA) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert stream.response.headers["x-byokgate-cache"] == "HIT"
    assert text == "".join(block.text for block in stored.content if block.type == "text")
    assert final.model_dump() == stored.model_dump()
    assert _calls(upstream) == before + 1


def test_a_streamed_miss_with_tools_answers_a_plain_request(
    project: tuple[Gateway, anthropic.Anthropic, str],
    provider: str,
    chat_upstreams: dict[str, EmulatorServer],
) -> None:
    _, client, _ = project
    upstream = chat_upstreams[provider]
    model = MODELS[provider]
    ask: list[MessageParam] = [{"role": "user", "content": "What is the weather in Paris?"}]
    if not BY_NAME[provider].capabilities.tools:
        pytest.skip("the provider takes no tools (the conformance suite checks the refusal)")
    before = _calls(upstream)
    with client.messages.stream(model=model, max_tokens=300, messages=ask, tools=[WEATHER]) as stream:
        streamed = stream.get_final_message()
    assert stream.response.headers["x-byokgate-cache"] == "MISS"
    plain = client.messages.with_raw_response.create(
        model=model, max_tokens=300, messages=ask, tools=[WEATHER]
    )
    assert plain.headers["x-byokgate-cache"] == "HIT"
    message = plain.parse()
    assert message.stop_reason == streamed.stop_reason == "tool_use"
    assert [b.model_dump() for b in message.content] == [b.model_dump() for b in streamed.content]
    assert message.usage.output_tokens == streamed.usage.output_tokens
    assert _calls(upstream) == before + 1


def test_version_headers_and_endpoints_keep_entries_apart(
    project: tuple[Gateway, anthropic.Anthropic, str], chat_upstreams: dict[str, EmulatorServer]
) -> None:
    gateway, client, key = project
    model = MODELS["anthropic"]
    first = client.messages.with_raw_response.create(model=model, max_tokens=300, messages=SEA)
    beta = client.messages.with_raw_response.create(
        model=model, max_tokens=300, messages=SEA, extra_headers={"anthropic-beta": "output-128k-2025-02-19"}
    )
    assert (first.headers["x-byokgate-cache"], beta.headers["x-byokgate-cache"]) == ("MISS", "MISS")
    assert first.headers["x-byokgate-cache-key"] != beta.headers["x-byokgate-cache-key"]
    # the same conversation on the OpenAI-format endpoint has its own entry, in its own format
    chat = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        json={"model": model, "max_tokens": 300, "messages": SEA},
        headers={"authorization": f"Bearer {key}"},
    )
    assert chat.headers["x-byokgate-cache"] == "MISS"
    assert chat.json()["object"] == "chat.completion"


def test_errors_and_count_tokens_are_never_cached(
    project: tuple[Gateway, anthropic.Anthropic, str], chat_upstreams: dict[str, EmulatorServer]
) -> None:
    _, client, _ = project
    model = MODELS["anthropic"]
    emulator = chat_upstreams["anthropic"].emulator
    emulator.arm(Fault("529", count=3))  # the attempt and its two retries
    with pytest.raises(anthropic.APIStatusError):
        client.messages.create(model=model, max_tokens=300, messages=SEA)
    after = client.messages.with_raw_response.create(model=model, max_tokens=300, messages=SEA)
    assert after.headers["x-byokgate-cache"] == "MISS"
    # Every attempt breaks (a stream held until its first content may be retried unseen by the client).
    emulator.arm(Fault("error_event", after_chunks=5, count=3))
    ask: list[MessageParam] = [{"role": "user", "content": "Another question entirely."}]
    with (
        pytest.raises(anthropic.APIStatusError),
        client.messages.stream(model=model, max_tokens=300, messages=ask) as stream,
    ):
        stream.get_final_message()
    again = client.messages.with_raw_response.create(model=model, max_tokens=300, messages=ask)
    assert again.headers["x-byokgate-cache"] == "MISS"  # the interrupted stream was not stored
    counted = client.messages.with_raw_response.count_tokens(model=model, messages=SEA)
    assert counted.headers["x-byokgate-cache"] == "BYPASS"
