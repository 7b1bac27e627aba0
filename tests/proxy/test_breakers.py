"""Circuit breakers on the request path: a failing model (or an unreachable provider) is skipped while its
breaker is open, probed once when it cools, closed by the probe's success; across two instances sharing
Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai
import pytest

from byokgate.emulators import EmulatorServer, Fault
from byokgate.settings import Settings
from tests.proxy.conftest import CHAT_KEYS, Gateway, gateway_for
from tests.support.settings import wired

HI = [{"role": "user", "content": "Say hello."}]
FALLBACK: dict[str, Any] = {"models": ["claude-3-5-sonnet-20241022"]}


def chats(upstream: EmulatorServer) -> int:
    return sum(1 for r in upstream.emulator.requests if r.method == "POST")


def breakers(gateway: Gateway) -> dict[str, str]:
    """The provider and model breakers not closed (the project key's opens and closes beside them)."""
    listed = gateway.admin.get("/breakers").json()["data"]
    return {b["name"]: b["state"] for b in listed if b["kind"] in ("provider", "model")}


def eventually(check: Any, what: str) -> None:
    for _ in range(300):
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"never: {what}")


def strained(settings: Settings, upstreams: dict[str, EmulatorServer], **extra: Any) -> Settings:
    for server in upstreams.values():
        server.emulator.reset()
    urls = {name: server.base_url for name, server in upstreams.items()}
    return wired(settings, urls, retries=0, breaker_failures=2, **extra)


@pytest.fixture
def gateway(settings: Settings, chat_upstreams: dict[str, EmulatorServer]) -> Iterator[Gateway]:
    yield from gateway_for(strained(settings, chat_upstreams, breaker_cool_s=0.5))


def project(gateway: Gateway) -> openai.OpenAI:
    _, key = gateway.project("b", openai=CHAT_KEYS["openai"], anthropic=CHAT_KEYS["anthropic"])
    return gateway.client(key)


def ask(client: openai.OpenAI, **extra: Any) -> Any:
    return client.chat.completions.with_raw_response.create(model="gpt-4o", messages=HI, extra_body=extra)  # type: ignore[arg-type]


def opened(
    gateway: Gateway, upstreams: dict[str, EmulatorServer], fault: Fault, breaker: str
) -> tuple[openai.OpenAI, EmulatorServer]:
    """The primary failing with ``fault`` until ``breaker`` opens (two failures), the fallback answering."""
    client = project(gateway)
    primary = upstreams["openai"]
    primary.emulator.arm(fault)
    for _ in range(2):
        assert ask(client, **FALLBACK).headers["x-byokgate-provider"] == "anthropic"
    assert breakers(gateway) == {breaker: "open"}
    return client, primary


def test_an_open_breaker_skips_the_provider_then_one_probe_closes_it(
    gateway: Gateway, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    client, primary = opened(gateway, chat_upstreams, Fault("503", count=None), "model:openai/gpt-4o")
    skipped = ask(client, **FALLBACK)
    assert skipped.headers["x-byokgate-routing-reason"] == "fallback_after_circuit_open"
    assert chats(primary) == 2  # not sent while open
    time.sleep(0.6)  # the cool-down
    primary.emulator.clear_faults()
    probed = ask(client, **FALLBACK)
    assert probed.headers["x-byokgate-provider"] == "openai"  # the probe, answered: closed
    assert breakers(gateway) == {}
    assert ask(client, **FALLBACK).headers["x-byokgate-routing-reason"] == "pinned"


def test_a_request_with_nowhere_else_to_go_probes_rather_than_being_refused(
    gateway: Gateway, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    client = project(gateway)
    primary = chat_upstreams["openai"]
    primary.emulator.arm(Fault("503", count=2))
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="gpt-4o", messages=HI)  # type: ignore[arg-type]
    assert breakers(gateway) == {"model:openai/gpt-4o": "open"}
    answer = ask(client)  # every target open: the least recently failed is probed
    assert answer.headers["x-byokgate-provider"] == "openai"
    assert breakers(gateway) == {}


def test_one_models_outage_leaves_the_providers_other_models_served(
    gateway: Gateway, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    """As `models: ["gpt-4o", "gpt-4o-mini"]`: the provider answers, but not for one model."""
    client = project(gateway)
    primary = chat_upstreams["openai"]
    primary.emulator.arm(Fault("503", count=None, model="gpt-4o"))
    for _ in range(3):
        answer = ask(client, models=["gpt-4o-mini"])
        assert answer.headers["x-byokgate-routed-model"] == "gpt-4o-mini"
    assert breakers(gateway) == {"model:openai/gpt-4o": "open"}
    assert answer.headers["x-byokgate-routing-reason"] == "fallback_after_circuit_open"
    assert sum(1 for r in primary.emulator.requests if r.body.get("model") == "gpt-4o") == 2  # then skipped


def test_an_unreachable_provider_opens_the_providers_breaker(
    gateway: Gateway, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    client, primary = opened(gateway, chat_upstreams, Fault("reset", count=None), "provider:openai")
    before = chats(primary)
    skipped = ask(client, models=["gpt-4o-mini", *FALLBACK["models"]])  # every model of the provider
    assert skipped.headers["x-byokgate-provider"] == "anthropic"
    assert chats(primary) == before


@pytest.mark.redis
def test_two_instances_share_the_breaker_and_only_one_probes(
    settings: Settings, chat_upstreams: dict[str, EmulatorServer], redis_url: str
) -> None:
    shared = strained(settings, chat_upstreams, breaker_cool_s=3, redis_url=redis_url)
    primary = chat_upstreams["openai"]
    with (
        contextmanager(gateway_for)(shared) as one,
        contextmanager(gateway_for)(shared) as two,
    ):
        _, key = one.project("b", openai=CHAT_KEYS["openai"], anthropic=CHAT_KEYS["anthropic"])
        clients = [one.client(key), two.client(key)]
        eventually(lambda: _answers(clients[1]), "the second instance knows the project")
        primary.emulator.arm(Fault("503", count=None))
        for _ in range(2):
            ask(clients[0], **FALLBACK)
        eventually(
            lambda: breakers(two) == {"model:openai/gpt-4o": "open"}, "the second instance sees it open"
        )
        before = chats(primary)
        assert (
            ask(clients[1], **FALLBACK).headers["x-byokgate-routing-reason"] == "fallback_after_circuit_open"
        )
        assert chats(primary) == before
        time.sleep(3)  # the cool-down: one instance claims the probe
        turn, until = 0, time.monotonic() + 15
        while chats(primary) == before:
            assert time.monotonic() < until, "the primary was never probed"
            ask(clients[turn % 2], **FALLBACK)
            turn += 1
            time.sleep(0.02)
        assert chats(primary) == before + 1  # the probe (it failed: open again)
        for turn in range(6):
            ask(clients[turn % 2], **FALLBACK)
        assert chats(primary) == before + 1  # no second probe, from either instance
        primary.emulator.clear_faults()
        time.sleep(3)
        turn, until = 0, time.monotonic() + 15  # an instance claims the probe at its next poll (0.5 s)
        while ask(clients[turn % 2], **FALLBACK).headers["x-byokgate-provider"] != "openai":
            assert time.monotonic() < until, "the primary was never probed again"
            turn += 1
            time.sleep(0.02)
        eventually(lambda: breakers(one) == {} and breakers(two) == {}, "both instances see it closed")


def _answers(client: openai.OpenAI) -> bool:
    try:
        ask(client)
    except openai.APIStatusError:
        return False
    return True
