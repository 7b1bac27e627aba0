"""Request validation for `POST /v1/messages` and `/v1/messages/count_tokens`, as strict as the real API.

Unknown top-level fields are 400 `<field>: Extra inputs are not permitted`; under `anthropic-version:
2026-10-21` that includes `temperature`, `top_p` and `top_k`, even at their defaults (the wording is the
third-party report quoted by the reference). Choices where the reference is silent (unverified):
- the first message may be an `assistant` message (the first-party API accepts it since late 2024);
- `system`-role messages inside `messages` are accepted only by models that support them (Opus 4.8, 5.x);
- models from Claude 4.6 on reject a final `assistant` message (prefill), and from 4.7 on accept only the
  default sampling values (`temperature`/`top_p` 1, no `top_k`) under `2023-06-01`;
- `max_tokens` 0 is valid (prompt-cache pre-warming); `max_tokens` above the model's limit is a 400;
- `workspace_id` / `user_profile_id` are headers for the SDK, so they are unknown body fields here;
- `system` messages may carry `clear_at` and `output_config` (and then need no `content`), text and
  mid-conversation tool changes; `clear_at` is not emulated (the message always shows).
The beta options (`context_management`, `mcp_servers`, `fallbacks`, ...) and the betas that enable body
fields: `anthropic_options`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Literal

from byokgate.emulators import anthropic_tools as tools_
from byokgate.emulators.anthropic_blocks import VERSION_2026, blocks_of, check_content, text_blocks
from byokgate.emulators.anthropic_models import ClaudeModel, not_found, resolve
from byokgate.emulators.anthropic_options import SYSTEM_MESSAGE_OUTPUT, check_options, enabled_fields
from byokgate.emulators.anthropic_schema import (
    as_bool,
    as_dict,
    as_int,
    as_list,
    as_number,
    as_str,
    cache_control,
    fields,
    invalid,
    join,
    one_of,
)
from byokgate.emulators.anthropic_spec import Lit, Null

VERSIONS = ("2023-06-01", VERSION_2026)
Endpoint = Literal["messages", "count_tokens"]
COUNT_FIELDS = frozenset(
    {
        "model",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "thinking",
        "cache_control",
        "output_config",
        "speed",
        "billing_policy",
        "compaction",
    }
)
CREATE_FIELDS = COUNT_FIELDS | {
    "max_tokens",
    "stream",
    "stop_sequences",
    "metadata",
    "service_tier",
    "container",
    "diagnostics",
    "inference_geo",
    "output_format",  # accepted "for a transition period" (third-party report, unverified)
    "fallbacks",
    "fallback_credit_token",
    "thread",
}
SAMPLING = ("temperature", "top_p", "top_k")
SYSTEM_MESSAGE_FIELDS = ("role", "content", "clear_at", "output_config")
CLEAR_AT = Null(Lit(("next_user_message", "never")))
MAX_MESSAGES = 100_000
MAX_BREAKPOINTS = 4


@dataclass(slots=True)
class MessagesRequest:
    """A validated request, reduced to what the emulator acts on."""

    model: ClaudeModel
    messages: list[dict[str, Any]]
    system: Any = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: dict[str, Any] = field(default_factory=lambda: {"type": "auto"})
    max_tokens: int = 0
    stop_sequences: list[str] = field(default_factory=list)
    stream: bool = False
    thinking: dict[str, Any] | None = None
    cache_control: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None  # structured outputs: the text is JSON following it
    context_management: dict[str, Any] | None = None  # accepted, never applied


def _messages(value: Any, version: str) -> list[dict[str, Any]]:
    messages = as_list(value, "messages")
    if not messages:
        raise invalid("messages: at least one message is required")
    if len(messages) > MAX_MESSAGES:
        raise invalid(f"messages: too many messages, the maximum is {MAX_MESSAGES}")
    for index, item in enumerate(messages):
        path = join("messages", index)
        message = as_dict(item, path)
        if message.get("role") == "system":
            _system_message(message, path, version)
            continue
        fields(message, path, ("role", "content"), ("role", "content"))
        role = one_of(message["role"], join(path, "role"), ("user", "assistant", "system"))
        check_content(message["content"], join(path, "content"), role, version)
    return messages


def _system_message(message: dict[str, Any], path: str, version: str) -> None:
    fields(message, path, SYSTEM_MESSAGE_FIELDS, ("role",))
    CLEAR_AT.check(message.get("clear_at"), join(path, "clear_at"))
    output = message.get("output_config")
    Null(SYSTEM_MESSAGE_OUTPUT).check(output, join(path, "output_config"))
    if "content" in message:
        check_content(message["content"], join(path, "content"), "system", version)
    elif not output:
        raise invalid(f"{path}: a `system` message needs `content` or `output_config` fields")


def _turns(messages: list[dict[str, Any]]) -> list[tuple[str, int, list[tuple[str, dict[str, Any]]]]]:
    """Consecutive same-role messages merged (as the API does): (role, last message index, blocks with
    their `messages.i.content.j` path). `system` messages are left out."""
    turns: list[tuple[str, int, list[tuple[str, dict[str, Any]]]]] = []
    for index, message in enumerate(messages):
        role = message["role"]
        if role == "system":
            continue
        blocks = [(f"messages.{index}.content.{j}", block) for j, block in enumerate(blocks_of(message))]
        if turns and turns[-1][0] == role:
            turns[-1] = (role, index, turns[-1][2] + blocks)
        else:
            turns.append((role, index, blocks))
    return turns


def _ids(blocks: list[tuple[str, dict[str, Any]]], kind: str, key: str) -> list[str]:
    return [str(block[key]) for _, block in blocks if block.get("type") == kind]


def _check_turns(messages: list[dict[str, Any]], model: ClaudeModel) -> None:
    """Roles the model accepts, `tool_use` / `tool_result` pairing, and the final assistant turn."""
    for index, message in enumerate(messages):
        if message["role"] == "system" and not model.system_messages:
            raise invalid(f"messages.{index}.role: role 'system' is not supported on this model")
    turns = _turns(messages)
    for position, (role, last_index, blocks) in enumerate(turns):
        if role == "assistant":
            following = turns[position + 1][2] if position + 1 < len(turns) else []
            answered = set(_ids(following, "tool_result", "tool_use_id"))
            missing = [tool_id for tool_id in _ids(blocks, "tool_use", "id") if tool_id not in answered]
            if missing:
                raise invalid(
                    f"messages.{last_index}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                    "corresponding `tool_result` block in the next message."
                )
            continue
        previous = turns[position - 1][2] if position > 0 else []
        called = set(_ids(previous, "tool_use", "id"))
        for path, block in blocks:
            if block.get("type") == "tool_result" and block["tool_use_id"] not in called:
                tool_id = block["tool_use_id"]
                raise invalid(
                    f"{path}: unexpected `tool_use_id` found in `tool_result` blocks: {tool_id}. "
                    "Each `tool_result` block must have a corresponding `tool_use` block in the previous "
                    "message."
                )
    _check_final(messages, model)


def _check_final(messages: list[dict[str, Any]], model: ClaudeModel) -> None:
    last = messages[-1]
    if last["role"] != "assistant":
        return
    if not model.prefill:
        raise invalid(
            f"Prefilling assistant messages is not supported by {model.id}: "
            "the conversation must end with a user message."
        )
    blocks = blocks_of(last)
    text = blocks[-1].get("text") if blocks and blocks[-1].get("type") == "text" else None
    if isinstance(text, str) and text != text.rstrip():
        raise invalid("messages: final assistant content cannot end with trailing whitespace")


def _sampling(body: dict[str, Any], model: ClaudeModel) -> dict[str, Any]:
    values = {name: body[name] for name in SAMPLING if body.get(name) is not None}
    if "temperature" in values:
        as_number(values["temperature"], "temperature", ge=0, le=1)
    if "top_p" in values:
        as_number(values["top_p"], "top_p", ge=0, le=1)
    if "top_k" in values:
        as_int(values["top_k"], "top_k", ge=0)
    if not model.sampling:
        for name, value in values.items():
            if name == "top_k" or value != 1:
                raise invalid(f"`{name}` is not supported on {model.id}: only the default value is accepted")
    return values


def _breakpoints(body: dict[str, Any], tools: list[dict[str, Any]]) -> None:
    marked = [*tools, *(body["system"] if isinstance(body.get("system"), list) else ())]
    for message in body["messages"]:
        for block in blocks_of(message):
            marked.append(block)
            if block.get("type") == "tool_result" and isinstance(block.get("content"), list):
                marked += [item for item in block["content"] if isinstance(item, dict)]
    found = sum(1 for item in marked if item.get("cache_control") is not None)
    found += body.get("cache_control") is not None
    if found > MAX_BREAKPOINTS:
        raise invalid(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {found}."
        )


def _structured_output(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema the answer must follow (`output_config.format`, or the older `output_format`);
    the shapes were checked with the other options."""
    config = body.get("output_config") or {}
    output = config.get("format") or body.get("output_format")
    return dict(output["schema"]) if output else None


