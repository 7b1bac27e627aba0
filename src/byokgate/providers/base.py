"""The provider contract: what an adapter declares and what it does.

An adapter declares its configuration as data (default base URL, how its key travels, key prefixes, the
non-secret fields a stored key carries, capabilities, model names, which upstream headers a client may act
on) and translates: a canonical (OpenAI chat-completions) request into its upstream request, and its
answer, stream and errors back. It never does I/O, reads settings or touches the database: the executor
gives it an ``Endpoint`` (the base URL in force and the key's fields) and the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol

from byokgate.domain.secret import Secret
from byokgate.domain.stream import EventStream
from byokgate.domain.upstream import KeyCheckOutcome, NativeCall, UpstreamError, UpstreamRequest

NO_FIELDS: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the provider's API can do through this gateway (the conformance suite runs what is declared)."""

    chat: bool = True
    embeddings: bool = False
    tools: bool = True  # function tools and tool calls
    vision: bool = False  # image parts in user messages
    json_mode: bool = False  # ``response_format`` json_object / json_schema
    stream_usage: bool = True  # a stream carries its usage when asked (``stream_options.include_usage``)
    prefill: bool = False  # the answer continues a final assistant message
    prefill_marker: str | None = None  # a field the prefill message must carry as true (Mistral: "prefix")
    no_prefill: re.Pattern[str] | None = None  # its models that refuse a prefill all the same
    # The rest of the OpenAI API it serves as OpenAI does (``doors/media.py``): completions, images,
    # transcriptions (and translations), speech, moderations.
    endpoints: frozenset[str] = frozenset()

    def prefills(self, model: str) -> bool:
        """Whether ``model`` continues a final assistant message."""
        return self.prefill and (self.no_prefill is None or self.no_prefill.search(model) is None)


@dataclass(frozen=True, slots=True)
class Auth:
    """How a key travels: one header, ``scheme`` + key (``Authorization: Bearer <key>`` by default)."""

    header: str = "authorization"
    scheme: str = "Bearer "

    def headers(self, key: Secret) -> dict[str, str]:
        return {self.header: self.scheme + key.reveal()}


