"""A project's pool of keys per provider on the request path: shared by weight, a key that gets a 429 or a
401 cooled and the request rotated to another key at once, cooldowns visible in the admin API and audited."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import openai
import pytest

from byokgate.emulators import EmulatorServer, Fault, build
from byokgate.settings import Settings
from tests.proxy.conftest import CHAT_KEYS, Gateway, chat_gateway_for

HI = [{"role": "user", "content": "Say hello."}]
KEY_A = "sk-proj-" + "a" * 40
KEY_B = "sk-proj-" + "b" * 40
WRONG = "sk-proj-" + "w" * 40  # well formed, refused by the provider


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, EmulatorServer]]:
    servers = {
        "openai": EmulatorServer(build("openai", [KEY_A, KEY_B])).start(),
        "anthropic": EmulatorServer(build("anthropic", [CHAT_KEYS["anthropic"]])).start(),
    }
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def gateway(settings: Settings, upstreams: dict[str, EmulatorServer]) -> Iterator[Gateway]:
    yield from chat_gateway_for(settings, upstreams)


def pool(gateway: Gateway, *keys: tuple[str, str, int]) -> tuple[str, openai.OpenAI]:
    """A project whose OpenAI pool holds ``keys`` (name, key, weight), and a client for it."""
    pid, api_key = gateway.project("pooled", anthropic=CHAT_KEYS["anthropic"])
    for name, key, weight in keys:
        body = {"api_key": key, "weight": weight}
        response = gateway.admin.put(f"/projects/{pid}/provider-keys/openai/{name}", json=body)
        assert response.status_code == 200, response.text
    gateway.wait_for_snapshot(lambda s: len(s.pool(pid, "openai")) == len(keys))
    return pid, gateway.client(api_key)


def used_keys(upstream: EmulatorServer) -> list[str | None]:
    return [r.api_key for r in upstream.emulator.requests if r.method == "POST"]


def audited(gateway: Gateway, pid: str, action: str) -> list[str]:
    """The outcomes of the project's audit events of ``action`` (written in batches: waited for)."""
    outcomes: list[str] = []
    for _ in range(200):
        events = gateway.admin.get(f"/projects/{pid}/audit", params={"action": action}).json()["data"]
        outcomes = [e["outcome"] for e in events]
        if outcomes:
            break
        time.sleep(0.05)
    return outcomes


def cooldowns(gateway: Gateway, pid: str) -> dict[str, dict[str, object] | None]:
    keys = gateway.admin.get(f"/projects/{pid}/provider-keys").json()["data"]
    return {k["name"]: k["cooldown"] for k in keys if k["provider"] == "openai"}


def test_requests_are_shared_by_weight(gateway: Gateway, upstreams: dict[str, EmulatorServer]) -> None:
    _, client = pool(gateway, ("a", KEY_A, 3), ("b", KEY_B, 1))
    for _ in range(8):
        client.chat.completions.create(model="gpt-4o", messages=HI)  # type: ignore[arg-type]
    assert Counter(used_keys(upstreams["openai"])) == {KEY_A: 6, KEY_B: 2}


def test_a_disabled_key_is_kept_and_never_used(
    gateway: Gateway, upstreams: dict[str, EmulatorServer]
) -> None:
    pid, client = pool(gateway, ("a", KEY_A, 1), ("b", KEY_B, 1))
    patched = gateway.admin.patch(f"/projects/{pid}/provider-keys/openai/b", json={"state": "disabled"})
    assert patched.json()["state"] == "disabled"
    gateway.wait_for_snapshot(lambda s: len(s.pool(pid, "openai")) == 1)
    for _ in range(4):
        client.chat.completions.create(model="gpt-4o", messages=HI)  # type: ignore[arg-type]
    assert set(used_keys(upstreams["openai"])) == {KEY_A}


def test_a_429_cools_the_key_and_the_request_rotates_at_once(
    gateway: Gateway, upstreams: dict[str, EmulatorServer]
) -> None:
    pid, client = pool(gateway, ("a", KEY_A, 1), ("b", KEY_B, 1))
    upstreams["openai"].emulator.arm(Fault("429", retry_after_s=30))
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=HI)  # type: ignore[arg-type]
    assert raw.headers["x-byokgate-routing-reason"] == "rotated_after_429"
    assert raw.headers["x-byokgate-attempts"] == "2"
    first, second = used_keys(upstreams["openai"])
    assert first != second
    cooled = "a" if first == KEY_A else "b"
    cooling = cooldowns(gateway, pid)[cooled]
    assert cooling is not None
    assert cooling["reason"] == "429"
    assert cooling["until"] is not None
    for _ in range(3):  # the cooling key is skipped while the other is fresh
        client.chat.completions.create(model="gpt-4o", messages=HI)  # type: ignore[arg-type]
    assert used_keys(upstreams["openai"])[2:] == [second] * 3
    assert audited(gateway, pid, "provider_key.cooldown") == ["cooling_after_429"]
    assert cooling["model"] == "gpt-4o"  # providers limit each model apart: the key is fresh for others
    for _ in range(4):
        client.chat.completions.create(model="gpt-4o-mini", messages=HI)  # type: ignore[arg-type]
    assert first in used_keys(upstreams["openai"])[-4:]


