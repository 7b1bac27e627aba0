"""Request validation in the way OpenAI's API words it (status 400, `param` naming the field, `code`).

Messages follow real OpenAI error bodies where known; the rarer ones are plausible reconstructions
(unverified). Other OpenAI-format providers reuse these and render them in their own error shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from byokgate.emulators.profile import ApiError

ROLES = ("system", "assistant", "user", "function", "tool", "developer")
PART_TYPES = {
    "system": ("text",),
    "developer": ("text",),
    "tool": ("text",),
    "assistant": ("text", "refusal"),
    "user": ("text", "image_url", "input_audio", "file"),
}
# Top-level fields of CreateChatCompletionRequest in the vendored OpenAI spec.
CHAT_FIELDS = frozenset(
    [
        "model",
        "messages",
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "metadata",
        "modalities",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_retention",
        "prompt_cache_options",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
        "verbosity",
        "web_search_options",
        "moderation",
    ]
)
EMBEDDING_FIELDS = frozenset({"model", "input", "encoding_format", "dimensions", "user"})
INVALID_INPUT = (
    "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."
)


@dataclass(slots=True)
class ChatOptions:
    """A validated chat request, reduced to what the emulator acts on."""

    model: str
    messages: list[dict[str, Any]]
    stream: bool = False
    include_usage: bool = False
    include_obfuscation: bool = True
    max_tokens: int | None = None
    n: int = 1
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = None
    parallel_tool_calls: bool = True
    response_schema: dict[str, Any] | None = None  # JSON mode: the answer is JSON following this schema


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def invalid_type(param: str, expected: str, value: Any) -> ApiError:
    message = f"Invalid type for '{param}': expected {expected}, but got {_kind(value)} instead."
    return ApiError(400, message, param=param, code="invalid_type")


def missing(param: str) -> ApiError:
    return ApiError(
        400, f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
    )


def empty_array(param: str) -> ApiError:
    message = (
        f"Invalid '{param}': empty array. "
        "Expected an array with minimum length 1, but got an empty array instead."
    )
    return ApiError(400, message, param=param, code="empty_array")


def invalid_value(param: str, value: Any, allowed: tuple[str, ...]) -> ApiError:
    quoted = [f"'{item}'" for item in allowed]
    listed = ", ".join(quoted[:-1]) + f", and {quoted[-1]}" if len(quoted) > 2 else " and ".join(quoted)
    message = f"Invalid value: '{value}'. Supported values are: {listed}."
    return ApiError(400, message, param=param, code="invalid_value")


def _number(body: Mapping[str, Any], name: str, low: float, high: float | None, *, integer: bool) -> Any:
    return check_number(body.get(name), name, low, high, integer=integer)


def check_number(value: Any, param: str, low: float, high: float | None, *, integer: bool) -> Any:
    """A number within [low, high] (None passes), or the API's 400 naming ``param``."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integer and not isinstance(value, int))
    ):
        raise invalid_type(param, "an integer" if integer else "a decimal", value)
    word = "integer" if integer else "decimal"
    if value < low or (high is not None and value > high):
        side, bound, sign = ("below minimum", low, ">=") if value < low else ("above maximum", high, "<=")
        message = (
            f"Invalid '{param}': {word} {side} value. "
            f"Expected a value {sign} {bound:g}, but got {value} instead."
        )
        code = f"{word}_{'below_min' if value < low else 'above_max'}_value"
        raise ApiError(400, message, param=param, code=code)
    return value