@dataclass(frozen=True, slots=True)
class KeyField:
    """A non-secret field stored with a provider key (e.g. a resource endpoint), checked when it is saved.

    ``kind``: ``url`` (http or https), ``text`` (matching ``pattern`` when given), or ``names`` (an object
    mapping model names to the provider's names for them, e.g. deployments)."""

    name: str
    description: str
    kind: Literal["url", "text", "names"] = "text"
    required: bool = True
    pattern: str | None = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where one call reaches the provider: the base URL in force (the adapter's default, or the operator's
    ``BYOKGATE_<NAME>_BASE_URL``) and the fields stored with the key."""

    base_url: str
    fields: Mapping[str, Any] = field(default_factory=lambda: NO_FIELDS)


@dataclass(frozen=True, slots=True)
class ModelCatalog:
    """Model-name knowledge of one provider, as data (routing reads it; it never names a provider).

    ``models``: known native ids; ``pattern``: native ids not listed yet (new releases); ``vendors``: the
    OpenRouter ``vendor/`` prefixes this provider can serve directly with the rest of the name as the
    native id; ``aliases``: OpenRouter names whose native id differs (``anthropic/claude-3-opus`` ->
    ``claude-3-opus-20240229``); ``native_aliases``: undated native names the provider itself does not
    take (``claude-3-opus`` -> ``claude-3-opus-20240229``).
    """

    models: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    vendors: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    embedding_models: tuple[str, ...] = ()
    native_aliases: Mapping[str, str] = field(default_factory=dict)
    current: tuple[str, ...] = ()  # the ids to move to, newest first (named when a model is gone)
    successors: Mapping[str, str] = field(default_factory=dict)  # a retired id -> the one replacing it

    def serves(self, model: str) -> bool:
        return model in self.models or (self.pattern is not None and self.pattern.match(model) is not None)

    def guidance(self, model: str, title: str) -> str:
        """What to use instead of ``model``, which the provider says it does not serve (retired or
        unknown): its successor when known, and the current models."""
        current = self.current or tuple(m for m in self.models if m not in self.embedding_models)[:4]
        successor = self.successors.get(model)
        advice = f"'{model}' is retired or unknown at {title}."
        if successor is not None:
            advice += f" Use {successor}, which replaced it."
        if current:
            advice += f" Current {title} models: {', '.join(current)}."
        return advice


class ProviderAdapter(Protocol):
    """The whole contract. ``providers/openai_compat.py`` implements it for OpenAI-format APIs; a
    provider of that kind is a subclass that sets the class attributes."""

    @property
    def name(self) -> str:
        """The registry name: provider keys, routes, prices and BYOKGATE_<NAME>_BASE_URL use it."""
        ...

    @property
    def title(self) -> str:
        """Its name for people ("Mistral AI")."""
        ...

    @property
    def telemetry_name(self) -> str:
        """Its ``gen_ai.provider.name`` (``gen_ai.system``) in OpenTelemetry's GenAI conventions; "" when
        that is its registry name."""
        ...

    @property
    def default_base_url(self) -> str:
        """Its API's base URL ("" when every key brings its own endpoint in ``key_fields``)."""
        ...

    @property
    def auth(self) -> Auth:
        """How its keys travel."""
        ...

    @property
    def key_prefixes(self) -> tuple[str, ...]:
        """Known key prefixes, most specific first (masking, wrong-slot hints)."""
        ...

    @property
    def key_fields(self) -> tuple[KeyField, ...]:
        """Non-secret fields a stored key carries."""
        ...

    @property
    def accepts_byok(self) -> bool:
        """Projects may store their own key."""
        ...

    @property
    def pools(self) -> bool:
        """May serve the pooled lane (any vendor/model name, on the platform's key)."""
        ...

    @property
    def catalog(self) -> ModelCatalog: ...

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def passed_headers(self) -> tuple[str, ...]:
        """Upstream response header (prefixes) a client may act on."""
        ...

    @property
    def request_id_headers(self) -> tuple[str, ...]:
        """Where its answers carry the provider's own request id."""
        ...

    @property
    def priced_as(self) -> str | None:
        """Another provider whose prices its models have when it has none of its own (e.g. a cloud's
        deployments of OpenAI's models)."""
        ...

    @property
    def native_apis(self) -> frozenset[str]:
        """Front-door formats it serves untranslated (``NativeApi``)."""
        ...

    @property
    def root_paths(self) -> re.Pattern[str] | None:
        """Paths of its own API the gateway answers at its root, for its SDK pointed at the gateway itself
        (none of them another API's); None: only under ``/<name>/``."""
        ...

    @property
    def admin_paths(self) -> tuple[str, ...]:
        """Path prefixes of its own API that need its admin rights: closed on the native route."""
        ...

    def api_usage(self, answer: dict[str, Any]) -> dict[str, Any]:
        """The usage (canonical terms) an answer of its own API carries, or one event of its streams; {}
        when it carries none (a native route reads what it relays)."""
        ...

    def models_request(self, endpoint: Endpoint, key: Secret) -> UpstreamRequest:
        """A cheap authenticated call that tells whether a key works (``key_check_outcome``)."""
        ...

    def key_check_outcome(self, status: int, body: bytes) -> KeyCheckOutcome: ...

    def chat_request(self, endpoint: Endpoint, key: Secret, payload: dict[str, Any]) -> UpstreamRequest:
        """The upstream request for a canonical chat-completions ``payload`` (``model`` already native).

        Raises ``TranslationError`` when the request cannot be expressed for this provider."""
        ...

    def chat_response(self, body: bytes) -> bytes:
        """A successful upstream answer as a canonical ``chat.completion`` body."""
        ...

    def chat_stream(self, model: str, *, include_usage: bool) -> EventStream:
        """A fresh translator of this provider's stream into canonical chunk events."""
        ...

    def embeddings_request(
        self, endpoint: Endpoint, key: Secret, payload: dict[str, Any]
    ) -> UpstreamRequest: ...

    def embeddings_response(self, body: bytes, payload: dict[str, Any]) -> bytes:
        """A successful embeddings answer as a canonical ``list`` of embeddings."""
        ...

    def usage(self, usage: dict[str, Any]) -> dict[str, Any]:
        """An answer's ``usage`` object in canonical terms (a provider reporting cache hits its own way
        maps them onto ``prompt_tokens_details.cached_tokens`` here, for the cost)."""
        ...

    def parse_error(self, status: int, body: bytes) -> UpstreamError: ...


