"""Fault injection on the Anthropic emulator: error statuses in Anthropic's shape, the mid-stream `error`
event, broken streams, delays, matching, the header and the control API."""

from __future__ import annotations

import json
import time
from typing import Any

import anthropic
import httpx
import httpx2
import pytest
from anthropic.types import MessageParam

from byokgate.emulators import EmulatorServer, Fault
from tests.emulators.anthropic.conftest import KEY, MODEL

HELLO: list[MessageParam] = [{"role": "user", "content": "Hello there, how are you doing today?"}]
HEADERS = {"x-api-key": KEY, "anthropic-version": "2026-10-21"}


def _create(client: anthropic.Anthropic, **options: Any) -> anthropic.types.Message:
    message: anthropic.types.Message = client.messages.create(
        model=MODEL, max_tokens=256, messages=HELLO, **options
    )
    return message


def _stream_body(server: EmulatorServer, headers: dict[str, str] | None = None) -> str:
    body = {"model": MODEL, "max_tokens": 256, "messages": HELLO, "stream": True}
    return httpx.post(f"{server.url}/v1/messages", json=body, headers={**HEADERS, **(headers or {})}).text


def test_429_raises_rate_limit_error_with_retry_after(
    server: EmulatorServer, client: anthropic.Anthropic
) -> None:
    server.emulator.arm(Fault("429", retry_after_s=7))
    with pytest.raises(anthropic.RateLimitError) as info:
        _create(client)
    headers = info.value.response.headers
    assert headers["retry-after"] == "7"
    assert headers["x-should-retry"] == "true"
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert info.value.type == "rate_limit_error"
    body: Any = info.value.body
    assert body["type"] == "error"
    assert body["request_id"] == headers["request-id"]
    assert _create(client).content  # consumed


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors(
    server: EmulatorServer, async_client: anthropic.AsyncAnthropic, status: int
) -> None:
    server.emulator.arm(Fault(str(status)))  # type: ignore[arg-type]
    with pytest.raises(anthropic.InternalServerError) as info:
        await async_client.messages.create(model=MODEL, max_tokens=256, messages=HELLO)
    assert info.value.status_code == status
    assert info.value.type == "api_error"
    assert info.value.api_message


def test_529_is_overloaded(server: EmulatorServer, client: anthropic.Anthropic) -> None:
    server.emulator.arm(Fault("529"))
    with pytest.raises(anthropic.InternalServerError) as info:
        _create(client)
    assert isinstance(info.value, anthropic.OverloadedError)
    assert info.value.status_code == 529
    assert (info.value.type, info.value.api_message) == ("overloaded_error", "Overloaded")
    with pytest.raises(anthropic.APIStatusError) as by_header:
        _create(client, extra_headers={"x-emulator-fault": "529"})
    assert by_header.value.status_code == 529


def test_mid_stream_error_event_raises_in_the_sdk(
    server: EmulatorServer, client: anthropic.Anthropic
) -> None:
    server.emulator.arm(Fault("error_event", after_chunks=4))
    received: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError) as info,
        client.messages.stream(model=MODEL, max_tokens=256, messages=HELLO) as stream,
    ):
        received.extend(event.type for event in stream)
    assert received[:2] == ["message_start", "content_block_start"]
    assert "message_stop" not in received
    assert info.value.status_code == 200
    assert info.value.type == "overloaded_error"
    assert info.value.api_message == "Overloaded"


async def test_mid_stream_error_event_async(
    server: EmulatorServer, async_client: anthropic.AsyncAnthropic
) -> None:
    server.emulator.arm(Fault("error_event", after_chunks=1))
    stream = await async_client.messages.create(model=MODEL, max_tokens=256, messages=HELLO, stream=True)
    with pytest.raises(anthropic.APIStatusError) as info:
        async for _ in stream:
            pass
    assert info.value.type == "overloaded_error"


