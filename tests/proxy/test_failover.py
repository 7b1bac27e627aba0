"""Retries and fallbacks, row by row of the error-class -> action table (docs/routing.md), through the
official SDKs, with the providers' emulators misbehaving on purpose.

The primary is OpenAI's ``gpt-4o``; the request names Claude (or Gemini) as its fallback in OpenRouter's
``models`` field, so a fallback's answer is translated back to the client's format.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from byokgate.emulators import EmulatorServer, Fault
from byokgate.settings import Settings
from tests.proxy.conftest import CHAT_KEYS, Gateway, chat_gateway_for
from tests.support.providers import CASES, ProviderCase

pytestmark = pytest.mark.usefixtures("chat_upstreams")

HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello."}]
CLAUDE = "claude-3-5-sonnet-20241022"
GEMINI = "gemini-2.5-flash"


@pytest.fixture
def gateway(settings: Settings, chat_upstreams: dict[str, EmulatorServer]) -> Iterator[Gateway]:
    # Short upstream and first-token limits so that the silent-provider rows take a second, not a minute.
    yield from chat_gateway_for(settings, chat_upstreams, upstream_timeout_s=1.0, ttft_timeout_s=1.0)


@pytest.fixture
def client(gateway: Gateway) -> openai.OpenAI:
    keys = {name: CHAT_KEYS[name] for name in ("openai", "anthropic", "gemini")}
    _, key = gateway.project("failover", **keys)
    return gateway.client(key)


def chats(upstream: EmulatorServer) -> int:
    return sum(1 for r in upstream.emulator.requests if r.method == "POST")


@dataclass(frozen=True)
class Row:
    """One row of the table: a fault on the primary, and what the gateway must make of it."""

    name: str
    fault: Fault
    primary_attempts: int  # requests the primary receives
    answered_by: str | None  # the provider that answers (None: the client gets the error)
    reason: str  # x-byokgate-routing-reason (or the error's code)


ROWS = [
    Row("5xx once: same target again", Fault("500"), 2, "openai", "retried_after_5xx"),
    Row("504 once: same target again", Fault("504"), 2, "openai", "retried_after_5xx"),
    Row("reset before any byte: again", Fault("reset"), 2, "openai", "retried_after_reset"),
    Row("persistent 5xx: fail over", Fault("503", count=None), 3, "anthropic", "fallback_after_5xx"),
    Row(
        "persistent 429: retried, then fail over",
        Fault("429", retry_after_s=None, count=None),
        3,
        "anthropic",
        "fallback_after_429",
    ),
    Row(
        "429 with a long retry-after: fail over at once",
        Fault("429", retry_after_s=60, count=None),
        1,
        "anthropic",
        "fallback_after_429",
    ),
    Row(
        "silent provider: fail over after one timeout",
        Fault("no_response", delay_ms=5000, count=None),
        1,
        "anthropic",
        "fallback_after_timeout",
    ),
    Row(
        "context window exceeded: fail over, no retry",
        Fault("context_length"),
        1,
        "anthropic",
        "context_escalation",
    ),
    Row("content policy: terminal", Fault("content_filter"), 1, None, "content_policy_violation"),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_each_row_of_the_table(
    client: openai.OpenAI, chat_upstreams: dict[str, EmulatorServer], row: Row
) -> None:
    primary, fallback = chat_upstreams["openai"], chat_upstreams["anthropic"]
    primary.emulator.arm(row.fault)
    extra: dict[str, Any] = {"models": [CLAUDE]}
    if row.answered_by is None:
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(model="gpt-4o", messages=HI, extra_body=extra)
        assert caught.value.body["code"] == row.reason  # type: ignore[index]
        assert caught.value.response.headers["x-should-retry"] == "false"
        assert chats(fallback) == 0  # never routed around
    else:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o",
            messages=HI,
            extra_body=extra,
        )
        answer = raw.parse()
        assert raw.headers["x-byokgate-provider"] == row.answered_by
        assert raw.headers["x-byokgate-routing-reason"] == row.reason
        assert int(raw.headers["x-byokgate-attempts"]) == row.primary_attempts + (row.answered_by != "openai")
        assert answer.choices[0].message.content
        if row.answered_by == "anthropic":
            assert raw.headers["x-byokgate-routed-model"] == CLAUDE
            assert answer.model.startswith("claude")  # the answer names the model that answered
            assert chats(fallback) == 1
    assert chats(primary) == row.primary_attempts


def test_the_routing_options_never_reach_a_provider(
    client: openai.OpenAI, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    extra = {"models": [CLAUDE], "provider": {"order": ["OpenAI"], "allow_fallbacks": True}}
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=HI, extra_body=extra)
    assert raw.headers["x-byokgate-routing-reason"] == "pinned"
    assert raw.headers["x-byokgate-attempts"] == "1"
    sent = chat_upstreams["openai"].emulator.requests[-1]
    assert "models" not in sent.body
    assert "provider" not in sent.body
    assert sent.unknown_fields == ()


def test_a_retry_after_is_waited_for(
    client: openai.OpenAI, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    primary = chat_upstreams["openai"]
    primary.emulator.arm(Fault("429", retry_after_s=1))
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=HI)
    assert raw.headers["x-byokgate-routing-reason"] == "retried_after_429"
    first, second = primary.emulator.requests[-2:]
    assert second.received_at - first.received_at >= 0.95  # the provider asked for a second


def test_fallback_to_gemini_streams_the_translated_answer(
    client: openai.OpenAI, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    chat_upstreams["openai"].emulator.arm(Fault("503", count=None))
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o",
        messages=HI,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"models": [GEMINI]},
    ) as response:
        assert response.headers["x-byokgate-provider"] == "gemini"
        assert response.headers["x-byokgate-routing-reason"] == "fallback_after_5xx"
        chunks = list(response.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens > 0
    assert all(c.model.startswith("gemini") for c in chunks)


def test_a_stream_that_fails_before_its_first_token_is_retried_unseen(
    client: openai.OpenAI, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    primary = chat_upstreams["openai"]
    primary.emulator.arm(Fault("disconnect_mid_stream", after_chunks=1))  # the role chunk, then a cut
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=HI, stream=True))
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chats(primary) == 2


def test_a_slow_first_token_fails_over_to_the_next_target(
    settings: Settings, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    # The first-token limit well inside the upstream timeout (which also bounds connecting): under a
    # loaded CI the two 1 s limits of the module's gateway could be told apart by scheduling alone.
    limits = {"upstream_timeout_s": 10.0, "ttft_timeout_s": 0.5}
    for gateway in chat_gateway_for(settings, chat_upstreams, **limits):
        _, key = gateway.project("ttft", openai=CHAT_KEYS["openai"], anthropic=CHAT_KEYS["anthropic"])
        chat_upstreams["openai"].emulator.arm(Fault("slow_first_token", delay_ms=5000, count=None))
        with gateway.client(key).chat.completions.with_streaming_response.create(
            model="gpt-4o",
            messages=HI,
            stream=True,
            extra_body={"models": [CLAUDE]},
        ) as response:
            assert response.headers["x-byokgate-routing-reason"] == "fallback_after_ttft_timeout"
            chunks = list(response.parse())
        assert chunks[-1].choices[0].finish_reason == "stop"
        assert chats(chat_upstreams["openai"]) == 1  # a first-token timeout is not retried on the same target


def test_a_stream_cut_after_its_first_token_ends_in_a_clean_error(
    client: openai.OpenAI, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    chat_upstreams["openai"].emulator.arm(Fault("disconnect_mid_stream", after_chunks=4))
    with (
        client.chat.completions.create(
            model="gpt-4o",
            messages=HI,
            stream=True,
            extra_body={"models": [CLAUDE]},
        ) as stream,
        pytest.raises(openai.APIError, match="Upstream stream broke"),
    ):
        list(stream)
    assert chats(chat_upstreams["anthropic"]) == 0  # the client had the start of an answer: no fallback


def test_the_request_deadline_ends_the_chain(
    settings: Settings, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    """A silent primary, an upstream timeout far away, a fallback ready: the request's deadline cuts the
    attempt and ends the chain with its own error, and no further attempt starts."""
    limits = {"upstream_timeout_s": 30.0, "request_deadline_s": 1.0}
    for gateway in chat_gateway_for(settings, chat_upstreams, **limits):
        _, key = gateway.project("deadline", openai=CHAT_KEYS["openai"], anthropic=CHAT_KEYS["anthropic"])
        chat_upstreams["openai"].emulator.arm(Fault("no_response", delay_ms=5000, count=None))
        started = time.monotonic()
        with pytest.raises(openai.APIStatusError) as caught:
            gateway.client(key).chat.completions.create(
                model="gpt-4o", messages=HI, extra_body={"models": [CLAUDE]}
            )
        assert time.monotonic() - started >= 1.0  # the deadline was waited for, not guessed
        assert caught.value.status_code == 504
        assert caught.value.code == "deadline_exceeded"
        assert caught.value.response.headers["x-should-retry"] == "true"  # a 5xx (docs/routing.md)
        assert chats(chat_upstreams["openai"]) == 1
        assert chats(chat_upstreams["anthropic"]) == 0


def test_the_most_actionable_error_wins_and_lists_the_attempts(
    gateway: Gateway, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    # The project's own OpenAI key is wrong; Claude is rate limited: the 401 is what the client can fix.
    _, key = gateway.project(
        "bad", openai=CHAT_KEYS["openai"][:-4] + "zzzz", anthropic=CHAT_KEYS["anthropic"]
    )
    chat_upstreams["anthropic"].emulator.arm(Fault("429", retry_after_s=60, count=None))
    with pytest.raises(openai.AuthenticationError) as caught:
        gateway.client(key).chat.completions.create(
            model="gpt-4o",
            messages=HI,
            extra_body={"models": [CLAUDE]},
        )
    assert caught.value.response.headers["x-should-retry"] == "false"
    attempts = caught.value.body["attempts"]  # type: ignore[index]
    assert [(a["provider"], a["status"], a["reason"]) for a in attempts] == [
        ("openai", 401, "auth"),
        ("anthropic", 429, "429"),
    ]
    assert all(a["credential_id"] for a in attempts)


def test_the_request_record_and_the_audit_log_list_every_attempt(
    gateway: Gateway, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    project, key = gateway.project("audited", openai=CHAT_KEYS["openai"], anthropic=CHAT_KEYS["anthropic"])
    client = gateway.client(key)
    chat_upstreams["openai"].emulator.arm(Fault("503", count=None))
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o",
        messages=HI,
        extra_body={"models": [CLAUDE]},
    )
    request_id = raw.headers["x-byokgate-request-id"]
    generation = client.get(f"/generations/{request_id}", cast_to=httpx.Response).json()
    assert [(a["provider"], a["action"]) for a in generation["attempts"]] == [
        ("openai", "retry"),
        ("openai", "retry"),
        ("openai", "failover"),
        ("anthropic", "answered"),
    ]
    assert generation["provider"] == "anthropic"
    assert generation["usage"]["total_tokens"] > 0
    expected = [("anthropic", "ok"), ("openai", "error"), ("openai", "error"), ("openai", "error")]
    uses: list[tuple[str, str]] = []
    for _ in range(200):  # the audit log is written in batches, off the request path
        events = gateway.admin.get(f"/projects/{project}/audit", params={"limit": 50}).json()["data"]
        uses = sorted(
            (e["provider"], e["outcome"])
            for e in events
            if e["action"] == "provider_key.use" and e["request_id"] == request_id
        )
        if len(uses) >= len(expected):
            break
        time.sleep(0.05)
    assert uses == expected


def test_the_messages_door_fails_over_to_an_openai_model(
    gateway: Gateway, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    _, key = gateway.project("messages", openai=CHAT_KEYS["openai"], anthropic=CHAT_KEYS["anthropic"])
    chat_upstreams["anthropic"].emulator.arm(Fault("529", count=None))
    claude = anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)
    raw = claude.messages.with_raw_response.create(
        model=CLAUDE,
        max_tokens=64,
        messages=[{"role": "user", "content": "Hi"}],
        extra_body={"models": ["gpt-4o"]},
    )
    message = raw.parse()
    assert raw.headers["x-byokgate-provider"] == "openai"
    assert raw.headers["x-byokgate-routing-reason"] == "fallback_after_overloaded"
    assert message.model == "gpt-4o"
    assert message.content[0].type == "text"
    claude.close()


@pytest.mark.parametrize("door", ["chat", "messages"])
def test_a_wrong_project_key_tells_the_sdk_not_to_retry(gateway: Gateway, door: str) -> None:
    if door == "chat":
        response = httpx.post(
            f"{gateway.url}/v1/chat/completions",
            headers={"authorization": "Bearer lgw_proj_wrong"},
            json={"model": "gpt-4o", "messages": HI},
        )
    else:
        response = httpx.post(
            f"{gateway.url}/v1/messages",
            headers={"x-api-key": "lgw_proj_wrong", "anthropic-version": "2023-06-01"},
            json={"model": CLAUDE, "max_tokens": 8, "messages": HI},
        )
    assert response.status_code == 401
    assert response.headers["x-should-retry"] == "false"


def test_bad_routing_options_are_a_400_naming_the_field(client: openai.OpenAI) -> None:
    for extra, param in (
        ({"models": "claude"}, "models"),
        ({"models": ["ok", "bad name"]}, "models[1]"),
        ({"provider": {"order": "openai"}}, "provider.order"),
        ({"provider": {"sort": "vibes"}}, "provider.sort"),
    ):
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(model="gpt-4o", messages=HI, extra_body=extra)
        assert caught.value.body["param"] == param  # type: ignore[index]


def test_provider_preferences_filter_the_plan(
    client: openai.OpenAI, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    # ``ignore`` takes OpenAI out: the fallback answers at once, the primary is never called.
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o",
        messages=HI,
        extra_body={"models": [CLAUDE], "provider": {"ignore": ["openai"]}},
    )
    assert raw.headers["x-byokgate-provider"] == "anthropic"
    assert chats(chat_upstreams["openai"]) == 0
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(
            model="gpt-4o",
            messages=HI,
            extra_body={"provider": {"only": ["anthropic"]}},
        )
    assert caught.value.body["code"] == "no_allowed_provider"  # type: ignore[index]


@pytest.fixture
def every_provider(gateway: Gateway) -> openai.OpenAI:
    _, key = gateway.project("all", **CHAT_KEYS)
    return gateway.client(key)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_providers_context_window_error_fails_over(
    every_provider: openai.OpenAI, chat_upstreams: dict[str, EmulatorServer], case: ProviderCase
) -> None:
    # A fallback with a larger window, or one the gateway does not know (one known to be no larger would be
    # skipped: none the catalog knows is larger than Gemini's 1M).
    fallback = GEMINI if case.name != "gemini" else "mistral-large-latest"
    chat_upstreams[case.name].emulator.arm(Fault("context_length"))
    raw = every_provider.chat.completions.with_raw_response.create(
        model=case.chat_model,
        messages=HI,
        extra_body={"models": [fallback]},
    )
    assert raw.headers["x-byokgate-routing-reason"] == "context_escalation"
    assert raw.headers["x-byokgate-routed-model"] == fallback
    assert chats(chat_upstreams[case.name]) == 1  # not retried on the same window


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_providers_content_refusal_is_never_routed_around(
    every_provider: openai.OpenAI, chat_upstreams: dict[str, EmulatorServer], case: ProviderCase
) -> None:
    fallback = "gpt-4o" if case.name != "openai" else CLAUDE
    fallback_provider = "openai" if case.name != "openai" else "anthropic"
    chat_upstreams[case.name].emulator.arm(Fault("content_filter"))
    raw = httpx.post(
        f"{every_provider.base_url}chat/completions",
        headers={"authorization": f"Bearer {every_provider.api_key}"},
        json={"model": case.chat_model, "messages": HI, "models": [fallback]},
        timeout=30,
    )
    if raw.status_code == 200:  # Anthropic and Gemini answer a refusal (stop_reason "refusal", a block)
        assert raw.json()["choices"][0]["finish_reason"] == "content_filter"
    else:  # the OpenAI-format providers refuse with an error, in the 4xx the SDK does not retry
        assert 400 <= raw.status_code < 500
        assert raw.headers["x-should-retry"] == "false"
    assert chats(chat_upstreams[case.name]) == 1
    assert chats(chat_upstreams[fallback_provider]) == 0
