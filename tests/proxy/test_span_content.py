"""Message content in the GenAI conventions' structure, from both front doors' request and answer formats
(data-driven: each case a request body, an answer as sent, and the attributes expected)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from byokgate.proxy.span_content import span_content

TEXT = [{"type": "text", "content": "hi"}]
USE = {"type": "tool_use", "id": "t1", "name": "f", "input": {}}
CALL = {"type": "tool_call", "id": "t1", "name": "f", "arguments": {}}


def said(text: str, finish: str) -> dict[str, Any]:
    return {"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": finish}


CASES: list[tuple[str, dict[str, Any], str, bool, dict[str, Any]]] = [
    (
        "chat, string content",
        {"messages": [{"role": "developer", "content": "be kind"}, {"role": "user", "content": "hi"}]},
        '{"choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}]}',
        False,
        {
            "gen_ai.system_instructions": [{"type": "text", "content": "be kind"}],
            "gen_ai.input.messages": [{"role": "user", "parts": TEXT}],
            "gen_ai.output.messages": [said("hello", "stop")],
        },
    ),
    (
        "chat, tool call and its result",
        {
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "42"},
            ]
        },
        'data: {"choices":[{"index":0,"delta":{"content":"it is "}}]}\n\n'
        'data: {"choices":[{"index":0,"delta":{"content":"42"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
        True,
        {
            "gen_ai.input.messages": [
                {"role": "user", "parts": TEXT},
                {
                    "role": "assistant",
                    "parts": [{"type": "tool_call", "id": "c1", "name": "f", "arguments": {"a": 1}}],
                },
                {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "42"}]},
            ],
            "gen_ai.output.messages": [said("it is 42", "stop")],
        },
    ),
    (
        "Messages, system, tool use and result, streamed",
        {
            "system": "be kind",
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [USE]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]},
            ],
        },
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        '"delta":{"type":"text_delta","text":"done"}}\n\n'
        'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"}}\n\n',
        True,
        {
            "gen_ai.system_instructions": [{"type": "text", "content": "be kind"}],
            "gen_ai.input.messages": [
                {"role": "user", "parts": TEXT},
                {"role": "assistant", "parts": [CALL]},
                {"role": "user", "parts": [{"type": "tool_call_response", "id": "t1", "response": "ok"}]},
            ],
            "gen_ai.output.messages": [said("done", "end_turn")],
        },
    ),
    (
        "Messages, JSON answer",
        {"messages": [{"role": "user", "content": "hi"}]},
        '{"type":"message","content":[{"type":"text","text":"yo"}],"stop_reason":"max_tokens"}',
        False,
        {
            "gen_ai.input.messages": [{"role": "user", "parts": TEXT}],
            "gen_ai.output.messages": [said("yo", "max_tokens")],
        },
    ),
    ("a request cut at the cap", {}, "", False, {}),
]


@pytest.mark.parametrize(
    ("request_body", "response", "stream", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_content_attributes(
    request_body: dict[str, Any], response: str, stream: bool, expected: dict[str, Any]
) -> None:
    raw = json.dumps(request_body)[:-1] if not request_body else json.dumps(request_body)
    got = span_content(raw, response, stream)
    assert {name: json.loads(value) for name, value in got.items()} == expected
