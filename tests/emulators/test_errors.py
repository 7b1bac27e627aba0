"""Authentication, unknown models and request validation: the SDK's exceptions and each provider's body."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from tests.emulators.conftest import Target

HELLO = [{"role": "user", "content": "Hello"}]


def post(target: Target, body: Any, *, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        f"{target.base_url}/chat/completions",
        json=body,
        headers=target.auth() if headers is None else headers,
    )


def test_wrong_key_raises_authentication_error(target: Target) -> None:
    with (
        target.client(api_key="not-a-valid-key-000000") as client,
        pytest.raises(openai.AuthenticationError) as info,
    ):
        client.chat.completions.create(model=target.chat_model, messages=HELLO)  # type: ignore[arg-type]
    assert info.value.status_code == 401


def test_auth_error_bodies(target: Target) -> None:
    missing = post(target, {"model": target.chat_model, "messages": HELLO}, headers={})
    wrong = post(
        target, {"model": target.chat_model, "messages": HELLO}, headers={"authorization": "Bearer nope"}
    )
    assert missing.status_code == wrong.status_code == 401
    if target.name == "openai":
        assert missing.json()["error"]["message"].startswith("You didn't provide an API key.")
        assert missing.json()["error"]["code"] is None
        assert wrong.json()["error"]["code"] == "invalid_api_key"
        assert set(wrong.json()["error"]) == {"message", "type", "param", "code"}
        assert wrong.headers["x-request-id"].startswith("req_")
    elif target.name == "groq":
        expected = {"message": "Invalid API Key", "type": "invalid_request_error", "code": "invalid_api_key"}
        assert wrong.json() == {"error": expected}
        assert wrong.headers["x-groq-region"]
    else:
        assert missing.json() == {"error": {"code": 401, "message": "Missing Authentication header"}}
        assert wrong.json()["error"]["code"] == 401


def test_openai_masks_the_wrong_key(get_target: Any) -> None:
    target: Target = get_target("openai")
    key = "sk-proj-abcdefghijklmnopqrstuvwxyzMxYA"
    body = post(
        target, {"model": "gpt-4o", "messages": HELLO}, headers={"authorization": f"Bearer {key}"}
    ).json()
    message = body["error"]["message"]
    assert message.startswith("Incorrect API key provided: sk-proj-*")
    assert "MxYA." in message
    assert "abcdefghijklmnop" not in message


def test_unknown_model(target: Target, client: openai.OpenAI) -> None:
    expected = openai.BadRequestError if target.name == "openrouter" else openai.NotFoundError
    with pytest.raises(expected) as info:
        client.chat.completions.create(model="no-such-model", messages=HELLO)  # type: ignore[arg-type]
    body: Any = info.value.body
    if target.name == "openrouter":
        assert body == {"code": 400, "message": "no-such-model is not a valid model ID"}
    else:
        assert body["code"] == "model_not_found"
        assert body["message"] == "The model `no-such-model` does not exist or you do not have access to it."
        assert ("param" in body) == (target.name == "openai")


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"messages": []}, "messages", "empty_array"),
        ({"messages": "hi"}, "messages", "invalid_type"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role", "invalid_value"),
        ({"messages": [{"role": "user"}]}, "messages[0].content", "missing_required_parameter"),
        ({"messages": HELLO, "temperature": 3}, "temperature", "decimal_above_max_value"),
        ({"messages": HELLO, "max_tokens": 0}, "max_tokens", "integer_below_min_value"),
        ({"messages": HELLO, "stream": "yes"}, "stream", "invalid_type"),
        ({"messages": HELLO, "stream_options": {"include_usage": True}}, "stream_options", None),
        (
            {"messages": [{"role": "tool", "tool_call_id": "call_1", "content": "x"}]},
            "messages.[0].role",
            None,
        ),
        ({"messages": HELLO, "tool_choice": "required"}, "tool_choice", None),
    ],
)
def test_validation_errors(target: Target, body: dict[str, Any], param: str, code: str | None) -> None:
    response = post(target, {"model": target.chat_model, **body})
    assert response.status_code == 400
    error = response.json()["error"]
    if target.name == "openai":
        assert (error["param"], error["code"]) == (param, code)
        assert error["type"] == "invalid_request_error"
    elif target.name == "groq":
        assert "param" not in error
        assert error.get("code") == code
    else:
        assert error["code"] == 400
    assert error["message"]


def test_validation_error_through_the_sdk(target: Target, client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=target.chat_model, messages=[])


def test_missing_model_and_messages(target: Target) -> None:
    no_messages = post(target, {"model": target.chat_model})
    assert no_messages.status_code == 400
    no_model = post(target, {"messages": HELLO})
    if target.name == "openrouter":  # OpenRouter falls back to the account's default model
        assert no_messages.json()["error"]["message"] == 'Input required: specify "prompt" or "messages"'
        assert no_model.status_code == 200
    else:
        assert no_messages.json()["error"]["message"] == "Missing required parameter: 'messages'."
        assert no_model.status_code == 400
        assert no_model.json()["error"]["message"] == "you must provide a model parameter"


def test_malformed_json(target: Target) -> None:
    response = httpx.post(
        f"{target.base_url}/chat/completions",
        content=b'{"model": "x", "messages": [',
        headers={**target.auth(), "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "could not parse the JSON body" in response.json()["error"]["message"]


def test_unknown_path(target: Target) -> None:
    response = httpx.post(f"{target.base_url}/completions/chat", json={}, headers=target.auth())
    assert response.status_code == 404


@pytest.mark.parametrize(
    "extra",
    [
        {"logprobs": True},
        {"top_logprobs": 2},
        {"logit_bias": {"1": 5}},
        {"n": 2},
        {"messages": [{"role": "user", "content": "Hello", "name": "bob"}]},
    ],
)
def test_groq_rejects_unsupported_openai_features(get_target: Any, extra: dict[str, Any]) -> None:
    target: Target = get_target("groq")
    response = post(target, {"model": target.chat_model, "messages": HELLO, **extra})
    assert response.status_code == 400
    assert set(response.json()["error"]) <= {"message", "type", "code"}
    # ...which OpenAI accepts
    openai_target: Target = get_target("openai")
    assert (
        post(openai_target, {"model": openai_target.chat_model, "messages": HELLO, **extra}).status_code
        == 200
    )


def test_openai_n_choices(get_target: Any) -> None:
    target: Target = get_target("openai")
    with target.client() as client:
        completion = client.chat.completions.create(model=target.chat_model, messages=HELLO, n=2)  # type: ignore[arg-type]
    assert [choice.index for choice in completion.choices] == [0, 1]
    assert completion.choices[0].message.content == completion.choices[1].message.content


def test_strict_unknown_fields_option(get_target: Any) -> None:
    from byokgate.emulators import EmulatorServer, openai_emulator

    with EmulatorServer(openai_emulator(["k"], strict_unknown_fields=True)) as server:
        response = httpx.post(
            f"{server.base_url}/chat/completions",
            json={"model": "gpt-4o", "messages": HELLO, "foo": 1},
            headers={"authorization": "Bearer k"},
        )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Unrecognized request argument supplied: foo"
