"""Fault injection: armed from Python, through the control API, or per request by header."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import openai
import pytest

from byokgate.emulators import Fault
from byokgate.emulators.faults import FaultSpecError, parse_fault_header
from tests.emulators.conftest import Target

HELLO: Any = [{"role": "user", "content": "Hello there, how are you doing today?"}]


def test_429_raises_rate_limit_error_with_retry_after(target: Target, client: openai.OpenAI) -> None:
    target.emulator.arm(Fault("429", retry_after_s=7))
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model=target.chat_model, messages=HELLO)
    assert info.value.response.headers["retry-after"] == "7"
    body: Any = info.value.body
    if target.name == "openrouter":
        assert body["code"] == 429
        assert body["metadata"]["error_type"] == "rate_limit_exceeded"
        assert info.value.response.headers["x-ratelimit-remaining"] == "0"
    else:
        assert body["code"] == "rate_limit_exceeded"
    # consumed: the next request succeeds
    assert client.chat.completions.create(model=target.chat_model, messages=HELLO).choices


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors(target: Target, async_client: openai.AsyncOpenAI, status: int) -> None:
    target.emulator.arm(Fault(str(status)))  # type: ignore[arg-type]
    with pytest.raises(openai.InternalServerError) as info:
        await async_client.chat.completions.create(model=target.chat_model, messages=HELLO)
    assert info.value.status_code == status
    error: Any = info.value.body
    assert error["message"]
    if target.name == "openai":
        assert error["type"] == "server_error"
        assert "param" in error
    elif target.name == "openrouter":
        assert error["code"] == status


def test_count_and_endpoint_matching(target: Target, client: openai.OpenAI) -> None:
    target.emulator.arm(Fault("500", count=2, endpoint="chat"), Fault("503", endpoint="models"))
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model=target.chat_model, messages=HELLO)
    assert client.chat.completions.create(model=target.chat_model, messages=HELLO).choices
    with pytest.raises(openai.InternalServerError):
        client.models.list()
    assert target.emulator.faults.armed() == []


def test_model_matching(target: Target, client: openai.OpenAI) -> None:
    target.emulator.arm(Fault("429", model="some-other-model"))
    assert client.chat.completions.create(model=target.chat_model, messages=HELLO).choices
    assert len(target.emulator.faults.armed()) == 1


def test_fault_header(target: Target, client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(
            model=target.chat_model, messages=HELLO, extra_headers={"x-emulator-fault": "429:3"}
        )
    assert info.value.response.headers["retry-after"] == "3"
    bad = httpx.post(
        f"{target.base_url}/chat/completions",
        json={"model": target.chat_model, "messages": HELLO},
        headers={**target.auth(), "x-emulator-fault": "explode"},
    )
    assert bad.status_code == 400


def test_disconnect_mid_stream_surfaces_as_an_error(target: Target, client: openai.OpenAI) -> None:
    target.emulator.arm(Fault("disconnect_mid_stream", after_chunks=3))
    received = []
    with pytest.raises((httpx.HTTPError, openai.APIError)):  # noqa: PT012 - raised mid-iteration
        for chunk in client.chat.completions.create(model=target.chat_model, messages=HELLO, stream=True):
            received.append(chunk)
    assert len(received) == 3


async def test_disconnect_mid_stream_async(target: Target, async_client: openai.AsyncOpenAI) -> None:
    target.emulator.arm(Fault("disconnect_mid_stream", after_chunks=1))
    stream = await async_client.chat.completions.create(model=target.chat_model, messages=HELLO, stream=True)
    with pytest.raises((httpx.HTTPError, openai.APIError)):
        async for _ in stream:
            pass


def test_disconnect_on_a_json_answer(target: Target, client: openai.OpenAI) -> None:
    target.emulator.arm(Fault("disconnect_mid_stream"))
    with pytest.raises((httpx.HTTPError, openai.APIError)):
        client.chat.completions.create(model=target.chat_model, messages=HELLO)


def test_malformed_chunk(target: Target, client: openai.OpenAI) -> None:
    target.emulator.arm(Fault("malformed_chunk", after_chunks=2))
    with pytest.raises(json.JSONDecodeError):
        for _ in client.chat.completions.create(model=target.chat_model, messages=HELLO, stream=True):
            pass
    body = {"model": target.chat_model, "messages": HELLO, "stream": True}
    target.emulator.arm(Fault("malformed_chunk", after_chunks=2))
    text = httpx.post(f"{target.base_url}/chat/completions", json=body, headers=target.auth()).text
    lines = [line[6:] for line in text.split("\n\n") if line.startswith("data: {")]
    broken = [line for line in lines if not _parses(line)]
    assert len(broken) == 1
    assert lines.index(broken[0]) == 2
    assert text.endswith("data: [DONE]\n\n")


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def test_slow_first_byte_and_latency(target: Target, client: openai.OpenAI) -> None:
    target.emulator.arm(Fault("slow_first_byte", delay_ms=200))
    started = time.perf_counter()
    client.chat.completions.create(model=target.chat_model, messages=HELLO)
    assert time.perf_counter() - started >= 0.2
    target.emulator.arm(Fault("latency", delay_ms=50, count=None))
    for _ in range(2):
        started = time.perf_counter()
        client.models.list()
        assert time.perf_counter() - started >= 0.05
    assert [fault.kind for fault in target.emulator.faults.armed()] == ["latency"]
    target.emulator.clear_faults()


def test_control_api(target: Target) -> None:
    control = f"{target.server.url}/_emulator"
    armed = httpx.post(
        f"{control}/faults", json=[{"kind": "503", "count": 1}, {"kind": "latency", "delay_ms": 1}]
    )
    assert armed.status_code == 200
    assert [fault["kind"] for fault in armed.json()["armed"]] == ["503", "latency"]
    body = {"model": target.chat_model, "messages": HELLO}
    assert (
        httpx.post(f"{target.base_url}/chat/completions", json=body, headers=target.auth()).status_code == 503
    )
    assert httpx.get(f"{control}/faults").json() == {"armed": []}
    httpx.post(f"{control}/faults", json={"faults": [{"kind": "429", "count": None}]})
    assert httpx.delete(f"{control}/faults").json() == {"armed": []}
    assert (
        httpx.post(f"{target.base_url}/chat/completions", json=body, headers=target.auth()).status_code == 200
    )
    assert httpx.post(f"{control}/faults", json={"kind": "boom"}).status_code == 400
    assert httpx.post(f"{control}/faults", json={"kind": "429", "colour": "red"}).status_code == 400
    assert httpx.get(f"{control}/health").json()["provider"] == target.name
    assert httpx.get(f"{control}/nothing").status_code == 404


def test_fault_header_parsing() -> None:
    faults = parse_fault_header("429:2, slow_first_byte:150,disconnect_mid_stream:4,500")
    assert [(f.kind, f.retry_after_s, f.delay_ms, f.after_chunks) for f in faults] == [
        ("429", 2, 0, 2),
        ("slow_first_byte", 1, 150, 2),
        ("disconnect_mid_stream", 1, 0, 4),
        ("500", 1, 0, 2),
    ]
    for bad in ("nope", "500:3", "latency:soon"):
        with pytest.raises(FaultSpecError):
            parse_fault_header(bad)
    with pytest.raises(FaultSpecError):
        Fault("429", count=0)
