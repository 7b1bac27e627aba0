"""OpenRouter (`https://openrouter.ai/api/v1`): `gen-` ids, `provider` and `native_finish_reason`, usage
with `cost`, keep-alive comments and an always-sent usage chunk in streams, integer error codes, a models
list that is not OpenAI-shaped (public, no key needed), `X-Generation-Id`, and `GET /key`. Faults:
`context_length` is its "This endpoint's maximum context length" 400, `content_filter` the documented
moderation 403 (`metadata`: `reasons`, `flagged_input`, `provider_name`, `model_slug`)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from byokgate.emulators import content
from byokgate.emulators.faults import Fault
from byokgate.emulators.openai_compat import Emulator
from byokgate.emulators.profile import (
    ApiError,
    Exchange,
    Headers,
    ModelInfo,
    Position,
    ProviderProfile,
    random_alnum,
    retry_headers,
)

# slug, name, created, context length, USD per prompt token, per completion token, upstream provider
_CHAT = (
    ("openai/gpt-4o", "OpenAI: GPT-4o", 1715367049, 128000, "0.0000025", "0.00001", "OpenAI"),
    ("openai/gpt-4o-mini", "OpenAI: GPT-4o-mini", 1721260800, 128000, "0.00000015", "0.0000006", "OpenAI"),
    ("openai/o3-mini", "OpenAI: o3 Mini", 1738351721, 200000, "0.0000011", "0.0000044", "OpenAI"),
    (
        "anthropic/claude-sonnet-4",
        "Anthropic: Claude Sonnet 4",
        1747930371,
        200000,
        "0.000003",
        "0.000015",
        "Anthropic",
    ),
    (
        "anthropic/claude-3.5-haiku",
        "Anthropic: Claude 3.5 Haiku",
        1730678400,
        200000,
        "0.0000008",
        "0.000004",
        "Anthropic",
    ),
    (
        "anthropic/claude-3.5-sonnet",
        "Anthropic: Claude 3.5 Sonnet",
        1729555200,
        200000,
        "0.000003",
        "0.000015",
        "Anthropic",
    ),
    (
        "anthropic/claude-3-opus",
        "Anthropic: Claude 3 Opus",
        1709596800,
        200000,
        "0.000015",
        "0.000075",
        "Anthropic",
    ),
    (
        "anthropic/claude-3-haiku",
        "Anthropic: Claude 3 Haiku",
        1710288000,
        200000,
        "0.00000025",
        "0.00000125",
        "Anthropic",
    ),
    (
        "google/gemini-2.0-flash-001",
        "Google: Gemini 2.0 Flash",
        1738769413,
        1048576,
        "0.0000001",
        "0.0000004",
        "Google",
    ),
    (
        "google/gemini-pro-1.5",
        "Google: Gemini 1.5 Pro",
        1712620800,
        2000000,
        "0.00000125",
        "0.000005",
        "Google",
    ),
    (
        "google/gemini-flash-1.5",
        "Google: Gemini 1.5 Flash",
        1715644800,
        1000000,
        "0.000000075",
        "0.0000003",
        "Google",
    ),
    (
        "meta-llama/llama-3.3-70b-instruct",
        "Meta: Llama 3.3 70B Instruct",
        1733506137,
        131072,
        "0.00000012",
        "0.0000003",
        "DeepInfra",
    ),
    (
        "meta-llama/llama-3.1-8b-instruct",
        "Meta: Llama 3.1 8B Instruct",
        1721692800,
        131072,
        "0.00000002",
        "0.00000005",
        "DeepInfra",
    ),
    ("mistralai/mistral-large", "Mistral Large", 1708905600, 128000, "0.000002", "0.000006", "Mistral"),
    (
        "deepseek/deepseek-chat",
        "DeepSeek: DeepSeek V3",
        1735241320,
        163840,
        "0.0000003",
        "0.00000085",
        "DeepSeek",
    ),
)
_EMBEDDING = (
    ("openai/text-embedding-3-small", "OpenAI: Text Embedding 3 Small", 1705948997, 8192, "0.00000002", 1536),
    ("openai/text-embedding-3-large", "OpenAI: Text Embedding 3 Large", 1705953180, 8192, "0.00000013", 3072),
)
MODELS = (
    *(
        ModelInfo(
            slug,
            created,
            slug.split("/")[0],
            extra={
                "name": name,
                "context_length": context,
                "pricing": {"prompt": prompt, "completion": completion, "request": "0", "image": "0"},
                "provider_name": provider,
            },
        )
        for slug, name, created, context, prompt, completion, provider in _CHAT
    ),
    *(
        ModelInfo(
            slug,
            created,
            "openai",
            "embedding",
            dims,
            resizable=True,
            extra={
                "name": name,
                "context_length": context,
                "pricing": {"prompt": prompt, "completion": "0", "request": "0", "image": "0"},
                "provider_name": "OpenAI",
            },
        )
        for slug, name, created, context, prompt, dims in _EMBEDDING
    ),
)
# How each upstream words its finish reasons (`native_finish_reason`); others use OpenAI's words.
_NATIVE = {
    "anthropic": {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"},
    "google": {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP"},
}
PROCESSING = b": OPENROUTER PROCESSING\n\n"
# 5xx texts from the docs' status table (exact wording unverified; 504 is not in the table).
SERVER_ERRORS = {
    500: "Internal Server Error",
    502: "Provider returned error",
    503: "No allowed providers are available for the selected model.",
    504: "Gateway Timeout",
}
# The context-window error as observed in 2026 (earlier wording: `use the "middle-out" transform`).
CONTEXT_LENGTH = (
    "This endpoint's maximum context length is {limit} tokens. However, you requested about {total} tokens "
    "({detail}). Please reduce the length of either one, or use the context-compression plugin to compress "
    "your prompt automatically."
)
FLAGGED_INPUT_CHARS = 100  # the docs: flagged_input is cut to 100 characters, in the middle


def _native(model: ModelInfo, finish: str | None) -> str | None:
    return None if finish is None else _NATIVE.get(model.owned_by, {}).get(finish, finish)


class OpenRouterProfile(ProviderProfile):
    name = "openrouter"
    base_path = "/api/v1"
    catalog = MODELS
    default_model = "openai/gpt-4o-mini"  # "the account default" (ours)
    has_model_retrieve = False
    models_public = True
    always_stream_usage = True
    stream_comment = PROCESSING
    extra_chat_fields = frozenset(
        [
            "models",
            "route",
            "provider",
            "reasoning",
            "plugins",
            "top_k",
            "min_p",
            "top_a",
            "repetition_penalty",
            "cache_control",
            "session_id",
            "trace",
            "debug",
            "image_config",
            "transforms",
            "usage",
            "prompt",
            "include_reasoning",
        ]
    )

    def completion_id(self) -> str:
        return f"gen-{int(time.time())}-{random_alnum(20)}"

    def fingerprint(self, model: ModelInfo) -> str | None:
        return None

    def response_headers(
        self, request_id: str, *, endpoint: str, generation_id: str | None, tokens: int, elapsed_ms: int
    ) -> Headers:
        return [("x-generation-id", generation_id)] if generation_id else []

    def error_headers(self, error: ApiError, request_id: str) -> Headers:
        return list(error.headers.items())

    def error_body(self, error: ApiError) -> dict[str, Any]:
        body: dict[str, Any] = {"code": error.status, "message": error.message}
        if error.metadata is not None:
            body["metadata"] = error.metadata
        return {"error": body}

    def auth_error(self, key: str | None) -> ApiError:
        # The missing-header text is the spec's example; "User not found." for a wrong key is unverified.
        return ApiError(401, "Missing Authentication header" if key is None else "User not found.")

    def model_not_found(self, model: str) -> ApiError:
        # OpenRouter answers an unknown slug with 400, not 404 (observed wording, unverified here).
        return ApiError(400, f"{model} is not a valid model ID")

    def fault_error(self, fault: Fault, model: str | None) -> ApiError:
        if fault.kind == "429":
            wait_s = 1 if fault.retry_after_s is None else fault.retry_after_s
            reset_ms = int(time.time() * 1000) + wait_s * 1000
            headers = {
                **retry_headers(fault),
                "x-ratelimit-limit": "20",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": str(reset_ms),
            }
            metadata = {"error_type": "rate_limit_exceeded", "provider_code": "rate_limited"}
            return ApiError(429, "Rate limit exceeded", headers=headers, metadata=metadata)
        status = int(fault.kind)
        headers = {"retry-after": "1"} if status == 503 else {}
        return ApiError(status, SERVER_ERRORS[status], headers=headers)

    def context_length_error(self, model: ModelInfo, prompt_tokens: int, max_tokens: int | None) -> ApiError:
        limit = self.context_window(model)
        prompt = limit + prompt_tokens
        detail = f"{prompt} of text input" + ("" if max_tokens is None else f", {max_tokens} in the output")
        total = prompt + (max_tokens or 0)
        message = CONTEXT_LENGTH.format(limit=limit, total=total, detail=detail)
        return ApiError(400, message, metadata={"provider_name": None})

    def content_filter_error(self, model: ModelInfo, body: Mapping[str, Any]) -> ApiError:
        """A moderation refusal: 403 with the documented metadata (the message wording is unverified)."""
        text = content.last_user_text(
            [message for message in body.get("messages") or () if isinstance(message, Mapping)]
        )
        if len(text) > FLAGGED_INPUT_CHARS:
            half = (FLAGGED_INPUT_CHARS - 3) // 2
            text = text[:half] + "..." + text[-half:]
        metadata = {
            "reasons": ["violence"],
            "flagged_input": text,
            "provider_name": model.extra.get("provider_name"),
            "model_slug": model.id,
        }
        message = f'{model.id} requires moderation on OpenRouter. Your input was flagged for "violence".'
        return ApiError(403, message, metadata=metadata)

    def check_chat(self, body: Mapping[str, Any]) -> None:
        if body.get("messages") is None and body.get("prompt") is None:
            raise ApiError(400, 'Input required: specify "prompt" or "messages"')

    def message(self, exchange: Exchange) -> dict[str, Any]:
        return {**super().message(exchange), "refusal": None, "reasoning": None}

    def choice(self, exchange: Exchange, index: int) -> dict[str, Any]:
        choice = super().choice(exchange, index)
        choice["native_finish_reason"] = _native(exchange.model, choice["finish_reason"])
        return choice

    def _cost(self, model: ModelInfo, prompt: int, completion: int) -> tuple[float, float]:
        pricing = model.extra["pricing"]
        return prompt * float(pricing["prompt"]), completion * float(pricing["completion"])

    def usage(self, exchange: Exchange) -> dict[str, Any]:
        usage = super().usage(exchange)
        prompt_cost, completion_cost = self._cost(
            exchange.model, usage["prompt_tokens"], usage["completion_tokens"]
        )
        usage.update(
            prompt_tokens_details={"cached_tokens": 0, "cache_write_tokens": 0},
            completion_tokens_details={"reasoning_tokens": 0},
            cost=round(prompt_cost + completion_cost, 12),
            is_byok=False,
            cost_details={
                "upstream_inference_cost": None,
                "upstream_inference_prompt_cost": round(prompt_cost, 12),
                "upstream_inference_completions_cost": round(completion_cost, 12),
            },
        )
        return usage

    def completion(self, exchange: Exchange) -> dict[str, Any]:
        body = super().completion(exchange)
        return {**body, "provider": exchange.model.extra["provider_name"]}

    def stream_choice(
        self, exchange: Exchange, index: int, delta: dict[str, Any], finish: str | None
    ) -> dict[str, Any]:
        native = _native(exchange.model, finish)
        return {"index": index, "delta": delta, "finish_reason": finish, "native_finish_reason": native}

    def chunk(
        self, exchange: Exchange, choices: Sequence[dict[str, Any]], position: Position
    ) -> dict[str, Any]:
        return {
            "id": exchange.completion_id,
            "object": "chat.completion.chunk",
            "created": exchange.created,
            "model": exchange.model.id,
            "provider": exchange.model.extra["provider_name"],
            "choices": list(choices),
        }

    def embeddings(self, model: ModelInfo, data: list[dict[str, Any]], tokens: int) -> dict[str, Any]:
        body = super().embeddings(model, data, tokens)
        body["usage"]["cost"] = round(self._cost(model, tokens, 0)[0], 12)
        return {"id": f"gen-emb-{int(time.time())}-{random_alnum(20)}", **body}

    def model_object(self, model: ModelInfo) -> dict[str, Any]:
        extra = model.extra
        output = "embeddings" if model.kind == "embedding" else "text"
        return {
            "id": model.id,
            "canonical_slug": model.id,
            "hugging_face_id": None,
            "name": extra["name"],
            "created": model.created,
            "description": f"{extra['name']} (emulated).",
            "context_length": extra["context_length"],
            "architecture": {
                "modality": f"text->{output}",
                "input_modalities": ["text"],
                "output_modalities": [output],
                "tokenizer": "Other",
                "instruct_type": None,
            },
            "pricing": extra["pricing"],
            "top_provider": {
                "context_length": extra["context_length"],
                "max_completion_tokens": None,
                "is_moderated": False,
            },
            "per_request_limits": None,
            "supported_parameters": ["max_tokens", "temperature", "top_p", "stop", "tools", "tool_choice"],
            "default_parameters": None,
            "knowledge_cutoff": None,
            "expiration_date": None,
            "links": {"details": f"/api/v1/models/{model.id}/endpoints"},
        }

    def _listing(self, kind: str) -> dict[str, Any]:
        data = [self.model_object(model) for model in self.catalog if model.kind == kind]
        return {"data": data, "total_count": len(data), "links": {"next": None}}

    def models_list(self, query: Mapping[str, str]) -> dict[str, Any]:
        return self._listing("chat")

    def extra_routes(self) -> Mapping[str, str]:
        return {"/key": "key_info", "/embeddings/models": "embedding_models"}

    def key_info(self, key: str | None) -> dict[str, Any]:
        label = f"{key[:12]}...{key[-3:]}" if key else None
        return {
            "data": {
                "label": label,
                "limit": None,
                "usage": 0,
                "limit_remaining": None,
                "is_free_tier": False,
                "is_provisioning_key": False,
            }
        }

    def embedding_models(self, key: str | None) -> dict[str, Any]:
        return self._listing("embedding")


def openrouter_emulator(
    keys: Iterable[str] = (), *, accept_any_key: bool = False, **options: Any
) -> Emulator:
    """An OpenRouter emulator (clients use `<root>/api/v1` as their base URL)."""
    return Emulator(OpenRouterProfile(), keys=keys, accept_any_key=accept_any_key, **options)
