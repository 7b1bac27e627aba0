"""The Anthropic emulator's authentication, API versions and request validation: the SDK's exception
classes, and Anthropic's error body and headers."""

from __future__ import annotations

import warnings
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import MessageParam

from byokgate.emulators import EmulatorServer
from tests.emulators.anthropic.conftest import KEY, MODEL

HELLO: list[MessageParam] = [{"role": "user", "content": "Hello"}]
OLD = "2023-06-01"
NEW = "2026-10-21"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def sdk(server: EmulatorServer, *, version: str | None = None, api_key: str = KEY) -> anthropic.Anthropic:
    headers = {"anthropic-version": version} if version else None
    return anthropic.Anthropic(
        base_url=server.base_url, api_key=api_key, max_retries=0, default_headers=headers
    )


def post(
    server: EmulatorServer, body: Any, *, headers: dict[str, str] | None = None, path: str = "/v1/messages"
) -> httpx.Response:
    sent = {"x-api-key": KEY, "anthropic-version": NEW} if headers is None else headers
    return httpx.post(f"{server.url}{path}", json=body, headers=sent)


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert set(body) == {"type", "error", "request_id"}
    assert body["type"] == "error"
    assert body["request_id"] == response.headers["request-id"]
    return response.status_code, body["error"]["type"], body["error"]["message"]


def body_with(**fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 64, "messages": HELLO, **fields}


# authentication ----------------------------------------------------------------------------------------


def test_bearer_and_x_api_key_are_both_accepted(server: EmulatorServer) -> None:
    with sdk(server) as client:
        assert client.messages.create(model=MODEL, max_tokens=64, messages=HELLO).content
    bearer = server.emulator.requests[-1]
    assert bearer.headers["authorization"] == f"Bearer {KEY}"
    assert "x-api-key" not in bearer.headers
    assert bearer.headers["anthropic-version"] == NEW
    assert bearer.api_key == KEY
    headers = {"X-Api-Key": KEY, "anthropic-version": OLD}
    old_style = anthropic.Anthropic(
        base_url=server.base_url, api_key=KEY, max_retries=0, default_headers=headers
    )
    with old_style:
        without_bearer = {"Authorization": anthropic.Omit()}
        assert old_style.messages.create(
            model=MODEL, max_tokens=64, messages=HELLO, extra_headers=without_bearer
        ).content
    sent = server.emulator.requests[-1]
    assert "authorization" not in sent.headers
    assert sent.api_key == KEY
    both = post(
        server,
        body_with(),
        headers={"x-api-key": KEY, "authorization": "Bearer wrong", "anthropic-version": NEW},
    )
    assert both.status_code == 200


def test_bad_key_raises_authentication_error(server: EmulatorServer) -> None:
    with (
        sdk(server, api_key="sk-ant-api03-wrong") as client,
        pytest.raises(anthropic.AuthenticationError) as info,
    ):
        client.messages.create(model=MODEL, max_tokens=64, messages=HELLO)
    assert info.value.status_code == 401
    assert info.value.type == "authentication_error"
    assert info.value.request_id is not None
    assert info.value.request_id.startswith("req_011C")
    missing = post(server, body_with(), headers={"anthropic-version": NEW})
    assert error_of(missing) == (401, "authentication_error", "x-api-key header is required")
    assert missing.headers["x-should-retry"] == "false"
    wrong = post(server, body_with(), headers={"x-api-key": "nope", "anthropic-version": NEW})
    assert error_of(wrong) == (401, "authentication_error", "invalid x-api-key")
    assert server.emulator.requests[-1].status == 401


def test_models_need_a_key_too(server: EmulatorServer) -> None:
    response = httpx.get(f"{server.url}/v1/models", headers={"anthropic-version": NEW})
    assert error_of(response)[:2] == (401, "authentication_error")


# API versions ------------------------------------------------------------------------------------------


def test_anthropic_version_is_required_and_checked(server: EmulatorServer) -> None:
    missing = post(server, body_with(), headers={"x-api-key": KEY})
    assert error_of(missing) == (400, "invalid_request_error", "anthropic-version: header is required")
    unknown = post(server, body_with(), headers={"x-api-key": KEY, "anthropic-version": "2023-01-01"})
    assert error_of(unknown)[:2] == (400, "invalid_request_error")
    assert "2023-01-01" in error_of(unknown)[2]


