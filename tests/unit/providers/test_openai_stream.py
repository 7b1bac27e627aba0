"""The OpenAI-format relay: events forwarded as they came; the usage chunk only the gateway asked for kept."""

from __future__ import annotations

import orjson

from byokgate.providers.openai_stream import SSERelay

CHUNK = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o"}
USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def events(with_usage: bool) -> list[bytes]:
    chunks = [
        {**CHUNK, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}}], "usage": None},
        {**CHUNK, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": None},
    ]
    if with_usage:
        chunks.append({**CHUNK, "choices": [], "usage": USAGE})
    return [b"data: " + orjson.dumps(chunk) + b"\n\n" for chunk in chunks] + [b"data: [DONE]\n\n"]


def test_the_usage_chunk_the_client_did_not_ask_for_is_withheld_and_kept() -> None:
    relay = SSERelay(strip_usage=True)
    sent = b"".join(event for raw in events(True) for event in relay.feed(raw))
    assert b'"usage"' not in sent  # neither the usage chunk nor the "usage": null of the others
    assert relay.tally.usage == USAGE
    assert relay.tally.done
    assert orjson.loads(relay.tally.withheld.removeprefix(b"data: "))["usage"] == USAGE


def test_a_client_that_asked_gets_the_usage_chunk_and_nothing_is_withheld() -> None:
    relay = SSERelay(strip_usage=False)
    sent = b"".join(event for raw in events(True) for event in relay.feed(raw))
    assert sent == b"".join(events(True))  # byte for byte
    assert relay.tally.withheld == b""


def test_a_malformed_event_is_dropped_and_counted_and_the_stream_goes_on() -> None:
    relay = SSERelay()
    good = events(False)
    sent = b"".join(
        event
        for raw in [good[0], b"data: {not json\n\n", b"data: [1, 2]\n\n", *good[1:]]
        for event in relay.feed(raw)
    )
    assert sent == b"".join(good)
    assert relay.tally.dropped == 2
    assert relay.tally.error is None
    assert relay.tally.done


def test_content_is_noted_at_the_first_token_not_at_the_role_chunk() -> None:
    relay = SSERelay()
    role = {**CHUNK, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
    relay.feed(b"data: " + orjson.dumps(role) + b"\n\n")
    assert not relay.tally.content
    relay.feed(events(False)[0])
    assert relay.tally.content


def test_a_stream_without_done_after_its_finish_reason_is_completed() -> None:
    relay = SSERelay()
    for raw in events(False)[:-1]:  # no [DONE]
        relay.feed(raw)
    assert relay.finish() == [b"data: [DONE]\n\n"]
    assert relay.tally.done
