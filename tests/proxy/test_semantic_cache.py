"""The semantic cache through the gateway, with the official OpenAI SDK and the real emulators."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from anthropic.types import ToolParam
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from byokgate.emulators import EmulatorServer, Fault, build
from byokgate.settings import Settings
from tests.proxy.conftest import Gateway, gateway_for
from tests.proxy.test_cache import _wait_for_snapshot
from tests.support.settings import wired

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

OPENAI_KEY = "sk-proj-" + "s" * 40
GEMINI_KEY = "AIza" + "s" * 35
GROQ_KEY = "gsk_" + "s" * 52
ANTHROPIC_KEY = "sk-ant-api03-" + "s" * 80
CLAUDE = "claude-3-5-sonnet-20241022"
FRANCE = "What is the capital of France?"
REWORDED = "what is the capital of france"  # the emulator's embedder ignores case and punctuation: 1.0
SPAIN = "What is the capital of Spain?"  # ~0.81 to FRANCE with the emulator's embedder
LOOSER = "Tell me the capital of France."  # ~0.72 to FRANCE


def ask(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": text}]


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, EmulatorServer]]:
    servers = {
        "openai": EmulatorServer(build("openai", [OPENAI_KEY])).start(),
        "gemini": EmulatorServer(build("gemini", [GEMINI_KEY])).start(),
        "groq": EmulatorServer(build("groq", [GROQ_KEY])).start(),
        "anthropic": EmulatorServer(build("anthropic", [ANTHROPIC_KEY])).start(),
    }
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def _settings(settings: Settings, upstreams: dict[str, EmulatorServer], **extra: Any) -> Settings:
    return wired(settings, {name: server.base_url for name, server in upstreams.items()}, **extra)


@pytest.fixture
def gateway(settings: Settings, upstreams: dict[str, EmulatorServer]) -> Iterator[Gateway]:
    for server in upstreams.values():
        server.emulator.reset()
    yield from gateway_for(_settings(settings, upstreams))


PROBE_MODELS = {
    "openai": "gpt-4o",
    "gemini": "gemini-2.5-flash",
    "groq": "llama-3.3-70b-versatile",
    "anthropic": CLAUDE,
}


def semantic_project(gateway: Gateway, keys: dict[str, str] | None = None, **cache: Any) -> tuple[str, str]:
    keys = keys or {"openai": OPENAI_KEY}
    project_id, key = gateway.project(**keys)
    body = {"enabled": True, "semantic": True, **cache}
    response = gateway.admin.put(f"/projects/{project_id}/cache", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["semantic"] is True
    _wait_for_snapshot(gateway, key, PROBE_MODELS[next(iter(keys))])
    return project_id, key


def calls(server: EmulatorServer, endpoint: str) -> int:
    """Upstream requests to ``endpoint`` (the probes of ``_wait_for_snapshot`` excluded)."""
    return sum(1 for r in server.emulator.requests if endpoint in r.path and "'probe'" not in str(r.body))


def test_a_reworded_question_is_a_semantic_hit(
    gateway: Gateway, upstreams: dict[str, EmulatorServer]
) -> None:
    _, key = semantic_project(gateway)
    client = gateway.client(key)
    openai_up = upstreams["openai"]
    miss = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=ask(FRANCE))
    hit = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=ask(REWORDED))
    assert miss.headers["x-byokgate-cache"] == "MISS"
    assert hit.headers["x-byokgate-cache"] == "SEMANTIC-HIT"
    assert float(hit.headers["x-byokgate-cache-similarity"]) >= 0.95
    assert "x-byokgate-cache-similarity" not in miss.headers
    assert hit.content == miss.content  # the stored answer, byte for byte
    assert hit.headers["x-byokgate-cache-key"] == miss.headers["x-byokgate-cache-key"]
    assert calls(openai_up, "/chat/completions") == 1
    assert calls(openai_up, "/embeddings") == 2  # the miss's query (then indexed) and the hit's
    embedded = [r.body for r in openai_up.emulator.requests if r.path.endswith("/embeddings")]
    assert [b["input"] for b in embedded][-2:] == [FRANCE, REWORDED]  # the last user turn, no system prompt

    # A streamed request is answered from the same entry, as a proper stream.
    stream = client.chat.completions.create(
        model="gpt-4o", messages=ask("What is the capital of FRANCE"), stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == miss.parse().choices[0].message.content
    assert calls(openai_up, "/chat/completions") == 1


def test_a_different_question_or_setting_is_a_miss(
    gateway: Gateway, upstreams: dict[str, EmulatorServer]
) -> None:
    _, key = semantic_project(gateway)
    client = gateway.client(key)
    first = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=ask(FRANCE))
    near = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=ask(SPAIN))
    looser = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=ask(LOOSER))
    warmer = client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=ask(REWORDED), temperature=0.2
    )
    other_system = client.chat.completions.with_raw_response.create(
        model="gpt-4o",
        messages=[{"role": "system", "content": "Answer in French."}, {"role": "user", "content": REWORDED}],
    )
    outcomes = [r.headers["x-byokgate-cache"] for r in (first, near, looser, warmer, other_system)]
    assert outcomes == ["MISS"] * 5
    assert calls(upstreams["openai"], "/chat/completions") == 5


def test_the_threshold_is_the_projects(gateway: Gateway, upstreams: dict[str, EmulatorServer]) -> None:
    _, key = semantic_project(gateway, semantic_threshold=0.7)
    client = gateway.client(key)
    client.chat.completions.create(model="gpt-4o", messages=ask(FRANCE))
    looser = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=ask(LOOSER))
    assert looser.headers["x-byokgate-cache"] == "SEMANTIC-HIT"
    assert 0.7 <= float(looser.headers["x-byokgate-cache-similarity"]) < 0.95


def test_tool_traffic_and_long_conversations_skip_it(
    gateway: Gateway, upstreams: dict[str, EmulatorServer]
) -> None:
    _, key = semantic_project(gateway, semantic_max_turns=2)
    client = gateway.client(key)
    tool: ChatCompletionToolParam = {
        "type": "function",
        "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
    }
    client.chat.completions.create(model="gpt-4o", messages=ask(FRANCE), tools=[tool])
    client.chat.completions.create(model="gpt-4o", messages=ask(REWORDED), tools=[tool])
    long: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi"},
        {"role": "user", "content": "how are you"},
        {"role": "assistant", "content": "fine"},
        {"role": "user", "content": FRANCE},
    ]
    answered = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=long)
    assert answered.headers["x-byokgate-cache"] == "MISS"
    assert calls(upstreams["openai"], "/embeddings") == 0
    assert calls(upstreams["openai"], "/chat/completions") == 3


def test_anthropic_messages_get_semantic_hits_in_their_own_format(
    gateway: Gateway, upstreams: dict[str, EmulatorServer]
) -> None:
    """/v1/messages with the official Anthropic SDK: a Claude project embeds with its OpenAI key; the entry is
    an Anthropic message, replayed as Anthropic's event stream when asked; buckets are per format."""
    _, key = semantic_project(gateway, {"openai": OPENAI_KEY, "anthropic": ANTHROPIC_KEY})
    openai_up, claude_up = upstreams["openai"], upstreams["anthropic"]
    with anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0) as sdk:

        def ask_claude(text: str, system: str = "Answer briefly.") -> Any:
            return sdk.messages.with_raw_response.create(
                model=CLAUDE, max_tokens=64, system=system, messages=[{"role": "user", "content": text}]
            )

        miss, hit = ask_claude(FRANCE), ask_claude(REWORDED)
        assert [miss.headers["x-byokgate-cache"], hit.headers["x-byokgate-cache"]] == ["MISS", "SEMANTIC-HIT"]
        assert float(hit.headers["x-byokgate-cache-similarity"]) >= 0.95
        assert hit.http_response.content == miss.http_response.content  # the stored message, byte for byte
        assert hit.parse().type == "message"
        assert calls(claude_up, "/messages") == 1
        embedded = [r.body["input"] for r in openai_up.emulator.requests if r.path.endswith("/embeddings")]
        assert embedded[-2:] == [FRANCE, REWORDED]  # the last user turn; the system prompt is a filter

        with sdk.messages.stream(
            model=CLAUDE,
            max_tokens=64,
            system="Answer briefly.",
            messages=[{"role": "user", "content": "What is the capital of FRANCE"}],
        ) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        first_block = miss.parse().content[0]
        assert first_block.type == "text"
        assert text == first_block.text
        assert final.stop_reason == miss.parse().stop_reason
        assert calls(claude_up, "/messages") == 1

        # Another system prompt, or the same question in the other format, is not answered from it.
        other_system = ask_claude(REWORDED, system="Answer in French.")
        chat = gateway.client(key).chat.completions.with_raw_response.create(
            model=CLAUDE,
            messages=[
                {"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": REWORDED},
            ],
        )
        assert other_system.headers["x-byokgate-cache"] == "MISS"
        assert chat.headers["x-byokgate-cache"] == "MISS"

        # Tool traffic skips it: no embedding, no semantic answer.
        embeddings_before = calls(openai_up, "/embeddings")
        tool: ToolParam = {"name": "lookup", "input_schema": {"type": "object", "properties": {}}}
        for text in (FRANCE, REWORDED):
            answered = sdk.messages.with_raw_response.create(
                model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": text}], tools=[tool]
            )
            assert answered.headers["x-byokgate-cache"] == "MISS"
        assert calls(openai_up, "/embeddings") == embeddings_before


