"""The exact response cache through the gateway, with the official OpenAI SDK and the real emulators."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
import redis
from openai.types.chat import ChatCompletionMessageParam
from pydantic import SecretStr

from byokgate.emulators import EmulatorServer, build
from byokgate.settings import Settings
from tests.proxy.conftest import Gateway, gateway_for
from tests.support.openapi_spec import assert_valid
from tests.support.settings import wired

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

KEY_A = "sk-proj-" + "q" * 40
KEY_B = "sk-proj-" + "r" * 40
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Tell me about caching."}]


@pytest.fixture(scope="module")
def upstream() -> Iterator[EmulatorServer]:
    with EmulatorServer(build("openai", [KEY_A, KEY_B])) as server:
        yield server


def _settings(settings: Settings, upstream: EmulatorServer, **extra: Any) -> Settings:
    return wired(settings, {"openai": upstream.base_url}, **extra)


@pytest.fixture
def gateway(settings: Settings, upstream: EmulatorServer) -> Iterator[Gateway]:
    upstream.emulator.reset()
    yield from gateway_for(_settings(settings, upstream))


def cached_project(gateway: Gateway, provider_key: str = KEY_A, **cache: Any) -> tuple[str, str]:
    project_id, key = gateway.project(openai=provider_key)
    response = gateway.admin.put(f"/projects/{project_id}/cache", json={"enabled": True, **cache})
    assert response.status_code == 200, response.text
    _wait_for_snapshot(gateway, key)
    return project_id, key


def _wait_for_snapshot(gateway: Gateway, key: str, model: str = "gpt-4o") -> None:
    """Settings reach the data plane through the snapshot: wait until a probe request reports the cache."""
    probe = {"model": model, "messages": [{"role": "user", "content": "probe"}]}
    for _ in range(200):
        answered = httpx.post(
            f"{gateway.url}/v1/chat/completions",
            json=probe,
            headers={"authorization": f"Bearer {key}", "x-byokgate-cache": "no-store"},
        )
        if answered.headers.get("x-byokgate-cache") != "BYPASS":
            return
        time.sleep(0.02)
    raise AssertionError("the cache settings never reached the data plane")


def upstream_chats(upstream: EmulatorServer) -> int:
    return sum(
        1
        for r in upstream.emulator.requests
        if r.path.endswith("/chat/completions")
        and r.body.get("messages") != [{"role": "user", "content": "probe"}]
    )


def test_off_by_default_then_a_hit_returns_the_same_body(gateway: Gateway, upstream: EmulatorServer) -> None:
    _, plain = gateway.project(openai=KEY_A)
    raw = gateway.client(plain).chat.completions.with_raw_response.create(model="gpt-4o", messages=USER)
    assert raw.headers["x-byokgate-cache"] == "BYPASS"

    project_id, key = cached_project(gateway)
    client = gateway.client(key)
    before = upstream_chats(upstream)
    miss = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=USER)
    hit = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=USER, user="someone-else")
    assert (miss.headers["x-byokgate-cache"], hit.headers["x-byokgate-cache"]) == ("MISS", "HIT")
    assert miss.content == hit.content  # byte for byte: the same body, same format
    assert miss.headers["x-byokgate-cache-key"] == hit.headers["x-byokgate-cache-key"]
    assert upstream_chats(upstream) == before + 1

    records: list[dict[str, Any]] = []
    for _ in range(100):
        records = gateway.admin.get(f"/projects/{project_id}/requests").json()["data"]
        if any(r["id"] == hit.headers["x-byokgate-request-id"] for r in records):
            break
        time.sleep(0.05)
    logged = {r["id"]: r for r in records}
    assert logged[miss.headers["x-byokgate-request-id"]]["cache"] == "MISS"
    hit_record = logged[hit.headers["x-byokgate-request-id"]]
    assert hit_record["cache"] == "HIT"
    assert hit_record["credential_id"] is None  # a hit is not a use of the provider key


def test_projects_never_share_entries(gateway: Gateway, upstream: EmulatorServer) -> None:
    _, key_a = cached_project(gateway, KEY_A)
    _, key_b = cached_project(gateway, KEY_B)
    before = upstream_chats(upstream)
    first = gateway.client(key_a).chat.completions.with_raw_response.create(model="gpt-4o", messages=USER)
    second = gateway.client(key_b).chat.completions.with_raw_response.create(model="gpt-4o", messages=USER)
    assert (first.headers["x-byokgate-cache"], second.headers["x-byokgate-cache"]) == ("MISS", "MISS")
    assert first.headers["x-byokgate-cache-key"] != second.headers["x-byokgate-cache-key"]
    assert upstream_chats(upstream) == before + 2
    assert [r.api_key for r in upstream.emulator.requests[-2:]] == [KEY_A, KEY_B]


def test_streams_and_plain_answers_replay_each_other(gateway: Gateway, upstream: EmulatorServer) -> None:
    _, key = cached_project(gateway)
    client = gateway.client(key)
    plain = client.chat.completions.create(model="gpt-4o", messages=USER)
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=USER, stream=True, stream_options={"include_usage": True}
    ) as streamed:
        assert streamed.headers["x-byokgate-cache"] == "HIT"
        chunks = list(streamed.parse())
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk.model_dump(mode="json", exclude_unset=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == plain.choices[0].message.content
    )
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == plain.usage.total_tokens  # type: ignore[union-attr]

    other: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Stream first, then ask plainly."}]
    streamed_text = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(model="gpt-4o", messages=other, stream=True)
        if c.choices
    )
    before = upstream_chats(upstream)
    replayed = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=other)
    assert replayed.headers["x-byokgate-cache"] == "HIT"
    assert_valid("CreateChatCompletionResponse", json.loads(replayed.content))
    assert replayed.parse().choices[0].message.content == streamed_text
    assert upstream_chats(upstream) == before


def test_a_streamed_miss_is_served_with_the_usage_and_cost_it_was_not_sent(
    gateway: Gateway, upstream: EmulatorServer
) -> None:
    """The client of the miss did not ask for usage (the gateway asked and withheld it); the entry keeps it,
    so a later streamed hit that asks gets the usage chunk and a plain hit its usage and saved cost."""
    _, key = cached_project(gateway)
    client = gateway.client(key)
    asked: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Stream me, no usage."}]
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=asked, stream=True
    ) as missed:
        assert missed.headers["x-byokgate-cache"] == "MISS"
        text = "".join(c.choices[0].delta.content or "" for c in missed.parse() if c.choices)
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=asked, stream=True, stream_options={"include_usage": True}
    ) as hit:
        assert hit.headers["x-byokgate-cache"] == "HIT"
        chunks = list(hit.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    plain = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=asked)
    assert plain.headers["x-byokgate-cache"] == "HIT"
    assert float(plain.headers["x-byokgate-cost-saved-usd"]) > 0  # priced from the withheld usage
    answer = json.loads(plain.content)
    assert_valid("CreateChatCompletionResponse", answer)
    assert answer["usage"]["total_tokens"] == chunks[-1].usage.total_tokens
    assert "cost" not in answer["usage"]  # the cost of the request that made it is not part of the answer


def test_answers_with_tool_calls_are_stored_checked_in_either_mode(
    gateway: Gateway, upstream: EmulatorServer
) -> None:
    """Tool calls take the checked path (their arguments must parse): plainly, and from a stream, which is
    assembled before it is stored instead of being recorded as bytes."""
    _, key = cached_project(gateway)
    client = gateway.client(key)
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    for index, first_streamed in enumerate((False, True)):
        asked: list[ChatCompletionMessageParam] = [{"role": "user", "content": f"Weather in Oslo? ({index})"}]
        if first_streamed:
            stream = client.chat.completions.create(model="gpt-4o", messages=asked, tools=tools, stream=True)
            assert any(c.choices and c.choices[0].delta.tool_calls for c in stream)
        else:
            client.chat.completions.create(model="gpt-4o", messages=asked, tools=tools)
        before = upstream_chats(upstream)
        hit = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=asked, tools=tools)
        assert hit.headers["x-byokgate-cache"] == "HIT"
        call = json.loads(hit.content)["choices"][0]["message"]["tool_calls"][0]
        assert call["function"]["name"] == "get_weather"
        assert isinstance(json.loads(call["function"]["arguments"]), dict)
        assert hit.parse().choices[0].finish_reason == "tool_calls"
        assert upstream_chats(upstream) == before


def test_controls(gateway: Gateway, upstream: EmulatorServer) -> None:
    project_id, key = cached_project(gateway)
    client = gateway.client(key)

    def status(**headers: str) -> str:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=USER, extra_headers=headers
        )
        return str(raw.headers["x-byokgate-cache"])

    assert status(**{"x-byokgate-cache": "no-store"}) == "MISS"
    assert status(**{"x-byokgate-cache": "no-store"}) == "MISS"  # nothing was stored
    assert status() == "MISS"
    assert status() == "HIT"
    assert status(**{"x-byokgate-cache": "bypass"}) == "BYPASS"
    assert status(**{"x-byokgate-cache": "refresh"}) == "REFRESH"
    assert status(**{"cache-control": "no-cache"}) == "REFRESH"
    assert status(**{"x-byokgate-cache-namespace": "tenant-7"}) == "MISS"
    assert status(**{"x-byokgate-cache-namespace": "tenant-7"}) == "HIT"
    with pytest.raises(openai.BadRequestError):
        status(**{"x-byokgate-cache": "sometimes"})

    purged = gateway.admin.delete(f"/projects/{project_id}/cache/entries")
    assert purged.status_code == 200
    assert purged.json()["purged"] >= 2
    assert status() == "MISS"
    audit = gateway.admin.get(
        f"/projects/{project_id}/audit", params={"action": "project.cache_purge"}
    ).json()
    assert len(audit["data"]) == 1


def test_ttl_expiry(gateway: Gateway) -> None:
    _, key = cached_project(gateway, ttl_s=1)
    client = gateway.client(key)
    assert (
        client.chat.completions.with_raw_response.create(model="gpt-4o", messages=USER).headers[
            "x-byokgate-cache"
        ]
        == "MISS"
    )
    short = {"x-byokgate-cache-ttl": "1"}
    assert (
        client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=USER, extra_headers=short
        ).headers["x-byokgate-cache"]
        == "HIT"
    )
    time.sleep(1.2)
    assert (
        client.chat.completions.with_raw_response.create(model="gpt-4o", messages=USER).headers[
            "x-byokgate-cache"
        ]
        == "MISS"
    )


def test_errors_and_broken_streams_are_not_stored(gateway: Gateway, upstream: EmulatorServer) -> None:
    from byokgate.emulators import Fault

    _, key = cached_project(gateway)
    client = gateway.client(key)
    upstream.emulator.arm(Fault("disconnect_mid_stream", after_chunks=2))
    with (
        client.chat.completions.create(model="gpt-4o", messages=USER, stream=True) as stream,
        pytest.raises(openai.APIError),
    ):
        list(stream)
    upstream.emulator.arm(Fault("500", count=3))  # the first attempt and its two retries
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o", messages=USER)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=USER)
    assert raw.headers["x-byokgate-cache"] == "MISS"


async def test_identical_concurrent_misses_make_one_upstream_call(
    gateway: Gateway, upstream: EmulatorServer
) -> None:
    _, key = await asyncio.to_thread(cached_project, gateway)
    from byokgate.emulators import Fault

    upstream.emulator.arm(
        Fault("latency", delay_ms=300)
    )  # keep the first one in flight while the rest arrive
    before = upstream_chats(upstream)
    async with openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0) as client:
        answers = await asyncio.gather(
            *(
                client.chat.completions.with_raw_response.create(model="gpt-4o", messages=USER)
                for _ in range(50)
            )
        )
    assert upstream_chats(upstream) == before + 1
    statuses = sorted(a.headers["x-byokgate-cache"] for a in answers)
    assert statuses.count("MISS") == 1
    assert statuses.count("HIT") == 49
    assert len({a.content for a in answers}) == 1


@pytest.mark.redis
def test_redis_is_shared_between_instances_and_an_outage_is_a_miss(
    settings: Settings, upstream: EmulatorServer, redis_url: str
) -> None:
    upstream.emulator.reset()
    shared = _settings(settings, upstream, redis_url=redis_url)
    for first in gateway_for(shared):
        project_id, key = cached_project(first)
        miss = first.client(key).chat.completions.with_raw_response.create(model="gpt-4o", messages=USER)
        assert miss.headers["x-byokgate-cache"] == "MISS"
        for second in gateway_for(shared):  # another instance, same database and Redis
            _wait_for_snapshot(second, key)
            hit = second.client(key).chat.completions.with_raw_response.create(model="gpt-4o", messages=USER)
            assert hit.headers["x-byokgate-cache"] == "HIT"
            assert hit.content == miss.content
            # A streamed miss is stored as the bytes sent; the first read (on the other instance)
            # assembles it and puts the answer in its place in Redis, with the entry's TTL.
            other: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Streamed on A."}]
            streamed = first.client(key).chat.completions.create(model="gpt-4o", messages=other, stream=True)
            text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
            plain = second.client(key).chat.completions.with_raw_response.create(
                model="gpt-4o", messages=other
            )
            assert plain.headers["x-byokgate-cache"] == "HIT"
            assert plain.parse().choices[0].message.content == text
            stored = redis.Redis.from_url(redis_url).get(
                "byokgate:cache:" + project_id + ":" + plain.headers["x-byokgate-cache-key"]
            )
            assert stored == plain.content
    broken = _settings(
        settings, upstream, redis_url="redis://127.0.0.1:1/0", pooled_api_key=SecretStr("x" * 20)
    )
    for gateway in gateway_for(broken):
        _, key = cached_project(gateway)
        answered = gateway.client(key).chat.completions.with_raw_response.create(
            model="gpt-4o", messages=USER
        )
        assert answered.status_code == 200
        assert answered.headers["x-byokgate-cache"] == "MISS"