def test_2026_rejects_sampling_parameters_even_at_defaults(server: EmulatorServer) -> None:
    with sdk(server) as client, pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(model=MODEL, max_tokens=64, messages=HELLO, extra_body={"temperature": 1.0})
    assert info.value.type == "invalid_request_error"
    assert info.value.api_message == "temperature: Extra inputs are not permitted"
    for name, value in (("top_p", 1.0), ("top_k", 5)):
        response = post(server, body_with(**{name: value}))
        assert error_of(response) == (400, "invalid_request_error", f"{name}: Extra inputs are not permitted")


def test_a_beta_named_in_anthropic_beta_enables_its_body_fields(server: EmulatorServer) -> None:
    """Claude Code sends `context_management` with `anthropic-beta: context-management-2025-06-27`."""
    edits = {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
    plain = post(server, body_with(context_management=edits))
    assert error_of(plain) == (
        400,
        "invalid_request_error",
        "context_management: Extra inputs are not permitted",
    )
    betas = "claude-code-20250219, context-management-2025-06-27"
    with sdk(server) as client:
        message = client.messages.create(
            model=MODEL,
            max_tokens=64,
            messages=HELLO,
            extra_headers={"anthropic-beta": betas},
            extra_body={"context_management": edits},
        )
    assert message.content
    wrong = {"edits": [{"type": "forget_everything"}]}
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01", "anthropic-beta": betas}
    refused = post(server, body_with(context_management=wrong), headers=headers)
    assert error_of(refused)[:2] == (400, "invalid_request_error")
    assert "context_management.edits.0" in error_of(refused)[2]


def test_2023_accepts_sampling_parameters(server: EmulatorServer) -> None:
    with sdk(server, version=OLD) as client:
        message = client.messages.create(
            model=MODEL,
            max_tokens=64,
            messages=HELLO,
            extra_body={"temperature": 0.2, "top_p": 0.9, "top_k": 5},
        )
    assert message.stop_reason == "end_turn"
    too_hot = post(server, body_with(temperature=1.5), headers={"x-api-key": KEY, "anthropic-version": OLD})
    assert error_of(too_hot) == (
        400,
        "invalid_request_error",
        "temperature: Input should be less than or equal to 1",
    )
    newest = post(
        server,
        body_with(model="claude-opus-4-7", temperature=0.2),
        headers={"x-api-key": KEY, "anthropic-version": OLD},
    )
    assert error_of(newest)[:2] == (400, "invalid_request_error")
    default = post(
        server,
        body_with(model="claude-opus-4-7", temperature=1),
        headers={"x-api-key": KEY, "anthropic-version": OLD},
    )
    assert default.status_code == 200


def test_2026_rejects_assistant_documents_and_user_citations(server: EmulatorServer) -> None:
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Notes."}}
    history = [
        {"role": "user", "content": "Summarise."},
        {"role": "assistant", "content": [document]},
        {"role": "user", "content": "Thanks"},
    ]
    citation = {
        "type": "char_location",
        "cited_text": "Notes.",
        "document_index": 0,
        "document_title": None,
        "start_char_index": 0,
        "end_char_index": 6,
    }
    cited = [{"role": "user", "content": [{"type": "text", "text": "Quote", "citations": [citation]}]}]
    for messages in (history, cited):
        assert post(server, body_with(messages=messages)).status_code == 400
        old = post(server, body_with(messages=messages), headers={"x-api-key": KEY, "anthropic-version": OLD})
        assert old.status_code == 200


# validation --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": MODEL, "messages": HELLO}, "max_tokens: Field required"),
        ({"max_tokens": 64, "messages": HELLO}, "model: Field required"),
        ({"model": MODEL, "max_tokens": 64}, "messages: Field required"),
        (body_with(max_tokens=-1), "max_tokens: Input should be greater than or equal to 0"),
        (body_with(max_tokens="64"), "max_tokens: Input should be a valid integer"),
        (body_with(messages=[]), "messages: at least one message is required"),
        (
            body_with(messages=[{"role": "tool", "content": "x"}]),
            "messages.0.role: Input should be 'user', 'assistant' or 'system'",
        ),
        (body_with(messages=[{"role": "user"}]), "messages.0.content: Field required"),
        (
            body_with(messages=[{"role": "user", "content": ""}]),
            "messages: text content blocks must be non-empty",
        ),
        (body_with(frequency_penalty=0.5), "frequency_penalty: Extra inputs are not permitted"),
        (body_with(stop_sequences=[" "]), "stop_sequences: each stop sequence must contain non-whitespace"),
        (body_with(metadata={"user_id": "u", "tier": "x"}), "metadata.tier: Extra inputs are not permitted"),
        (
            body_with(max_tokens=64001),
            "max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens for "
            "claude-sonnet-4-6",
        ),
        (body_with(tool_choice={"type": "auto"}), "tool_choice may only be specified while providing tools."),
        (
            body_with(messages=[{"role": "user", "content": [{"type": "video", "url": "x"}]}]),
            "messages.0.content.0: Input tag 'video' found using 'type' does not match any of the expected "
            "tags: 'text', 'image', 'document', 'search_result', 'thinking', 'redacted_thinking', "
            "'tool_use', 'tool_result', 'server_tool_use', 'web_search_tool_result', "
            "'web_fetch_tool_result', 'advisor_tool_result', 'code_execution_tool_result', "
            "'bash_code_execution_tool_result', 'text_editor_code_execution_tool_result', "
            "'tool_search_tool_result', 'mcp_tool_use', 'mcp_tool_result', 'container_upload', 'compaction', "
            "'tool_addition', 'tool_removal', 'mcp_tool_listing', 'fallback'",
        ),
        (
            body_with(tools=[{"name": "x", "input_schema": {"type": "array"}}]),
            "tools.0.custom.input_schema.type: Input should be 'object'",
        ),
        (
            body_with(tools=[{"name": "bad name", "input_schema": {"type": "object"}}]),
            "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'",
        ),
        (
            body_with(tools=[{"name": "a", "input_schema": {"type": "object"}}] * 2),
            "tools: Tool names must be unique.",
        ),
        (
            body_with(max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 4096}),
            "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at "
            "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size",
        ),
        (
            body_with(thinking={"type": "enabled", "budget_tokens": 100}),
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
        ),
        (
            body_with(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image",
                                "source": {"type": "base64", "media_type": "image/jpeg", "data": PNG},
                            }
                        ],
                    }
                ]
            ),
            "messages.0.content.0.image.source.base64: The image was specified using the image/jpeg media "
            "type, but the image appears to be a image/png image",
        ),
        (
            body_with(
                messages=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Sure "}],
                model="claude-haiku-4-5",
            ),
            "messages: final assistant content cannot end with trailing whitespace",
        ),
    ],
)
def test_validation_errors(server: EmulatorServer, body: Any, message: str) -> None:
    assert error_of(post(server, body)) == (400, "invalid_request_error", message)


