"""Which requests the semantic cache may answer, and both semantic indexes (Redis on the real Redis)."""

from __future__ import annotations

import asyncio
import math
import uuid
from typing import Any

import pytest

from byokgate.cache.keys import CacheKeys, cache_secret
from byokgate.cache.redis_vectors import RedisIndex
from byokgate.cache.semantic import MAX_TEXT_CHARS, semantic_query
from byokgate.cache.vectors import MemoryIndex, SemanticIndex, best_match, normalised

SCOPE: dict[str, Any] = {
    "project_id": "proj_a",
    "lane": "byok",
    "provider": "openai",
    "model": "gpt-4o",
    "namespace": "",
    "max_turns": 3,
    "keys": CacheKeys(cache_secret(b"k" * 32)),
}


def chat(text: Any, **extra: Any) -> dict[str, Any]:
    return {
        "model": "gpt-4o",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}],
        **extra,
    }


def test_the_last_user_turn_is_embedded_and_the_rest_is_an_exact_filter() -> None:
    first = semantic_query(chat("What is the capital of France?"), **SCOPE)
    second = semantic_query(chat("capital of France, please"), **SCOPE)
    assert first is not None
    assert second is not None
    assert first.text == "What is the capital of France?"
    assert first.bucket == second.bucket  # only the wording differs
    assert first.bucket.startswith("proj_a:")
    different = [
        semantic_query(chat("x", temperature=0.5), **SCOPE),
        semantic_query({**chat("x"), "messages": [{"role": "user", "content": "x"}]}, **SCOPE),
        semantic_query(chat("x"), **{**SCOPE, "project_id": "proj_b"}),
        semantic_query(chat("x"), **{**SCOPE, "model": "gpt-4o-mini"}),
        semantic_query(chat("x"), **{**SCOPE, "namespace": "tenant-7"}),
        semantic_query(chat("x"), **{**SCOPE, "lane": "pooled"}),
    ]
    buckets = {query.bucket for query in different if query is not None}
    assert len(buckets) == len(different)
    assert first.bucket not in buckets
    # delivery-only fields do not split buckets, like the exact key
    same = semantic_query(chat("y", stream=True, user="u1"), **SCOPE)
    assert same is not None
    assert same.bucket == first.bucket


def test_text_parts_are_joined() -> None:
    parts = [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}]
    query = semantic_query(chat(parts), **SCOPE)
    assert query is not None
    assert query.text == "first\nsecond"


@pytest.mark.parametrize(
    "payload",
    [
        chat("x", tools=[{"type": "function", "function": {"name": "f"}}]),
        chat("x", tool_choice="auto", functions=[{"name": "f"}]),
        chat("x", n=2),
        chat([{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]),
        chat([{"type": "text", "text": "what is this"}, {"type": "input_audio", "input_audio": {}}]),
        chat("   "),
        chat("x" * (MAX_TEXT_CHARS + 1)),
        {"model": "m", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function"}]},
                {"role": "tool", "tool_call_id": "c", "content": "42"},
                {"role": "user", "content": "and now?"},
            ],
        },
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": "1"},
                {"role": "assistant", "content": "a"},
                {"role": "user", "content": "2"},
                {"role": "assistant", "content": "b"},
                {"role": "user", "content": "3"},
                {"role": "assistant", "content": "c"},
                {"role": "user", "content": "4"},
            ],
        },
    ],
    ids=[
        "tools",
        "functions",
        "n2",
        "image",
        "audio",
        "blank",
        "too-long",
        "last-not-user",
        "tool-history",
        "too-many-turns",
    ],
)
def test_what_the_semantic_cache_never_answers(payload: dict[str, Any]) -> None:
    assert semantic_query(payload, **SCOPE) is None


def test_vectors_are_normalised_and_refused_when_meaningless() -> None:
    vector = normalised([3.0, 4.0])
    assert len(vector) == 8
    match = best_match([vector], vector)
    assert match is not None
    assert match[0] == 0
    assert match[1] == pytest.approx(1.0)
    for bad in ([], [0.0, 0.0], [math.nan, 1.0], [math.inf]):
        with pytest.raises(ValueError, match="embedding"):
            normalised(bad)
    # rows of another dimension (the embeddings model changed) never match
    assert best_match([normalised([1.0, 0.0, 0.0])], normalised([1.0, 0.0])) is None


async def _exercise(index: SemanticIndex, bucket: str, other: str) -> None:
    north, east = normalised([1.0, 0.0, 0.0]), normalised([0.0, 1.0, 0.0])
    north_east = normalised([1.0, 0.2, 0.0])
    await index.add(bucket, north, "entry-north", ttl_s=60)
    await index.add(bucket, east, "entry-east", ttl_s=60)
    found = await index.search(bucket, north_east)
    assert found is not None
    assert found[0] == "entry-north"
    assert found[1] == pytest.approx(1 / math.sqrt(1.04), abs=1e-5)
    assert await index.search(other, north) is None  # another bucket sees nothing
    await index.add(bucket, east, "entry-north", ttl_s=60)  # re-indexing an entry replaces its vector
    found = await index.search(bucket, north)
    assert found is not None
    assert found[1] == pytest.approx(0.0, abs=1e-6)
    await index.add(other, north, "entry-brief", ttl_s=0.05)
    await asyncio.sleep(0.1)
    assert await index.search(other, north) is None  # expired