def _options(body: dict[str, Any]) -> None:
    """The fields the emulator accepts but does not act on."""
    if body.get("metadata") is not None:
        metadata = as_dict(body["metadata"], "metadata")
        fields(metadata, "metadata", ("user_id",))
        user_id = metadata.get("user_id")
        if user_id is not None and len(as_str(user_id, "metadata.user_id")) > 256:
            raise invalid("metadata.user_id: String should have at most 256 characters")
    if "service_tier" in body:
        one_of(body["service_tier"], "service_tier", ("auto", "standard_only"))
    if body.get("speed") is not None:
        one_of(body["speed"], "speed", ("standard", "fast"))
    if body.get("inference_geo") is not None:
        as_str(body["inference_geo"], "inference_geo")
    cache_control(body.get("cache_control"), "cache_control")


def _stop_sequences(value: Any) -> list[str]:
    sequences = [
        as_str(item, f"stop_sequences.{i}") for i, item in enumerate(as_list(value, "stop_sequences"))
    ]
    if any(not sequence.strip() for sequence in sequences):
        raise invalid("stop_sequences: each stop sequence must contain non-whitespace")
    return sequences


def allowed_fields(endpoint: Endpoint, version: str, betas: Collection[str] = ()) -> frozenset[str]:
    """The top-level body fields an endpoint accepts under an API version and the request's betas."""
    if endpoint == "count_tokens":
        known = COUNT_FIELDS
    else:
        known = CREATE_FIELDS if version == VERSION_2026 else CREATE_FIELDS | set(SAMPLING)
    return known.union(enabled_fields(betas))


