"""Faults that break the connection instead of answering, on every emulator: `reset` (a TCP reset before
any response byte) and `no_response` (the request is read, nothing is ever sent, the connection is closed
after the delay or when the client gives up), seen from raw sockets, httpx and the official SDKs."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest

from byokgate.emulators import Fault, build
from tests.emulators.wire import Engine, held_requests, recv_all, sdk_chat, wait_until

CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    openai.APIConnectionError,
    anthropic.APIConnectionError,
    httpx.TransportError,
    httpx2.TransportError,
)
TIMEOUTS: tuple[type[Exception], ...] = (
    openai.APITimeoutError,
    anthropic.APITimeoutError,
    httpx.TimeoutException,
    httpx2.TimeoutException,
)


@pytest.mark.parametrize("stream", [False, True])
def test_reset_sends_not_a_byte(engine: Engine, stream: bool) -> None:
    with engine.connect(stream=stream, fault="reset") as sock:
        received, how = recv_all(sock)
    assert (received, how) == (b"", "reset")
    assert engine.emulator.requests[-1].status is None  # recorded, never answered
    assert engine.post(stream=stream).status_code == 200


def test_reset_seen_by_httpx_then_healthy(engine: Engine) -> None:
    engine.emulator.arm(Fault("reset", count=2))
    for _ in range(2):
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            engine.post()
    assert engine.post().status_code == 200


@pytest.mark.parametrize("stream", [False, True])
def test_reset_through_the_sdk(family_engine: Engine, stream: bool) -> None:
    family_engine.emulator.arm(Fault("reset"))
    with pytest.raises(CONNECTION_ERRORS):
        sdk_chat(family_engine, stream=stream)
    assert sdk_chat(family_engine, stream=stream)


def test_no_response_closes_without_a_byte_after_the_delay(family_engine: Engine) -> None:
    started = time.perf_counter()
    with family_engine.connect(fault="no_response:200") as sock:
        received, how = recv_all(sock)
    assert time.perf_counter() - started >= 0.2 - 0.03  # the delay, less a margin for timer granularity
    assert (received, how) == (b"", "eof")
    assert family_engine.post().status_code == 200


def test_a_held_request_ends_when_the_client_leaves(engine: Engine) -> None:
    engine.emulator.arm(Fault("no_response"))  # 120 s by default
    with engine.connect():
        assert wait_until(lambda: len(engine.emulator.requests) == 1)
        assert held_requests(engine.server) == 1
    assert wait_until(lambda: held_requests(engine.server) == 0, timeout_s=3)


def test_no_response_times_out_the_sdk_while_others_are_served(family_engine: Engine) -> None:
    family_engine.emulator.arm(Fault("no_response"))
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(sdk_chat, family_engine, timeout=1.0)
        assert wait_until(lambda: len(family_engine.emulator.requests) == 1)
        served = family_engine.post()  # the emulator answers another client meanwhile
        assert served.status_code == 200
        assert not held.done()
        error: Any = held.exception(timeout=10)
    assert isinstance(error, TIMEOUTS), repr(error)
    assert wait_until(lambda: held_requests(family_engine.server) == 0, timeout_s=3)


def test_model_filter_and_count(engine: Engine) -> None:
    engine.emulator.arm(Fault("reset", count=2, model=engine.model))
    assert engine.post(model=engine.other_model).status_code == 200  # not the faulted model: untouched
    for _ in range(2):
        with pytest.raises(httpx.TransportError):
            engine.post()
    assert engine.post().status_code == 200
    assert engine.emulator.faults.armed() == []


async def test_reset_without_a_server_transport() -> None:
    """In process (no socket to reset) the app raises `ConnectionResetError` instead."""
    emulator = build("openai", accept_any_key=True)
    emulator.arm(Fault("reset"))
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    transport = httpx.ASGITransport(app=emulator)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        with pytest.raises(ConnectionResetError):
            await client.post("/v1/chat/completions", json=body, headers={"authorization": "Bearer k"})
        answered = await client.post("/v1/chat/completions", json=body, headers={"authorization": "Bearer k"})
    assert answered.status_code == 200
