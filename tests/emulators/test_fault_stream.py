"""Faults that shape a successful answer, on every emulator: `slow_first_token` (headers and opening events
at once, then the wait), `stream_stall` (events, silence with the connection open, a close without the
end) and `no_done` (a complete stream without `[DONE]`), on the wire and through the SDKs.

Timing assertions are lower bounds only (a gap of at least the delay), never upper bounds; gaps measured
between two arrivals on the client allow `MARGIN_S` for timer granularity and read jitter."""

from __future__ import annotations

import time
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest

from byokgate.emulators import EmulatorServer, Fault
from tests.emulators.wire import (
    ENGINES,
    QUESTION,
    Clients,
    Engine,
    engine_of,
    has_content,
    held_requests,
    is_terminator,
    timeline,
    wait_until,
)

DELAY_S = 0.2
MARGIN_S = 0.03
AT_LEAST_S = DELAY_S - MARGIN_S
# Events each engine sends before its first content (Azure: the prompt-filter chunk then the role chunk;
# Anthropic: message_start, content_block_start, ping; Perplexity and Gemini have none).
OPENING = {"azure": 2, "anthropic": 3, "perplexity": 0, "gemini": 0}
BROKEN_BODY: tuple[type[Exception], ...] = (
    httpx.HTTPError,
    httpx2.HTTPError,
    openai.APIError,
    anthropic.APIError,
)


def test_slow_first_token_stream(engine: Engine) -> None:
    normal = timeline(engine)
    slow = timeline(engine, fault="slow_first_token:200")
    assert (slow.status, slow.error) == (200, None)
    assert len(slow.events()) == len(normal.events())  # then the stream goes on as usual
    first = slow.first(has_content)
    assert first == OPENING.get(engine.name, 1)
    content_at = slow.lines[first][0]
    # Lower bounds from the request's start only (a gap between two arrivals on a loaded machine can look
    # shorter than the server's wait); the headers and opening events come first.
    assert content_at >= AT_LEAST_S
    assert slow.headers_at < content_at
    assert all(opened_at <= content_at for opened_at, _ in slow.lines[:first])


def test_slow_first_token_delays_a_json_answer(family_engine: Engine) -> None:
    started = time.perf_counter()
    response = family_engine.post(fault="slow_first_token:200")
    assert response.status_code == 200
    assert time.perf_counter() - started >= AT_LEAST_S
    assert response.json()


def _sdk_stream_times(engine: Engine) -> list[tuple[float, bool]]:
    """(seconds since the call, carries content) for each event the SDK yields."""
    clients = Clients(engine)
    started = time.perf_counter()
    seen: list[tuple[float, bool]] = []
    if engine.family == "anthropic":
        with (
            clients.anthropic() as client,
            client.messages.stream(
                model=engine.model, max_tokens=256, messages=[{"role": "user", "content": QUESTION}]
            ) as events,
        ):
            for event in events:
                seen.append((time.perf_counter() - started, event.type == "content_block_delta"))
    elif engine.family == "gemini":
        with clients.gemini() as gemini:
            for response in gemini.models.generate_content_stream(model=engine.model, contents=QUESTION):
                seen.append((time.perf_counter() - started, bool(response.text)))
    else:
        with clients.openai() as sdk:
            stream = sdk.chat.completions.create(
                model=engine.model, messages=[{"role": "user", "content": QUESTION}], stream=True
            )
            for chunk in stream:
                text = chunk.choices[0].delta.content if chunk.choices else None
                seen.append((time.perf_counter() - started, bool(text)))
    return seen


def test_slow_first_token_through_the_sdk(family_engine: Engine) -> None:
    family_engine.emulator.arm(Fault("slow_first_token", delay_ms=200))
    seen = _sdk_stream_times(family_engine)
    content_at = next(at for at, content in seen if content)
    assert content_at >= AT_LEAST_S
    if family_engine.family != "gemini":  # the opening events came before the content (bounds from the start
        assert seen[0][0] < content_at  # only, as above: a gap between two arrivals can look shorter)
        assert not seen[0][1]
    assert sum(content for _, content in seen) > 1  # the rest of the answer followed


def test_stream_stall(engine: Engine) -> None:
    stalled = timeline(engine, fault="stream_stall:2:200")
    assert stalled.status == 200
    assert len(stalled.lines) == 2
    assert not any(is_terminator(event) for event in stalled.events())
    # Silence, then the close: timed from the request's start, which precedes the stall for certain (the
    # second line's own arrival can be late on a loaded machine, shortening the silence the client sees).
    assert stalled.ended_at >= AT_LEAST_S
    assert stalled.ended_at > stalled.lines[-1][0]
    assert isinstance(stalled.error, httpx.RemoteProtocolError)  # closed without the body's end
    assert timeline(engine).error is None  # consumed: the next stream is whole


def test_stream_stall_on_a_json_answer(family_engine: Engine) -> None:
    url, headers, body = family_engine.request(fault="stream_stall:0:200")
    started = time.perf_counter()
    with (
        httpx.Client(timeout=10) as client,
        client.stream("POST", url, json=body, headers=headers) as response,
    ):
        assert response.status_code == 200  # the headers arrived...
        assert int(response.headers["content-length"]) > 0
        with pytest.raises(httpx.RemoteProtocolError):
            response.read()  # ...the body never does
    assert time.perf_counter() - started >= AT_LEAST_S


def test_stream_stall_through_the_sdk(family_engine: Engine) -> None:
    family_engine.emulator.arm(Fault("stream_stall", after_chunks=2, delay_ms=200))
    started = time.perf_counter()
    with pytest.raises(BROKEN_BODY):
        _sdk_stream_times(family_engine)
    assert time.perf_counter() - started >= AT_LEAST_S


@pytest.mark.parametrize("fault", ["stream_stall:1:120000", "slow_first_token:120000"])
def test_a_waiting_stream_ends_when_the_client_leaves(family_engine: Engine, fault: str) -> None:
    with family_engine.connect(stream=True, fault=fault) as sock:
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        assert held_requests(family_engine.server) == 1
    assert wait_until(lambda: held_requests(family_engine.server) == 0, timeout_s=3)


def test_no_done(engine: Engine) -> None:
    normal = timeline(engine).events()
    quiet = timeline(engine, fault="no_done")
    assert quiet.error is None  # a complete body: the stream just ends
    events = quiet.events()
    assert "[DONE]" not in events
    assert events == [] or len(events) == len([event for event in normal if event != "[DONE]"])
    assert any(is_terminator(event) for event in events)  # the finish is there
    if engine.family == "openai" and engine.name != "perplexity":
        assert normal[-1] == "[DONE]"  # where the sentinel exists, only it is missing
    else:  # no sentinel in these APIs: a no-op
        assert len(events) == len(normal)


@pytest.mark.parametrize("name", [name for name in ENGINES if name not in ("anthropic", "gemini")])
def test_no_done_keeps_the_finish_and_the_usage(wire_servers: dict[str, EmulatorServer], name: str) -> None:
    engine = engine_of(wire_servers, name)
    engine.emulator.arm(Fault("no_done"))
    with Clients(engine).openai() as client:
        chunks: list[Any] = list(
            client.chat.completions.create(
                model=engine.model,
                messages=[{"role": "user", "content": QUESTION}],
                stream=True,
                stream_options={"include_usage": True},
                extra_body=engine.extra or None,
            )
        )
    assert any(choice.finish_reason for chunk in chunks for choice in chunk.choices)
    assert any(chunk.usage is not None for chunk in chunks)
