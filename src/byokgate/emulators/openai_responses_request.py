"""OpenAI's Responses API (`POST /v1/responses`): the request body checked as the real API checks it.

Every field is checked strictly, as the real API does: an unknown top-level or nested field is a 400
`unknown_parameter` ("Unknown parameter: 'text.foo'."), a wrong type a 400 `invalid_type`, a value outside
its enum a 400 `invalid_value`. The input items are checked by `openai_responses_input`; what depends on
the model (reasoning settings, sampling parameters) is checked once the model is known
(`openai_responses.ResponsesApi`). Texts follow real error bodies where known; the rarer ones are marked
(unverified).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from byokgate.emulators.profile import ApiError
from byokgate.emulators.validation import invalid_type, invalid_value, missing

# CreateResponse's properties in the vendored spec, plus the SDK's (3.63) newer ones.
CREATE_FIELDS = frozenset(
    [
        "access_programs",
        "background",
        "background_options",
        "client_metadata",  # not in the spec, sent by Codex CLI on every request and accepted by the API
        "context_management",
        "conversation",
        "image",
        "include",
        "input",
        "instructions",
        "max_output_tokens",
        "max_tool_calls",
        "metadata",
        "model",
        "moderation",
        "parallel_tool_calls",
        "previous_response_id",
        "prompt",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "reasoning",
        "safety_identifier",
        "service_tier",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "text",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "truncation",
        "user",
    ]
)
INCLUDABLE = (
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
)
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
SUMMARIES = ("auto", "concise", "detailed")
SERVICE_TIERS = ("auto", "default", "flex", "scale", "priority", "fast", "ultrafast")
TOOL_CHOICE_MODES = ("none", "auto", "required")
# Built-in (hosted) tool types: accepted, echoed in `tools`, never called by the emulated model.
HOSTED_TOOLS = (
    "file_search",
    "web_search",
    "web_search_preview",
    "web_search_2025_08_26",
    "web_search_preview_2025_03_11",
    "computer",
    "computer_use_preview",
    "code_interpreter",
    "image_generation",
    "local_shell",
    "shell",
    "apply_patch",
    "mcp",
    "custom",
    "namespace",
    "tool_search",
)
TOOL_TYPES = ("function", *HOSTED_TOOLS)
FUNCTION_FIELDS = frozenset(
    {
        "type",
        "name",
        "description",
        "parameters",
        "strict",
        "allowed_callers",
        "async",
        "defer_loading",
        "output_schema",
    }
)
FORMAT_TYPES = ("text", "json_object", "json_schema")
JSON_WORD = (
    "Response input messages must contain the word 'json' in some form to use 'text.format' of type "
    "'json_object'."
)
METADATA_KEYS = 16


@dataclass(slots=True)
class CreateRequest:
    """A checked `POST /v1/responses` body: what the emulator acts on, and what the response echoes."""

    model: str
    input: list[Any]  # the input items as sent (a string input as one user message)
    instructions: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)  # as echoed by the response
    functions: list[dict[str, Any]] = field(default_factory=list)  # chat-style `tools` for `chat.answer`
    tool_choice: Any = "auto"  # as echoed
    chat_tool_choice: Any = None  # for `chat.answer`
    parallel_tool_calls: bool = True
    text: dict[str, Any] = field(default_factory=dict)  # as echoed
    response_schema: dict[str, Any] | None = None  # JSON mode: the answer follows this schema
    json_object: bool = False  # `text.format` `json_object`: the input must mention JSON
    reasoning: dict[str, Any] | None = None  # as sent
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_logprobs: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    store: bool = True
    background: bool = False
    previous_response_id: str | None = None
    stream: bool = False
    obfuscate: bool = True
    include: tuple[str, ...] = ()
    truncation: str = "disabled"
    service_tier: str | None = None
    echoed: dict[str, Any] = field(default_factory=dict)  # further fields echoed as sent (user, prompt...)


def unknown_parameter(param: str) -> ApiError:
    return ApiError(400, f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")


def check_fields(value: Mapping[str, Any], allowed: frozenset[str] | set[str], prefix: str) -> None:
    """A 400 for the first key of `value` that `allowed` does not hold (`prefix` names `value`)."""
    for key in value:
        if key not in allowed:
            raise unknown_parameter(f"{prefix}.{key}" if prefix else key)


def _object(body: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_type(name, "an object", value)
    return value


def _string(value: Any, param: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_type(param, "a string", value)
    return value


def _boolean(value: Any, param: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid_type(param, "a boolean", value)
    return value


def check_number(value: Any, param: str, low: float, high: float | None, *, integer: bool) -> Any:
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


def _enum(value: Any, param: str, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_type(param, "a string", value)
    if value not in allowed:
        raise invalid_value(param, value, allowed)
    return value


def _metadata(body: Mapping[str, Any]) -> dict[str, str]:
    metadata = _object(body, "metadata") or {}
    if len(metadata) > METADATA_KEYS:
        message = (
            f"Invalid 'metadata': too many properties. Expected an object with at most {METADATA_KEYS} "
            f"properties, but got an object with {len(metadata)} properties instead."
        )
        raise ApiError(400, message, param="metadata", code="object_above_max_properties")
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise invalid_type(f"metadata.{key}", "a string", value)
        if len(key) > 64 or len(value) > 512:  # (unverified) wording of the two length errors
            what, limit, size = ("key", 64, len(key)) if len(key) > 64 else ("value", 512, len(value))
            message = (
                f"Invalid 'metadata.{key}': string too long. Expected a {what} with maximum length {limit}, "
                f"but got a {what} with length {size} instead."
            )
            raise ApiError(400, message, param=f"metadata.{key}", code="string_above_max_length")
    return dict(metadata)


def _function_tool(index: int, tool: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A function tool as the response echoes it, and as `chat.answer` reads it."""
    prefix = f"tools[{index}]"
    check_fields(tool, FUNCTION_FIELDS, prefix)
    name = tool.get("name")
    if name is None:
        raise missing(f"{prefix}.name")
    if not isinstance(name, str):
        raise invalid_type(f"{prefix}.name", "a string", name)
    parameters = tool.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise invalid_type(f"{prefix}.parameters", "an object", parameters)
    description = _string(tool.get("description"), f"{prefix}.description")
    strict = _boolean(tool.get("strict"), f"{prefix}.strict", True)
    echoed = {
        "type": "function",
        "description": description,
        "name": name,
        "parameters": parameters,
        "strict": strict,
    }
    function = {"name": name, "description": description, "parameters": parameters or {}}
    return echoed, {"type": "function", "function": function}


