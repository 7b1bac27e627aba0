"""Golden tests of the OpenAI <-> Gemini mappings (cases in golden/gemini/, written by hand)."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

import orjson
import pytest

from byokgate.domain.secret import Secret
from byokgate.domain.stream import TranslationError
from byokgate.providers.base import Endpoint
from byokgate.providers.gemini import GeminiProvider
from byokgate.providers.gemini.adapter import SignatureMemory
from byokgate.providers.gemini.chat import to_chat_completion, to_generate_request
from byokgate.providers.gemini.stream import GeminiChatStream
from tests.support.golden import golden_cases

GOLDEN = Path(__file__).parent / "golden" / "gemini"


@pytest.mark.parametrize("case", golden_cases(GOLDEN, "request"))
def test_requests(case: dict[str, Any]) -> None:
    assert to_generate_request(case["openai"], case["signatures"]) == case["gemini"]


@pytest.mark.parametrize("case", golden_cases(GOLDEN, "response"))
def test_responses(case: dict[str, Any]) -> None:
    remembered: dict[str, str] = {}
    converted = to_chat_completion(case["gemini"], "requested-model", remembered)
    assert converted.pop("id").startswith("chatcmpl-")
    assert isinstance(converted.pop("created"), int)
    calls = converted["choices"][0]["message"].get("tool_calls", [])
    for call in calls:
        assert call["id"].startswith("call_")
    signed = {
        call["id"]: part["thoughtSignature"]
        for call, part in zip(
            calls,
            [p for p in case["gemini"]["candidates"][0]["content"]["parts"] if "functionCall" in p]
            if calls
            else [],
            strict=True,
        )
        if "thoughtSignature" in part
    }
    assert remembered == signed
    for call in calls:
        call["id"] = "<call id>"
    assert converted == case["openai"]


def test_the_thought_signature_survives_a_tool_loop() -> None:
    provider = GeminiProvider()
    answer = orjson.dumps(json.loads((GOLDEN / "response_call.json").read_text())["gemini"])
    first = orjson.loads(provider.chat_response(answer))
    call = first["choices"][0]["message"]["tool_calls"][0]
    follow_up = {
        "model": "gemini-3-pro-preview",
        "messages": [
            {"role": "user", "content": "Weather?"},
            first["choices"][0]["message"],
            {"role": "tool", "tool_call_id": call["id"], "content": "18C"},
        ],
    }
    request = provider.chat_request(Endpoint("https://g.example"), Secret("AIzaKEY"), follow_up)
    assert request.body is not None
    sent = orjson.loads(request.body)
    assert sent["contents"][1]["parts"][-1] == {
        "functionCall": {"name": "getWeather", "args": {"location": "Tokyo"}},
        "thoughtSignature": "SIG1",
    }
    assert sent["contents"][2]["parts"] == [
        {"functionResponse": {"name": "getWeather", "response": {"result": "18C"}}}
    ]


def test_urls_and_keys() -> None:
    provider = GeminiProvider()
    payload = {"model": "gemini-1.5-pro", "messages": [{"role": "user", "content": "hi"}]}
    plain = provider.chat_request(
        Endpoint("https://generativelanguage.googleapis.com"), Secret("AIzaSECRET"), payload
    )
    assert (
        plain.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-pro:generateContent"
    )
    assert plain.headers["x-goog-api-key"] == "AIzaSECRET"
    streamed = provider.chat_request(
        Endpoint("https://g.example"), Secret("AIzaSECRET"), {**payload, "stream": True}
    )
    assert streamed.url == "https://g.example/v1beta/models/gemini-1.5-pro:streamGenerateContent?alt=sse"
    assert streamed.body is not None
    assert "stream" not in orjson.loads(streamed.body)


def _events(raw: bytes) -> list[dict[str, Any] | str]:
    out: list[dict[str, Any] | str] = []
    for event in raw.split(b"\n\n"):
        if event:
            payload = event.removeprefix(b"data: ")
            out.append("[DONE]" if payload == b"[DONE]" else orjson.loads(payload))
    return out


@pytest.mark.parametrize("piece", [1, 13, 100_000])
def test_a_stream_translates_the_same_however_it_is_cut(piece: int) -> None:
    sse = (GOLDEN / "stream_text_calls.sse").read_bytes()
    remembered = SignatureMemory()
    stream = GeminiChatStream("gemini-2.5-flash", include_usage=True, remember=remembered)
    out = b"".join(b"".join(stream.feed(sse[i : i + piece])) for i in range(0, len(sse), piece))
    assert not stream.tally.done  # Gemini has no end marker: only the end of the body closes the stream
    out += b"".join(stream.finish())
    events = _events(out)
    assert events[-1] == "[DONE]"
    chunks = [e for e in events if isinstance(e, dict)]
    assert len({c["id"] for c in chunks}) == 1
    deltas = [(c["choices"][0]["delta"], c["choices"][0]["finish_reason"]) for c in chunks if c["choices"]]
    call_ids = [d["tool_calls"][0]["id"] for d, _ in deltas if "tool_calls" in d]
    assert deltas == [
        ({"role": "assistant", "content": ""}, None),
        ({"content": "Okay, let's create"}, None),
        (
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": call_ids[0],
                        "type": "function",
                        "function": {"name": "getWeather", "arguments": '{"location":"Tokyo"}'},
                    }
                ]
            },
            None,
        ),
        (
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": call_ids[1],
                        "type": "function",
                        "function": {"name": "getTime", "arguments": "{}"},
                    }
                ]
            },
            None,
        ),
        ({"content": " Enjoy."}, None),
        ({}, "tool_calls"),
    ]
    assert dict(remembered) == {call_ids[0]: "SIG9"}
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] == 2151
    assert chunks[-1]["usage"]["completion_tokens"] == 2147
    assert stream.tally.done
    assert stream.tally.usage == chunks[-1]["usage"]


def test_a_stream_cut_before_its_finish_reason_is_not_done() -> None:
    stream = GeminiChatStream("gemini-2.5-flash", include_usage=False, remember={})
    first_event = (GOLDEN / "stream_text_calls.sse").read_bytes().split(b"\n\n")[0] + b"\n\n"
    stream.feed(first_event)
    assert stream.finish() == []
    assert not stream.tally.done


def test_a_malformed_chunk_is_dropped_and_the_stream_completes() -> None:
    frames = (GOLDEN / "stream_text_calls.sse").read_bytes().split(b"\n\n")
    broken = b"\n\n".join([frames[0], b"data: {cut", *frames[1:]])
    stream = GeminiChatStream("gemini-2.5-flash", include_usage=False, remember={})
    assert not stream.tally.content
    stream.feed(broken)
    stream.finish()
    assert stream.tally.dropped == 1
    assert stream.tally.content
    assert stream.tally.done


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (
            400,
            {
                "code": 400,
                "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
                ],
            },
            (401, "invalid_api_key", None),
        ),
        (
            400,
            {"code": 400, "message": "bad field", "status": "INVALID_ARGUMENT"},
            (400, "invalid_request", None),
        ),
        (
            404,
            {"code": 404, "message": "no such model", "status": "NOT_FOUND"},
            (404, "model_not_found", None),
        ),
        (
            429,
            {
                "code": 429,
                "message": "quota",
                "status": "RESOURCE_EXHAUSTED",
                "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "32.4s"}],
            },
            (429, "rate_limit_exceeded", 33),
        ),
        (503, {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}, (503, "overloaded", None)),
    ],
)
def test_errors_map_to_openai_statuses(
    status: int, error: dict[str, Any], expected: tuple[int, str, int | None]
) -> None:
    parsed = GeminiProvider().parse_error(status, orjson.dumps({"error": error}))
    assert (parsed.status, parsed.code, parsed.retry_after_s) == expected
    assert parsed.message == error["message"]


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"n": 3}, "n"),
        ({"logprobs": True}, "logprobs"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
                    }
                ]
            },
            "messages[0]",
        ),
        ({"messages": [{"role": "tool", "tool_call_id": "nope", "content": "x"}]}, "messages[0]"),
        ({"tools": [{"type": "web_search"}]}, "tools[0]"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
    ],
)
def test_what_gemini_cannot_express_is_a_clear_400(change: dict[str, Any], param: str) -> None:
    payload = {"model": "gemini-1.5-pro", "messages": [{"role": "user", "content": "hi"}], **change}
    with pytest.raises(TranslationError) as raised:
        to_generate_request(payload, {})
    assert raised.value.param == param


def test_embeddings_both_ways() -> None:
    provider = GeminiProvider()
    payload = {"model": "text-embedding-004", "input": ["hello", "world!"], "dimensions": 2}
    request = provider.embeddings_request(Endpoint("https://g.example"), Secret("AIzaK"), payload)
    assert request.url == "https://g.example/v1beta/models/text-embedding-004:batchEmbedContents"
    assert request.body is not None
    assert orjson.loads(request.body) == {
        "requests": [
            {
                "model": "models/text-embedding-004",
                "content": {"parts": [{"text": "hello"}]},
                "outputDimensionality": 2,
            },
            {
                "model": "models/text-embedding-004",
                "content": {"parts": [{"text": "world!"}]},
                "outputDimensionality": 2,
            },
        ]
    }
    answer = orjson.dumps({"embeddings": [{"values": [0.5, -0.25]}, {"values": [1.0, 0.0]}]})
    assert orjson.loads(provider.embeddings_response(answer, payload)) == {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": [0.5, -0.25]},
            {"object": "embedding", "index": 1, "embedding": [1.0, 0.0]},
        ],
        "model": "text-embedding-004",
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    }
    encoded = orjson.loads(provider.embeddings_response(answer, {**payload, "encoding_format": "base64"}))
    assert struct.unpack("<2f", base64.b64decode(encoded["data"][0]["embedding"])) == (0.5, -0.25)