def test_validation_errors_through_the_sdk(server: EmulatorServer) -> None:
    with sdk(server) as client:
        with pytest.raises(anthropic.BadRequestError) as info:
            client.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "tool", "content": "x"}])  # type: ignore[misc,list-item]
        assert info.value.type == "invalid_request_error"
        assert info.value.status_code == 400
        with pytest.raises(anthropic.BadRequestError, match="Extra inputs are not permitted"):
            client.messages.create(model=MODEL, max_tokens=64, messages=HELLO, extra_body={"n": 2})
        with pytest.raises(anthropic.NotFoundError) as missing:
            client.messages.create(model="claude-9-ultra", max_tokens=64, messages=HELLO)
        assert (missing.value.type, missing.value.api_message) == ("not_found_error", "model: claude-9-ultra")
        # A retired model: 404. (Older SDK releases also warn that it is deprecated; newer ones dropped it
        # from their list, so whether a warning comes depends on the installed SDK, not on the emulator.)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with pytest.raises(anthropic.NotFoundError):
                client.messages.create(model="claude-2.1", max_tokens=64, messages=HELLO)
    assert server.emulator.requests[-1].status == 404


def test_roles_the_model_decides(server: EmulatorServer) -> None:
    assistant_first = [
        {"role": "assistant", "content": "Hi, how can I help?"},
        {"role": "user", "content": "Hello"},
    ]
    assert post(server, body_with(messages=assistant_first)).status_code == 200
    prefill = [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Well,"}]
    assert post(server, body_with(messages=prefill, model="claude-haiku-4-5")).status_code == 200
    assert error_of(post(server, body_with(messages=prefill)))[:2] == (400, "invalid_request_error")
    system = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]
    assert post(server, body_with(messages=system, model="claude-opus-4-8")).status_code == 200
    assert error_of(post(server, body_with(messages=system))) == (
        400,
        "invalid_request_error",
        "messages.0.role: role 'system' is not supported on this model",
    )