async def test_memory_index_search_expiry_and_purge() -> None:
    index = MemoryIndex()
    await _exercise(index, "proj_a:bucket", "proj_a:other")
    await index.add("proj_b:bucket", normalised([1.0, 0.0, 0.0]), "b", ttl_s=60)
    assert await index.purge("proj_a") == 2
    assert await index.search("proj_a:bucket", normalised([1.0, 0.0, 0.0])) is None
    assert await index.search("proj_b:bucket", normalised([1.0, 0.0, 0.0])) is not None


async def test_memory_index_is_bounded_by_bytes_least_recently_used_bucket_first() -> None:
    index = MemoryIndex(max_bytes=64 * 1024)
    vector = normalised([1.0] * 1024)  # 4 KiB each
    for bucket in range(40):
        await index.add(f"p:{bucket}", vector, f"e{bucket}", ttl_s=60)
        if bucket == 5:
            assert await index.search("p:0", vector) is not None  # p:0 is now recently used
    assert index.size <= 64 * 1024
    assert await index.search("p:0", vector) is None  # eventually dropped anyway (40 x 4 KiB > 64 KiB)
    assert await index.search("p:39", vector) is not None
    assert await index.search("p:1", vector) is None


@pytest.mark.redis
async def test_redis_index_search_expiry_purge_and_sharing(redis_url: str) -> None:
    project = f"proj_{uuid.uuid4().hex[:8]}"
    first, second = RedisIndex(redis_url), RedisIndex(redis_url)
    try:
        await _exercise(first, f"{project}:bucket", f"{project}:other")
        found = await second.search(f"{project}:bucket", normalised([0.0, 1.0, 0.0]))
        assert found is not None
        assert found[1] == pytest.approx(1.0)
        assert await second.purge(project) == 2
        assert await first.search(f"{project}:bucket", normalised([0.0, 1.0, 0.0])) is None
    finally:
        await first.aclose()
        await second.aclose()


async def test_redis_index_down_raises_for_the_caller_to_count_a_miss() -> None:
    index = RedisIndex("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        with pytest.raises(Exception):  # noqa: B017, PT011 - any failure: the data plane treats it as a miss
            await index.search("p:b", normalised([1.0]))
    finally:
        await index.aclose()


def message(
    text: Any, *, system: Any = "Be brief.", history: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """An Anthropic Messages body (``system`` at the top level, content blocks)."""
    return {
        "model": "claude-3-5-sonnet-20241022",
        "max_tokens": 64,
        "system": system,
        "messages": [*(history or []), {"role": "user", "content": text}],
    }


def test_anthropic_messages_embed_the_last_user_turn_and_filter_on_the_system_prompt() -> None:
    plain = semantic_query(message("What is the capital of France?"), **SCOPE)
    blocks = semantic_query(
        message(
            [
                {"type": "text", "text": "What is the", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "capital of France?"},
            ]
        ),
        **SCOPE,
    )
    other_system = semantic_query(
        message("What is the capital of France?", system="Answer in French."), **SCOPE
    )
    system_blocks = semantic_query(message("x", system=[{"type": "text", "text": "Be brief."}]), **SCOPE)
    assert plain is not None
    assert blocks is not None
    assert other_system is not None
    assert system_blocks is not None
    assert plain.text == "What is the capital of France?"
    assert blocks.text == "What is the\ncapital of France?"
    assert other_system.bucket != plain.bucket  # the system prompt is not embedded, but it must match
    assert system_blocks.bucket != plain.bucket  # (the filter is exact: another spelling is another bucket)


@pytest.mark.parametrize(
    "payload",
    [
        {**message("x"), "tools": [{"name": "f", "input_schema": {"type": "object"}}]},
        message(
            "and now?",
            history=[
                {"role": "user", "content": "weather in Paris?"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}],
                },
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "12C"}]},
                {"role": "assistant", "content": "It is 12C."},
            ],
        ),
        message([{"type": "tool_result", "tool_use_id": "t1", "content": "12C"}]),
        message("x", history=[{"role": "assistant", "content": [{"type": "server_tool_use", "id": "s"}]}]),
        message([{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]),
        message([{"type": "document", "source": {"type": "text", "data": "a contract"}}]),
    ],
    ids=["tools", "tool-history", "tool-result-last", "server-tool-block", "image", "document"],
)
def test_what_the_semantic_cache_never_answers_on_messages(payload: dict[str, Any]) -> None:
    assert semantic_query(payload, **SCOPE) is None
