"""The Anthropic-format front door: Anthropic request -> OpenAI body, OpenAI answers -> Anthropic."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from byokgate.domain.stream import TranslationError
from byokgate.proxy.doors.messages_egress import MessageEvents, to_message
from byokgate.proxy.doors.messages_ingress import to_chat_payload


def test_a_request_with_tools_images_and_tool_results() -> None:
    body = {
        "model": "gpt-4o",
        "max_tokens": 300,
        "system": [{"type": "text", "text": "Be brief."}],
        "temperature": 0.3,
        "top_k": 5,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "u-1"},
        "stream": True,
        "tools": [{"name": "get_weather", "input_schema": {"type": "object"}, "description": "Weather"}],
        "tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Look:"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "x"},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "18C"}],
                    },
                    {"type": "text", "text": "And tomorrow?"},
                ],
            },
        ],
    }
    assert to_chat_payload(body) == {
        "model": "gpt-4o",
        "max_tokens": 300,
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Look:"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            },
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {
                        "id": "toolu_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
            {"role": "user", "content": [{"type": "text", "text": "And tomorrow?"}]},
        ],
        "temperature": 0.3,
        "stop": ["END"],
        "user": "u-1",
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {"type": "object"},
                    "description": "Weather",
                },
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


@pytest.mark.parametrize(
    "body",
    [
        {"messages": []},
        {"messages": [{"role": "narrator", "content": "x"}]},
        {"messages": [{"role": "user", "content": [{"type": "server_tool_use"}]}]},
        {
            "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "web_search_20250305", "name": "s"}],
        },
    ],
)
def test_what_cannot_be_translated_is_a_400(body: dict[str, Any]) -> None:
    with pytest.raises(TranslationError):
        to_chat_payload({"model": "gpt-4o", "max_tokens": 1, **body})


def test_a_completion_becomes_a_message() -> None:
    completion = {
        "choices": [
            {
                "finish_reason": "tool_calls",
                "message": {
                    "content": "Checking.",
                    "tool_calls": [{"id": "call_1", "function": {"name": "f", "arguments": '{"a": 1}'}}],
                },
            }
        ],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": 40},
        },
    }
    message = to_message(completion, "gpt-4o")
    assert message.pop("id").startswith("msg_")
    assert message == {
        "type": "message",
        "role": "assistant",
        "model": "gpt-4o",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 60,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 40,
            "output_tokens": 7,
        },
    }


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + orjson.dumps(body) + b"\n\n"


def test_openai_chunks_become_anthropic_events_in_order() -> None:
    events = MessageEvents("gpt-4o")
    out = events.feed(
        [
            _chunk({"role": "assistant", "content": ""}),
            _chunk({"content": "Hi "}),
            _chunk({"content": "there."}),
            _chunk(
                {"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f", "arguments": ""}}]}
            ),
            _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}),
            _chunk({"tool_calls": [{"index": 0, "function": {"arguments": " 1}"}}]}),
            _chunk({}, "tool_calls"),
            b"data: "
            + orjson.dumps({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}})
            + b"\n\n",
            b"data: [DONE]\n\n",
        ]
    )
    parsed = []
    for raw in out:
        name, data = raw.decode().strip().split("\n")
        event = orjson.loads(data.removeprefix("data: "))
        assert name == f"event: {event['type']}"
        parsed.append(event)
    kinds = [e["type"] for e in parsed]
    assert kinds == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert parsed[2]["content_block"] == {"type": "text", "text": ""}
    assert parsed[6] == {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "tool_use", "id": "call_1", "name": "f", "input": {}},
    }
    assert "".join(e["delta"]["partial_json"] for e in parsed[7:9]) == '{"a": 1}'
    assert parsed[10]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert parsed[10]["usage"]["input_tokens"] == 9
    assert parsed[10]["usage"]["output_tokens"] == 4
    assert events.feed([b"data: [DONE]\n\n"]) == []  # closed once
