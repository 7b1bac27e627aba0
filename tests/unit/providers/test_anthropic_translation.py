"""Golden tests of the OpenAI <-> Anthropic mappings (cases in golden/anthropic/, written by hand)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from byokgate.domain.secret import Secret
from byokgate.domain.stream import TranslationError
from byokgate.providers.anthropic import AnthropicProvider
from byokgate.providers.anthropic.chat import to_chat_completion, to_messages_request
from byokgate.providers.anthropic.stream import AnthropicChatStream
from byokgate.providers.base import Endpoint
from tests.support.golden import golden_cases

GOLDEN = Path(__file__).parent / "golden" / "anthropic"


@pytest.mark.parametrize("case", golden_cases(GOLDEN, "request"))
def test_requests(case: dict[str, Any]) -> None:
    assert to_messages_request(case["openai"]) == case["anthropic"]


@pytest.mark.parametrize("case", golden_cases(GOLDEN, "response"))
def test_responses(case: dict[str, Any]) -> None:
    converted = to_chat_completion(case["anthropic"])
    assert converted.pop("id").startswith("chatcmpl-")
    assert isinstance(converted.pop("created"), int)
    assert converted == case["openai"]


def test_the_request_goes_to_messages_with_the_key_and_version() -> None:
    request = AnthropicProvider().chat_request(
        Endpoint("https://api.anthropic.com"),
        Secret("sk-ant-api03-secret"),
        {"model": "claude-3-5-haiku-20241022", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert (request.method, request.url) == ("POST", "https://api.anthropic.com/v1/messages")
    assert request.headers["x-api-key"] == "sk-ant-api03-secret"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.body is not None
    assert orjson.loads(request.body)["max_tokens"] == 8192


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0]"),
        ({"tool_choice": {"type": "allowed_tools"}}, "tool_choice"),
        ({"response_format": {"type": "xml"}}, "response_format"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]}, None),
        ({"messages": [{"role": "narrator", "content": "x"}]}, "messages[0]"),
        ({"messages": [{"role": "system", "content": "only a system prompt"}]}, "messages"),
        (
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{"}}],
                    },
                ]
            },
            "messages[1]",
        ),
        ({"messages": [{"role": "tool", "content": "orphan"}]}, "messages[0]"),
    ],
)
def test_what_anthropic_cannot_express_is_a_clear_400(change: dict[str, Any], param: str | None) -> None:
    payload = {
        "model": "claude-3-5-haiku-20241022",
        "messages": [{"role": "user", "content": "hi"}],
        **change,
    }
    with pytest.raises(TranslationError) as raised:
        to_messages_request(payload)
    assert raised.value.param == param
    assert raised.value.message


def _events(raw: bytes) -> list[dict[str, Any] | str]:
    out: list[dict[str, Any] | str] = []
    for event in raw.split(b"\n\n"):
        if not event:
            continue
        assert event.startswith(b"data: ")
        payload = event[6:]
        out.append("[DONE]" if payload == b"[DONE]" else orjson.loads(payload))
    return out


@pytest.mark.parametrize("piece", [1, 7, 64, 100_000])
def test_a_stream_translates_the_same_however_it_is_cut(piece: int) -> None:
    sse = (GOLDEN / "stream_text_tool.sse").read_bytes()
    stream = AnthropicChatStream("claude-sonnet-4-20250514", include_usage=True)
    out = b"".join(b"".join(stream.feed(sse[i : i + piece])) for i in range(0, len(sse), piece))
    events = _events(out)
    assert events[-1] == "[DONE]"
    chunks = [e for e in events if isinstance(e, dict)]
    assert len({c["id"] for c in chunks}) == 1
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    deltas = [(c["choices"][0]["delta"], c["choices"][0]["finish_reason"]) for c in chunks if c["choices"]]
    assert deltas == [
        ({"role": "assistant", "content": ""}, None),
        ({"content": "I'll check the weather."}, None),
        (
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "toolu_01NRL",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            },
            None,
        ),
        ({"tool_calls": [{"index": 0, "function": {"arguments": '{"locati'}}]}, None),
        ({"tool_calls": [{"index": 0, "function": {"arguments": 'on": "Paris"}'}}]}, None),
        (
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "toolu_02AB",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": ""},
                    }
                ]
            },
            None,
        ),
        ({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}, None),
        ({}, "tool_calls"),
    ]
    assert all(c["usage"] is None for c in chunks if c["choices"])
    usage = chunks[-1]
    assert usage["choices"] == []
    assert usage["usage"] == {
        "prompt_tokens": 427,
        "completion_tokens": 65,
        "total_tokens": 492,
        "prompt_tokens_details": {"cached_tokens": 50, "cache_write_tokens": 0},
    }
    assert stream.tally.done
    assert stream.tally.finish_reason == "tool_calls"
    assert stream.tally.usage == usage["usage"]


def test_without_include_usage_there_is_no_usage_chunk_but_the_tally_has_it() -> None:
    sse = (GOLDEN / "stream_text_tool.sse").read_bytes()
    stream = AnthropicChatStream("claude-sonnet-4-20250514", include_usage=False)
    chunks = [e for e in _events(b"".join(stream.feed(sse))) if isinstance(e, dict)]
    assert all(c["choices"] and "usage" not in c for c in chunks)
    assert stream.tally.usage is not None
    assert stream.tally.usage["total_tokens"] == 492


def test_an_error_event_mid_stream_becomes_an_error_chunk_and_ends_the_stream() -> None:
    stream = AnthropicChatStream("claude-3-5-haiku-20241022", include_usage=False)
    sse = (
        b'event: message_start\ndata: {"type":"message_start",'
        b'"message":{"model":"m","usage":{"input_tokens":1}}}\n\n'
        b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"text_delta","text":"late"}}\n\n'
    )
    events = _events(b"".join(stream.feed(sse)))
    assert len(events) == 2
    error = events[1]
    assert isinstance(error, dict)
    assert error["error"]["message"] == "Overloaded"
    assert error["error"]["code"] == "overloaded_error"
    assert stream.tally.error is not None
    assert not stream.tally.done


def test_a_malformed_event_is_dropped_and_the_translation_goes_on() -> None:
    golden = (GOLDEN / "stream_text_tool.sse").read_bytes()
    whole = AnthropicChatStream("claude-sonnet-4-20250514", include_usage=True)
    expected = b"".join(whole.feed(golden))
    frames = golden.split(b"\n\n")
    broken = b"\n\n".join([*frames[:3], b"event: content_block_delta\ndata: {cut", *frames[3:]])
    stream = AnthropicChatStream("claude-sonnet-4-20250514", include_usage=True)
    sent = b"".join(stream.feed(broken))

    def deltas(raw: bytes) -> list[object]:  # chunk ids differ by stream: compare what they carry
        return [e["choices"] if isinstance(e, dict) else e for e in _events(raw)]

    assert deltas(sent) == deltas(expected)
    assert stream.tally.dropped == 1
    assert stream.tally.done


def test_content_is_noted_at_the_first_delta_not_at_message_start() -> None:
    stream = AnthropicChatStream("claude-sonnet-4-20250514", include_usage=False)
    frames = (GOLDEN / "stream_text_tool.sse").read_bytes().split(b"\n\n")
    stream.feed(frames[0] + b"\n\n")  # message_start
    assert not stream.tally.content
    for frame in frames[1:]:
        stream.feed(frame + b"\n\n")
        if stream.tally.content:
            break
    assert b"content_block_delta" in frame


def test_thinking_streams_as_reasoning_content() -> None:
    stream = AnthropicChatStream("claude-sonnet-4-20250514", include_usage=False)
    sse = (
        b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
        b'"content_block":{"type":"thinking","thinking":""}}\n\n'
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"thinking_delta","thinking":"Hmm."}}\n\n'
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"signature_delta","signature":"EqQB"}}\n\n'
    )
    events = _events(b"".join(stream.feed(sse)))
    assert [e["choices"][0]["delta"] for e in events if isinstance(e, dict)] == [
        {"reasoning_content": "Hmm."}
    ]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, {"type": "authentication_error", "message": "invalid x-api-key"}, (401, "invalid_api_key")),
        (404, {"type": "not_found_error", "message": "model: nope"}, (404, "model_not_found")),
        (429, {"type": "rate_limit_error", "message": "slow down"}, (429, "rate_limit_exceeded")),
        (529, {"type": "overloaded_error", "message": "Overloaded"}, (503, "overloaded")),
        (
            400,
            {"type": "invalid_request_error", "message": "max_tokens: too big"},
            (400, "invalid_request_error"),
        ),
        (500, {"type": "api_error", "message": "boom"}, (500, "api_error")),
    ],
)
def test_errors_map_to_openai_statuses(status: int, body: dict[str, str], expected: tuple[int, str]) -> None:
    raw = orjson.dumps({"type": "error", "error": body, "request_id": "req_1"})
    error = AnthropicProvider().parse_error(status, raw)
    assert (error.status, error.code) == expected
    assert error.message == body["message"]
    assert (error.type == "server_error") == (expected[0] >= 500)
