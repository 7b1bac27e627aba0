"""OpenAI (`https://api.openai.com/v1`): the reference format, plus `refusal`/`annotations`, usage details,
`service_tier`, stream `obfuscation`, the `openai-*` and `x-ratelimit-*` headers and OpenAI's error texts
(the context-window and content-policy errors of the faults are `ProviderProfile`'s, with these models'
windows)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from byokgate.emulators.faults import Fault
from byokgate.emulators.openai_audio import OPENAI_TRANSCRIPTIONS, TranscriptionRules
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

# id, created, context window (tokens; the windows OpenAI's model pages give)
_CHAT = (
    ("gpt-4o", 1715367049, 128_000),
    ("gpt-4o-2024-11-20", 1739331543, 128_000),
    ("gpt-4o-2024-08-06", 1722814719, 128_000),
    ("gpt-4o-mini", 1721172741, 128_000),
    ("gpt-4.1", 1744316542, 1_047_576),
    ("gpt-4.1-mini", 1744318173, 1_047_576),
    ("gpt-4.1-nano", 1744321707, 1_047_576),
    ("gpt-4-turbo", 1712361441, 128_000),
    ("gpt-3.5-turbo", 1677610602, 16_385),
    ("o1", 1734375816, 200_000),
    ("o1-mini", 1725649008, 128_000),
    ("o3", 1744225308, 200_000),
    ("o3-mini", 1737146383, 200_000),
    ("o4-mini", 1744225351, 200_000),
    ("gpt-5", 1754425777, 400_000),
    ("gpt-5-mini", 1754425928, 400_000),
    ("gpt-5-nano", 1754426384, 400_000),
)
MODELS = (
    *(
        ModelInfo(model_id, created, "system", extra={"context_window": window})
        for model_id, created, window in _CHAT
    ),
    ModelInfo("text-embedding-3-small", 1705948997, "system", "embedding", 1536, resizable=True),
    ModelInfo("text-embedding-3-large", 1705953180, "system", "embedding", 3072, resizable=True),
    ModelInfo("text-embedding-ada-002", 1671217299, "openai-internal", "embedding", 1536),
    # legacy completions (context windows from OpenAI's model pages)
    ModelInfo("gpt-3.5-turbo-instruct", 1692901427, "system", "completion", extra={"context_window": 4096}),
    ModelInfo("davinci-002", 1692634301, "system", "completion", extra={"context_window": 16384}),
    ModelInfo("babbage-002", 1692634615, "system", "completion", extra={"context_window": 16384}),
    # images, audio, moderation (created dates plausible, not all verified)
    ModelInfo("dall-e-2", 1698798177, "system", "image"),
    ModelInfo("dall-e-3", 1698785189, "system", "image"),
    ModelInfo("gpt-image-1", 1745517030, "system", "image"),
    ModelInfo("gpt-image-1.5", 1765497600, "system", "image"),
    ModelInfo("whisper-1", 1677532384, "openai-internal", "transcription"),
    ModelInfo("gpt-4o-transcribe", 1742068463, "system", "transcription"),
    ModelInfo("gpt-4o-mini-transcribe", 1742068596, "system", "transcription"),
    ModelInfo("tts-1", 1681940951, "openai-internal", "speech"),
    ModelInfo("tts-1-hd", 1699046015, "system", "speech"),
    ModelInfo("gpt-4o-mini-tts", 1742403959, "system", "speech"),
    ModelInfo("omni-moderation-latest", 1731689265, "system", "moderation"),
    ModelInfo("omni-moderation-2024-09-26", 1732734466, "system", "moderation"),
    ModelInfo("text-moderation-latest", 1681940951, "openai-internal", "moderation"),
    ModelInfo("text-moderation-stable", 1681940951, "openai-internal", "moderation"),
)
NOT_CHAT = (
    "This is not a chat model and thus not supported in the v1/chat/completions endpoint. Did you mean to "
    "use v1/completions?"
)
NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if "
    "you're accessing the API from your browser and are prompted for a username and password. You can obtain "
    "an API key from https://platform.openai.com/account/api-keys."
)
# 5xx texts: 500 is the commonly observed one; 502/503/504 wording unverified.
SERVER_ERRORS = {
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The engine is currently overloaded, please try again later.",
    504: "Gateway timeout.",
}
REQUESTS_PER_MINUTE = 10_000
TOKENS_PER_MINUTE = 30_000_000


def mask_key(key: str) -> str:
    """How OpenAI quotes a wrong key: its first 8 and last 4 characters (masking detail unverified)."""
    return key[:8] + "*" * max(len(key) - 12, 4) + key[-4:] if len(key) > 12 else "*" * len(key)


class OpenAIProfile(ProviderProfile):
    name = "openai"
    base_path = "/v1"
    catalog = MODELS
    obfuscation = True
    has_responses = True
    has_completions = True
    has_images = True
    has_speech = True
    has_moderations = True
    transcription_rules: TranscriptionRules | None = OPENAI_TRANSCRIPTIONS

    def response_headers(
        self, request_id: str, *, endpoint: str, generation_id: str | None, tokens: int, elapsed_ms: int
    ) -> Headers:
        headers = [
            ("x-request-id", request_id),
            ("openai-version", "2020-10-01"),
            ("openai-organization", "user-emulator"),
            ("openai-processing-ms", str(max(elapsed_ms, 1))),
        ]
        if endpoint in ("chat", "embeddings", "responses", "completions"):
            headers += [
                ("x-ratelimit-limit-requests", str(REQUESTS_PER_MINUTE)),
                ("x-ratelimit-limit-tokens", str(TOKENS_PER_MINUTE)),
                ("x-ratelimit-remaining-requests", str(REQUESTS_PER_MINUTE - 1)),
                ("x-ratelimit-remaining-tokens", str(TOKENS_PER_MINUTE - tokens)),
                ("x-ratelimit-reset-requests", "6ms"),
                ("x-ratelimit-reset-tokens", "0s"),
            ]
        return headers

    def error_headers(self, error: ApiError, request_id: str) -> Headers:
        headers = [("x-request-id", request_id), ("openai-version", "2020-10-01"), *error.headers.items()]
        if error.status == 429:
            headers += [
                ("x-ratelimit-limit-requests", str(REQUESTS_PER_MINUTE)),
                ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-reset-requests", f"{error.headers.get('retry-after', '1')}s"),
            ]
        return headers

    def auth_error(self, key: str | None) -> ApiError:
        if key is None:
            return ApiError(401, NO_KEY)
        message = (
            f"Incorrect API key provided: {mask_key(key)}. "
            "You can find your API key at https://platform.openai.com/account/api-keys."
        )
        return ApiError(401, message, code="invalid_api_key")

    def wrong_kind(self, model_id: str, kind: str) -> ApiError:
        """Any other model on chat: the real API's 404 (seen for instruct, embedding and image models);
        elsewhere the model-not-found error (unverified for embeddings)."""
        if kind == "chat":
            return ApiError(404, NOT_CHAT, param="model")
        return self.model_not_found(model_id)

    def fault_error(self, fault: Fault, model: str | None) -> ApiError:
        if fault.kind == "429":
            message = (
                f"Rate limit reached for {model or 'requests'} in organization org-emulator on requests "
                f"per min (RPM): Limit {REQUESTS_PER_MINUTE}, Used {REQUESTS_PER_MINUTE}, Requested 1. "
                + ("" if fault.retry_after_s is None else f"Please try again in {fault.retry_after_s}s. ")
                + "Visit https://platform.openai.com/account/rate-limits to learn more."
            )
            headers = retry_headers(fault)
            return ApiError(429, message, type="requests", code="rate_limit_exceeded", headers=headers)
        status = int(fault.kind)
        return ApiError(status, SERVER_ERRORS[status], type="server_error")

    def message(self, exchange: Exchange) -> dict[str, Any]:
        message = super().message(exchange)
        message["refusal"] = None
        message["annotations"] = []
        return message

    def usage(self, exchange: Exchange) -> dict[str, Any]:
        usage = super().usage(exchange)
        usage["prompt_tokens_details"] = {"cached_tokens": 0, "audio_tokens": 0}
        usage["completion_tokens_details"] = {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        }
        return usage

    def completion(self, exchange: Exchange) -> dict[str, Any]:
        body = super().completion(exchange)
        body["service_tier"] = "default"
        return body

    def first_delta(self, exchange: Exchange) -> dict[str, Any]:
        return {**super().first_delta(exchange), "refusal": None}

    def chunk(
        self, exchange: Exchange, choices: Sequence[dict[str, Any]], position: Position
    ) -> dict[str, Any]:
        chunk = super().chunk(exchange, choices, position)
        chunk["service_tier"] = "default"
        if exchange.obfuscate:
            # Random padding so chunk sizes do not reveal token lengths (length rule is ours).
            size = sum(len(choice["delta"].get("content") or "") for choice in choices)
            chunk["obfuscation"] = random_alnum(1 + (15 - size) % 16)
        return chunk


def openai_emulator(keys: Iterable[str] = (), *, accept_any_key: bool = False, **options: Any) -> Emulator:
    """An OpenAI emulator (serve it at a root URL; clients use `<root>/v1` as their base URL)."""
    return Emulator(OpenAIProfile(), keys=keys, accept_any_key=accept_any_key, **options)