def test_error_event_wire_format(server: EmulatorServer, client: anthropic.Anthropic) -> None:
    text = _stream_body(server, {"x-emulator-fault": "error_event:3"})
    frames = text.split("\n\n")
    assert [frame.split("\n")[0] for frame in frames[:4]] == [
        "event: message_start",
        "event: content_block_start",
        "event: ping",
        "event: error",
    ]
    error = json.loads(frames[3].split("\n")[1][len("data: ") :])
    assert error["type"] == "error"
    assert error["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert error["request_id"].startswith("req_011C")
    assert frames[4:] == [""]
    server.emulator.arm(Fault("error_event"))
    assert _create(client).stop_reason == "end_turn"  # a JSON answer is unaffected


def test_a_clean_stream_ends_with_message_stop(server: EmulatorServer) -> None:
    text = _stream_body(server)
    assert text.endswith('event: message_stop\ndata: {"type":"message_stop"}\n\n')
    assert "[DONE]" not in text
    assert text.count("event: ping") == 1
    for frame in text.strip().split("\n\n"):
        event_line, data_line = frame.split("\n")
        assert json.loads(data_line[len("data: ") :])["type"] == event_line[len("event: ") :]


def test_disconnect_mid_stream(server: EmulatorServer, client: anthropic.Anthropic) -> None:
    server.emulator.arm(Fault("disconnect_mid_stream", after_chunks=4))
    received: list[str] = []
    with (
        pytest.raises((httpx2.HTTPError, anthropic.APIError)),
        client.messages.stream(model=MODEL, max_tokens=256, messages=HELLO) as stream,
    ):
        received.extend(event.type for event in stream)
    assert received[:2] == ["message_start", "content_block_start"]
    assert len(received) == 4  # message_start, content_block_start, (ping), a delta and its text event
    server.emulator.arm(Fault("disconnect_mid_stream"))
    with pytest.raises(anthropic.APIConnectionError):
        _create(client)


def test_malformed_chunk(server: EmulatorServer, client: anthropic.Anthropic) -> None:
    server.emulator.arm(Fault("malformed_chunk", after_chunks=2))
    with (
        pytest.raises(json.JSONDecodeError),
        client.messages.stream(model=MODEL, max_tokens=256, messages=HELLO) as stream,
    ):
        for _ in stream:
            pass
    frames = _stream_body(server, {"x-emulator-fault": "malformed_chunk:2"}).strip().split("\n\n")
    broken = [
        index for index, frame in enumerate(frames) if not _parses(frame.split("\n")[1][len("data: ") :])
    ]
    assert broken == [3]  # frame 2 is the ping: the next event is the broken one
    assert frames[-1].startswith("event: message_stop")
    server.emulator.arm(Fault("malformed_chunk"))
    with pytest.raises(json.JSONDecodeError):
        _create(client)


def _parses(data: str) -> bool:
    try:
        json.loads(data)
    except json.JSONDecodeError:
        return False
    return True


def test_slow_first_byte_and_latency(server: EmulatorServer, client: anthropic.Anthropic) -> None:
    server.emulator.arm(Fault("slow_first_byte", delay_ms=200))
    started = time.perf_counter()
    _create(client)
    assert time.perf_counter() - started >= 0.2
    server.emulator.arm(Fault("latency", delay_ms=50, count=None, endpoint="models"))
    for _ in range(2):
        started = time.perf_counter()
        client.models.list()
        assert time.perf_counter() - started >= 0.05
    assert [fault.kind for fault in server.emulator.faults.armed()] == ["latency"]


def test_endpoint_and_model_matching(server: EmulatorServer, client: anthropic.Anthropic) -> None:
    server.emulator.arm(Fault("500", endpoint="count_tokens"), Fault("429", model="claude-opus-4-7"))
    assert _create(client).content
    with pytest.raises(anthropic.InternalServerError):
        client.messages.count_tokens(model=MODEL, messages=HELLO)
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model="claude-opus-4-7", max_tokens=256, messages=HELLO)
    assert server.emulator.faults.armed() == []


def test_bad_fault_header_is_a_400(server: EmulatorServer) -> None:
    body = {"model": MODEL, "max_tokens": 256, "messages": HELLO}
    response = httpx.post(
        f"{server.url}/v1/messages", json=body, headers={**HEADERS, "x-emulator-fault": "explode"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_control_api_and_request_log(server: EmulatorServer, client: anthropic.Anthropic) -> None:
    control = f"{server.url}/_emulator"
    assert httpx.get(f"{control}/health").json() == {"provider": "anthropic", "base_path": ""}
    armed = httpx.post(f"{control}/faults", json={"kind": "529"})
    assert [fault["kind"] for fault in armed.json()["armed"]] == ["529"]
    with pytest.raises(anthropic.OverloadedError):
        _create(client)
    _create(client, metadata={"user_id": "u-1"})
    logged = httpx.get(f"{control}/requests", params={"limit": 1}).json()["requests"]
    assert logged[0]["path"] == "/v1/messages"
    assert logged[0]["body"]["metadata"] == {"user_id": "u-1"}
    assert logged[0]["status"] == 200
    assert [request.status for request in server.emulator.requests] == [529, 200]
    assert httpx.post(f"{control}/reset").json() == {"reset": True}
    assert server.emulator.requests == []
