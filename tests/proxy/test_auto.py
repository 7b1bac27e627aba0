"""The Auto lane through the OpenAI SDK: the cheapest capable model of the project's own keys, escalation on
failure and past a too-small context window, session pinning, and the plan's tiers on the pooled lane."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from byokgate.emulators import EmulatorServer, Fault, build
from byokgate.settings import Settings
from tests.proxy.conftest import CHAT_KEYS, Gateway, chat_gateway_for, gateway_for
from tests.support.settings import wired

HI = [{"role": "user", "content": "Say hello."}]
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
PICTURE = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
        ],
    }
]


@pytest.fixture
def gateway(settings: Settings, chat_upstreams: dict[str, EmulatorServer]) -> Iterator[Gateway]:
    yield from chat_gateway_for(settings, chat_upstreams)


def client_with(gateway: Gateway, *providers: str) -> openai.OpenAI:
    _, key = gateway.project("auto", **{name: CHAT_KEYS[name] for name in providers})
    return gateway.client(key)


def ask(client: openai.OpenAI, model: str = "auto", messages: Any = HI, **options: Any) -> Any:
    return client.chat.completions.with_raw_response.create(model=model, messages=messages, **options)


def test_auto_takes_the_cheapest_capable_model_of_the_projects_keys(gateway: Gateway) -> None:
    client = client_with(gateway, "groq", "openai", "anthropic")
    raw = ask(client)
    assert raw.headers["x-byokgate-routing-reason"] == "cheapest_capable"
    assert raw.headers["x-byokgate-routed-model"] == "llama-3.1-8b-instant"
    assert raw.parse().choices[0].message.content
    seeing = ask(client, messages=PICTURE)  # an image: a model with vision
    assert seeing.headers["x-byokgate-routed-model"] == "gpt-4.1-nano"
    best = ask(client, model="auto:best")
    assert best.headers["x-byokgate-routed-model"] == "gpt-4o"  # the cheapest large model
    balanced = ask(client, model="auto:balanced")
    assert balanced.headers["x-byokgate-routed-model"] == "llama-3.3-70b-versatile"  # mid, cheapest


def test_auto_escalates_on_failure(gateway: Gateway, chat_upstreams: dict[str, EmulatorServer]) -> None:
    client = client_with(gateway, "groq", "openai")
    chat_upstreams["groq"].emulator.arm(Fault("503", count=None, model="llama-3.1-8b-instant"))
    raw = ask(client)
    assert raw.headers["x-byokgate-routed-model"] == "gpt-4.1-nano"
    assert raw.headers["x-byokgate-routing-reason"] == "fallback_after_5xx"


def test_a_context_length_error_escalates_past_windows_no_larger(
    gateway: Gateway, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    groq = chat_upstreams["groq"]
    only_groq = client_with(gateway, "groq")
    groq.emulator.arm(Fault("context_length", model="llama-3.1-8b-instant"))
    with pytest.raises(openai.BadRequestError) as caught:  # the 70B's window (131k) is no larger: skipped
        ask(only_groq)
    attempts = caught.value.body["attempts"]  # type: ignore[index]
    assert [(a["model"], a["action"]) for a in attempts] == [
        ("llama-3.1-8b-instant", "failover"),
        ("llama-3.3-70b-versatile", "skip"),
    ]
    assert sum(1 for r in groq.emulator.requests if r.method == "POST") == 1
    with_gemini = client_with(gateway, "groq", "gemini")
    groq.emulator.arm(Fault("context_length", model="llama-3.1-8b-instant"))
    raw = ask(with_gemini)
    assert raw.headers["x-byokgate-routing-reason"] == "context_escalation"
    assert raw.headers["x-byokgate-routed-model"] == "gemini-2.0-flash"  # 1M tokens, the next cheapest


def test_a_session_keeps_its_model(gateway: Gateway, chat_upstreams: dict[str, EmulatorServer]) -> None:
    client = client_with(gateway, "groq", "openai")
    session: dict[str, Any] = {"extra_headers": {"x-byokgate-session": "conversation-1"}}
    chat_upstreams["groq"].emulator.arm(Fault("503", count=3, model="llama-3.1-8b-instant"))
    first = ask(client, **session)
    assert first.headers["x-byokgate-routed-model"] == "gpt-4.1-nano"  # groq was failing
    again = ask(client, **session)
    assert again.headers["x-byokgate-routing-reason"] == "session_pinned"
    assert again.headers["x-byokgate-routed-model"] == "gpt-4.1-nano"  # the provider's cache stays warm
    other = ask(client)  # no session: the cheapest again
    assert other.headers["x-byokgate-routed-model"] == "llama-3.1-8b-instant"


def test_auto_with_nothing_capable_says_why(gateway: Gateway) -> None:
    client = client_with(gateway, "groq")
    with pytest.raises(openai.NotFoundError) as caught:
        ask(client, messages=PICTURE)  # groq's candidates take no images
    assert caught.value.body["code"] == "no_capable_model"  # type: ignore[index]
    assert "images" in caught.value.message


POOLED_KEY = "sk-or-v1-" + "a" * 64
STANDARD = ("google/gemini-2.0-flash-001", "openai/gpt-4o-mini")  # the pooled candidates outside "premium"


@pytest.fixture
def pooled(settings: Settings) -> Iterator[tuple[Gateway, EmulatorServer]]:
    """A gateway whose pooled lane is the OpenRouter emulator (the projects hold no keys of their own)."""
    with EmulatorServer(build("openrouter", [POOLED_KEY])) as router:
        for gateway in gateway_for(wired(settings, {"openrouter": router.base_url}, pooled_key=POOLED_KEY)):
            yield gateway, router


def test_on_the_pooled_lane_auto_keeps_to_the_plans_tiers(pooled: tuple[Gateway, EmulatorServer]) -> None:
    gateway, router = pooled
    project_id, key = gateway.project("pooled")  # the free preview: the standard tier only
    client = gateway.client(key)
    raw = ask(client)
    assert raw.headers["x-byokgate-lane"] == "pooled"
    assert raw.headers["x-byokgate-routing-reason"] == "cheapest_capable"
    assert raw.headers["x-byokgate-routed-model"] in STANDARD
    assert router.emulator.requests[-1].body["model"] == raw.headers["x-byokgate-routed-model"]
    with pytest.raises(openai.NotFoundError) as caught:
        ask(client, model="auto:best")  # large models are all premium
    assert caught.value.body["code"] == "no_capable_model"  # type: ignore[index]

    for model in STANDARD:  # every standard candidate failing: the free preview has nowhere else to go
        router.emulator.arm(Fault("503", count=None, model=model))
    with pytest.raises(openai.InternalServerError):
        ask(client)
    assert {r.body["model"] for r in router.emulator.requests[1:]} == set(STANDARD)

    assert gateway.admin.put(f"/projects/{project_id}/billing", json={"plan": "teams"}).status_code == 200
    gateway.wait_for_snapshot(lambda snapshot: snapshot.billing_of(project_id).plan == "teams")
    raw = ask(client)  # Teams may escalate to premium
    assert raw.headers["x-byokgate-routing-reason"] == "fallback_after_5xx"
    assert raw.headers["x-byokgate-routed-model"] not in STANDARD
    assert router.emulator.requests[-1].body["model"] == raw.headers["x-byokgate-routed-model"]
    assert ask(client, model="auto:best").headers["x-byokgate-routed-model"] not in STANDARD