class NativeApi(Protocol):
    """An adapter serving a front door's wire format itself (``api`` in its ``native_apis``): the request
    goes upstream untranslated and the answer comes back as it is."""

    def native_request(
        self, api: str, endpoint: Endpoint, key: Secret, body: dict[str, Any], call: NativeCall
    ) -> UpstreamRequest: ...

    def native_stream(self, api: str) -> EventStream:
        """The upstream stream relayed as it is, its usage (canonical terms) and end noted on the way."""
        ...

    def native_usage(self, api: str, answer: dict[str, Any]) -> dict[str, Any]:
        """A native answer's usage in canonical terms."""
        ...


def generic_outcome(status: int) -> KeyCheckOutcome:
    if 200 <= status < 300:
        return KeyCheckOutcome.VALID
    if status in (401, 403):
        return KeyCheckOutcome.INVALID
    if status == 429:
        return KeyCheckOutcome.RATE_LIMITED
    return KeyCheckOutcome.UPSTREAM_ERROR


_TYPES_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_type_for(status: int) -> str:
    return _TYPES_BY_STATUS.get(status, "api_error" if status >= 500 else "invalid_request_error")


# How providers word "the prompt does not fit the model's context window" when they give no code for it
# (OpenAI-compatible APIs, Anthropic's "prompt is too long", Gemini's "input token count ... exceeds"), and a
# content-policy refusal (a moderation 403, "violates usage guidelines").
_CONTEXT_OVERFLOW = re.compile(
    r"context.length|context window|prompt is too long|maximum context|input token count"
    r"|exceeds the maximum number of tokens|too many (input )?tokens|reduce the length|maximum prompt length"
    r"|tokens \+ .?max_new_tokens.? must be",
    re.IGNORECASE,
)
_CONTENT_POLICY = re.compile(
    r"content.policy|content.filter|content management policy|usage guidelines|usage policies"
    r"|moderation|flagged|safety system",
    re.IGNORECASE,
)
CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded"
CONTENT_POLICY_VIOLATION = "content_policy_violation"
# Codes providers give content-policy refusals (kept as they are: a client may act on its provider's own).
POLICY_CODES = frozenset({CONTENT_POLICY_VIOLATION, "content_filter", "moderation_blocked", "safety"})


def overflow_code(status: int, message: str, code: str | None) -> str | None:
    """``code``, or OpenAI's code for what the gateway acts on whatever the provider's wording: a 400 that
    says the prompt is too long for the model (``context_length_exceeded``: it fails over to a larger
    window), a 400 or 403 that is a content-policy refusal (``content_policy_violation``: never routed
    around)."""
    if code == CONTEXT_LENGTH_EXCEEDED or code in POLICY_CODES or status not in (400, 403, 413):
        return code
    if status != 403 and _CONTEXT_OVERFLOW.search(message):
        return CONTEXT_LENGTH_EXCEEDED
    if status != 413 and _CONTENT_POLICY.search(message):
        return CONTENT_POLICY_VIOLATION
    return code