def validate(body: Any, version: str, endpoint: Endpoint, betas: Collection[str] = ()) -> MessagesRequest:
    """Check a request body; raise `ApiError` (400, or 404 for an unknown model) like the real API."""
    body = as_dict(body, "body")
    required = ("model", "messages") if endpoint == "count_tokens" else ("model", "max_tokens", "messages")
    fields(body, "", allowed_fields(endpoint, version, betas), required)
    check_options(body, betas)
    model_id = as_str(body["model"], "model")
    max_tokens = as_int(body["max_tokens"], "max_tokens", ge=0) if endpoint == "messages" else None
    messages = _messages(body["messages"], version)
    if body.get("system") is not None and not isinstance(body["system"], str):
        text_blocks(body["system"], "system", "system")
    stream = as_bool(body["stream"], "stream") if body.get("stream") is not None else False
    stops = _stop_sequences(body["stop_sequences"]) if body.get("stop_sequences") is not None else []
    _options(body)
    output_schema = _structured_output(body)
    tools = tools_.check_tools(body["tools"]) if body.get("tools") is not None else []
    choice = tools_.check_tool_choice(body.get("tool_choice"), tools)
    tools_.check_thinking(body.get("thinking"), None)
    _breakpoints(body, tools)
    model = resolve(model_id)
    if model is None or model.lifecycle == "retired":
        raise not_found(model_id)
    if max_tokens is not None and max_tokens > model.max_tokens:
        raise invalid(
            f"max_tokens: {max_tokens} > {model.max_tokens}, which is the maximum allowed number of output "
            f"tokens for {model.id}"
        )
    sampling = _sampling(body, model)
    thinking = tools_.check_thinking(body.get("thinking"), model)
    if thinking is not None:
        tools_.check_thinking_limits(thinking, choice, max_tokens, sampling)
    _check_turns(messages, model)
    return MessagesRequest(
        model=model,
        messages=messages,
        system=body.get("system"),
        tools=tools,
        tool_choice=choice,
        max_tokens=max_tokens or 0,
        stop_sequences=stops,
        stream=stream,
        thinking=thinking,
        cache_control=body.get("cache_control"),
        output_schema=output_schema,
        context_management=body.get("context_management"),
    )