def test_a_claude_only_project_has_no_embeddings_and_still_caches_exactly(
    gateway: Gateway, upstreams: dict[str, EmulatorServer]
) -> None:
    """Anthropic has no embeddings API: the semantic cache fails open (a miss), the exact cache still hits."""
    _, key = semantic_project(gateway, {"anthropic": ANTHROPIC_KEY})
    with anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0) as sdk:
        answers = [
            sdk.messages.with_raw_response.create(
                model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": text}]
            )
            for text in (FRANCE, REWORDED, FRANCE)
        ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers["x-byokgate-cache"] for a in answers] == ["MISS", "MISS", "HIT"]
    assert calls(upstreams["anthropic"], "/messages") == 2


def test_embedding_failures_are_misses(gateway: Gateway, upstreams: dict[str, EmulatorServer]) -> None:
    _, key = semantic_project(gateway)
    client = gateway.client(key)
    upstreams["openai"].emulator.arm(Fault("500", count=None, endpoint="embeddings"))
    first = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=ask(FRANCE))
    second = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=ask(REWORDED))
    exact = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=ask(FRANCE))
    assert [r.status_code for r in (first, second, exact)] == [200, 200, 200]
    assert [r.headers["x-byokgate-cache"] for r in (first, second, exact)] == ["MISS", "MISS", "HIT"]

    # A project whose only key has no embeddings (Groq) still caches exactly.
    _, groq_only = semantic_project(gateway, {"groq": GROQ_KEY})
    groq = gateway.client(groq_only)
    model = "llama-3.3-70b-versatile"
    miss = groq.chat.completions.with_raw_response.create(model=model, messages=ask(FRANCE))
    reworded = groq.chat.completions.with_raw_response.create(model=model, messages=ask(REWORDED))
    assert [miss.status_code, reworded.status_code] == [200, 200]
    assert [miss.headers["x-byokgate-cache"], reworded.headers["x-byokgate-cache"]] == ["MISS", "MISS"]


