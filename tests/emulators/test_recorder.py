"""The request log: what the gateway sent (key, headers, body, unknown fields), bounded and cheap."""

from __future__ import annotations

from typing import Any

import httpx
import openai

from byokgate.emulators import EmulatorServer, openai_emulator
from byokgate.emulators.recorder import RecordedRequest, Recorder
from tests.emulators.conftest import Target

HELLO: Any = [{"role": "user", "content": "Hello"}]


def test_records_key_headers_body_and_unknown_fields(target: Target, client: openai.OpenAI) -> None:
    client.chat.completions.create(
        model=target.chat_model,
        messages=HELLO,
        temperature=0.5,
        extra_body={"gateway_trace": "abc", "provider": {"order": ["x"]}},
        extra_headers={"x-custom": "1"},
    )
    (request,) = target.emulator.requests
    assert request.method == "POST"
    assert request.path.endswith("/chat/completions")
    assert request.api_key == target.key
    assert request.headers["authorization"] == f"Bearer {target.key}"
    assert request.headers["x-custom"] == "1"
    assert request.body["temperature"] == 0.5
    assert request.body["gateway_trace"] == "abc"
    # `provider` is an OpenRouter request field, unknown elsewhere
    expected = ("gateway_trace",) if target.name == "openrouter" else ("gateway_trace", "provider")
    assert request.unknown_fields == expected
    assert request.status == 200


def test_failed_requests_are_recorded_too(target: Target) -> None:
    httpx.post(
        f"{target.base_url}/chat/completions", json={"model": "m"}, headers={"authorization": "Bearer bad"}
    )
    (request,) = target.emulator.requests
    assert request.status == 401
    assert request.api_key == "bad"
    assert request.body == {"model": "m"}


def test_control_api_lists_and_clears(target: Target, client: openai.OpenAI) -> None:
    client.models.list()
    client.chat.completions.create(model=target.chat_model, messages=HELLO)
    control = f"{target.server.url}/_emulator/requests"
    listed = httpx.get(control).json()["requests"]
    assert [item["path"] for item in listed] == [
        f"{target.emulator.base_path}/models",
        f"{target.emulator.base_path}/chat/completions",
    ]
    assert listed[1]["body"]["messages"] == HELLO
    assert listed[1]["headers"]["authorization"] == f"Bearer {target.key}"
    assert len(httpx.get(control, params={"limit": "1"}).json()["requests"]) == 1
    assert httpx.delete(control).json() == {"requests": []}
    assert target.emulator.requests == []


def test_recorder_is_bounded() -> None:
    recorder = Recorder(capacity=3)
    for index in range(5):
        recorder.add(RecordedRequest("GET", f"/{index}", "", {}, None))
    assert [request.path for request in recorder.snapshot()] == ["/2", "/3", "/4"]
    off = Recorder(enabled=False)
    off.add(RecordedRequest("GET", "/", "", {}, None))
    assert len(off) == 0


def test_recording_can_be_turned_off() -> None:
    with EmulatorServer(openai_emulator(["k"], record=False)) as server:
        httpx.get(f"{server.base_url}/models", headers={"authorization": "Bearer k"})
        assert server.emulator.requests == []