def test_tool_use_and_tool_result_must_pair(server: EmulatorServer) -> None:
    use = {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"location": "Paris"}}
    unanswered = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": [use]},
        {"role": "user", "content": "Well?"},
    ]
    assert error_of(post(server, body_with(messages=unanswered))) == (
        400,
        "invalid_request_error",
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01A. "
        "Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
    )
    stray = [
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01B", "content": "15C"}]}
    ]
    assert error_of(post(server, body_with(messages=stray))) == (
        400,
        "invalid_request_error",
        "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_01B. Each "
        "`tool_result` block must have a corresponding `tool_use` block in the previous message.",
    )
    answered_across_merged_turns = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": [use]},
        {"role": "user", "content": [{"type": "text", "text": "Here:"}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01A", "content": "15C"}]},
    ]
    assert post(server, body_with(messages=answered_across_merged_turns)).status_code == 200
    misplaced = [{"role": "user", "content": [use]}]
    assert error_of(post(server, body_with(messages=misplaced)))[:2] == (400, "invalid_request_error")


def test_forced_tools_and_thinking_do_not_mix(server: EmulatorServer) -> None:
    tools = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    body = body_with(
        max_tokens=4096,
        tools=tools,
        tool_choice={"type": "any"},
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    assert error_of(post(server, body)) == (
        400,
        "invalid_request_error",
        "Thinking may not be enabled when tool_choice forces tool use.",
    )
    no_thinking_model = body_with(model="claude-3-5-haiku-20241022", thinking={"type": "adaptive"})
    assert error_of(post(server, no_thinking_model))[:2] == (400, "invalid_request_error")


def test_count_tokens_validation(server: EmulatorServer) -> None:
    ok = post(server, {"model": MODEL, "messages": HELLO}, path="/v1/messages/count_tokens")
    assert ok.json() == {"input_tokens": 8}
    assert ok.headers["request-id"].startswith("req_011C")
    with_max = post(server, body_with(), path="/v1/messages/count_tokens")
    assert error_of(with_max) == (400, "invalid_request_error", "max_tokens: Extra inputs are not permitted")
    unknown_model = post(server, {"model": "gpt-4o", "messages": HELLO}, path="/v1/messages/count_tokens")
    assert error_of(unknown_model) == (404, "not_found_error", "model: gpt-4o")


def test_transport_level_errors(server: EmulatorServer) -> None:
    headers = {"x-api-key": KEY, "anthropic-version": NEW, "content-type": "application/json"}
    broken = httpx.post(f"{server.url}/v1/messages", content=b'{"model": ', headers=headers)
    assert error_of(broken)[:2] == (400, "invalid_request_error")
    assert error_of(httpx.get(f"{server.url}/v1/messages", headers=headers)) == (
        404,
        "not_found_error",
        "Not Found",
    )
    assert error_of(httpx.post(f"{server.url}/v1/complete", json={}, headers=headers))[:2] == (
        404,
        "not_found_error",
    )
    huge = httpx.post(f"{server.url}/v1/messages", content=b" " * (32 * 1024 * 1024 + 1), headers=headers)
    assert error_of(huge)[:2] == (413, "request_too_large")
    recorded = server.emulator.requests[0]
    assert recorded.body is None
    assert recorded.status == 400


def test_unknown_fields_are_recorded(server: EmulatorServer) -> None:
    post(server, body_with(temperature=0.5))
    post(server, body_with(temperature=0.5), headers={"x-api-key": KEY, "anthropic-version": OLD})
    assert [request.unknown_fields for request in server.emulator.requests] == [("temperature",), ()]
