"""The provider contract of the emulators: what differs between OpenAI-format providers.

`ProviderProfile` renders the plain OpenAI chat-completions wire format; each provider module subclasses
it and overrides only what its API does differently (paths, ids, headers, error shapes, extras). The
engine (`openai_compat.Emulator`) never names a provider.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson

from byokgate.emulators.faults import Fault

if TYPE_CHECKING:
    from byokgate.emulators.openai_audio import TranscriptionRules

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
Position = Literal["first", "middle", "finish"]
# What a model is for: the endpoint that serves it (`Emulator._model` refuses a model of another kind).
ModelKind = Literal["chat", "embedding", "completion", "image", "transcription", "speech", "moderation"]
Headers = list[tuple[str, str]]
JSON_TYPE = "application/json"
DEFAULT_CONTEXT_WINDOW = 128_000  # quoted for models whose catalog entry gives no window
# OpenAI's refusal of a prompt its safety system rejects (the wording of its `content_policy_violation`
# errors, as the images API sends them; chat models may instead answer 400 `invalid_prompt`).
CONTENT_POLICY = (
    "Your request was rejected as a result of our safety system. Your prompt may contain text that is not "
    "allowed by our safety system."
)


def retry_headers(fault: Fault) -> dict[str, str]:
    """`retry-after` for a 429 fault, unless it is armed without one (`retry_after_s=None`)."""
    return {} if fault.retry_after_s is None else {"retry-after": str(fault.retry_after_s)}


def random_alnum(length: int) -> str:
    """Random letters and digits (ids need to be unique, not secret)."""
    return "".join(_ALNUM[byte % 62] for byte in os.urandom(length))


class ApiError(Exception):
    """An error answer, described in OpenAI's terms; each profile renders it in its provider's shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        payload: bytes | None = None,
        content_type: str = JSON_TYPE,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})
        self.metadata = dict(metadata) if metadata is not None else None
        # A body already rendered in the provider's own shape (sent as is, e.g. an HTML 401 page).
        self.payload = payload
        self.content_type = content_type


