"""The gateway under a real uvicorn, the provider emulators on loopback, the official OpenAI SDK as client."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from byokgate.emulators import EmulatorServer, Fault, build
from byokgate.settings import Settings
from tests.proxy.conftest import Gateway, gateway_for
from tests.support.openapi_spec import assert_valid
from tests.support.settings import wired

# The protocol tests run on SQLite only: the database is not on their path. The tests of what the data plane
# writes (request log, audit events, last-used times) run on PostgreSQL as well.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

OPENAI_KEY_A = "sk-proj-" + "a" * 40
OPENAI_KEY_B = "sk-proj-" + "b" * 40
GROQ_KEY = "gsk_" + "g" * 40
POOLED_KEY = "sk-or-v1-" + "p" * 64
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Tell me about the sea."}]


@dataclass
class Upstreams:
    openai: EmulatorServer
    groq: EmulatorServer
    openrouter: EmulatorServer

    def reset(self) -> None:
        for server in (self.openai, self.groq, self.openrouter):
            server.emulator.reset()


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    with (
        EmulatorServer(build("openai", [OPENAI_KEY_A, OPENAI_KEY_B])) as oa,
        EmulatorServer(build("groq", [GROQ_KEY])) as groq,
        EmulatorServer(build("openrouter", [POOLED_KEY])) as router,
    ):
        yield Upstreams(oa, groq, router)


def _settings(settings: Settings, upstreams: Upstreams, **extra: Any) -> Settings:
    urls = {"openai": upstreams.openai.base_url, "groq": upstreams.groq.base_url}
    return wired(
        settings, {**urls, "openrouter": upstreams.openrouter.base_url}, pooled_key=POOLED_KEY, **extra
    )


@pytest.fixture
def gateway(settings: Settings, upstreams: Upstreams) -> Iterator[Gateway]:
    upstreams.reset()
    yield from gateway_for(_settings(settings, upstreams))


@sqlite_only
def test_byok_chat_goes_out_on_the_projects_key_with_extra_fields(
    gateway: Gateway, upstreams: Upstreams
) -> None:
    _, key = gateway.project(openai=OPENAI_KEY_A)
    raw = gateway.client(key).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=USER, extra_body={"future_feature": {"x": 1}}, temperature=0.2
    )
    completion = raw.parse()
    assert completion.choices[0].message.content
    assert raw.headers["x-byokgate-provider"] == "openai"
    assert raw.headers["x-byokgate-model"] == "gpt-4o"
    assert raw.headers["x-byokgate-lane"] == "byok"
    assert raw.headers["x-byokgate-cache"] == "BYPASS"
    assert float(raw.headers["x-byokgate-overhead-ms"]) >= 0
    assert raw.headers["x-byokgate-request-id"].startswith("req_")
    assert "x-ratelimit-limit-requests" in raw.headers
    sent = upstreams.openai.emulator.requests[-1]
    assert sent.api_key == OPENAI_KEY_A
    assert sent.body["model"] == "gpt-4o"
    assert sent.body["future_feature"] == {"x": 1}
    assert sent.body["temperature"] == 0.2
    assert_valid("CreateChatCompletionResponse", completion.model_dump(mode="json", exclude_unset=True))


@sqlite_only
def test_streaming_matches_non_streaming_and_reports_usage(gateway: Gateway, upstreams: Upstreams) -> None:
    _, key = gateway.project(groq=GROQ_KEY)
    client = gateway.client(key)
    whole = client.chat.completions.create(model="llama-3.3-70b-versatile", messages=USER)
    chunks = list(
        client.chat.completions.create(
            model="llama-3.3-70b-versatile",
            messages=USER,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert whole.usage is not None
    assert chunks[-1].usage.total_tokens == whole.usage.total_tokens
    assert upstreams.groq.emulator.requests[-1].api_key == GROQ_KEY


@sqlite_only
async def test_async_client_streams(gateway: Gateway) -> None:
    _, key = gateway.project(openai=OPENAI_KEY_A)
    client = openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    parts = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
    assert "".join(parts)
    await client.close()


@sqlite_only
def test_tool_calls_round_trip(gateway: Gateway) -> None:
    _, key = gateway.project(openai=OPENAI_KEY_A)
    tools: list[ChatCompletionToolParam] = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    client = gateway.client(key)
    first = client.chat.completions.create(model="gpt-4o", messages=USER, tools=tools, tool_choice="required")
    call = first.choices[0].message.tool_calls
    assert call
    assert first.choices[0].finish_reason == "tool_calls"
    streamed = list(
        client.chat.completions.create(
            model="gpt-4o", messages=USER, tools=tools, tool_choice="required", stream=True
        )
    )
    deltas = [tc for c in streamed if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].id
    assert deltas[0].function
    assert deltas[0].function.name == "get_weather"
    assert all(d.index == 0 for d in deltas)


@sqlite_only
def test_projects_are_isolated(gateway: Gateway, upstreams: Upstreams) -> None:
    _, key_a = gateway.project("a", openai=OPENAI_KEY_A)
    _, key_b = gateway.project("b", openai=OPENAI_KEY_B)
    for key, expected in [(key_a, OPENAI_KEY_A), (key_b, OPENAI_KEY_B), (key_a, OPENAI_KEY_A)]:
        gateway.client(key).chat.completions.create(model="gpt-4o", messages=USER)
        assert upstreams.openai.emulator.requests[-1].api_key == expected


@sqlite_only
def test_openrouter_names_use_byok_first_then_the_pooled_lane(gateway: Gateway, upstreams: Upstreams) -> None:
    _, byok = gateway.project("byok", openai=OPENAI_KEY_A)
    raw = gateway.client(byok).chat.completions.with_raw_response.create(model="openai/gpt-4o", messages=USER)
    assert raw.headers["x-byokgate-lane"] == "byok"
    assert upstreams.openai.emulator.requests[-1].body["model"] == "gpt-4o"
    pooled_id, pooled = gateway.project("pooled")
    raw = gateway.client(pooled).chat.completions.with_raw_response.create(
        model="openai/gpt-4o-mini", messages=USER
    )
    assert raw.headers["x-byokgate-lane"] == "pooled"
    assert raw.headers["x-byokgate-provider"] == "openrouter"
    sent = upstreams.openrouter.emulator.requests[-1]
    assert sent.api_key == POOLED_KEY
    assert sent.body["model"] == "openai/gpt-4o-mini"
    # A premium model on the pooled lane needs a plan that includes it (the default free preview does not).
    with pytest.raises(openai.PermissionDeniedError) as refused:
        gateway.client(pooled).chat.completions.create(model="openai/gpt-4o", messages=USER)
    assert refused.value.code == "model_not_in_plan"
    assert gateway.admin.put(f"/projects/{pooled_id}/billing", json={"plan": "teams"}).status_code == 200
    assert gateway.app is not None
    gateway.wait_for_snapshot(lambda snapshot: snapshot.billing_of(pooled_id).plan == "teams")
    streamed = list(
        gateway.client(pooled).chat.completions.create(model="openai/gpt-4o", messages=USER, stream=True)
    )
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)


@sqlite_only
def test_embeddings(gateway: Gateway, upstreams: Upstreams) -> None:
    _, key = gateway.project(openai=OPENAI_KEY_A)
    result = gateway.client(key).embeddings.create(model="text-embedding-3-small", input=["a cat", "a dog"])
    assert len(result.data) == 2
    assert len(result.data[0].embedding) == 1536
    assert isinstance(result.data[0].embedding[0], float)
    assert upstreams.openai.emulator.requests[-1].path.endswith("/embeddings")


def test_provider_401_becomes_authentication_failed_and_is_audited(gateway: Gateway) -> None:
    pid, key = gateway.project(openai="sk-proj-" + "z" * 40)  # a key the provider does not know
    with pytest.raises(openai.AuthenticationError, match="Authentication failed with OpenAI"):
        gateway.client(key).chat.completions.create(model="gpt-4o", messages=USER)
    for _ in range(100):
        uses = gateway.admin.get(f"/projects/{pid}/audit", params={"action": "provider_key.use"}).json()[
            "data"
        ]
        if uses:
            break
        time.sleep(0.05)
    assert uses[0]["outcome"] == "auth_failed"
    assert uses[0]["provider"] == "openai"


@sqlite_only
def test_upstream_errors_keep_their_status_and_retry_after(gateway: Gateway, upstreams: Upstreams) -> None:
    _, key = gateway.project(openai=OPENAI_KEY_A)
    upstreams.openai.emulator.arm(Fault("429", retry_after_s=70))  # longer than the gateway waits for
    with pytest.raises(openai.RateLimitError) as caught:
        gateway.client(key).chat.completions.create(model="gpt-4o", messages=USER)
    assert caught.value.response.headers["retry-after"] == "70"
    upstreams.openai.emulator.arm(Fault("503", count=3))
    with pytest.raises(openai.InternalServerError):
        gateway.client(key).chat.completions.create(model="gpt-4o", messages=USER)
    with pytest.raises(openai.NotFoundError):  # the provider's own 404 for an unknown model, relayed
        gateway.client(key).chat.completions.create(model="gpt-4o-does-not-exist", messages=USER)


@sqlite_only
def test_broken_streams_surface_as_errors(gateway: Gateway, upstreams: Upstreams) -> None:
    _, key = gateway.project(openai=OPENAI_KEY_A)
    upstreams.openai.emulator.arm(Fault("disconnect_mid_stream", after_chunks=3))  # after the first token
    with (
        gateway.client(key).chat.completions.create(model="gpt-4o", messages=USER, stream=True) as stream,
        pytest.raises(openai.APIError),
    ):
        list(stream)


@sqlite_only
def test_a_malformed_event_is_dropped_and_the_stream_completes(
    gateway: Gateway, upstreams: Upstreams, caplog: pytest.LogCaptureFixture
) -> None:
    _, key = gateway.project(openai=OPENAI_KEY_A)
    client = gateway.client(key)
    upstreams.openai.emulator.arm(Fault("malformed_chunk", after_chunks=3))
    with caplog.at_level(logging.WARNING, logger="byokgate.proxy.executor"):
        chunks = list(client.chat.completions.create(model="gpt-4o", messages=USER, stream=True))
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert text.startswith("Echo:")
    assert "dropped 1 malformed stream event(s) from openai" in caplog.text


@sqlite_only
def test_timeout_is_504(settings: Settings, upstreams: Upstreams) -> None:
    upstreams.reset()
    for gateway in gateway_for(_settings(settings, upstreams, upstream_timeout_s=0.3)):
        _, key = gateway.project(openai=OPENAI_KEY_A)
        upstreams.openai.emulator.arm(Fault("slow_first_byte", delay_ms=1500))
        with pytest.raises(openai.APIStatusError) as caught:
            gateway.client(key).chat.completions.create(model="gpt-4o", messages=USER)
        assert caught.value.status_code == 504
        assert caught.value.body["code"] == "upstream_timeout"  # type: ignore[index]


def test_every_request_is_in_the_request_log(gateway: Gateway) -> None:
    pid, key = gateway.project(openai=OPENAI_KEY_A)
    client = gateway.client(key)
    client.chat.completions.create(model="gpt-4o", messages=USER)
    list(
        client.chat.completions.create(
            model="gpt-4o", messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="claude-3-5-sonnet-20241022", messages=USER)
    # Names no provider has (a NUL would also be refused by PostgreSQL and must never reach the log's rows)
    for odd in ("gpt-4o\x00", "mistralai/mistral large"):
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(model=odd, messages=USER)
        assert refused.value.code == "invalid_model"
    client.chat.completions.create(model="gpt-4o", messages=USER)  # the log keeps working
    for _ in range(100):
        records = gateway.admin.get(f"/projects/{pid}/requests").json()["data"]
        if len(records) == 6:
            break
        time.sleep(0.05)
    assert [r["status"] for r in records] == [200, 400, 400, 404, 200, 200]
    assert records[1]["requested_model"] is None
    missing, streamed, plain = records[3:]
    assert missing["error_code"] == "model_not_found"
    assert streamed["stream"] is True
    assert streamed["total_tokens"]
    assert plain["total_tokens"]
    assert plain["lane"] == "byok"
    assert plain["credential_id"].startswith("cred_")
    keys = gateway.admin.get(f"/projects/{pid}/api-keys").json()["data"]
    assert keys[0]["last_used_at"] is not None


@sqlite_only
def test_billing_policy_and_plan_decide_the_pooled_lane(gateway: Gateway, upstreams: Upstreams) -> None:
    project_id, key = gateway.project("billing", openai=OPENAI_KEY_A)
    path = f"/projects/{project_id}/billing"
    assert gateway.admin.get(path).json() == {
        "object": "project.billing",
        "plan": "free",
        "plan_title": "Free preview",
        "pooled_tiers": ["standard"],
        "included_tokens": 200000,
        "period": "month",
        "policy": "byok_then_pooled",
    }
    assert gateway.admin.put(path, json={"plan": "gold"}).status_code == 400
    assert gateway.admin.put(path, json={"policy": "sometimes"}).status_code == 422

    shown = gateway.admin.put(path, json={"policy": "pooled_only"}).json()
    assert (shown["plan"], shown["policy"]) == ("free", "pooled_only")
    gateway.wait_for_snapshot(lambda snapshot: snapshot.billing_of(project_id).policy == "pooled_only")
    client = gateway.client(key)
    raw = client.chat.completions.with_raw_response.create(model="openai/gpt-4o-mini", messages=USER)
    assert raw.headers["x-byokgate-lane"] == "pooled"  # although the project holds an OpenAI key
    assert (
        client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=USER).headers[
            "x-byokgate-lane"
        ]
        == "byok"
    )

    keyless_id, keyless = gateway.project("keyless")
    gateway.admin.put(f"/projects/{keyless_id}/billing", json={"policy": "byok_only"})
    gateway.wait_for_snapshot(lambda snapshot: snapshot.billing_of(keyless_id).policy == "byok_only")
    with pytest.raises(openai.PermissionDeniedError) as refused:
        gateway.client(keyless).chat.completions.create(model="openai/gpt-4o-mini", messages=USER)
    assert refused.value.code == "pooled_lane_not_allowed"
    actions = [e["action"] for e in gateway.admin.get(f"/projects/{project_id}/audit").json()["data"]]
    assert "project.billing" in actions