def _boolean(body: Mapping[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid_type(name, "a boolean", value)
    return value


def _check_content(index: int, message: Mapping[str, Any], role: str) -> None:
    param = f"messages[{index}].content"
    content = message.get("content")
    if content is None:
        if role == "assistant" and (message.get("tool_calls") or message.get("function_call")):
            return
        if "content" not in message or role != "function":
            raise missing(param)
        return
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise invalid_type(param, "one of a string or array of objects", content)
    if not content:
        raise empty_array(param)
    for part_index, part in enumerate(content):
        part_param = f"{param}[{part_index}]"
        if not isinstance(part, dict):
            raise invalid_type(part_param, "an object", part)
        part_type = part.get("type")
        if part_type is None:
            raise missing(f"{part_param}.type")
        allowed = PART_TYPES.get(role, ("text",))
        if part_type not in allowed:
            raise invalid_value(f"{part_param}.type", part_type, allowed)
        if part_type == "text" and not isinstance(part.get("text"), str):
            raise (
                missing(f"{part_param}.text")
                if "text" not in part
                else invalid_type(f"{part_param}.text", "a string", part.get("text"))
            )


def _check_tool_sequence(messages: list[dict[str, Any]]) -> None:
    pending: set[str] = set()
    pending_index = -1
    for index, message in enumerate(messages):
        role = message["role"]
        if role == "tool":
            if not pending and pending_index < 0:
                text = (  # sic: OpenAI's spelling
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                    "with 'tool_calls'."
                )
                raise ApiError(400, text, param=f"messages.[{index}].role")
            call_id = message.get("tool_call_id")
            if call_id not in pending:
                text = (
                    f"Invalid parameter: 'tool_call_id' of '{call_id}' not found in 'tool_calls' of "
                    "previous message."
                )
                raise ApiError(400, text, param=f"messages.[{index}].tool_call_id")
            pending.discard(call_id)
            continue
        if pending:
            ids = ", ".join(sorted(pending))
            text = (
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                f"'tool_call_id'. The following tool_call_ids did not have response messages: {ids}"
            )
            raise ApiError(400, text, param=f"messages.[{pending_index}].role")
        pending_index = -1
        calls = message.get("tool_calls") if role == "assistant" else None
        if isinstance(calls, list) and calls:
            pending = {str(call.get("id")) for call in calls if isinstance(call, dict)}
            pending_index = index


def _check_messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "messages" not in body or body["messages"] is None:
        raise missing("messages")
    messages = body["messages"]
    if not isinstance(messages, list):
        raise invalid_type("messages", "an array", messages)
    if not messages:
        raise empty_array("messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise invalid_type(f"messages[{index}]", "an object", message)
        role = message.get("role")
        if role is None:
            raise missing(f"messages[{index}].role")
        if role not in ROLES:
            raise invalid_value(f"messages[{index}].role", role, ROLES)
        _check_content(index, message, role)
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            raise missing(f"messages[{index}].tool_call_id")
    _check_tool_sequence(messages)
    return messages


def _check_tools(body: Mapping[str, Any]) -> tuple[list[dict[str, Any]], Any]:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if tools is None:
        if choice is not None and choice != "none":
            text = (
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified."
            )
            raise ApiError(400, text, param="tool_choice")
        return [], choice
    if not isinstance(tools, list):
        raise invalid_type("tools", "an array", tools)
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise invalid_type(f"tools[{index}]", "an object", tool)
        if tool.get("type") not in ("function", "custom"):
            raise invalid_value(f"tools[{index}].type", tool.get("type"), ("function", "custom"))
        function = tool.get(tool["type"])
        if not isinstance(function, dict):
            raise missing(f"tools[{index}].{tool['type']}")
        if not isinstance(function.get("name"), str):
            raise missing(f"tools[{index}].{tool['type']}.name")
    if isinstance(choice, str) and choice not in ("none", "auto", "required"):
        raise invalid_value("tool_choice", choice, ("none", "auto", "required"))
    if isinstance(choice, dict):
        named = (choice.get("function") or {}).get("name") if choice.get("type") == "function" else None
        names = {(tool.get("function") or {}).get("name") for tool in tools}
        if named is not None and named not in names:
            text = (
                f"Invalid value for 'tool_choice': no function named '{named}' was specified in the "
                "'tools' parameter."
            )
            raise ApiError(400, text, param="tool_choice")
    return tools, choice


def validate_chat(body: Mapping[str, Any], default_model: str | None) -> ChatOptions:
    """Check a chat-completions body; raise `ApiError` like the real API, return the options."""
    model = body.get("model", default_model)
    if model is None:
        raise ApiError(400, "you must provide a model parameter")
    if not isinstance(model, str):
        raise invalid_type("model", "a string", model)
    messages = _check_messages(body)
    stream = _boolean(body, "stream", False)
    options = body.get("stream_options")
    if options is not None:
        if not stream:
            raise ApiError(
                400,
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                param="stream_options",
            )
        if not isinstance(options, dict):
            raise invalid_type("stream_options", "an object", options)
    for name, low, high in (
        ("temperature", 0, 2),
        ("top_p", 0, 1),
        ("frequency_penalty", -2, 2),
        ("presence_penalty", -2, 2),
    ):
        _number(body, name, low, high, integer=False)
    n = _number(body, "n", 1, 128, integer=True)
    _number(body, "top_logprobs", 0, 20, integer=True)
    max_tokens = _number(body, "max_completion_tokens", 1, None, integer=True)
    legacy_max = _number(body, "max_tokens", 1, None, integer=True)
    stop = body.get("stop")
    if stop is not None and not isinstance(stop, str) and not (isinstance(stop, list) and len(stop) <= 4):
        raise invalid_type("stop", "one of a string or array of at most 4 strings", stop)
    tools, choice = _check_tools(body)
    options = options or {}
    return ChatOptions(
        model=model,
        messages=messages,
        stream=stream,
        include_usage=bool(options.get("include_usage")),
        include_obfuscation=options.get("include_obfuscation", True) is not False,
        max_tokens=max_tokens if max_tokens is not None else legacy_max,
        n=n or 1,
        tools=tools,
        tool_choice=choice,
        parallel_tool_calls=_boolean(body, "parallel_tool_calls", True),
        response_schema=_response_schema(body.get("response_format")),
    )


def _response_schema(response_format: Any) -> dict[str, Any] | None:
    """JSON mode: ``json_schema`` gives its schema; ``json_object`` means any object."""
    kind = response_format.get("type") if isinstance(response_format, Mapping) else None
    if kind == "json_object":
        return {"type": "object"}
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return dict(schema) if isinstance(schema, Mapping) else {"type": "object"}
    return None


def validate_embeddings(body: Mapping[str, Any]) -> tuple[str, list[str | list[int]], str, int | None]:
    """Check an embeddings body; return (model, inputs, encoding_format, dimensions)."""
    model = body.get("model")
    if model is None:
        raise ApiError(400, "you must provide a model parameter")
    if not isinstance(model, str):
        raise invalid_type("model", "a string", model)
    if "input" not in body:
        raise missing("input")
    raw = body["input"]
    inputs: list[str | list[int]]
    if isinstance(raw, str):
        inputs = [raw]
    elif (
        isinstance(raw, list)
        and raw
        and all(isinstance(item, int) and not isinstance(item, bool) for item in raw)
    ):
        inputs = [list(raw)]
    elif isinstance(raw, list) and raw and len(raw) <= 2048:
        inputs = list(raw)
    else:
        raise ApiError(400, INVALID_INPUT)
    for item in inputs:
        valid_tokens = (
            isinstance(item, list)
            and item
            and all(isinstance(t, int) and not isinstance(t, bool) for t in item)
        )
        if not (isinstance(item, str) and item) and not valid_tokens:
            raise ApiError(400, INVALID_INPUT)
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise invalid_value("encoding_format", encoding, ("float", "base64"))
    dimensions = _number(body, "dimensions", 1, None, integer=True)
    return model, inputs, encoding, dimensions
