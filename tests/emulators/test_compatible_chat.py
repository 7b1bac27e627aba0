"""Chat through the official SDK against every OpenAI-compatible emulator: plain and streamed answers,
the stream's end marker and usage, tool calls, reasoning traces and each provider's extra fields."""

from __future__ import annotations

import json

import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from byokgate.emulators import EmulatorServer, content
from tests.emulators.compatible_cases import BY_NAME, Live, events, matches

QUESTION: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Tell me something about emulators."},
]
WEATHER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "What's the weather in Paris?"}]
WEATHER_TOOL: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def _needs_tools(live: Live) -> None:
    if not live.case.tools:
        pytest.skip(f"{live.case.name} has no function calling")


def test_plain_answer(live: Live) -> None:
    with live.client() as client:
        completion = client.chat.completions.create(
            model=live.case.chat_model, messages=QUESTION, extra_body=live.case.plain_extra
        )
    expected = content.reply_for(QUESTION)
    assert completion.choices[0].message.content == expected
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == live.case.chat_model
    assert matches(live.case.completion_id, completion.id), completion.id
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == content.prompt_tokens(QUESTION)
    assert completion.usage.completion_tokens == content.count_tokens(expected)


def test_answer_and_usage_fields(live: Live) -> None:
    payload = live.chat({"messages": QUESTION}).json()
    openai_keys = {"id", "object", "created", "model", "choices", "usage"}
    assert set(payload) - openai_keys == live.case.answer_extras
    usage_counts = {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert set(payload["usage"]) - usage_counts == live.case.usage_extras
    assert payload["object"] == "chat.completion"


def test_stream_concatenates_to_the_answer(live: Live) -> None:
    with live.client() as client:
        chunks = list(
            client.chat.completions.create(
                model=live.case.chat_model, messages=QUESTION, stream=True, extra_body=live.case.plain_extra
            )
        )
    deltas = [chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices]
    assert "".join(deltas) == content.reply_for(QUESTION)
    finishes = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices]
    assert [reason for reason in finishes if reason] == ["stop"]
    assert len({chunk.id for chunk in chunks}) == 1
    with_usage = [chunk for chunk in chunks if chunk.usage is not None]
    assert bool(with_usage) == live.case.stream_usage_always
    if with_usage:
        assert with_usage[-1].usage is not None
        assert with_usage[-1].usage.prompt_tokens == content.prompt_tokens(QUESTION)


def test_stream_end_marker(live: Live) -> None:
    response = live.chat({"messages": QUESTION, "stream": True})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.endswith("data: [DONE]\n\n") == live.case.stream_done
    assert "[DONE]" in response.text or not live.case.stream_done
    assert all(event["id"] == events(response)[0]["id"] for event in events(response))


def test_usage_with_include_usage(live: Live) -> None:
    with live.client() as client:
        chunks = list(
            client.chat.completions.create(
                model=live.case.chat_model,
                messages=QUESTION,
                stream=True,
                stream_options={"include_usage": True},
                extra_body=live.case.plain_extra,
            )
        )
    final = [chunk.usage for chunk in chunks if chunk.usage is not None][-1]
    assert final.completion_tokens == content.count_tokens(content.reply_for(QUESTION))
    assert final.total_tokens == final.prompt_tokens + final.completion_tokens


def test_tool_call(live: Live) -> None:
    _needs_tools(live)
    with live.client() as client:
        completion = client.chat.completions.create(
            model=live.case.chat_model,
            messages=WEATHER,
            tools=[WEATHER_TOOL],
            extra_body=live.case.plain_extra,
        )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert len(calls) == 1
    assert calls[0].function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    assert matches(live.case.tool_call_id, calls[0].id), calls[0].id


def test_tool_call_stream(live: Live) -> None:
    _needs_tools(live)
    with live.client() as client:
        stream = client.chat.completions.create(
            model=live.case.chat_model,
            messages=WEATHER,
            tools=[WEATHER_TOOL],
            stream=True,
            extra_body=live.case.plain_extra,
        )
        chunks = list(stream)
    arguments = ""
    names = []
    for chunk in chunks:
        for fragment in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            if fragment.function and fragment.function.name:
                names.append(fragment.function.name)
            if fragment.function and fragment.function.arguments:
                arguments += fragment.function.arguments
    assert names == ["get_weather"]
    assert json.loads(arguments) == {"city": "Paris"}
    finishes = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices]
    assert [reason for reason in finishes if reason] == ["tool_calls"]


def test_reasoning_trace(live: Live) -> None:
    if live.case.reasoning is None:
        pytest.skip(f"{live.case.name}: reasoning output is not emulated")
    model, field = live.case.reasoning
    payload = live.chat({"model": model, "messages": QUESTION}, plain=False).json()
    message = payload["choices"][0]["message"]
    answer = content.reply_for(QUESTION)
    if field is not None:
        assert message[field].startswith("The user asks: Tell me something about emulators.")
        assert message["content"] == answer
    elif live.case.name == "perplexity":  # inline trace
        assert message["content"].startswith("<think>\nThe user asks:")
        assert message["content"].endswith(answer)
    else:  # counted, not shown
        assert message["content"] == answer
        assert payload["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0


def test_deepseek_thinking_switch(compatible_servers: dict[str, EmulatorServer]) -> None:
    live = Live(BY_NAME["deepseek"], compatible_servers["deepseek"])
    on = live.chat({"messages": QUESTION, "thinking": {"type": "enabled"}}).json()
    off = live.chat({"messages": QUESTION, "thinking": {"type": "disabled"}}).json()
    assert "reasoning_content" in on["choices"][0]["message"]
    assert on["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0
    assert (
        on["usage"]["completion_tokens"]
        == off["usage"]["completion_tokens"] + (on["usage"]["completion_tokens_details"]["reasoning_tokens"])
    )
    assert "reasoning_content" not in off["choices"][0]["message"]
    assert "completion_tokens_details" not in off["usage"]
    assert off["usage"]["prompt_cache_miss_tokens"] == off["usage"]["prompt_tokens"]


def test_provider_fields_are_accepted_and_recorded(live: Live) -> None:
    body = {"messages": QUESTION, **live.case.accepted_extra, "brand_new_option": {"x": 1}}
    assert live.chat(body).status_code == 200
    recorded = live.emulator.requests[-1]
    assert recorded.unknown_fields == ("brand_new_option",)
    assert recorded.body["brand_new_option"] == {"x": 1}
    assert recorded.api_key == live.case.key


def test_refused_fields(live: Live) -> None:
    if live.case.refusal is None:
        pytest.skip(f"{live.case.name} refuses no OpenAI field we know of")
    addition, status, text = live.case.refusal
    response = live.chat({"messages": WEATHER, **addition})
    assert response.status_code == status
    assert text in response.text
    assert live.emulator.requests[-1].status == status
