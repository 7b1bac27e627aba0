"""The record that describes one OpenAI-compatible provider, for `compatible.CompatibleProfile` to render.

A provider is data: its paths, model catalog, id styles, error texts and body style, stream shape, usage
fields, the request fields it adds or refuses, and its headers. The behaviours behind the style names
(`ErrorStyle`, `UsageStyle`, ...) live in `compatible_render` and `compatible_stream`; adding a provider
whose API only differs in data means adding one `CompatibleSpec` in `compatible_providers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ErrorStyle = Literal["openai", "openai_with_id", "pydantic", "grpc", "flat", "typed_object", "status_code"]
UsageStyle = Literal["plain", "cache_split", "itemised", "reasoning_count", "timed", "priced_search"]
ListingStyle = Literal["openai", "no_created", "capabilities", "bare_array"]
IdStyle = Literal["chatcmpl_alnum", "chatcmpl_uuid", "uuid", "hex32", "triplet"]
ToolIdStyle = Literal["call_alnum24", "call_hex24", "call_indexed", "alnum9", "hex9"]
UsageDelivery = Literal["on_request", "with_finish", "final_chunk", "every_chunk"]
ToolStreaming = Literal["fragments", "whole", "whole_with_finish"]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model. `rejects` lists request fields this model refuses (answered with
    `ErrorTexts.rejected_field`); `extra` holds listing fields (context window, pricing...)."""

    id: str
    kind: Literal["chat", "embedding"] = "chat"
    tools: bool = True
    vision: bool = False
    reasoning: bool = False  # answers with a reasoning trace (see `Reasoning`)
    reasoning_visible: bool = True  # the trace is returned (else only counted)
    dimensions: int = 0
    resizable: bool = False
    rejects: frozenset[str] = frozenset()
    created: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Failure:
    """One error answer as the provider words it. `message` and `param` may use the placeholders {model},
    {key} (the masked key), {field}, {retry} and {status}. `body` / `html` replace the styled body with a
    fixed one."""

    status: int
    message: str
    type: str | None = None
    code: str | int | None = None
    param: str | None = None
    body: Mapping[str, Any] | None = None
    html: str | None = None


@dataclass(frozen=True, slots=True)
class KeyMask:
    """How an error message quotes a wrong key: its first `head` characters, `fill`, its last `tail`."""

    head: int
    fill: str
    tail: int

    def apply(self, key: str) -> str:
        return key[: self.head] + self.fill + (key[-self.tail :] if self.tail else "")


@dataclass(frozen=True, slots=True)
class ErrorTexts:
    """Every error a gateway may meet. Errors of the shared validation (and malformed JSON) are rendered in
    `style` with `validation_status` in place of 400."""

    style: ErrorStyle
    missing_key: Failure
    wrong_key: Failure
    unknown_model: Failure
    rate_limit: Failure
    server: Mapping[int, Failure]  # 500, 502, 503, 504
    rejected_field: Failure
    unsupported_tools: Failure | None = None  # tools sent to a model without them
    tools_with_response_format: Failure | None = None  # both at once refused
    role_order: Failure | None = None  # user and assistant turns must alternate
    last_role: Failure | None = None  # the last message must be the user's
    context_length: Failure | None = None  # the prompt is over the model's window (None: OpenAI's error)
    content_filter: Failure | None = None  # the prompt is refused by moderation (None: OpenAI's error)
    validation_status: int = 400
    key_mask: KeyMask | None = None


@dataclass(frozen=True, slots=True)
class StreamShape:
    """How the stream is cut into chunks and how it ends."""

    first_delta: Mapping[str, Any] | None = field(
        default_factory=lambda: {"role": "assistant", "content": ""}
    )  # None: no role-only chunk; every delta carries the role
    finish_delta: Mapping[str, Any] = field(default_factory=dict)
    delta_extras: Mapping[str, Any] = field(default_factory=dict)  # fields every delta carries
    choice_extras: Mapping[str, Any] = field(default_factory=dict)  # fields every stream choice carries
    finish_null: bool = True  # unfinished choices carry `finish_reason: null` (else the key is absent)
    logprobs_null: bool = True  # choices carry `logprobs: null`
    usage: UsageDelivery = "on_request"
    usage_null: bool = True  # other chunks carry `usage: null` whenever usage is streamed
    tool_calls: ToolStreaming = "fragments"
    fragment_nulls: bool = False  # continuation fragments repeat `id`/`name` as null, and `type`
    done: bool = True  # ends with `data: [DONE]`
    chunk_object: str = "chat.completion.chunk"
    cumulative: bool = False  # every chunk also carries the whole message so far
    padding_field: str | None = None  # a padding field of random length on content chunks


@dataclass(frozen=True, slots=True)
class Reasoning:
    """Where a reasoning model's trace goes: a message/delta `field`, or inline `<think>` tags when None.
    `switch` names a request field that turns it off with `{"type": "disabled"}` (or on, for models that
    do not reason by default, with `{"type": "enabled"}`)."""

    field: str | None
    in_completion: bool = True  # its tokens are counted inside completion_tokens
    switch: str | None = None


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A pair of rate-limit headers (limit and remaining) for requests or tokens."""

    limit_header: str
    remaining_header: str
    limit: int
    unit: Literal["requests", "tokens"] = "requests"


@dataclass(frozen=True, slots=True)
class CompatibleSpec:
    """One OpenAI-compatible provider's API, as a gateway can observe it."""

    name: str
    base_path: str
    models: tuple[ModelSpec, ...]
    owned_by: str
    errors: ErrorTexts
    extra_base_paths: tuple[str, ...] = ()
    stream: StreamShape = field(default_factory=StreamShape)
    usage: UsageStyle = "plain"
    listing: ListingStyle = "openai"
    reasoning: Reasoning | None = None
    completion_id: IdStyle = "chatcmpl_alnum"
    tool_call_id: ToolIdStyle = "call_alnum24"
    tool_call_type: bool = True  # tool calls carry `"type": "function"`
    tool_call_index: bool = False  # non-streamed tool calls carry their `index`
    tool_calls_when_none: Literal["absent", "null", "empty"] = "absent"
    content_with_tools: str | None = None  # the message content next to tool calls
    fingerprint: str | None = None  # `system_fingerprint` (None: the field is absent)
    refusal_field: bool = False  # messages carry `refusal: null`
    logprobs_null: bool = True  # non-streamed choices carry `logprobs: null`
    completion_extras: Mapping[str, Any] = field(default_factory=dict)  # fixed top-level fields
    choice_extras: Mapping[str, Any] = field(default_factory=dict)  # fixed per-choice fields
    search_results: bool = False  # answers carry `citations` and `search_results` (search_off disables)
    search_off: str | None = None  # the request flag that turns web search off
    tool_choice_aliases: Mapping[str, str] = field(default_factory=dict)  # own values -> OpenAI's
    extra_fields: frozenset[str] = frozenset()  # provider-specific request fields it accepts
    rejected_fields: frozenset[str] = frozenset()  # request fields it refuses (`errors.rejected_field`)
    embedding_rejected_fields: frozenset[str] = frozenset()
    request_id_headers: tuple[str, ...] = ()  # headers carrying the request id
    extra_headers: tuple[tuple[str, str], ...] = ()  # fixed headers on every answer
    rate_limits: tuple[RateLimit, ...] = ()
    has_models_list: bool = True
    context_window: int = 131_072  # the window of models whose catalog entry gives none (`context_length`)

    def model(self, model_id: str) -> ModelSpec | None:
        return next((model for model in self.models if model.id == model_id), None)
