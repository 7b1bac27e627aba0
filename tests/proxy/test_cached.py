"""The cache gate's memos (rendered streams, parsed usage): an entry is worked on once, never stale."""

from __future__ import annotations

import orjson

from byokgate.cache.controls import plain_plan
from byokgate.cache.keys import CacheKeys, cache_secret
from byokgate.cache.recording import RECORDED
from byokgate.cache.replay import StreamAssembler, replay_stream, storable
from byokgate.cache.store import MemoryStore
from byokgate.domain.entities import CacheSettings
from byokgate.pricing.catalog import PriceCatalog
from byokgate.proxy import cached
from byokgate.proxy.cached import CacheGate, Replay
from byokgate.proxy.costs import Coster
from byokgate.proxy.semantic import CacheTicket

KEYS = CacheKeys(cache_secret(bytes(32)))
COMPLETION = {
    "id": "chatcmpl-stored",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4o",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "one two three four five", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
}


def counting_replay(variant: str, calls: list[str]) -> Replay:
    def render(entry: bytes) -> list[bytes]:
        calls.append(variant)
        return replay_stream(orjson.loads(entry), include_usage=variant == "usage")

    return Replay(
        render, variant, lambda entry: entry.get("usage") or {}, StreamAssembler, b'"tool_calls"', storable
    )


def test_rendered_once_per_entry_and_variant_and_again_when_the_entry_changes() -> None:
    gate = CacheGate(MemoryStore(), None, Coster(PriceCatalog.load()), flight_wait_s=1, keys=KEYS)
    calls: list[str] = []
    plain, usage = counting_replay("plain", calls), counting_replay("usage", calls)
    entry = orjson.dumps(COMPLETION)
    first = gate._render("p:k", entry, plain)
    assert gate._render("p:k", bytes(entry), plain) is first  # an equal entry (Redis gives copies)
    with_usage = gate._render("p:k", entry, usage)
    assert calls == ["plain", "usage"]
    assert b'"usage":{"prompt_tokens":3' in with_usage
    assert b'"usage":{"prompt_tokens":3' not in first
    assert b'"id":"chatcmpl-stored"' in first  # the stream carries the stored answer's id
    refreshed = orjson.dumps({**COMPLETION, "id": "chatcmpl-new"})
    again = gate._render("p:k", refreshed, plain)
    assert calls == ["plain", "usage", "plain"]
    assert b'"id":"chatcmpl-new"' in again


def test_the_memo_is_bounded_by_bytes() -> None:
    gate = CacheGate(MemoryStore(), None, Coster(PriceCatalog.load()), flight_wait_s=1, keys=KEYS)
    calls: list[str] = []
    replay = counting_replay("plain", calls)
    entry = orjson.dumps(COMPLETION)
    one = len(entry) + len(gate._render("p:0", entry, replay))
    for index in range(1, cached._RENDERED_MAX_BYTES // one + 10):
        gate._render(f"p:{index}", entry, replay)
    assert gate._rendered.size <= cached._RENDERED_MAX_BYTES
    calls.clear()
    gate._render("p:0", entry, replay)  # the oldest went first
    assert calls == ["plain"]


def test_an_entry_is_parsed_for_its_usage_once_and_again_when_it_changes() -> None:
    gate = CacheGate(MemoryStore(), None, Coster(PriceCatalog.load()), flight_wait_s=1, keys=KEYS)
    parsed: list[dict[str, object]] = []

    def usage(answer: dict[str, object]) -> dict[str, object]:
        parsed.append(answer)
        found = answer["usage"]
        assert isinstance(found, dict)
        return found

    replay = Replay(lambda entry: [], "plain", usage, StreamAssembler, b'"tool_calls"', storable)
    entry = orjson.dumps(COMPLETION)
    assert gate._usage("p:k", entry, replay)["completion_tokens"] == 5
    assert gate._usage("p:k", bytes(entry), replay)["completion_tokens"] == 5  # an equal copy (Redis)
    assert len(parsed) == 1
    changed = orjson.dumps({**COMPLETION, "usage": {"prompt_tokens": 3, "completion_tokens": 9}})
    assert gate._usage("p:k", changed, replay)["completion_tokens"] == 9
    assert len(parsed) == 2


def test_the_usage_memo_is_bounded_by_bytes() -> None:
    gate = CacheGate(MemoryStore(), None, Coster(PriceCatalog.load()), flight_wait_s=1, keys=KEYS)
    replay = Replay(
        lambda entry: [], "plain", lambda answer: {"n": 1}, StreamAssembler, b'"tool_calls"', storable
    )
    big = orjson.dumps({**COMPLETION, "id": "x" * (1024 * 1024)})
    for i in range(10):
        gate._usage(f"p:{i}", big, replay)
    assert gate._usages.size <= cached._USAGES_MAX_BYTES
    assert len(gate._usages) == cached._USAGES_MAX_BYTES // len(big)
    assert "p:9" in gate._usages  # the latest stay
    assert "p:0" not in gate._usages


class VouchedStore(MemoryStore):
    """A memory store that notes whether each write was vouched ``exact`` (kept without a copy)."""

    def __init__(self) -> None:
        super().__init__()
        self.vouched: list[bool] = []

    def put(self, key: str, value: bytes, ttl_s: float, *, exact: bool = False) -> None:
        self.vouched.append(exact)
        super().put(key, value, ttl_s, exact=exact)


def test_a_recorded_stream_is_stored_as_joined_and_an_assembled_one_is_copied() -> None:
    """A recording is joined from its parts (no spare buffer: kept as is); a stream assembled before it is
    stored (tool calls) comes out of orjson, whose output strands its working buffer: copied."""
    store = VouchedStore()
    gate = CacheGate(store, None, Coster(PriceCatalog.load()), flight_wait_s=1, keys=KEYS)
    plan = plain_plan(CacheSettings(enabled=True))
    events = replay_stream(COMPLETION, include_usage=True)
    plain_ticket, tools_ticket = CacheTicket(plan, "p:plain"), CacheTicket(plan, "p:tools")
    plain = CacheGate.recording(plain_ticket, counting_replay("plain", []))
    tools = CacheGate.recording(tools_ticket, counting_replay("plain", []))
    assert plain is not None
    assert tools is not None
    for event in events:
        plain.add(event)
    tool_call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    message = {"role": "assistant", "content": None, "tool_calls": [tool_call]}
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls"}
    with_tools = {**COMPLETION, "choices": [choice]}
    for event in replay_stream(with_tools, include_usage=True):
        tools.add(event)
    assert gate.store_recorded(plain_ticket, plain) is None
    assert gate.store_recorded(tools_ticket, tools) is None
    assert store.vouched == [True, False]
    assert (store.peek("p:plain") or b"").startswith(RECORDED)
    assert (
        orjson.loads(store.peek("p:tools") or b"")["choices"][0]["message"]["tool_calls"][0]["id"] == "call_1"
    )
