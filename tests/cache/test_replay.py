"""A completion replayed as a stream adds up to the same completion; only clean streams are stored."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import orjson

from byokgate.cache.recording import RecordingStream, recorded
from byokgate.cache.replay import StreamAssembler, replay_stream, storable
from byokgate.providers.openai_stream import SSERelay
from byokgate.providers.translation import HELD_MAX, StreamTally

COMPLETION: dict[str, Any] = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4o",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "The sea is wide and deep, and it covers most of the planet.",
                "refusal": None,
                "annotations": [],
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 10, "completion_tokens": 14, "total_tokens": 24},
}


def test_replay_then_assemble_gives_back_the_completion() -> None:
    events = replay_stream(COMPLETION, include_usage=True)
    assert events[-1] == b"data: [DONE]\n\n"
    chunks = [orjson.loads(e.removeprefix(b"data: ")) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert len([c for c in chunks if c["choices"] and "content" in c["choices"][0]["delta"]]) > 2
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == COMPLETION["usage"]
    assembler = StreamAssembler()
    assembler.feed(events)
    rebuilt = assembler.completion()
    assert rebuilt is not None
    assert rebuilt["choices"][0]["message"]["content"] == COMPLETION["choices"][0]["message"]["content"]
    assert rebuilt["choices"][0]["message"]["tool_calls"] == COMPLETION["choices"][0]["message"]["tool_calls"]
    assert rebuilt["choices"][0]["finish_reason"] == "tool_calls"
    assert rebuilt["usage"] == COMPLETION["usage"]


def test_without_include_usage_no_usage_chunk() -> None:
    chunks = [
        orjson.loads(e.removeprefix(b"data: ")) for e in replay_stream(COMPLETION, include_usage=False)[:-1]
    ]
    assert all(c["choices"] and "usage" not in c for c in chunks)


def test_interrupted_errored_or_broken_streams_are_not_stored() -> None:
    events = replay_stream(COMPLETION, include_usage=False)
    interrupted = StreamAssembler()
    interrupted.feed(events[:-2])  # no finish chunk, no [DONE]
    assert interrupted.completion() is None
    errored = StreamAssembler()
    errored.feed([*events[:2], b'data: {"error": {"message": "boom"}}\n\n'])
    assert errored.completion() is None
    broken = StreamAssembler()
    bad_call = orjson.dumps(
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": "{"}}]
                    },
                }
            ]
        }
    )
    finish = orjson.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    broken.feed([b"data: " + bad_call + b"\n\n", b"data: " + finish + b"\n\n", b"data: [DONE]\n\n"])
    assert broken.completion() is None


def test_storable_answers() -> None:
    assert storable(COMPLETION) is True
    two = {**COMPLETION, "choices": COMPLETION["choices"] * 2}
    assert storable(two) is False
    broken_args = orjson.loads(orjson.dumps(COMPLETION))
    broken_args["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = "{oops"
    assert storable(broken_args) is False
    assert storable(None) is False  # what ``parsed_body`` gives for an answer that is not JSON


def relayed(events: list[bytes], piece: int = 7) -> StreamAssembler:
    """The events relayed by the OpenAI-format relay, arriving in small pieces, with an assembler taking the
    chunks the relay parsed (what the data plane does for a streamed miss)."""
    relay = SSERelay()
    assembler = StreamAssembler()
    assert recorded(relay, assembler) is relay  # no wrapper: the relay hands over its parsed chunks
    raw = b"".join(events)
    for start in range(0, len(raw), piece):
        relay.feed(raw[start : start + piece])
    return assembler


def test_a_relay_that_shares_its_chunks_is_assembled_without_a_wrapper() -> None:
    events = replay_stream(COMPLETION, include_usage=True)
    rebuilt = relayed(events).completion()
    assert rebuilt is not None
    message = rebuilt["choices"][0]["message"]
    assert message["content"] == COMPLETION["choices"][0]["message"]["content"]
    assert message["tool_calls"] == COMPLETION["choices"][0]["message"]["tool_calls"]
    assert rebuilt["usage"] == COMPLETION["usage"]
    assert (rebuilt["id"], rebuilt["created"]) == ("chatcmpl-1", 1700000000)


def test_a_relay_that_shares_its_chunks_never_stores_a_broken_stream() -> None:
    events = replay_stream(COMPLETION, include_usage=False)
    assert relayed(events[:-1]).completion() is None  # no [DONE]: interrupted
    errored = [*events[:2], b'data: {"error": {"message": "boom"}}\n\n', *events[2:]]
    assert relayed(errored).completion() is None
    malformed = [*events[:2], b"data: {not json\n\n", *events[2:]]
    assert relayed(malformed).completion() is None


def test_other_streams_are_wrapped_and_fed() -> None:
    class Passthrough:
        def __init__(self) -> None:
            self.tally = StreamTally()

        def feed(self, chunk: bytes) -> list[bytes]:
            return [chunk]

        def finish(self) -> list[bytes]:
            return []

    assembler = StreamAssembler()
    stream = recorded(Passthrough(), assembler)
    assert isinstance(stream, RecordingStream)
    for event in replay_stream(COMPLETION, include_usage=False):
        stream.feed(event)
    assert assembler.completion() is not None


def test_a_long_stream_is_taken_in_batches_and_never_held_whole() -> None:
    text = " ".join(f"word{index}" for index in range(1000))
    long = {**COMPLETION, "choices": [{**COMPLETION["choices"][0], "finish_reason": "stop"}]}
    long["choices"][0]["message"] = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
    events = replay_stream(long, include_usage=True)
    assert len(events) > 3 * HELD_MAX
    relay = SSERelay()
    assembler = StreamAssembler()
    recorded(relay, assembler)
    most = 0
    for event in events:
        relay.feed(event)
        assert relay.tally.held is not None
        most = max(most, len(relay.tally.held))
    assert most < HELD_MAX  # released at HELD_MAX
    rebuilt = assembler.completion()
    assert rebuilt is not None
    assert rebuilt["choices"][0]["message"]["content"] == text
    assert rebuilt["usage"] == COMPLETION["usage"]


def test_the_relay_holds_only_texts_and_payloads_for_the_assembler() -> None:
    """No parsed chunk objects are held (they would survive garbage collections): plain content deltas
    as their text, any other chunk as its JSON payload, in order."""
    events = replay_stream({**COMPLETION, "choices": [{**COMPLETION["choices"][0]}]}, include_usage=True)
    relay = SSERelay()
    assembler = StreamAssembler()
    recorded(relay, assembler)
    for event in events:
        relay.feed(event)
    held = relay.tally.held
    assert held is not None
    assert all(type(piece) in (str, bytes) for piece in held)
    texts = [piece for piece in held if isinstance(piece, str)]
    assert len(texts) > 2  # the content deltas
    assert "".join(texts) == COMPLETION["choices"][0]["message"]["content"]
    assert isinstance(held[0], bytes)  # the first chunk (id, model, role) always goes whole
    assert orjson.loads(held[-1])["usage"] == COMPLETION["usage"]


def test_a_stream_of_several_choices_is_never_stored() -> None:
    """n > 1: OpenAI sends each chunk with one choice and its index; the texts must not be mixed into one."""
    first = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o"}
    chunks = [
        {**first, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {**first, "choices": [{"index": 1, "delta": {"role": "assistant", "content": ""}}]},
        {**first, "choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": None}]},
        {**first, "choices": [{"index": 1, "delta": {"content": "Hi"}, "finish_reason": None}]},
        {**first, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**first, "choices": [{"index": 1, "delta": {}, "finish_reason": "stop"}]},
    ]
    events = [b"data: " + orjson.dumps(chunk) + b"\n\n" for chunk in chunks] + [b"data: [DONE]\n\n"]
    assert relayed(events).completion() is None
    fed = StreamAssembler()
    fed.feed(events)
    assert fed.completion() is None


def test_a_watching_assembler_is_freed_without_the_cyclic_collector() -> None:
    """The tally calls back into the assembler that watches it; ``completion`` breaks that cycle, so a
    streamed miss leaves no garbage behind (it was ~12 objects a request, and 4x the gen-0 collections)."""
    events = replay_stream(COMPLETION, include_usage=True)
    gc.collect()
    gc.disable()
    try:
        relay = SSERelay()
        assembler = StreamAssembler()
        recorded(relay, assembler)
        for event in events:
            relay.feed(event)
        assert assembler.completion() is not None
        gone = weakref.ref(assembler)
        del assembler, relay
        assert gone() is None
    finally:
        gc.enable()
