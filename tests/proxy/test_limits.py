"""Rate limits and budgets through the gateway, with the official OpenAI SDK and the real emulators."""

from __future__ import annotations

import time
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from byokgate.domain.entities import PROJECT_SCOPE
from byokgate.emulators import EmulatorServer
from byokgate.settings import Settings
from tests.proxy.conftest import CHAT_KEYS as KEYS
from tests.proxy.conftest import Gateway, chat_gateway_for, gateway_for
from tests.support.settings import wired

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

ASK: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say something short."}]


def limited(gateway: Gateway, project_id: str, key_id: str | None = None, **limits: Any) -> dict[str, Any]:
    path = f"/projects/{project_id}" + (f"/api-keys/{key_id}" if key_id else "") + "/limits"
    response = gateway.admin.put(path, json=limits)
    assert response.status_code == 200, response.text
    scope = key_id or PROJECT_SCOPE
    gateway.wait_for_snapshot(lambda snapshot: (project_id, scope) in snapshot.limits)
    return dict(response.json())


def fresh_minute() -> None:
    """Rate windows are UTC minutes: start a counting test early in one, so that it cannot straddle two."""
    left = 60 - time.time() % 60
    if left < 15:
        time.sleep(left + 0.05)


def key_id_of(gateway: Gateway, project_id: str) -> str:
    return str(gateway.admin.get(f"/projects/{project_id}/api-keys").json()["data"][0]["id"])


def test_requests_per_minute_for_the_project_and_for_one_key(chat_gateway: Gateway) -> None:
    project_id, key = chat_gateway.project(**KEYS)
    second_key = chat_gateway.admin.post(f"/projects/{project_id}/api-keys", json={"name": "b"}).json()
    limited(chat_gateway, project_id, rpm=3)
    limited(chat_gateway, project_id, key_id_of(chat_gateway, project_id), rpm=1)
    first, other = chat_gateway.client(key), chat_gateway.client(second_key["key"])
    fresh_minute()
    first.chat.completions.create(model="gpt-4o", messages=ASK)
    with pytest.raises(openai.RateLimitError) as refused:
        first.chat.completions.create(model="gpt-4o", messages=ASK)
    assert refused.value.code == "rate_limit_exceeded"
    headers = refused.value.response.headers
    assert headers["x-ratelimit-limit-requests"] == "1"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert 1 <= int(headers["retry-after"]) <= 61
    other.chat.completions.create(model="gpt-4o", messages=ASK)  # the project still has room: 2 of 3
    other.chat.completions.create(model="gpt-4o", messages=ASK)
    with pytest.raises(openai.RateLimitError) as project_full:
        other.chat.completions.create(model="gpt-4o", messages=ASK)
    assert project_full.value.response.headers["x-ratelimit-limit-requests"] == "3"


def test_tokens_per_minute_hold_the_worst_case_and_settle_to_the_usage(
    chat_gateway: Gateway, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    project_id, key = chat_gateway.project(**KEYS)
    limited(chat_gateway, project_id, tpm=400)
    client = chat_gateway.client(key)
    before = len(chat_upstreams["openai"].emulator.requests)
    for _ in range(3):  # each holds ~270 tokens up front but uses far fewer: only settling lets them through
        client.chat.completions.create(model="gpt-4o", messages=ASK, max_tokens=250)
    with pytest.raises(openai.RateLimitError) as refused:  # its worst case alone is over the limit
        client.chat.completions.create(model="gpt-4o", messages=ASK, max_tokens=1000)
    assert refused.value.response.headers["x-ratelimit-limit-tokens"] == "400"
    assert len(chat_upstreams["openai"].emulator.requests) == before + 3  # refused before going upstream


def test_a_budget_stops_spending_before_it_is_passed_and_warns_first(chat_gateway: Gateway) -> None:
    project_id, key = chat_gateway.project(**KEYS)
    limited(chat_gateway, project_id, budget_usd=0.002, budget_period="day", soft_pct=50)
    client = chat_gateway.client(key)
    spent, refused = 0, None
    for _ in range(30):
        try:
            raw = client.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=ASK, max_tokens=30
            )
        except openai.RateLimitError as exc:
            refused = exc
            break
        spent += round(float(raw.headers["x-byokgate-cost-usd"]) * 1_000_000)
    assert refused is not None
    assert refused.code == "budget_exceeded"
    assert spent <= 2_000  # never passed: each request's worst case was held first
    assert 1 <= int(refused.response.headers["retry-after"]) <= 86_400
    events: list[dict[str, Any]] = []
    for _ in range(100):
        events = chat_gateway.admin.get(f"/projects/{project_id}/audit?action=budget.soft_limit").json()[
            "data"
        ]
        if events:
            break
        time.sleep(0.05)
    assert len(events) == 1
    assert events[0]["detail"]["budget_usd"] == "0.002000"


def test_limits_in_the_admin_api(chat_gateway: Gateway) -> None:
    project_id, _ = chat_gateway.project(**KEYS)
    path = f"/projects/{project_id}/limits"
    assert chat_gateway.admin.get(path).status_code == 404  # none yet
    shown = limited(chat_gateway, project_id, rpm=10, budget_usd="12.5")
    assert shown == {
        "object": "project.limits",
        "scope": "project",
        "rpm": 10,
        "tpm": None,
        "budget_usd": "12.500000",
        "budget_period": "month",
        "soft_pct": 80,
    }
    assert chat_gateway.admin.get(path).json() == shown
    for bad in (
        {"rpm": 0},
        {"budget_usd": "0.0000001"},
        {"budget_period": "week"},
        {"tpm": "many"},
        {"x": 1},
    ):
        response = chat_gateway.admin.put(path, json=bad)
        assert response.status_code in (400, 422), bad
        assert "error" in response.json()
    assert chat_gateway.admin.put(f"{path[:-7]}/api-keys/key_nope/limits", json={"rpm": 1}).status_code == 404
    assert chat_gateway.admin.delete(path).status_code == 204
    assert chat_gateway.admin.get(path).status_code == 404
    actions = [e["action"] for e in chat_gateway.admin.get(f"/projects/{project_id}/audit").json()["data"]]
    assert actions[:2] == ["project.limits_removed", "project.limits"]


@pytest.mark.redis
def test_two_instances_share_one_limit_through_redis(
    settings: Settings, chat_upstreams: dict[str, EmulatorServer], redis_url: str
) -> None:
    urls = {name: server.base_url for name, server in chat_upstreams.items()}
    shared = wired(settings, urls, redis_url=redis_url)
    for first in chat_gateway_for(settings, chat_upstreams, redis_url=redis_url):
        project_id, key = first.project(**KEYS)
        limited(first, project_id, rpm=3)
        for second in gateway_for(shared):
            scope = (project_id, PROJECT_SCOPE)
            second.wait_for_snapshot(lambda snapshot, scope=scope: scope in snapshot.limits)  # type: ignore[misc]
            fresh_minute()
            first.client(key).chat.completions.create(model="gpt-4o", messages=ASK)
            second.client(key).chat.completions.create(model="gpt-4o", messages=ASK)
            first.client(key).chat.completions.create(model="gpt-4o", messages=ASK)
            with pytest.raises(openai.RateLimitError):
                second.client(key).chat.completions.create(model="gpt-4o", messages=ASK)