def test_gemini_embeds_for_a_gemini_project_and_the_use_is_audited(
    gateway: Gateway, upstreams: dict[str, EmulatorServer]
) -> None:
    project_id, key = semantic_project(gateway, {"gemini": GEMINI_KEY})
    client = gateway.client(key)
    miss = client.chat.completions.with_raw_response.create(model="gemini-2.5-flash", messages=ask(FRANCE))
    hit = client.chat.completions.with_raw_response.create(model="gemini-2.5-flash", messages=ask(REWORDED))
    assert [miss.headers["x-byokgate-cache"], hit.headers["x-byokgate-cache"]] == ["MISS", "SEMANTIC-HIT"]
    assert calls(upstreams["gemini"], "Embed") == 2
    ours = {miss.headers["x-byokgate-request-id"], hit.headers["x-byokgate-request-id"]}
    uses: list[dict[str, Any]] = []
    for _ in range(100):
        events = gateway.admin.get(f"/projects/{project_id}/audit?action=provider_key.use").json()["data"]
        uses = [
            e
            for e in events
            if e["request_id"] in ours and (e.get("detail") or {}).get("purpose") == "semantic_cache"
        ]
        if len(uses) == 2:
            break
        time.sleep(0.05)
    assert {e["request_id"] for e in uses} == ours  # one embedding key use per request, each audited
    assert all(e["provider"] == "gemini" and e["outcome"] == "ok" for e in uses)


def test_purge_forgets_semantic_answers(gateway: Gateway, upstreams: dict[str, EmulatorServer]) -> None:
    project_id, key = semantic_project(gateway)
    client = gateway.client(key)
    client.chat.completions.create(model="gpt-4o", messages=ask(FRANCE))
    purged = gateway.admin.delete(f"/projects/{project_id}/cache/entries")
    assert purged.status_code == 200
    after = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=ask(REWORDED))
    assert after.headers["x-byokgate-cache"] == "MISS"


@pytest.mark.redis
def test_the_redis_index_is_shared_between_instances(
    settings: Settings, upstreams: dict[str, EmulatorServer], redis_url: str
) -> None:
    for server in upstreams.values():
        server.emulator.reset()
    shared = _settings(settings, upstreams, redis_url=redis_url)
    for first in gateway_for(shared):
        _, key = semantic_project(first)
        client = first.client(key)
        miss = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=ask(FRANCE))
        assert miss.headers["x-byokgate-cache"] == "MISS"
        for second in gateway_for(shared):  # another instance, same database and Redis
            _wait_for_snapshot(second, key)
            hit = second.client(key).chat.completions.with_raw_response.create(
                model="gpt-4o", messages=ask(REWORDED)
            )
            assert hit.headers["x-byokgate-cache"] == "SEMANTIC-HIT"
            assert hit.content == miss.content