def test_a_refused_key_cools_until_replaced(gateway: Gateway, upstreams: dict[str, EmulatorServer]) -> None:
    pid, client = pool(gateway, ("a", KEY_A, 1), ("bad", WRONG, 1))
    answered = [
        client.chat.completions.with_raw_response.create(model="gpt-4o", messages=HI)  # type: ignore[arg-type]
        for _ in range(4)
    ]
    reasons = [raw.headers["x-byokgate-routing-reason"] for raw in answered]
    assert reasons.count("rotated_after_auth") == 1  # the bad key was tried once, then never again
    assert used_keys(upstreams["openai"]).count(WRONG) == 1
    cooling = cooldowns(gateway, pid)["bad"]
    assert cooling is not None
    assert (cooling["reason"], cooling["until"]) == ("401", None)
    replaced = gateway.admin.put(f"/projects/{pid}/provider-keys/openai/bad", json={"api_key": KEY_B})
    assert replaced.json()["cooldown"] is None  # a new key: fresh
    gateway.wait_for_snapshot(
        lambda s: any(k.credential_id == replaced.json()["credential_id"] for k in s.pool(pid, "openai"))
    )
    for _ in range(4):
        client.chat.completions.create(model="gpt-4o", messages=HI)  # type: ignore[arg-type]
    assert KEY_B in used_keys(upstreams["openai"])[-4:]


def test_an_operator_can_lift_a_cooldown(gateway: Gateway, upstreams: dict[str, EmulatorServer]) -> None:
    pid, client = pool(gateway, ("a", KEY_A, 1), ("b", KEY_B, 1))
    upstreams["openai"].emulator.arm(Fault("429", retry_after_s=300))
    client.chat.completions.create(model="gpt-4o", messages=HI)  # type: ignore[arg-type]
    cooled = next(name for name, cooling in cooldowns(gateway, pid).items() if cooling is not None)
    lifted = gateway.admin.patch(f"/projects/{pid}/provider-keys/openai/{cooled}", json={"state": "active"})
    assert lifted.json()["cooldown"] is None
    assert cooldowns(gateway, pid)[cooled] is None


def test_a_pool_all_cooling_fails_over_to_the_next_target(
    gateway: Gateway, upstreams: dict[str, EmulatorServer]
) -> None:
    _, client = pool(gateway, ("a", KEY_A, 1), ("b", KEY_B, 1))
    upstreams["openai"].emulator.arm(Fault("429", retry_after_s=60, count=2))
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o",
        messages=HI,  # type: ignore[arg-type]
        extra_body={"models": ["claude-3-5-sonnet-20241022"]},
    )
    assert raw.headers["x-byokgate-provider"] == "anthropic"  # both keys 429ed: rotated, then failed over
    assert len(used_keys(upstreams["openai"])) == 2
    again = client.chat.completions.with_raw_response.create(
        model="gpt-4o",
        messages=HI,  # type: ignore[arg-type]
        extra_body={"models": ["claude-3-5-sonnet-20241022"]},
    )
    assert again.headers["x-byokgate-routing-reason"] == "fallback_after_cooling"  # no call to OpenAI
    assert len(used_keys(upstreams["openai"])) == 2
    # The last target takes a cooling key anyway (the one whose cooldown ends first): a probe, not a refusal.
    upstreams["openai"].emulator.arm(Fault("429", retry_after_s=60))
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o", messages=HI)  # type: ignore[arg-type]
    assert len(used_keys(upstreams["openai"])) == 3


def test_a_stored_response_is_continued_with_the_key_that_made_it(
    gateway: Gateway, upstreams: dict[str, EmulatorServer]
) -> None:
    """OpenAI keeps a response with the key's account: ``previous_response_id`` (and GET, DELETE) go with
    the key that made it, whatever the pool's turn (the emulator keeps responses per key, as accounts do)."""
    _, client = pool(gateway, ("a", KEY_A, 1), ("b", KEY_B, 1))
    made = [client.responses.create(model="gpt-4o", input="My name is Ada.") for _ in range(2)]
    makers = used_keys(upstreams["openai"])
    assert set(makers) == {KEY_A, KEY_B}  # the pool shares the first requests
    for first, maker in zip(made, makers, strict=True):
        for _ in range(3):
            followed = client.responses.create(
                model="gpt-4o", input="What is my name?", previous_response_id=first.id
            )
            assert followed.output_text
            assert used_keys(upstreams["openai"])[-1] == maker
        assert client.responses.retrieve(first.id).id == first.id
