"""The response cache on the Responses front door: a ``store: false`` request (Codex's) is a cache hit the
second time, plain or streamed, its replayed events valid for the SDK; a stored response never is (each is
a new object the client can fetch), on a native and on a translated model."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from byokgate.emulators import EmulatorServer
from tests.proxy.conftest import CHAT_KEYS as KEYS
from tests.proxy.conftest import CHAT_MODELS as MODELS
from tests.proxy.conftest import Gateway

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

EVENTS: TypeAdapter[object] = TypeAdapter(ResponseStreamEvent)


@pytest.fixture
def client(chat_gateway: Gateway) -> openai.OpenAI:
    project_id, key = chat_gateway.project(**KEYS)
    assert chat_gateway.admin.put(f"/projects/{project_id}/cache", json={"enabled": True}).status_code == 200
    for _ in range(200):  # the setting reaches the data plane's snapshot
        probe = httpx.post(
            f"{chat_gateway.url}/v1/responses",
            json={"model": MODELS["groq"], "input": "probe", "store": False},
            headers={"authorization": f"Bearer {key}", "x-byokgate-cache": "no-store"},
        )
        if probe.headers.get("x-byokgate-cache") != "BYPASS":
            return chat_gateway.client(key)
        time.sleep(0.02)
    raise AssertionError("the cache settings never reached the data plane")


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_an_unstored_response_is_a_hit_plain_and_streamed(
    client: openai.OpenAI, chat_gateway: Gateway, provider: str, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    upstream = chat_upstreams[provider].emulator
    ask = {"model": MODELS[provider], "input": "Tell me about the sea.", "store": False}
    miss = client.responses.with_raw_response.create(**ask)  # type: ignore[call-overload]
    hit = client.responses.with_raw_response.create(**ask)  # type: ignore[call-overload]
    assert (miss.headers["x-byokgate-cache"], hit.headers["x-byokgate-cache"]) == ("MISS", "HIT")
    assert hit.parse().output_text == miss.parse().output_text != ""
    calls = len(upstream.requests)
    events = []
    with httpx.stream(
        "POST",
        f"{chat_gateway.url}/v1/responses",
        json={**ask, "stream": True},
        headers={"authorization": f"Bearer {client.api_key}"},
    ) as streamed:
        assert streamed.headers["x-byokgate-cache"] == "HIT"
        for line in streamed.iter_lines():
            if line.startswith("data: "):
                events.append(EVENTS.validate_python(json.loads(line.removeprefix("data: "))))
    assert len(upstream.requests) == calls  # nothing went upstream
    kinds = [event.type for event in events]  # type: ignore[attr-defined]
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")  # type: ignore[attr-defined]
    assert text == miss.parse().output_text


def test_a_stored_response_is_never_a_hit(client: openai.OpenAI) -> None:
    ask = {"model": MODELS["anthropic"], "input": "Tell me about the sea."}
    first = client.responses.with_raw_response.create(**ask)  # type: ignore[call-overload]
    second = client.responses.with_raw_response.create(**ask)  # type: ignore[call-overload]
    assert (first.headers["x-byokgate-cache"], second.headers["x-byokgate-cache"]) == ("BYPASS", "BYPASS")
    assert first.parse().id != second.parse().id
    assert client.responses.retrieve(second.parse().id).id == second.parse().id
