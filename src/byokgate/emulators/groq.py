"""Groq (`https://api.groq.com/openai/v1`): OpenAI format with `x_groq`, usage timings, per-day request
limits, errors without `param`, and 400s for the OpenAI features it does not support. The `context_length`
fault is Groq's number-less "Please reduce the length of the messages or completion." (observed 2024)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from byokgate.emulators.faults import Fault
from byokgate.emulators.openai_audio import GROQ_TRANSCRIPTIONS
from byokgate.emulators.openai_compat import Emulator
from byokgate.emulators.profile import (
    ApiError,
    Exchange,
    Headers,
    ModelInfo,
    Position,
    ProviderProfile,
    retry_headers,
)

# id, created, owner, context window, max completion tokens (values plausible, not all verified)
_MODELS = (
    ("llama-3.3-70b-versatile", 1733447754, "Meta", 131072, 32768),
    ("llama-3.1-8b-instant", 1693721698, "Meta", 131072, 131072),
    ("llama3-70b-8192", 1693721698, "Meta", 8192, 8192),
    ("llama3-8b-8192", 1693721698, "Meta", 8192, 8192),
    ("llama2-70b-4096", 1693721698, "Meta", 4096, 4096),
    ("mixtral-8x7b-32768", 1693721698, "Mistral AI", 32768, 32768),
    ("gemma2-9b-it", 1693721698, "Google", 8192, 8192),
    ("meta-llama/llama-4-scout-17b-16e-instruct", 1743874824, "Meta", 131072, 8192),
    ("meta-llama/llama-4-maverick-17b-128e-instruct", 1743877158, "Meta", 131072, 8192),
    ("openai/gpt-oss-120b", 1754408224, "OpenAI", 131072, 65536),
    ("openai/gpt-oss-20b", 1754407957, "OpenAI", 131072, 65536),
    ("qwen/qwen3-32b", 1748396646, "Alibaba Cloud", 131072, 40960),
    ("moonshotai/kimi-k2-instruct", 1752435491, "Moonshot AI", 131072, 16384),
    ("deepseek-r1-distill-llama-70b", 1737924940, "DeepSeek / Meta", 131072, 131072),
)
MODELS = (
    *(
        ModelInfo(
            model_id, created, owner, extra={"context_window": window, "max_completion_tokens": max_out}
        )
        for model_id, created, owner, window, max_out in _MODELS
    ),
    # speech to text (`openai_audio.GROQ_TRANSCRIPTIONS`; listing values plausible, unverified)
    *(
        ModelInfo(
            model_id,
            created,
            "OpenAI",
            "transcription",
            extra={"context_window": 448, "max_completion_tokens": 448},
        )
        for model_id, created in (("whisper-large-v3", 1693721698), ("whisper-large-v3-turbo", 1728413088))
    ),
)
REQUESTS_PER_DAY = 14_400
TOKENS_PER_MINUTE = 300_000
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
UNSUPPORTED = ("logprobs", "logit_bias", "top_logprobs")
# 5xx texts (unverified): Groq's are short HTTP reason phrases.
SERVER_ERRORS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
# Groq's context-window error as seen in 2024 (it quotes no numbers, and carries `param`, unlike others).
CONTEXT_LENGTH = "Please reduce the length of the messages or completion."


def ulid() -> str:
    """A lower-case ULID, the style of Groq's request ids (`req_01jngbvsctfy0bmjw87yea904b`)."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10))
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.2f}s"


