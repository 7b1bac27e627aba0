"""OpenAI's Responses API (`POST /v1/responses`): the request body checked as the real API checks it.

Every field is checked strictly, as the real API does: an unknown top-level or nested field is a 400
`unknown_parameter` ("Unknown parameter: 'text.foo'."), a wrong type a 400 `invalid_type`, a value outside
its enum a 400 `invalid_value`. The input items are checked by `openai_responses_input`; what depends on
the model (reasoning settings, sampling parameters) is checked once the model is known
(`openai_responses.ResponsesApi`). Texts follow real error bodies where known; the rarer ones are marked
(unverified). Field checks: `openai_responses_checks`; tools: `openai_responses_tools`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from byokgate.emulators.openai_responses_checks import (
    boolean_field,
    check_fields,
    enum_field,
    object_field,
    string_field,
    unknown_parameter,
)
from byokgate.emulators.openai_responses_tools import check_tool_choice, check_tools
from byokgate.emulators.profile import ApiError
from byokgate.emulators.validation import check_number, invalid_type, missing

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


def _metadata(body: Mapping[str, Any]) -> dict[str, str]:
    metadata = object_field(body, "metadata") or {}
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


def _text(body: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None, bool]:
    """`text` as echoed, the JSON schema the answer follows (or None), and whether it is `json_object`."""
    text = object_field(body, "text") or {}
    check_fields(text, {"format", "verbosity"}, "text")
    verbosity = enum_field(text.get("verbosity"), "text.verbosity", ("low", "medium", "high")) or "medium"
    shape = text.get("format")
    if shape is None:
        return {"format": {"type": "text"}, "verbosity": verbosity}, None, False
    if not isinstance(shape, dict):
        raise invalid_type("text.format", "an object", shape)
    kind = shape.get("type")
    if kind is None:
        raise missing("text.format.type")
    enum_field(kind, "text.format.type", FORMAT_TYPES)
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
        "description": string_field(shape.get("description"), "text.format.description"),
        "name": name,
        "schema": schema,
        "strict": boolean_field(shape.get("strict"), "text.format.strict", False),
    }
    return {"format": echoed, "verbosity": verbosity}, schema, False


def _reasoning(body: Mapping[str, Any]) -> dict[str, Any] | None:
    reasoning = object_field(body, "reasoning")
    if reasoning is None:
        return None
    check_fields(reasoning, {"effort", "summary", "generate_summary", "context", "mode"}, "reasoning")
    enum_field(reasoning.get("effort"), "reasoning.effort", EFFORTS)
    enum_field(reasoning.get("summary"), "reasoning.summary", SUMMARIES)
    enum_field(reasoning.get("generate_summary"), "reasoning.generate_summary", SUMMARIES)
    return reasoning


def _include(body: Mapping[str, Any]) -> tuple[str, ...]:
    include = body.get("include")
    if include is None:
        return ()
    if not isinstance(include, list):
        raise invalid_type("include", "an array", include)
    for index, value in enumerate(include):
        enum_field(value, f"include[{index}]", INCLUDABLE)
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
    stream = boolean_field(body.get("stream"), "stream", False)
    options = object_field(body, "stream_options")
    if options is None:
        return stream, True
    if not stream:
        text = "The 'stream_options' parameter is only allowed when 'stream' is enabled."
        raise ApiError(400, text, param="stream_options")
    check_fields(options, {"include_obfuscation"}, "stream_options")
    return stream, boolean_field(
        options.get("include_obfuscation"), "stream_options.include_obfuscation", True
    )


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
    instructions = string_field(body.get("instructions"), "instructions")
    tools, functions = check_tools(body)
    echoed_choice, chat_choice = check_tool_choice(body, functions)
    if isinstance(echoed_choice, dict) and echoed_choice.get("type") == "allowed_tools":
        allowed = {tool.get("name") for tool in echoed_choice["tools"] if isinstance(tool, dict)}
        functions = [function for function in functions if function["function"]["name"] in allowed]
    text, schema, json_object = _text(body)
    stream, obfuscate = _stream(body)
    previous = string_field(body.get("previous_response_id"), "previous_response_id")
    conversation = body.get("conversation")
    if conversation is not None and previous is not None:
        text_ = (
            "Mutually exclusive parameters: Ensure you are only providing one of: 'previous_response_id' or "
            "'conversation'."
        )
        raise ApiError(400, text_, param="conversation", code="mutually_exclusive_parameters")
    echoed = {
        name: string_field(body.get(name), name) for name in ("user", "safety_identifier", "prompt_cache_key")
    }
    echoed["prompt_cache_retention"] = enum_field(
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
        parallel_tool_calls=boolean_field(body.get("parallel_tool_calls"), "parallel_tool_calls", True),
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
        store=boolean_field(body.get("store"), "store", True),
        background=boolean_field(body.get("background"), "background", False),
        previous_response_id=previous,
        stream=stream,
        obfuscate=obfuscate,
        include=_include(body),
        truncation=enum_field(body.get("truncation"), "truncation", ("auto", "disabled")) or "disabled",
        service_tier=enum_field(body.get("service_tier"), "service_tier", SERVICE_TIERS),
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
