"""A streamed miss recorded as the bytes sent, assembled on first read; checked streams assembled first."""

from __future__ import annotations

from typing import Any

import orjson

from byokgate.cache.message_replay import MessageAssembler, replay_message_stream
from byokgate.cache.recording import RECORDED, StreamRecord, settled
from byokgate.cache.replay import StreamAssembler, replay_stream
from tests.cache.test_message_replay import MESSAGES
from tests.cache.test_replay import COMPLETION

# The shared completion without its tool call: a plain text answer.
TEXT: dict[str, Any] = {**COMPLETION, "choices": [{**COMPLETION["choices"][0], "finish_reason": "stop"}]}
TEXT["choices"][0]["message"] = {
    name: value for name, value in COMPLETION["choices"][0]["message"].items() if name != "tool_calls"
}
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}


def chat_record(keep_bytes: int = 1024 * 1024) -> StreamRecord:
    return StreamRecord(StreamAssembler, b'"tool_calls"', keep_bytes)


def sent(record: StreamRecord, events: list[bytes], per_write: int = 3) -> None:
    """What the relay does: one ``add`` per write, each write some whole events."""
    for start in range(0, len(events), per_write):
        record.add(b"".join(events[start : start + per_write]))


def test_a_plain_stream_is_stored_as_the_bytes_sent_and_assembled_on_first_read() -> None:
    events = replay_stream(TEXT, include_usage=True)
    record = chat_record()
    sent(record, events)
    entry = record.entry()
    assert entry is not None
    assert entry == RECORDED + b"".join(events)  # no assembling on the miss
    served = settled(entry, StreamAssembler)
    assert served is not None
    answer = orjson.loads(served)
    assert answer["choices"][0]["message"]["content"] == TEXT["choices"][0]["message"]["content"]
    assert answer["usage"] == TEXT["usage"]
    assert settled(served, StreamAssembler) is served  # an assembled entry is served as it is


def test_the_withheld_usage_chunk_is_added_at_the_end() -> None:
    events = replay_stream(TEXT, include_usage=False)
    record = chat_record()
    sent(record, events)
    usage = b"data: " + orjson.dumps({"choices": [], "usage": TEXT["usage"]}) + b"\n\n"
    entry = record.entry(usage)
    assert entry is not None
    served = settled(entry, StreamAssembler)
    assert served is not None
    assert orjson.loads(served)["usage"] == TEXT["usage"]


def test_a_recorded_stream_that_does_not_assemble_is_never_served() -> None:
    events = replay_stream(TEXT, include_usage=False)
    for broken in (
        events[:-1],  # no [DONE]
        [*events[:2], b'data: {"error": {"message": "boom"}}\n\n', *events[2:]],
        [*events[:2], b"data: {not json\n\n", *events[2:]],
    ):
        record = chat_record()
        sent(record, broken)
        entry = record.entry()
        assert entry is not None
        assert entry.startswith(RECORDED)
        assert settled(entry, StreamAssembler) is None


def test_tool_calls_are_checked_before_storing() -> None:
    good = {**TEXT, "choices": [{**TEXT["choices"][0], "finish_reason": "tool_calls"}]}
    good["choices"][0]["message"] = {**TEXT["choices"][0]["message"], "tool_calls": [CALL]}
    record = chat_record()
    sent(record, replay_stream(good, include_usage=False))
    entry = record.entry()
    assert entry is not None
    assert not entry.startswith(RECORDED)
    assert orjson.loads(entry)["choices"][0]["message"]["tool_calls"] == [CALL]
    bad = orjson.loads(orjson.dumps(good))
    bad["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = '{"a":'
    record = chat_record()
    sent(record, replay_stream(bad, include_usage=False))
    assert record.entry() is None  # unparseable arguments: nothing is stored


def test_a_long_stream_is_assembled_as_it_goes_and_never_held_whole() -> None:
    text = " ".join(f"word{index}" for index in range(3000))
    long = {**TEXT, "choices": [{**TEXT["choices"][0]}]}
    long["choices"][0]["message"] = {**TEXT["choices"][0]["message"], "content": text}
    events = replay_stream(long, include_usage=True)
    record = chat_record(keep_bytes=16 * 1024)
    most = 0
    for event in events:
        record.add(event)
        most = max(most, sum(len(part) for part in record.parts))
    assert most <= 16 * 1024 + max(len(event) for event in events)
    assert sum(len(event) for event in events) > 10 * most
    entry = record.entry()
    assert entry is not None
    assert not entry.startswith(RECORDED)
    assert orjson.loads(entry)["choices"][0]["message"]["content"] == text


def test_an_anthropic_stream_is_recorded_and_assembled_alike() -> None:
    record = StreamRecord(MessageAssembler, b'"input_json_delta"', 1024 * 1024)
    events = replay_message_stream(MESSAGES["plain"])
    sent(record, events, per_write=2)
    entry = record.entry()
    assert entry is not None
    assert entry.startswith(RECORDED)
    served = settled(entry, MessageAssembler)
    assert served is not None
    assert orjson.loads(served)["content"] == MESSAGES["plain"]["content"]
    record = StreamRecord(MessageAssembler, b'"input_json_delta"', 1024 * 1024)
    sent(record, replay_message_stream(MESSAGES["tools"]))
    checked = record.entry()
    assert checked is not None
    assert not checked.startswith(RECORDED)
    assert orjson.loads(checked)["content"] == MESSAGES["tools"]["content"]