def _tools(body: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tools = body.get("tools")
    if tools is None:
        return [], []
    if not isinstance(tools, list):
        raise invalid_type("tools", "an array", tools)
    echoed: list[dict[str, Any]] = []
    functions: list[dict[str, Any]] = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise invalid_type(f"tools[{index}]", "an object", tool)
        kind = tool.get("type")
        if kind is None:
            raise missing(f"tools[{index}].type")
        if kind not in TOOL_TYPES:
            raise invalid_value(f"tools[{index}].type", kind, TOOL_TYPES)
        if kind == "function":
            shown, function = _function_tool(index, tool)
            echoed.append(shown)
            functions.append(function)
        else:
            echoed.append(dict(tool))
    return echoed, functions


def _tool_choice(body: Mapping[str, Any], functions: list[dict[str, Any]]) -> tuple[Any, Any]:
    """`tool_choice` as echoed (default "auto") and as `chat.answer` reads it."""
    choice = body.get("tool_choice")
    if choice is None:
        return "auto", None
    if isinstance(choice, str):
        _enum(choice, "tool_choice", TOOL_CHOICE_MODES)
        return choice, choice
    if not isinstance(choice, dict):
        raise invalid_type("tool_choice", "one of a string or an object", choice)
    kind = choice.get("type")
    if kind is None:
        raise missing("tool_choice.type")
    if kind == "function":
        check_fields(choice, {"type", "name"}, "tool_choice")
        name = choice.get("name")
        if not isinstance(name, str):
            raise (
                missing("tool_choice.name")
                if name is None
                else invalid_type("tool_choice.name", "a string", name)
            )
        if name not in {function["function"]["name"] for function in functions}:
            # (unverified) the real API's wording for a function that `tools` does not define
            text = "Tool choice 'function' not found in 'tools' parameter."
            raise ApiError(400, text, param="tool_choice")
        return {"type": "function", "name": name}, {"type": "function", "function": {"name": name}}
    if kind == "allowed_tools":
        mode = _enum(choice.get("mode"), "tool_choice.mode", ("auto", "required")) or "auto"
        allowed = choice.get("tools")
        if not isinstance(allowed, list):
            raise (
                missing("tool_choice.tools")
                if allowed is None
                else invalid_type("tool_choice.tools", "an array", allowed)
            )
        return dict(choice), mode
    if kind in HOSTED_TOOLS or kind in ("file_search", "web_search_preview", "programmatic_tool_calling"):
        return dict(choice), "none"  # a hosted tool: the emulated model answers text
    raise invalid_value("tool_choice.type", kind, ("function", "allowed_tools", *HOSTED_TOOLS))


def _text(body: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None, bool]:
    """`text` as echoed, the JSON schema the answer follows (or None), and whether it is `json_object`."""
    text = _object(body, "text") or {}
    check_fields(text, {"format", "verbosity"}, "text")
    verbosity = _enum(text.get("verbosity"), "text.verbosity", ("low", "medium", "high")) or "medium"
    shape = text.get("format")
    if shape is None:
        return {"format": {"type": "text"}, "verbosity": verbosity}, None, False
    if not isinstance(shape, dict):
        raise invalid_type("text.format", "an object", shape)
    kind = shape.get("type")
    if kind is None:
        raise missing("text.format.type")
    _enum(kind, "text.format.type", FORMAT_TYPES)
    if kind != "json_schema":
        check_fields(shape, {"type"}, "text.format")
        schema = {"type": "object"} if kind == "json_object" else None
        return {"format": {"type": kind}, "verbosity": verbosity}, schema, kind == "json_object"
    check_fields(shape, {"type", "name", "schema", "description", "strict"}, "text.format")
    name = shape.get("name")
    if not isinstance(name, str):
        raise (
            missing("text.format.name")
            if name is None
            else invalid_type("text.format.name", "a string", name)
        )
    schema = shape.get("schema")
    if not isinstance(schema, dict):
        raise (
            missing("text.format.schema")
            if schema is None
            else invalid_type("text.format.schema", "an object", schema)
        )
    echoed = {
        "type": "json_schema",
        "description": _string(shape.get("description"), "text.format.description"),
        "name": name,
        "schema": schema,
        "strict": _boolean(shape.get("strict"), "text.format.strict", False),
    }
    return {"format": echoed, "verbosity": verbosity}, schema, False


def _reasoning(body: Mapping[str, Any]) -> dict[str, Any] | None:
    reasoning = _object(body, "reasoning")
    if reasoning is None:
        return None
    check_fields(reasoning, {"effort", "summary", "generate_summary", "context", "mode"}, "reasoning")
    _enum(reasoning.get("effort"), "reasoning.effort", EFFORTS)
    _enum(reasoning.get("summary"), "reasoning.summary", SUMMARIES)
    _enum(reasoning.get("generate_summary"), "reasoning.generate_summary", SUMMARIES)
    return reasoning


def _include(body: Mapping[str, Any]) -> tuple[str, ...]:
    include = body.get("include")
    if include is None:
        return ()
    if not isinstance(include, list):
        raise invalid_type("include", "an array", include)
    for index, value in enumerate(include):
        _enum(value, f"include[{index}]", INCLUDABLE)
    return tuple(include)


def _input(body: Mapping[str, Any]) -> list[Any]:
    value = body.get("input")
    if value is None:
        if body.get("prompt") is None and body.get("previous_response_id") is None:
            raise missing("input")
        return []
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if not isinstance(value, list):
        raise invalid_type("input", "one of a string or an array of input items", value)
    return value


def _stream(body: Mapping[str, Any]) -> tuple[bool, bool]:
    """`stream`, and whether stream deltas carry `obfuscation` (`stream_options.include_obfuscation`)."""
    stream = _boolean(body.get("stream"), "stream", False)
    options = _object(body, "stream_options")
    if options is None:
        return stream, True
    if not stream:
        text = "The 'stream_options' parameter is only allowed when 'stream' is enabled."
        raise ApiError(400, text, param="stream_options")
    check_fields(options, {"include_obfuscation"}, "stream_options")
    return stream, _boolean(options.get("include_obfuscation"), "stream_options.include_obfuscation", True)


def validate_create(body: Any) -> CreateRequest:
    """Check a `POST /v1/responses` body (a dict); raise `ApiError` like the real API."""
    for key in body:
        if key not in CREATE_FIELDS:
            raise unknown_parameter(key)
    model = body.get("model")
    if model is None:
        raise missing("model")
    if not isinstance(model, str):
        raise invalid_type("model", "a string", model)
    items = _input(body)
    instructions = _string(body.get("instructions"), "instructions")
    tools, functions = _tools(body)
    echoed_choice, chat_choice = _tool_choice(body, functions)
    if isinstance(echoed_choice, dict) and echoed_choice.get("type") == "allowed_tools":
        allowed = {tool.get("name") for tool in echoed_choice["tools"] if isinstance(tool, dict)}
        functions = [function for function in functions if function["function"]["name"] in allowed]
    text, schema, json_object = _text(body)
    stream, obfuscate = _stream(body)
    previous = _string(body.get("previous_response_id"), "previous_response_id")
    conversation = body.get("conversation")
    if conversation is not None and previous is not None:
        text_ = (
            "Mutually exclusive parameters: Ensure you are only providing one of: 'previous_response_id' or "
            "'conversation'."
        )
        raise ApiError(400, text_, param="conversation", code="mutually_exclusive_parameters")
    echoed = {
        name: _string(body.get(name), name) for name in ("user", "safety_identifier", "prompt_cache_key")
    }
    echoed["prompt_cache_retention"] = _enum(
        body.get("prompt_cache_retention"), "prompt_cache_retention", ("in_memory", "24h")
    )
    if body.get("prompt") is not None:
        echoed["prompt"] = body["prompt"]
    request = CreateRequest(
        model=model,
        input=items,
        instructions=instructions,
        tools=tools,
        functions=functions,
        tool_choice=echoed_choice,
        chat_tool_choice=chat_choice,
        parallel_tool_calls=_boolean(body.get("parallel_tool_calls"), "parallel_tool_calls", True),
        text=text,
        response_schema=schema,
        json_object=json_object,
        reasoning=_reasoning(body),
        max_output_tokens=check_number(
            body.get("max_output_tokens"), "max_output_tokens", 16, None, integer=True
        ),
        max_tool_calls=check_number(body.get("max_tool_calls"), "max_tool_calls", 1, None, integer=True),
        temperature=check_number(body.get("temperature"), "temperature", 0, 2, integer=False),
        top_p=check_number(body.get("top_p"), "top_p", 0, 1, integer=False),
        top_logprobs=check_number(body.get("top_logprobs"), "top_logprobs", 0, 20, integer=True),
        metadata=_metadata(body),
        store=_boolean(body.get("store"), "store", True),
        background=_boolean(body.get("background"), "background", False),
        previous_response_id=previous,
        stream=stream,
        obfuscate=obfuscate,
        include=_include(body),
        truncation=_enum(body.get("truncation"), "truncation", ("auto", "disabled")) or "disabled",
        service_tier=_enum(body.get("service_tier"), "service_tier", SERVICE_TIERS),
        echoed=echoed,
    )
    if request.background and not request.store:
        # (unverified) wording; background responses must be stored to be polled
        raise ApiError(400, "Background mode requires 'store' to be true.", param="background")
    return request


def conversation_id(body: Mapping[str, Any]) -> str | None:
    """The conversation a request names (`conversation`: an id, or an object with one), if any."""
    value = body.get("conversation")
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        check_fields(value, {"id"}, "conversation")
        return str(value["id"])
    raise invalid_type("conversation", "one of a string or an object", value)