class GroqProfile(ProviderProfile):
    name = "groq"
    base_path = "/openai/v1"
    catalog = MODELS
    transcription_rules = GROQ_TRANSCRIPTIONS
    extra_chat_fields = frozenset(
        [
            "reasoning_format",
            "include_reasoning",
            "documents",
            "citation_options",
            "search_settings",
            "compound_custom",
            "disable_tool_validation",
            "include_domains",
            "exclude_domains",
        ]
    )

    def completion_id(self) -> str:
        return f"chatcmpl-{uuid.uuid4()}"  # id style illustrative (unverified)

    def request_id(self) -> str:
        return "req_" + ulid()

    def _limits(self, tokens: int) -> Headers:
        return [
            ("x-ratelimit-limit-requests", str(REQUESTS_PER_DAY)),
            ("x-ratelimit-limit-tokens", str(TOKENS_PER_MINUTE)),
            ("x-ratelimit-remaining-requests", str(REQUESTS_PER_DAY - 1)),
            ("x-ratelimit-remaining-tokens", str(max(TOKENS_PER_MINUTE - tokens, 0))),
            ("x-ratelimit-reset-requests", _duration(86_400 / REQUESTS_PER_DAY)),
            ("x-ratelimit-reset-tokens", _duration(tokens * 60 / TOKENS_PER_MINUTE)),
        ]

    def response_headers(
        self, request_id: str, *, endpoint: str, generation_id: str | None, tokens: int, elapsed_ms: int
    ) -> Headers:
        headers = [("x-request-id", request_id), ("x-groq-region", "us-west-1")]
        return headers + self._limits(tokens) if endpoint in ("chat", "embeddings") else headers

    def error_headers(self, error: ApiError, request_id: str) -> Headers:
        return [("x-request-id", request_id), ("x-groq-region", "us-west-1"), *error.headers.items()]

    def error_body(self, error: ApiError) -> dict[str, Any]:
        body: dict[str, Any] = {"message": error.message, "type": error.type}
        if error.code is not None:
            body["code"] = error.code
        return {"error": body}

    def auth_error(self, key: str | None) -> ApiError:
        return ApiError(401, "Invalid API Key", code="invalid_api_key")

    def retrieve_not_found(self, model: str) -> ApiError:
        return self.model_not_found(model)

    def fault_error(self, fault: Fault, model: str | None) -> ApiError:
        if fault.kind == "429":
            message = (
                f"Rate limit reached for model `{model or 'unknown'}` in organization `org_emulator` "
                f"service tier `on_demand` on tokens per minute (TPM): Limit {TOKENS_PER_MINUTE}, "
                f"Used {TOKENS_PER_MINUTE}, Requested 1. "
                + ("" if fault.retry_after_s is None else f"Please try again in {fault.retry_after_s}s. ")
                + "Visit https://console.groq.com/docs/rate-limits for more information."
            )
            headers = retry_headers(fault)
            return ApiError(429, message, type="tokens", code="rate_limit_exceeded", headers=headers)
        status = int(fault.kind)
        return ApiError(status, SERVER_ERRORS[status], type="internal_server_error")

    def context_length_error(self, model: ModelInfo, prompt_tokens: int, max_tokens: int | None) -> ApiError:
        body = {
            "error": {
                "message": CONTEXT_LENGTH,
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        }
        return ApiError(400, CONTEXT_LENGTH, code="context_length_exceeded", payload=orjson.dumps(body))

    def check_chat(self, body: Mapping[str, Any]) -> None:
        # Documented as rejected with 400; the message wording is ours (unverified).
        for name in UNSUPPORTED:
            if body.get(name) not in (None, False):
                raise ApiError(400, f"'{name}' : property '{name}' is unsupported", param=name)
        n = body.get("n")
        if n is not None and n != 1:
            raise ApiError(400, "'n' : number must be at most 1", param="n")
        messages = body.get("messages")
        for index, message in enumerate(messages if isinstance(messages, list) else ()):
            if isinstance(message, dict) and "name" in message:
                role = message.get("role")
                text = (
                    f"'messages.{index}' : for 'role:{role}' the following must be satisfied"
                    f"[('messages.{index}.name' : property 'name' is unsupported)]"
                )
                raise ApiError(400, text, param=f"messages.{index}.name")

    def usage(self, exchange: Exchange) -> dict[str, Any]:
        usage = super().usage(exchange)
        prompt_time = round(usage["prompt_tokens"] / 50_000, 6)
        completion_time = round(usage["completion_tokens"] / 500, 6)
        return {
            "queue_time": 0.0002,
            "prompt_tokens": usage["prompt_tokens"],
            "prompt_time": prompt_time,
            "completion_tokens": usage["completion_tokens"],
            "completion_time": completion_time,
            "total_tokens": usage["total_tokens"],
            "total_time": round(prompt_time + completion_time, 6),
        }

    def completion(self, exchange: Exchange) -> dict[str, Any]:
        body = super().completion(exchange)
        body["x_groq"] = {"id": exchange.request_id}
        body["service_tier"] = "on_demand"
        return body

    def chunk(
        self, exchange: Exchange, choices: Sequence[dict[str, Any]], position: Position
    ) -> dict[str, Any]:
        chunk = super().chunk(exchange, choices, position)
        chunk.pop("usage", None)  # Groq chunks carry no `usage: null` (unverified)
        if position == "first":
            chunk["x_groq"] = {"id": exchange.request_id}
        elif position == "finish" and choices:
            # Groq's legacy place for stream usage: `x_groq.usage` on the finishing chunk.
            chunk["x_groq"] = {"id": exchange.request_id, "usage": exchange.usage}
        return chunk

    def model_object(self, model: ModelInfo) -> dict[str, Any]:
        return {**super().model_object(model), "active": True, "public_apps": None, **model.extra}


def groq_emulator(keys: Iterable[str] = (), *, accept_any_key: bool = False, **options: Any) -> Emulator:
    """A Groq emulator (clients use `<root>/openai/v1` as their base URL)."""
    return Emulator(GroqProfile(), keys=keys, accept_any_key=accept_any_key, **options)
