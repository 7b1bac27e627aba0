"""A completion replayed as a stream adds up to the same completion; only clean streams are stored."""

from __future__ import annotations

from typing import Any

import orjson

from byokgate.cache.replay import StreamAssembler, replay_stream, storable

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


def test_events_in_any_pieces_and_with_crlf_assemble_alike() -> None:
    raw = b"".join(replay_stream(COMPLETION, include_usage=True))
    whole = StreamAssembler()
    whole.feed([raw])
    pieces = StreamAssembler()
    crlf = raw.replace(b"\n", b"\r\n")
    pieces.feed([crlf[start : start + 7] for start in range(0, len(crlf), 7)])
    assert whole.completion() == pieces.completion() is not None
    cut = StreamAssembler()
    cut.feed([raw[:-5]])  # the last event is incomplete
    assert cut.completion() is None


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
    assembler = StreamAssembler()
    assembler.feed([b"data: " + orjson.dumps(chunk) + b"\n\n" for chunk in chunks] + [b"data: [DONE]\n\n"])
    assert assembler.completion() is None


def test_the_entry_leaves_out_the_cost_the_gateway_added_to_the_usage_chunk() -> None:
    events = replay_stream(COMPLETION, include_usage=True)
    costed = orjson.loads(events[-2].removeprefix(b"data: "))
    costed["usage"]["cost"] = 0.0042
    events[-2] = b"data: " + orjson.dumps(costed) + b"\n\n"
    assembler = StreamAssembler()
    assembler.feed(events)
    entry = assembler.entry()
    assert entry is not None
    assert orjson.loads(entry)["usage"] == COMPLETION["usage"]