@dataclass(frozen=True, slots=True)
class Resolved:
    """Where a request path leads: the path below the API's base path (e.g. `/chat/completions`) and the
    model the path itself names, for APIs that carry it in the URL rather than the body."""

    relative: str
    model: str | None = None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model a provider serves. `kind` names the endpoint serving it (`ModelKind`); `dimensions` is set
    for embedding models (their default size); `extra` holds provider-specific listing fields (pricing,
    context window, upstream name...)."""

    id: str
    created: int
    owned_by: str
    kind: ModelKind = "chat"
    dimensions: int = 0
    resizable: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ChatAnswer:
    """What the model "decided" to answer, independent of the wire format."""

    content: str | None
    tool_calls: list[dict[str, Any]]
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int  # for one choice
    n: int = 1


@dataclass(slots=True)
class Exchange:
    """One chat request being answered: the ids and options every rendered object shares."""

    profile: ProviderProfile
    model: ModelInfo
    answer: ChatAnswer
    request_id: str
    completion_id: str
    created: int = field(default_factory=lambda: int(time.time()))
    include_usage: bool = False
    obfuscate: bool = False
    body: Mapping[str, Any] = field(default_factory=dict)  # the request as sent

    @property
    def usage(self) -> dict[str, Any]:
        return self.profile.usage(self)


class ProviderProfile:
    """OpenAI-format defaults; subclasses (or a data-driven profile's `__init__`) set the attributes and
    override the hooks they need."""

    name: str = "openai-compatible"
    base_path: str = "/v1"
    extra_base_paths: tuple[str, ...] = ()  # further prefixes serving the same routes (e.g. "" and "/v1")
    catalog: tuple[ModelInfo, ...] = ()
    default_model: str | None = None  # used when a request omits `model` (else 400)
    has_embeddings: bool = True
    has_models_list: bool = True  # GET <base>/models
    has_model_retrieve: bool = True  # GET <base>/models/{id}
    has_responses: bool = False  # the Responses API (`openai_responses`): POST <base>/responses...
    # OpenAI's further endpoints (`openai_endpoints`): legacy completions, images, text to speech,
    # moderations; audio transcriptions and translations when `transcription_rules` says how.
    has_completions: bool = False  # POST <base>/completions
    has_images: bool = False  # POST <base>/images/{generations,edits,variations}
    has_speech: bool = False  # POST <base>/audio/speech
    has_moderations: bool = False  # POST <base>/moderations
    transcription_rules: TranscriptionRules | None = None  # POST <base>/audio/{transcriptions,translations}
    models_public: bool = False  # the models list answers without a key
    always_stream_usage: bool = False
    obfuscation: bool = False
    stream_comment: bytes | None = None  # an SSE comment line sent before the first event
    stream_done: bool = True  # the stream ends with `data: [DONE]`
    extra_chat_fields: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self._models = {model.id: model for model in self.catalog}

    def model(self, model_id: str) -> ModelInfo | None:
        return self._models.get(model_id)

    # routing and keys ------------------------------------------------------------------------------
    def resolve(self, method: str, path: str, query: Mapping[str, str]) -> Resolved | None:
        """The route a request path addresses, or None when it is not under this API's base path(s).
        May raise `ApiError` for a path the API answers with an error of its own."""
        for base in sorted((self.base_path, *self.extra_base_paths), key=len, reverse=True):
            if path.startswith(base + "/"):
                return Resolved(path[len(base) :])
        return None

    def api_key(self, headers: Mapping[str, str], resolved: Resolved) -> str | None:
        """The key a request carries, as this API reads it (None: no key given)."""
        value = headers.get("authorization", "")
        return value[7:].strip() if value[:7].lower() == "bearer " else None

    # ids -------------------------------------------------------------------------------------------
    def completion_id(self) -> str:
        return "chatcmpl-" + random_alnum(29)

    def tool_call_id(self) -> str:
        return "call_" + random_alnum(24)

    def request_id(self) -> str:
        return "req_" + os.urandom(16).hex()

    def fingerprint(self, model: ModelInfo) -> str | None:
        return "fp_" + format(sum(model.id.encode()) * 2654435761 % 16**10, "010x")

    # headers ---------------------------------------------------------------------------------------
    def response_headers(
        self, request_id: str, *, endpoint: str, generation_id: str | None, tokens: int, elapsed_ms: int
    ) -> Headers:
        """Headers of a successful answer (`endpoint`: chat, embeddings, models, extra, or an endpoint name of
        `openai_endpoints.ROUTES`)."""
        return [("x-request-id", request_id)]

    def error_headers(self, error: ApiError, request_id: str) -> Headers:
        return [("x-request-id", request_id), *error.headers.items()]

    # errors ----------------------------------------------------------------------------------------
    def error_body(self, error: ApiError) -> dict[str, Any]:
        body = {"message": error.message, "type": error.type, "param": error.param, "code": error.code}
        return {"error": body}

    def auth_error(self, key: str | None) -> ApiError:
        return ApiError(401, "Invalid API key", code="invalid_api_key")

    def model_not_found(self, model: str) -> ApiError:
        message = f"The model `{model}` does not exist or you do not have access to it."
        return ApiError(404, message, code="model_not_found")

    def retrieve_not_found(self, model: str) -> ApiError:
        return ApiError(404, f"The model '{model}' does not exist", param="model", code="model_not_found")

    def wrong_kind(self, model_id: str, kind: str) -> ApiError:
        """A known model asked for the other endpoint (an embedding model for chat, or the reverse)."""
        return self.model_not_found(model_id)

    def error_response(self, error: ApiError) -> tuple[int, bytes, str]:
        """Status, body and content type of an error answer."""
        if error.payload is not None:
            return error.status, error.payload, error.content_type
        return error.status, orjson.dumps(self.error_body(error)), JSON_TYPE

    def fault_error(self, fault: Fault, model: str | None) -> ApiError:
        """The error of an error-status fault (429, 5xx)."""
        if fault.kind == "429":
            message = f"Rate limit reached for {model or 'requests'}."
            if fault.retry_after_s is not None:
                message += f" Please try again in {fault.retry_after_s}s."
            headers = retry_headers(fault)
            return ApiError(429, message, type="requests", code="rate_limit_exceeded", headers=headers)
        return ApiError(
            int(fault.kind), "The server had an error while processing your request.", type="server_error"
        )

    def context_window(self, model: ModelInfo) -> int:
        """The model's context window, from its catalog entry (else `DEFAULT_CONTEXT_WINDOW`)."""
        for key in ("context_length", "context_window"):
            value = model.extra.get(key)
            if isinstance(value, int):
                return value
        return DEFAULT_CONTEXT_WINDOW

    def context_length_error(self, model: ModelInfo, prompt_tokens: int, max_tokens: int | None) -> ApiError:
        """The `context_length` fault: the prompt is taken to be `window + prompt_tokens` tokens long."""
        limit = self.context_window(model)
        message = (
            f"This model's maximum context length is {limit} tokens. However, your messages resulted in "
            f"{limit + prompt_tokens} tokens. Please reduce the length of the messages."
        )
        return ApiError(400, message, param="messages", code="context_length_exceeded")

    def content_filter_error(self, model: ModelInfo, body: Mapping[str, Any]) -> ApiError:
        """The `content_filter` fault: the provider's refusal of the prompt."""
        return ApiError(400, CONTENT_POLICY, code="content_policy_violation")

    def check_chat(self, body: Mapping[str, Any]) -> None:
        """Provider-specific rejections, run before the shared validation."""

    def chat_view(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """The request as the shared validation should read it (e.g. a provider's own `tool_choice`
        value mapped to OpenAI's); the recorded request stays as sent."""
        return body

    def check_embeddings(self, body: Mapping[str, Any]) -> None:
        """Provider-specific rejections of an embeddings request, run before the shared validation."""

    # chat rendering --------------------------------------------------------------------------------
    def message(self, exchange: Exchange) -> dict[str, Any]:
        answer = exchange.answer
        message: dict[str, Any] = {"role": "assistant", "content": answer.content}
        if answer.tool_calls:
            message["tool_calls"] = answer.tool_calls
        return message

    def choice(self, exchange: Exchange, index: int) -> dict[str, Any]:
        finish = exchange.answer.finish_reason
        return {"index": index, "message": self.message(exchange), "logprobs": None, "finish_reason": finish}

    def usage(self, exchange: Exchange) -> dict[str, Any]:
        answer = exchange.answer
        completion = answer.completion_tokens * answer.n
        total = answer.prompt_tokens + completion
        return {"prompt_tokens": answer.prompt_tokens, "completion_tokens": completion, "total_tokens": total}

    def completion(self, exchange: Exchange) -> dict[str, Any]:
        return {
            "id": exchange.completion_id,
            "object": "chat.completion",
            "created": exchange.created,
            "model": exchange.model.id,
            "choices": [self.choice(exchange, index) for index in range(exchange.answer.n)],
            "usage": self.usage(exchange),
            "system_fingerprint": self.fingerprint(exchange.model),
        }

    def stream_choice(
        self, exchange: Exchange, index: int, delta: dict[str, Any], finish: str | None
    ) -> dict[str, Any]:
        return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}

    def chunk(
        self, exchange: Exchange, choices: Sequence[dict[str, Any]], position: Position
    ) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": exchange.completion_id,
            "object": "chat.completion.chunk",
            "created": exchange.created,
            "model": exchange.model.id,
            "system_fingerprint": self.fingerprint(exchange.model),
            "choices": list(choices),
        }
        if exchange.include_usage:
            chunk["usage"] = None
        return chunk

    def stream_chunks(self, exchange: Exchange) -> Iterator[dict[str, Any]]:
        """The chunk objects of a streamed answer, in order (default: the OpenAI sequence)."""
        from byokgate.emulators.chat import stream_chunks  # deferred: chat imports this module

        return stream_chunks(exchange)

    def usage_chunk(self, exchange: Exchange) -> dict[str, Any]:
        chunk = self.chunk(exchange, [], "finish")
        chunk["usage"] = exchange.usage
        return chunk

    def first_delta(self, exchange: Exchange) -> dict[str, Any]:
        content = None if exchange.answer.tool_calls else ""
        return {"role": "assistant", "content": content}

    # embeddings ------------------------------------------------------------------------------------
    def embeddings(self, model: ModelInfo, data: list[dict[str, Any]], tokens: int) -> dict[str, Any]:
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return {"object": "list", "data": data, "model": model.id, "usage": usage}

    # models ----------------------------------------------------------------------------------------
    def model_object(self, model: ModelInfo) -> dict[str, Any]:
        return {"id": model.id, "object": "model", "created": model.created, "owned_by": model.owned_by}

    def models_list(self, query: Mapping[str, str]) -> dict[str, Any]:
        return {"object": "list", "data": [self.model_object(model) for model in self.catalog]}

    def extra_routes(self) -> Mapping[str, str]:
        """Further GET paths under the base path (relative, e.g. `/key`) -> the name of a method
        taking the bearer key and returning a JSON body."""
        return {}
