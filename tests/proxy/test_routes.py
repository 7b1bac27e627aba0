"""A project's routes on the request path: aliases, wildcards, per-route retries and time limits, the
opt-in to route around refusals, targets whose key went away, through the official SDKs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from byokgate.emulators import EmulatorServer, Fault
from byokgate.settings import Settings
from tests.proxy.conftest import CHAT_KEYS, Gateway, chat_gateway_for

HI = [{"role": "user", "content": "Say hello."}]
LLAMA = "llama-3.3-70b-versatile"
CLAUDE = "claude-3-5-sonnet-20241022"


@pytest.fixture
def gateway(settings: Settings, chat_upstreams: dict[str, EmulatorServer]) -> Iterator[Gateway]:
    yield from chat_gateway_for(settings, chat_upstreams)


@pytest.fixture
def project(gateway: Gateway) -> tuple[str, openai.OpenAI]:
    keys = {name: CHAT_KEYS[name] for name in ("openai", "anthropic", "groq")}
    pid, key = gateway.project("routed", **keys)
    return pid, gateway.client(key)


def put_route(gateway: Gateway, pid: str, name: str, **body: Any) -> None:
    response = gateway.admin.put(f"/projects/{pid}/routes/{name}", json=body)
    assert response.status_code == 200, response.text
    gateway.wait_for_snapshot(lambda s: (t := s.routes_of(pid)) is not None and name in t.routes)


def chats(upstream: EmulatorServer) -> int:
    return sum(1 for r in upstream.emulator.requests if r.method == "POST")


FAST = {"targets": [{"provider": "groq", "model": LLAMA}, {"provider": "openai", "model": "gpt-4o-mini"}]}


def test_an_alias_goes_to_its_first_target(gateway: Gateway, project: tuple[str, openai.OpenAI]) -> None:
    pid, client = project
    put_route(gateway, pid, "fast", **FAST)
    raw = client.chat.completions.with_raw_response.create(model="fast", messages=HI)  # type: ignore[arg-type]
    assert raw.headers["x-byokgate-provider"] == "groq"
    assert raw.headers["x-byokgate-routed-model"] == LLAMA
    assert raw.headers["x-byokgate-routing-reason"] == "alias"
    assert raw.parse().choices[0].message.content


def test_a_routes_own_retry_budget_and_its_fallback(
    gateway: Gateway, project: tuple[str, openai.OpenAI], chat_upstreams: dict[str, EmulatorServer]
) -> None:
    pid, client = project
    put_route(gateway, pid, "fast", **FAST, retries=0)
    chat_upstreams["groq"].emulator.arm(Fault("503", count=None))
    raw = client.chat.completions.with_raw_response.create(model="fast", messages=HI)  # type: ignore[arg-type]
    assert raw.headers["x-byokgate-provider"] == "openai"
    assert raw.headers["x-byokgate-routing-reason"] == "fallback_after_5xx"
    assert chats(chat_upstreams["groq"]) == 1  # retries: 0


def test_a_wildcard_route_takes_the_names_it_matches(
    gateway: Gateway, project: tuple[str, openai.OpenAI], chat_upstreams: dict[str, EmulatorServer]
) -> None:
    pid, client = project
    put_route(
        gateway,
        pid,
        "claude-*",
        targets=[{"provider": "anthropic", "model": "claude-*"}, {"provider": "openai", "model": "gpt-4o"}],
    )
    raw = client.chat.completions.with_raw_response.create(model=CLAUDE, messages=HI)  # type: ignore[arg-type]
    assert raw.headers["x-byokgate-provider"] == "anthropic"
    assert raw.headers["x-byokgate-routed-model"] == CLAUDE
    chat_upstreams["anthropic"].emulator.arm(Fault("529", count=None))
    raw = client.chat.completions.with_raw_response.create(model=CLAUDE, messages=HI)  # type: ignore[arg-type]
    assert raw.headers["x-byokgate-provider"] == "openai"
    assert raw.headers["x-byokgate-routing-reason"] == "fallback_after_overloaded"
    other = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=HI)  # type: ignore[arg-type]
    assert other.headers["x-byokgate-routing-reason"] == "pinned"  # no route: the usual rules


def test_refusals_are_routed_around_only_when_the_route_opts_in(
    gateway: Gateway, project: tuple[str, openai.OpenAI], chat_upstreams: dict[str, EmulatorServer]
) -> None:
    pid, client = project
    targets = [{"provider": "openai", "model": "gpt-4o"}, {"provider": "groq", "model": LLAMA}]
    put_route(gateway, pid, "strict", targets=targets)
    put_route(gateway, pid, "lenient", targets=targets, route_around_refusals=True)
    chat_upstreams["openai"].emulator.arm(Fault("content_filter"))
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="strict", messages=HI)  # type: ignore[arg-type]
    assert chats(chat_upstreams["groq"]) == 0
    chat_upstreams["openai"].emulator.arm(Fault("content_filter"))
    raw = client.chat.completions.with_raw_response.create(model="lenient", messages=HI)  # type: ignore[arg-type]
    assert raw.headers["x-byokgate-provider"] == "groq"
    assert raw.headers["x-byokgate-routing-reason"] == "fallback_after_content_policy"


def test_a_routes_deadline_bounds_the_whole_chain(
    gateway: Gateway, project: tuple[str, openai.OpenAI], chat_upstreams: dict[str, EmulatorServer]
) -> None:
    pid, client = project
    put_route(gateway, pid, "slow", targets=[{"provider": "openai", "model": "gpt-4o"}], deadline_s=1)
    chat_upstreams["openai"].emulator.arm(Fault("no_response", delay_ms=30_000))
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="slow", messages=HI)  # type: ignore[arg-type]
    assert caught.value.status_code == 504
    assert caught.value.code == "deadline_exceeded"  # the deadline, not the read timeout
    assert "deadline of 1 s" in caught.value.message


def test_a_target_whose_key_went_away_is_skipped(
    gateway: Gateway, project: tuple[str, openai.OpenAI], chat_upstreams: dict[str, EmulatorServer]
) -> None:
    pid, client = project
    put_route(gateway, pid, "fast", **FAST)
    assert gateway.admin.delete(f"/projects/{pid}/provider-keys/groq").status_code == 204
    gateway.wait_for_snapshot(lambda s: "groq" not in s.providers_of(pid))
    raw = client.chat.completions.with_raw_response.create(model="fast", messages=HI)  # type: ignore[arg-type]
    assert raw.headers["x-byokgate-provider"] == "openai"
    assert raw.headers["x-byokgate-attempts"] == "1"
    assert chats(chat_upstreams["groq"]) == 0


def test_the_requests_own_fallbacks_follow_the_routes_targets(
    gateway: Gateway, project: tuple[str, openai.OpenAI], chat_upstreams: dict[str, EmulatorServer]
) -> None:
    pid, client = project
    put_route(gateway, pid, "fast", **FAST, retries=0)
    chat_upstreams["groq"].emulator.arm(Fault("503", count=None))
    chat_upstreams["openai"].emulator.arm(Fault("503", count=None))
    raw = client.chat.completions.with_raw_response.create(
        model="fast",
        messages=HI,  # type: ignore[arg-type]
        extra_body={"models": [CLAUDE]},
    )
    assert raw.headers["x-byokgate-provider"] == "anthropic"
    assert raw.headers["x-byokgate-attempts"] == "3"


def test_the_messages_door_takes_the_same_routes(
    gateway: Gateway, project: tuple[str, openai.OpenAI]
) -> None:
    pid, client = project
    put_route(gateway, pid, "smart", targets=[{"provider": "openai", "model": "gpt-4o"}])
    claude = anthropic.Anthropic(base_url=gateway.url, api_key=str(client.api_key), max_retries=0)
    raw = claude.messages.with_raw_response.create(
        model="smart", max_tokens=32, messages=[{"role": "user", "content": "Hi"}]
    )
    assert raw.headers["x-byokgate-provider"] == "openai"
    assert raw.parse().content[0].type == "text"
    claude.close()
