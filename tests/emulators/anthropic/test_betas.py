"""The Anthropic emulator takes what today's clients send: Claude Code's captured request (its betas,
`context_management`, mid-conversation `system` messages), every field, tool and content block of the
installed `anthropic` SDK's beta `MessageCreateParams` (values built from its types by `sdk_samples`), and
the beta options' shapes, refused with the API's 400 wording when wrongly typed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types.beta import BetaMessage, message_count_tokens_params, message_create_params
from anthropic.types.beta.beta_system_message_param import BetaSystemMessageParam
from anthropic.types.beta.beta_user_message_param import BetaUserMessageParam

from byokgate.emulators import EmulatorServer
from byokgate.emulators.anthropic_blocks import SERVER_BLOCKS
from tests.emulators.anthropic import sdk_samples
from tests.emulators.anthropic.conftest import KEY, MODEL

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "clients" / "claude_code_request.json"
# Sent with it by Claude Code 2.1.197 (`claude -p "Say hello" --output-format json`, its default model),
# to `POST /v1/messages?beta=true`.
CLAUDE_CODE_BETAS = [
    "claude-code-20250219",
    "context-1m-2025-08-07",
    "interleaved-thinking-2025-05-14",
    "thinking-token-count-2026-05-13",
    "context-management-2025-06-27",
    "prompt-caching-scope-2026-01-05",
    "mid-conversation-system-2026-04-07",
    "effort-2025-11-24",
]
CLAUDE_CODE_HEADERS = {
    "x-api-key": KEY,
    "anthropic-version": "2023-06-01",
    "anthropic-beta": ",".join(CLAUDE_CODE_BETAS),
}
SAMPLE_BETAS = "context-management-2025-06-27,mcp-client-2025-11-20,fallback-credit-2026-07-01"
SAMPLE_HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01", "anthropic-beta": SAMPLE_BETAS}
HEADER_PARAMS = {"betas", "user_profile_id", "workspace_id", "stream"}
ASSISTANT_ONLY = {"tool_use", "thinking", "redacted_thinking", *SERVER_BLOCKS}
HELLO = [{"role": "user", "content": "Hello"}]
LOOKUP = {"name": sdk_samples.TOOL_NAME, "input_schema": sdk_samples.SCHEMA}


def claude_code_body() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(FIXTURE.read_text())
    return body


def events(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]


def post(
    server: EmulatorServer, body: Any, headers: dict[str, str], path: str = "/v1/messages"
) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", json=body, headers=headers, timeout=30)


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"]["type"], body["error"]["message"]


# Claude Code --------------------------------------------------------------------------------------------


def test_the_captured_claude_code_request_is_answered(server: EmulatorServer) -> None:
    body = claude_code_body()
    assert body["stream"] is True
    assert body["context_management"] == {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
    assert [message["role"] for message in body["messages"]] == ["user", "system"]
    streamed = post(server, body, CLAUDE_CODE_HEADERS, "/v1/messages?beta=true")
    assert streamed.status_code == 200, streamed.text
    assert streamed.headers["content-type"].startswith("text/event-stream")
    frames = events(streamed)
    assert frames[0]["message"]["model"] == "claude-opus-4-8"
    assert frames[0]["message"]["context_management"] is None
    (delta,) = [frame for frame in frames if frame["type"] == "message_delta"]
    assert delta["context_management"] == {"applied_edits": []}
    assert frames[-1] == {"type": "message_stop"}
    assert server.emulator.requests[-1].unknown_fields == ()
    plain = post(server, {**body, "stream": False}, CLAUDE_CODE_HEADERS, "/v1/messages?beta=true")
    assert plain.status_code == 200, plain.text
    message = BetaMessage.model_validate(plain.json())
    assert message.context_management is not None
    assert message.context_management.applied_edits == []
    assert [block.type for block in message.content] == ["thinking", "text"]


def test_without_its_betas_the_request_is_refused_as_the_api_refuses_it(server: EmulatorServer) -> None:
    """What the real API answers when a proxy drops `anthropic-beta` (quoted in public reports)."""
    headers = {key: value for key, value in CLAUDE_CODE_HEADERS.items() if key != "anthropic-beta"}
    refused = post(server, claude_code_body(), headers)
    assert error_of(refused) == (
        400,
        "invalid_request_error",
        "context_management: Extra inputs are not permitted",
    )
    only_claude_code = {**headers, "anthropic-beta": "claude-code-20250219"}
    assert post(server, claude_code_body(), only_claude_code).status_code == 400


def test_the_claude_code_request_through_the_sdk_beta_client(client: anthropic.Anthropic) -> None:
    body = claude_code_body()
    options: dict[str, Any] = {
        key: body[key]
        for key in (
            "model",
            "max_tokens",
            "messages",
            "system",
            "tools",
            "metadata",
            "thinking",
            "output_config",
        )
    }
    # Claude Code streams; the SDK will not send 64000 `max_tokens` without streaming.
    message = client.beta.messages.create(
        **{**options, "max_tokens": 16_000},
        betas=CLAUDE_CODE_BETAS,
        context_management=body["context_management"],
    )
    assert message.context_management is not None
    assert message.context_management.applied_edits == []
    assert message.stop_reason == "end_turn"
    with client.beta.messages.stream(
        **options, betas=CLAUDE_CODE_BETAS, context_management=body["context_management"]
    ) as stream:
        final = stream.get_final_message()
    assert final.context_management is not None
    assert final.context_management.applied_edits == []
    assert [block.type for block in final.content] == [block.type for block in message.content]
    counted = client.beta.messages.count_tokens(
        model=body["model"],
        messages=body["messages"],
        system=body["system"],
        tools=body["tools"],
        betas=CLAUDE_CODE_BETAS,
        context_management=body["context_management"],
    )
    assert counted.context_management is not None
    assert counted.context_management.original_input_tokens == counted.input_tokens > 10_000


def test_without_context_management_the_answer_has_none(client: anthropic.Anthropic) -> None:
    message = client.beta.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    )
    assert message.context_management is None
    raw = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    )
    assert "context_management" not in raw.http_response.json()


# Everything the SDK can send ----------------------------------------------------------------------------


def _refusals(server: EmulatorServer, requests: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    """The requests (label, path, body) the emulator did not answer 200, with its message."""
    refused = []
    with httpx.Client(base_url=server.url, headers=SAMPLE_HEADERS, timeout=30) as http:
        for label, path, body in requests:
            response = http.post(path, json=body)
            if response.status_code != 200:
                refused.append(f"{label}: {error_of(response)[2]} <- {sdk_samples.describe(body)}")
    return refused


def _base(count: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"model": sdk_samples.SAMPLE_MODEL, "messages": HELLO}
    return body if count else {**body, "max_tokens": 2048}


def test_every_content_block_the_sdk_defines_is_accepted(server: EmulatorServer) -> None:
    """Param types and response models (blocks sent back as returned), in user, assistant and system
    messages, each variant of each union at least once."""
    blocks = sdk_samples.block_variants(BetaUserMessageParam)
    kinds = {block["type"] for block in blocks}
    assert {"tool_result", "mcp_tool_use", "compaction", "fallback", "web_fetch_tool_result"} <= kinds
    assert len(blocks) > 300
    requests = [
        (
            f"block {block['type']}",
            "/v1/messages",
            {**_base(), "messages": sdk_samples.conversation(block, ASSISTANT_ONLY)},
        )
        for block in blocks
    ]
    system_messages = sdk_samples.variants(BetaSystemMessageParam)
    assert {"clear_at", "output_config", "content"} <= set().union(*system_messages)
    requests += [
        ("system message", "/v1/messages", {**_base(), "messages": [*HELLO, message]})
        for message in system_messages
    ]
    assert _refusals(server, requests) == []


@pytest.mark.parametrize(
    ("params", "path"),
    [
        (message_create_params.MessageCreateParamsNonStreaming, "/v1/messages"),
        (message_count_tokens_params.MessageCountTokensParams, "/v1/messages/count_tokens"),
    ],
)
def test_every_top_level_field_and_tool_the_sdk_defines_is_accepted(
    server: EmulatorServer, params: type, path: str
) -> None:
    """Each field of the SDK's beta params alone (all its variants; `tools`: every tool type), with the
    betas that enable `context_management`, `mcp_servers` and the object form of `fallback_credit_token`."""
    count = path.endswith("count_tokens")
    fields = [name for name in sdk_samples.fields_of(params) if name not in HEADER_PARAMS]
    assert {"context_management", "mcp_servers", "compaction", "thinking", "tools"} <= set(fields)
    requests = []
    for name in fields:
        if name in ("model", "messages", "max_tokens"):
            continue
        for value in sdk_samples.field_variants(params, name):
            extra = {"tools": [LOOKUP]} if name == "tool_choice" else {}
            requests.append((name, path, {**_base(count), **extra, name: value}))
    tools = [value for label, _, body in requests if label == "tools" for value in body["tools"]]
    assert len({tool.get("type") for tool in tools}) > 25  # every server tool type, and custom tools
    assert _refusals(server, requests) == []


# The new fields, accepted and refused -------------------------------------------------------------------

WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search"}
MCP_SERVER = {"type": "url", "url": "https://mcp.example.com/sse", "name": "example"}
CACHED = {"type": "ephemeral"}
SYSTEM_TURN = {"role": "system", "content": "Be brief.", "clear_at": "next_user_message"}


def _call(block: dict[str, Any]) -> list[dict[str, Any]]:
    return [*HELLO, {"role": "assistant", "content": [block]}, {"role": "user", "content": "Go on"}]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        # context_management (its beta is sent)
        (
            {
                "context_management": {
                    "edits": [
                        {
                            "type": "clear_tool_uses_20250919",
                            "trigger": {"type": "input_tokens", "value": 30000},
                            "keep": {"type": "tool_uses", "value": 3},
                            "clear_at_least": {"type": "input_tokens", "value": 5000},
                            "exclude_tools": ["web_search"],
                            "clear_tool_inputs": False,
                        },
                        {"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": 2}},
                    ]
                }
            },
            None,
        ),
        (
            {"context_management": {"edits": [{"type": "compact_20260112", "pause_after_compaction": True}]}},
            None,
        ),
        ({"context_management": None}, None),
        (
            {"context_management": "on"},
            "context_management: Input should be a valid dictionary or object to extract fields from",
        ),
        (
            {
                "context_management": {
                    "edits": [
                        {"type": "clear_tool_uses_20250919", "keep": {"type": "tool_uses", "value": "3"}}
                    ]
                }
            },
            "context_management.edits.0.clear_tool_uses_20250919.keep.tool_uses.value: "
            "Input should be a valid integer",
        ),
        (
            {"context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "some"}]}},
            "context_management.edits.0.clear_thinking_20251015.keep: Input should be 'all'",
        ),
        (
            {"context_management": {"edits": [{"type": "forget_everything"}]}},
            "context_management.edits.0: Input tag 'forget_everything' found using 'type' does not match "
            "any of the expected tags: 'clear_tool_uses_20250919', 'clear_thinking_20251015', "
            "'compact_20260112'",
        ),
        (
            {
                "context_management": {
                    "edits": [{"type": "clear_tool_uses_20250919", "clear_tool_inputs": "all"}]
                }
            },
            "context_management.edits.0.clear_tool_uses_20250919.clear_tool_inputs: "
            "Input should be a valid list",
        ),
        # container, mcp_servers, fallbacks, fallback credit, thread, billing, compaction, diagnostics
        ({"container": "container_011CZ"}, None),
        ({"container": {"skills": [{"type": "anthropic", "skill_id": "pptx", "version": "latest"}]}}, None),
        ({"container": 5}, "container: Input should be a valid dictionary or object to extract fields from"),
        (
            {"container": {"skills": [{"type": "builtin", "skill_id": "pptx"}]}},
            "container.skills.0: Input tag 'builtin' found using 'type' does not match any of the "
            "expected tags: 'anthropic', 'custom'",
        ),
        (
            {"mcp_servers": [MCP_SERVER], "tools": [{"type": "mcp_toolset", "mcp_server_name": "example"}]},
            None,
        ),
        ({"mcp_servers": [{"type": "url", "name": "example"}]}, "mcp_servers.0.url: Field required"),
        ({"mcp_servers": [{**MCP_SERVER, "type": "sse"}]}, "mcp_servers.0.type: Input should be 'url'"),
        ({"fallbacks": "default"}, None),
        (
            {
                "fallbacks": [
                    {"model": "claude-sonnet-4-6", "max_tokens": 1024, "thinking": {"type": "adaptive"}}
                ]
            },
            None,
        ),
        ({"fallbacks": "all"}, "fallbacks: Input should be 'default'"),
        (
            {"fallbacks": [{"model": "claude-sonnet-4-6", "temperature": 0}]},
            "fallbacks.0.temperature: Extra inputs are not permitted",
        ),
        ({"fallback_credit_token": "fct_1"}, None),
        ({"fallback_credit_token": {"token": "fct_1", "mode": "best_effort"}}, None),
        (
            {"fallback_credit_token": "fct_1", "fallbacks": "default"},
            "fallback_credit_token: cannot be combined with `fallbacks`",
        ),
        ({"thread": {"type": "create"}}, None),
        ({"thread": {"type": "continue"}}, "thread.continue.previous_message_id: Field required"),
        ({"billing_policy": {"type": "billing_policy", "bill_to": "self"}}, None),
        (
            {"billing_policy": {"type": "billing_policy", "bill_to": "them"}},
            "billing_policy.bill_to: Input should be 'self' or 'user_profile'",
        ),
        ({"compaction": {"type": "summarize", "instructions": "Keep the file names."}}, None),
        (
            {"compaction": {"type": "summarize", "instructions": 3}},
            "compaction.instructions: Input should be a valid string",
        ),
        (
            {"compaction": {"type": "summarize"}, "context_management": {"edits": []}},
            "compaction: cannot be combined with `context_management`",
        ),
        ({"diagnostics": {"previous_message_id": "msg_01"}}, None),
        (
            {"diagnostics": {"previous_message_id": 1}},
            "diagnostics.previous_message_id: Input should be a valid string",
        ),
        # output_config, thinking
        ({"output_config": {"effort": "xhigh", "task_budget": {"type": "tokens", "total": 50000}}}, None),
        (
            {"output_config": {"task_budget": {"type": "tokens"}}},
            "output_config.task_budget.total: Field required",
        ),
        ({"thinking": {"type": "between_tools"}}, None),
        (
            {
                "thinking": {
                    "type": "adaptive",
                    "display": "updates",
                    "block_binding": {"prefix_mismatch_behavior": "drop_block"},
                }
            },
            None,
        ),
        (
            {"thinking": {"type": "between_tools", "budget_tokens": 2048}},
            "thinking.between_tools.budget_tokens: Extra inputs are not permitted",
        ),
        (
            {"thinking": {"type": "adaptive", "display": "full"}},
            "thinking.adaptive.display: Input should be 'summarized', 'omitted' or 'updates'",
        ),
        # server tools
        (
            {
                "tools": [
                    {**WEB_SEARCH, "max_uses": 5, "user_location": {"type": "approximate", "city": "Paris"}}
                ]
            },
            None,
        ),
        (
            {
                "tools": [
                    {
                        "type": "web_fetch_20260318",
                        "name": "web_fetch",
                        "use_cache": False,
                        "response_inclusion": "excluded",
                    }
                ]
            },
            None,
        ),
        (
            {
                "tools": [
                    {"type": "memory_20250818", "name": "memory"},
                    {"type": "tool_search_tool_regex", "name": "tool_search_tool_regex"},
                ]
            },
            None,
        ),
        (
            {"tools": [{**WEB_SEARCH, "max_uses": "5"}]},
            "tools.0.web_search_20250305.max_uses: Input should be a valid integer",
        ),
        (
            {"tools": [{**WEB_SEARCH, "name": "search"}]},
            "tools.0.web_search_20250305.name: Input should be 'web_search'",
        ),
        (
            {"tools": [{"type": "memory_20250818", "name": "memory", "path": "/memories"}]},
            "tools.0.memory_20250818.path: Extra inputs are not permitted",
        ),
        ({"tools": [{"type": "mcp_toolset"}]}, "tools.0.mcp_toolset.mcp_server_name: Field required"),
        (
            {"tools": [{**LOOKUP, "defer_loading": "yes"}]},
            "tools.0.custom.defer_loading: Input should be a valid boolean",
        ),
        # messages: system turns, server-tool and compaction blocks
        ({"messages": [*HELLO, SYSTEM_TURN]}, None),
        ({"messages": [*HELLO, {"role": "system", "output_config": {"effort": "low"}}]}, None),
        (
            {"messages": [*HELLO, {"role": "system"}]},
            "messages.1: a `system` message needs `content` or `output_config` fields",
        ),
        (
            {"messages": [*HELLO, {**SYSTEM_TURN, "clear_at": "later"}]},
            "messages.1.clear_at: Input should be 'next_user_message' or 'never'",
        ),
        (
            {"messages": [{**HELLO[0], "clear_at": "never"}]},
            "messages.0.clear_at: Extra inputs are not permitted",
        ),
        ({"messages": _call({"type": "compaction", "content": "Summary.", "cache_control": CACHED})}, None),
        (
            {"messages": _call({"type": "compaction", "content": ""})},
            "messages.1.content.0.compaction.content: String should have at least 1 character",
        ),
        (
            {"messages": _call({"type": "mcp_tool_use", "id": "mcptoolu_1", "name": "search", "input": {}})},
            "messages.1.content.0.mcp_tool_use.server_name: Field required",
        ),
        (
            {
                "messages": _call(
                    {
                        "type": "web_search_tool_result",
                        "tool_use_id": "srvtoolu_1",
                        "content": {"type": "web_search_tool_result_error", "error_code": "broken"},
                    }
                )
            },
            "messages.1.content.0.web_search_tool_result.content.web_search_tool_result_error."
            "error_code: Input should be 'invalid_tool_input', 'unavailable', 'max_uses_exceeded', "
            "'too_many_requests', 'query_too_long' or 'request_too_large'",
        ),
        (
            {
                "messages": [
                    *HELLO,
                    {
                        "role": "assistant",
                        "content": [
                            {
                                "type": "tool_use",
                                "id": "toolu_1",
                                "name": "lookup",
                                "input": {},
                                "caller": {"type": "code_execution_20250825"},
                            }
                        ],
                    },
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1"}]},
                ]
            },
            "messages.1.content.0.tool_use.caller.code_execution_20250825.tool_id: Field required",
        ),
        (
            {
                "messages": [
                    *HELLO,
                    {
                        "role": "system",
                        "content": [
                            {
                                "type": "tool_addition",
                                "tool": {
                                    "type": "tool_definition",
                                    "definition": {"name": "bad name", "input_schema": {"type": "object"}},
                                },
                            }
                        ],
                    },
                ]
            },
            "messages.1.content.0.tool_addition.tool.tool_definition.definition.custom.name: "
            "String should match pattern '^[a-zA-Z0-9_-]{1,128}$'",
        ),
    ],
)
def test_new_fields_accepted_or_refused(
    server: EmulatorServer, fields: dict[str, Any], message: str | None
) -> None:
    body = {**_base(), **fields}
    response = post(server, body, SAMPLE_HEADERS)
    if message is None:
        assert response.status_code == 200, response.text
    else:
        assert error_of(response) == (400, "invalid_request_error", message)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"context_management": {"edits": []}}, "context_management: Extra inputs are not permitted"),
        ({"mcp_servers": [MCP_SERVER]}, "mcp_servers: Extra inputs are not permitted"),
        (
            {"fallback_credit_token": {"token": "fct_1"}},
            "fallback_credit_token: Input should be a valid string",
        ),
        ({"fallback_credit_token": "fct_1"}, None),
        ({"compaction": {"type": "summarize"}}, None),
    ],
)
def test_beta_fields_without_their_beta(
    server: EmulatorServer, fields: dict[str, Any], message: str | None
) -> None:
    """`context_management` and `mcp_servers` need their beta; the object form of `fallback_credit_token`
    needs `fallback-credit-2026-07-01` (its bare string does not); the rest is accepted without one."""
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    response = post(server, {**_base(), **fields}, headers)
    if message is None:
        assert response.status_code == 200, response.text
    else:
        assert error_of(response) == (400, "invalid_request_error", message)
    for beta in ("compact-2026-01-12", "context-management-2025-06-27"):
        with_beta = {**headers, "anthropic-beta": beta}
        assert post(server, {**_base(), "context_management": {"edits": []}}, with_beta).status_code == 200
