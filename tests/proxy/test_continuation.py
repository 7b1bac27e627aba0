"""A stream that breaks after reaching the client, carried on by a fallback that takes an assistant prefill
(``continue_streams``), through the official OpenAI SDK: the answer continued in the same response, a
refused prefill passed over and never shown, the first break's error when no target carries on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

from byokgate.emulators import EmulatorServer, Fault
from byokgate.settings import Settings
from tests.proxy.conftest import CHAT_KEYS, Gateway, chat_gateway_for

HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello."}]
CUT = Fault("disconnect_mid_stream", after_chunks=4)  # the role chunk and three pieces of text, then a cut
CLAUDE = "claude-3-5-sonnet-20241022"  # takes a prefill
HAIKU = "claude-3-5-haiku-20241022"  # takes a prefill too
NO_PREFILL = "claude-sonnet-4-6"  # Claude 4.6 and later refuse one (400)
GEMINI = "gemini-2.5-flash"  # Gemini's adapter declares no prefill


gateway_with = contextmanager(chat_gateway_for)


@pytest.fixture
def gateway(settings: Settings, chat_upstreams: dict[str, EmulatorServer]) -> Iterator[Gateway]:
    yield from chat_gateway_for(settings, chat_upstreams, continue_streams=True, upstream_timeout_s=1.0)


@pytest.fixture
def client(gateway: Gateway) -> openai.OpenAI:
    keys = {name: CHAT_KEYS[name] for name in ("openai", "anthropic", "gemini")}
    _, key = gateway.project("carry-on", **keys)
    return gateway.client(key)


def chats(upstream: EmulatorServer) -> list[dict[str, Any]]:
    return [r.body for r in upstream.emulator.requests if r.method == "POST"]


def stream(client: openai.OpenAI, *fallbacks: str) -> tuple[str, list[ChatCompletionChunk]]:
    """A streamed request for gpt-4o with ``fallbacks``: (the request id, the chunks)."""
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o",
        messages=HI,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"models": list(fallbacks)},
    ) as response:
        return response.headers["x-byokgate-request-id"], list(response.parse())


def text(chunks: list[ChatCompletionChunk], model_prefix: str = "") -> str:
    return "".join(
        c.choices[0].delta.content or "" for c in chunks if c.choices and c.model.startswith(model_prefix)
    )


def prefill_of(body: dict[str, Any]) -> str:
    """The text of the final assistant message of an Anthropic Messages request."""
    last = body["messages"][-1]
    assert last["role"] == "assistant"
    content = last["content"]
    return content if isinstance(content, str) else "".join(b["text"] for b in content if b["type"] == "text")


def attempts(client: openai.OpenAI, request_id: str) -> list[tuple[str, str, str | None]]:
    for _ in range(200):  # the request record is written off the request path
        response = client.get(f"/generations/{request_id}", cast_to=httpx.Response)
        if response.status_code == 200:
            return [(a["model"], a["action"], a["reason"]) for a in response.json()["attempts"]]
        time.sleep(0.05)
    raise AssertionError(f"no request record for {request_id}")


def test_a_broken_stream_is_carried_on_by_a_fallback_that_takes_a_prefill(
    client: openai.OpenAI, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    primary, fallback = chat_upstreams["openai"], chat_upstreams["anthropic"]
    primary.emulator.arm(CUT)
    request_id, chunks = stream(client, CLAUDE)
    before, after = text(chunks, "gpt-4o"), text(chunks, "claude")
    assert before.strip()  # the client had the first part...
    assert after.strip()  # ...and the rest came from Claude, in the same response
    assert text(chunks) == before + after
    assert prefill_of(chats(fallback)[-1]) == before.rstrip()  # Claude was asked to go on from there
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    assert len(chats(primary)) == 1  # once content had reached the client, the primary was not retried
    assert attempts(client, request_id) == [
        ("gpt-4o", "continue", "stream_break"),
        (CLAUDE, "answered", None),
    ]


def test_a_model_that_refuses_a_prefill_is_not_asked_and_a_failed_continuation_is_passed_over(
    client: openai.OpenAI, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    chat_upstreams["openai"].emulator.arm(CUT)
    chat_upstreams["anthropic"].emulator.arm(Fault("503", count=None, model=HAIKU))
    request_id, chunks = stream(client, NO_PREFILL, HAIKU, CLAUDE)
    assert text(chunks, "claude").strip()
    sent = chats(chat_upstreams["anthropic"])
    assert [body["model"] for body in sent] == [HAIKU, CLAUDE]  # the 4.6 model was known to refuse it
    assert attempts(client, request_id) == [
        ("gpt-4o", "continue", "stream_break"),
        (HAIKU, "failover", "5xx"),
        (CLAUDE, "answered", None),
    ]


def test_with_no_target_to_carry_on_the_stream_ends_with_the_first_break(
    client: openai.OpenAI, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    chat_upstreams["openai"].emulator.arm(CUT)
    chat_upstreams["anthropic"].emulator.arm(Fault("503", count=None))
    with (
        client.chat.completions.create(
            model="gpt-4o", messages=HI, stream=True, extra_body={"models": [NO_PREFILL, CLAUDE, GEMINI]}
        ) as chunks,
        pytest.raises(openai.APIError, match="Upstream stream broke") as caught,
    ):
        for _ in chunks:
            pass
    assert "overloaded" not in str(caught.value).lower()  # the continuation's failure is not what is shown
    assert [body["model"] for body in chats(chat_upstreams["anthropic"])] == [CLAUDE]  # asked, failed
    assert chats(chat_upstreams["gemini"]) == []  # Gemini takes no prefill: not asked


def test_without_the_opt_in_a_break_ends_the_stream(
    settings: Settings, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    with gateway_with(settings, chat_upstreams, upstream_timeout_s=1.0) as gateway:
        _, key = gateway.project("plain", openai=CHAT_KEYS["openai"], anthropic=CHAT_KEYS["anthropic"])
        chat_upstreams["openai"].emulator.arm(CUT)
        with (
            gateway.client(key).chat.completions.create(
                model="gpt-4o", messages=HI, stream=True, extra_body={"models": [CLAUDE]}
            ) as chunks,
            pytest.raises(openai.APIError, match="Upstream stream broke"),
        ):
            for _ in chunks:
                pass
        assert chats(chat_upstreams["anthropic"]) == []


def test_a_route_opts_in(settings: Settings, chat_upstreams: dict[str, EmulatorServer]) -> None:
    with gateway_with(settings, chat_upstreams, upstream_timeout_s=1.0) as gateway:
        project, key = gateway.project("routed", openai=CHAT_KEYS["openai"], anthropic=CHAT_KEYS["anthropic"])
        route = {
            "targets": [
                {"provider": "openai", "model": "gpt-4o"},
                {"provider": "anthropic", "model": CLAUDE},
            ],
            "continue_streams": True,
        }
        saved = gateway.admin.put(f"/projects/{project}/routes/writer", json=route)
        assert saved.status_code == 200, saved.text
        assert saved.json()["continue_streams"] is True
        gateway.wait_for_snapshot(
            lambda snapshot: (table := snapshot.routes_of(project)) is not None and "writer" in table.routes
        )
        chat_upstreams["openai"].emulator.arm(CUT)
        chunks = list(gateway.client(key).chat.completions.create(model="writer", messages=HI, stream=True))
        assert text(chunks, "claude").strip()
        assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
            "stop"
        ]


def test_a_stall_after_the_first_token_is_carried_on(
    client: openai.OpenAI, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    chat_upstreams["openai"].emulator.arm(Fault("stream_stall", after_chunks=3, delay_ms=5000))
    _, chunks = stream(client, CLAUDE)
    assert text(chunks, "gpt-4o").strip()
    assert text(chunks, "claude").strip()
