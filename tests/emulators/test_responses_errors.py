"""The OpenAI emulator's Responses API refusing requests as the real API does (strict fields, types, enums,
model rules, unknown models, keys) and its faults (`x-emulator-fault`, armed faults, broken streams)."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from byokgate.emulators import Fault
from tests.emulators.conftest import Target
from tests.emulators.test_responses import MODEL, QUESTION


@pytest.fixture
def openai_target(get_target: Any) -> Target:
    target: Target = get_target("openai")
    return target


def post(target: Target, body: Any, *, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        f"{target.base_url}/responses", json=body, headers=target.auth() if headers is None else headers
    )


def error(message: str, param: str | None, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


BASE = {"model": MODEL, "input": QUESTION}
REFUSALS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({**BASE, "foo": 1}, error("Unknown parameter: 'foo'.", "foo", "unknown_parameter")),
    (
        {**BASE, "text": {"format": {"type": "text"}, "foo": 1}},
        error("Unknown parameter: 'text.foo'.", "text.foo", "unknown_parameter"),
    ),
    (
        {**BASE, "input": [{"role": "user", "content": "Hi", "origin": "x"}]},
        error("Unknown parameter: 'input[0].origin'.", "input[0].origin", "unknown_parameter"),
    ),
    (
        {**BASE, "input": [{"content": "Hi"}]},  # no type and no role: an item reference
        error("Unknown parameter: 'input[0].content'.", "input[0].content", "unknown_parameter"),
    ),
    (
        {**BASE, "tools": [{"type": "function", "name": "f", "function": {}}]},
        error("Unknown parameter: 'tools[0].function'.", "tools[0].function", "unknown_parameter"),
    ),
    (
        {"input": QUESTION},
        error("Missing required parameter: 'model'.", "model", "missing_required_parameter"),
    ),
    ({"model": MODEL}, error("Missing required parameter: 'input'.", "input", "missing_required_parameter")),
    (
        {**BASE, "temperature": "hot"},
        error(
            "Invalid type for 'temperature': expected a decimal, but got a string instead.",
            "temperature",
            "invalid_type",
        ),
    ),
    (
        {**BASE, "store": "yes"},
        error(
            "Invalid type for 'store': expected a boolean, but got a string instead.", "store", "invalid_type"
        ),
    ),
    (
        {**BASE, "metadata": {"n": 1}},
        error(
            "Invalid type for 'metadata.n': expected a string, but got an integer instead.",
            "metadata.n",
            "invalid_type",
        ),
    ),
    (
        {**BASE, "max_output_tokens": 10},
        error(
            "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got 10 "
            "instead.",
            "max_output_tokens",
            "integer_below_min_value",
        ),
    ),
    (
        {**BASE, "top_p": 1.5},
        error(
            "Invalid 'top_p': decimal above maximum value. Expected a value <= 1, but got 1.5 instead.",
            "top_p",
            "decimal_above_max_value",
        ),
    ),
    (
        {**BASE, "truncation": "sometimes"},
        error(
            "Invalid value: 'sometimes'. Supported values are: 'auto' and 'disabled'.",
            "truncation",
            "invalid_value",
        ),
    ),
    (
        {**BASE, "input": [{"role": "robot", "content": "Hi"}]},
        error(
            "Invalid value: 'robot'. Supported values are: 'user', 'assistant', 'system', and 'developer'.",
            "input[0].role",
            "invalid_value",
        ),
    ),
    (
        {**BASE, "input": [{"role": "assistant", "content": [{"type": "input_text", "text": "Hi"}]}]},
        error(
            "Invalid value: 'input_text'. Supported values are: 'output_text' and 'refusal'.",
            "input[0].content[0].type",
            "invalid_value",
        ),
    ),
    (
        {**BASE, "text": {"format": {"type": "json_schema", "schema": {}}}},
        error(
            "Missing required parameter: 'text.format.name'.",
            "text.format.name",
            "missing_required_parameter",
        ),
    ),
    (
        {**BASE, "reasoning": {"effort": "high"}},
        error(
            "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
            "reasoning.effort",
            "unsupported_parameter",
        ),
    ),
    (
        {"model": "o3", "input": QUESTION, "temperature": 0.2},
        error(
            "Unsupported parameter: 'temperature' is not supported with this model.",
            "temperature",
            "unsupported_parameter",
        ),
    ),
    (
        {**BASE, "stream_options": {"include_obfuscation": False}},
        error(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options", None
        ),
    ),
    (
        {**BASE, "previous_response_id": "resp_1", "conversation": "conv_1"},
        error(
            "Mutually exclusive parameters: Ensure you are only providing one of: 'previous_response_id' or "
            "'conversation'.",
            "conversation",
            "mutually_exclusive_parameters",
        ),
    ),
    (
        {"model": "gpt-unknown", "input": QUESTION},
        error("The requested model 'gpt-unknown' does not exist.", "model", "model_not_found"),
    ),
]


@pytest.mark.parametrize(("body", "expected"), REFUSALS)
def test_refusals(openai_target: Target, body: dict[str, Any], expected: dict[str, Any]) -> None:
    reply = post(openai_target, body)
    assert (reply.status_code, reply.json()) == (400, expected)
    assert reply.headers["x-request-id"].startswith("req_")


def test_unknown_model_through_the_sdk(openai_target: Target) -> None:
    with openai_target.client() as client, pytest.raises(openai.BadRequestError) as info:
        client.responses.create(model="gpt-unknown", input=QUESTION)
    assert info.value.code == "model_not_found"
    with openai_target.client() as client, pytest.raises(openai.BadRequestError) as embedding:
        client.responses.create(model="text-embedding-3-small", input=QUESTION)
    assert embedding.value.code == "model_not_found"


def test_malformed_json(openai_target: Target) -> None:
    reply = httpx.post(
        f"{openai_target.base_url}/responses",
        content=b"{not json",
        headers={**openai_target.auth(), "content-type": "application/json"},
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["message"].startswith("We could not parse")


def test_wrong_method_or_path(openai_target: Target) -> None:
    for method, path in (("GET", "/responses"), ("PUT", "/responses/resp_1"), ("POST", "/responses/x/nope")):
        reply = httpx.request(method, f"{openai_target.base_url}{path}", headers=openai_target.auth())
        assert reply.status_code == 404
        assert reply.json()["error"]["message"] == f"Invalid URL ({method} /v1{path})"


def test_keys(openai_target: Target) -> None:
    with (
        openai_target.client(api_key="sk-wrong-000000000000") as client,
        pytest.raises(openai.AuthenticationError) as info,
    ):
        client.responses.create(model=MODEL, input=QUESTION)
    assert (info.value.status_code, info.value.code) == (401, "invalid_api_key")
    missing = post(openai_target, BASE, headers={})
    assert missing.status_code == 401
    assert missing.json()["error"]["message"].startswith("You didn't provide an API key.")
    for path in ("/responses/resp_1", "/responses/resp_1/input_items"):
        assert httpx.get(f"{openai_target.base_url}{path}").status_code == 401


def test_fault_header(openai_target: Target) -> None:
    with openai_target.client() as client:
        with pytest.raises(openai.RateLimitError) as limited:
            client.responses.create(model=MODEL, input=QUESTION, extra_headers={"x-emulator-fault": "429:7"})
        assert limited.value.response.headers["retry-after"] == "7"
        assert limited.value.code == "rate_limit_exceeded"
        with pytest.raises(openai.InternalServerError) as broken:
            client.responses.create(model=MODEL, input=QUESTION, extra_headers={"x-emulator-fault": "500"})
        assert broken.value.status_code == 500
        with pytest.raises(openai.BadRequestError) as window:
            client.responses.create(
                model=MODEL, input=QUESTION, extra_headers={"x-emulator-fault": "context_length"}
            )
        exceeded = (
            "Your input exceeds the context window of this model. Please adjust your input and try again."
        )
        assert window.value.body == error(exceeded, "input", "context_length_exceeded")["error"]


def test_armed_faults_by_endpoint(openai_target: Target) -> None:
    openai_target.emulator.arm(Fault(kind="503", endpoint="responses", count=None))
    with openai_target.client() as client:
        chat = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
        assert chat.choices[0].message.content
        with pytest.raises(openai.InternalServerError) as info:
            client.responses.create(model=MODEL, input=QUESTION)
        assert info.value.status_code == 503
        with pytest.raises(openai.InternalServerError):
            client.responses.retrieve("resp_any")
    openai_target.emulator.clear_faults()
    openai_target.emulator.arm(Fault(kind="content_filter"))  # any generation endpoint
    with openai_target.client() as client, pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model=MODEL, input=QUESTION)
    assert refused.value.code == "content_policy_violation"
    assert [request.status for request in openai_target.emulator.requests][-1] == 400


def test_stream_faults(openai_target: Target) -> None:
    body = {**BASE, "stream": True}
    with httpx.stream(
        "POST",
        f"{openai_target.base_url}/responses",
        json=body,
        headers={**openai_target.auth(), "x-emulator-fault": "disconnect_mid_stream:3"},
    ) as reply:
        assert reply.status_code == 200
        received: list[bytes] = []
        with pytest.raises(httpx.HTTPError):
            received.extend(reply.iter_bytes())
    assert b"".join(received).count(b"event: ") == 3
    with openai_target.client() as client, pytest.raises(ValueError, match="Unterminated string"):
        list(
            client.responses.create(
                model=MODEL,
                input=QUESTION,
                stream=True,
                extra_headers={"x-emulator-fault": "malformed_chunk:2"},
            )
        )
    whole = post(openai_target, body, headers={**openai_target.auth(), "x-emulator-fault": "no_done"})
    assert whole.status_code == 200
    assert whole.text.rstrip().endswith("}")  # no [DONE] either way
