"""The Responses front door's translation: a Responses body -> an OpenAI chat body, chat answers and
streams -> a ``response`` and its typed events (checked against the SDK's own types)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from byokgate.domain.stream import TranslationError
from byokgate.proxy.doors.responses_egress import ResponseEvents, response_shell, to_response
from byokgate.proxy.doors.responses_ingress import namespaces, to_chat_payload

EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def test_items_become_messages() -> None:
    body = {
        "model": "claude-3-5-sonnet-20241022",
        "instructions": "Be brief.",
        "input": [
            {"role": "developer", "content": "Answer in French."},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Look:"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"},
                ],
            },
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {
                "type": "message",
                "role": "assistant",
                "id": "msg_1",
                "status": "completed",
                "content": [{"type": "output_text", "text": "Let me check.", "annotations": []}],
            },
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": '{"city":"Paris"}',
            },
            {"type": "function_call", "call_id": "call_2", "name": "get_time", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "Sunny"},
            {
                "type": "function_call_output",
                "call_id": "call_2",
                "output": [{"type": "input_text", "text": "noon"}],
            },
        ],
        "max_output_tokens": 300,
        "temperature": 0.2,
        "user": "u-1",
        "metadata": {"team": "a"},
        "reasoning": {"effort": "minimal", "summary": "auto"},
        "stream": True,
    }
    payload = to_chat_payload(body)
    assert payload["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "Answer in French."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look:"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
            ],
        },
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                },
                {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
    ]
    assert payload["max_tokens"] == 300
    assert payload["temperature"] == 0.2
    assert payload["user"] == "u-1"
    assert payload["reasoning_effort"] == "low"
    assert payload["stream_options"] == {"include_usage": True}
    assert "metadata" not in payload


def test_tools_choice_and_formats() -> None:
    body = {
        "model": "m",
        "input": "Hi",
        "tools": [
            {"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": True},
            {
                "type": "namespace",
                "name": "crm",
                "description": "CRM",
                "tools": [
                    {"type": "function", "name": "find", "parameters": {"type": "object"}},
                ],
            },
        ],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "text": {
            "format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": True}
        },
    }
    payload = to_chat_payload(body)
    assert [tool["function"]["name"] for tool in payload["tools"]] == ["get_weather", "crm__find"]
    assert payload["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert payload["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": True},
    }
    assert namespaces(body) == {"crm__find": ("crm", "find")}
    called = {"type": "function_call", "call_id": "c", "name": "find", "namespace": "crm", "arguments": "{}"}
    again = to_chat_payload({"model": "m", "input": [called]})
    assert again["messages"][0]["tool_calls"][0]["function"]["name"] == "crm__find"
    assert to_chat_payload({**body, "text": {"format": {"type": "json_object"}}})["response_format"] == {
        "type": "json_object"
    }


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"tools": [{"type": "web_search"}]}, "tools[0]"),
        ({"tools": [{"type": "custom", "name": "patch"}]}, "tools[0]"),
        ({"background": True}, "background"),
        ({"conversation": "conv_1"}, "conversation"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]"),
        ({"input": [{"type": "computer_call_output", "call_id": "c"}]}, "input[0]"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]},
            "input[0].content[0]",
        ),
        ({"input": [{"role": "tool", "content": "x"}]}, "input[0].role"),
        ({"tool_choice": {"type": "allowed_tools", "tools": []}}, "tool_choice"),
        ({"input": 5}, "input"),
    ],
)
def test_what_a_translated_model_cannot_take_is_named(change: dict[str, Any], param: str) -> None:
    with pytest.raises(TranslationError) as refused:
        to_chat_payload({"model": "m", "input": "Hi", **change})
    assert refused.value.param == param


def _completion(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 2},
        },
    }


def test_an_answer_becomes_a_response() -> None:
    body = {"model": "claude", "input": "Hi", "instructions": "Be brief.", "tools": [], "temperature": 0.5}
    shell = response_shell(body, "resp_1", "claude")
    completion = _completion(
        {
            "content": "Sunny.",
            "reasoning_content": "Thinking",
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "crm__find", "arguments": "{}"}}
            ],
        },
        "tool_calls",
    )
    response = to_response(completion, shell, {"crm__find": ("crm", "find")})
    parsed = Response.model_validate(response)
    assert [item.type for item in parsed.output] == ["reasoning", "message", "function_call"]
    assert parsed.output_text == "Sunny."
    call = response["output"][2]
    assert (call["namespace"], call["name"], call["call_id"]) == ("crm", "find", "call_1")
    assert response["status"] == "completed"
    assert response["instructions"] == "Be brief."
    assert response["temperature"] == 0.5
    assert response["usage"] == {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 2},
        "total_tokens": 15,
    }


@pytest.mark.parametrize(
    ("finish", "reason"), [("length", "max_output_tokens"), ("content_filter", "content_filter")]
)
def test_a_cut_answer_is_incomplete(finish: str, reason: str) -> None:
    response = to_response(_completion({"content": "Sun"}, finish), response_shell({}, "resp_1", "m"), {})
    assert response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": reason}


def _chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, Any] | None = None) -> bytes:
    chunk: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk", "choices": []}
    if delta or finish:
        chunk["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
    if usage is not None:
        chunk["usage"] = usage
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def test_a_stream_becomes_typed_events() -> None:
    events = ResponseEvents(response_shell({"model": "m"}, "resp_1", "m"), {})
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    out = events.feed(
        [
            _chunk({"role": "assistant", "content": ""}),
            _chunk({"reasoning_content": "Hmm"}),
            _chunk({"content": "Let me "}),
            _chunk({"content": "check."}),
            _chunk({"tool_calls": [call]}),
            _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
            _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
            _chunk({}, "tool_calls"),
            _chunk({}, usage={"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}),
            b"data: [DONE]\n\n",
        ]
    )
    parsed = []
    for raw in out:
        kind, data = raw.split(b"\n", 1)
        event = orjson.loads(data.removeprefix(b"data: "))
        assert kind == b"event: " + event["type"].encode()
        parsed.append(EVENTS.validate_python(event))
    kinds = [event.type for event in parsed]
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event.sequence_number for event in parsed] == list(range(len(parsed)))
    final = parsed[-1].response
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call"]
    assert final.output_text == "Let me check."
    assert final.output[2].arguments == '{"city":"Paris"}'
    assert [event.output_index for event in parsed if event.type == "response.output_item.done"] == [0, 1, 2]
    assert final.usage is not None
    assert final.usage.total_tokens == 7
    assert events.final is not None
    assert events.final["id"] == "resp_1"


def test_a_broken_stream_ends_with_an_error_event() -> None:
    events = ResponseEvents(response_shell({}, "resp_1", "m"), {})
    events.feed([_chunk({"content": "Hi"})])
    _kind, data = events.error("upstream broke").split(b"\n", 1)
    error = EVENTS.validate_python(orjson.loads(data.removeprefix(b"data: ")))
    assert error.type == "error"
    assert error.message == "upstream broke"
    assert events.feed([_chunk({"content": "more"})]) == []
