"""What each OpenAI-compatible emulator must answer, written out as literal values.

The records in `compatible_providers` encode these facts; restating them here (rather than reading the
records) is what lets a wrong record fail a test.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai

from byokgate.emulators import Emulator, EmulatorServer

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@dataclass(frozen=True)
class Case:
    """One provider's expected behaviour."""

    name: str
    key: str
    chat_model: str
    tools: bool
    completion_id: str  # regex
    tool_call_id: str  # regex (unused without tools)
    wrong_key: tuple[int, type[openai.APIStatusError], str]  # status, SDK error, text in the raw body
    missing_key_status: int
    unknown_model: tuple[int, type[openai.APIStatusError], str]
    validation_status: int
    stream_done: bool
    stream_usage_always: bool  # usage arrives in a stream without stream_options
    usage_extras: frozenset[str]  # usage keys beyond the three counts
    answer_extras: frozenset[str]  # answer keys beyond id/object/created/model/choices/usage
    reasoning: tuple[str, str | None] | None  # a reasoning model and the message field of its trace
    refusal: tuple[dict[str, Any], int, str] | None  # a request addition refused, status, text
    accepted_extra: dict[str, Any]  # a provider-specific field it accepts
    embedding: tuple[str, int] | None = None  # model, dimensions
    plain_extra: dict[str, Any] = field(default_factory=dict)  # added to plain requests


CASES = (
    Case(
        name="mistral",
        key="AbCdEfGhIjKlMnOpQrStUvWxYz012345",
        chat_model="mistral-small-latest",
        tools=True,
        completion_id=r"[0-9a-f]{32}",
        tool_call_id=r"[A-Za-z0-9]{9}",
        wrong_key=(401, openai.AuthenticationError, '{"detail":"Invalid API Key"}'),
        missing_key_status=401,
        unknown_model=(400, openai.BadRequestError, '"message":"Invalid model: no-such-model"'),
        validation_status=422,
        stream_done=True,
        stream_usage_always=True,
        usage_extras=frozenset(),
        answer_extras=frozenset(),
        reasoning=None,
        refusal=({"seed": 3}, 422, "Extra inputs are not permitted"),
        accepted_extra={"random_seed": 7, "safe_prompt": False},
        embedding=("mistral-embed", 1024),
    ),
    Case(
        name="deepseek",
        key="sk-0123456789abcdef0123456789abcdef",
        chat_model="deepseek-v4-pro",
        tools=True,
        completion_id=UUID,
        tool_call_id=r"call_00_[A-Za-z0-9]{24}",
        wrong_key=(
            401,
            openai.AuthenticationError,
            "Authentication Fails, Your api key: ****0000 is invalid",
        ),
        missing_key_status=401,
        unknown_model=(400, openai.BadRequestError, "but you passed no-such-model."),
        validation_status=400,
        stream_done=True,
        stream_usage_always=True,
        usage_extras=frozenset(
            {"prompt_tokens_details", "prompt_cache_hit_tokens", "prompt_cache_miss_tokens"}
        ),
        answer_extras=frozenset({"system_fingerprint"}),
        reasoning=("deepseek-v4-flash", "reasoning_content"),
        refusal=None,
        accepted_extra={"thinking": {"type": "disabled"}},
        plain_extra={"thinking": {"type": "disabled"}},
    ),
    Case(
        name="xai",
        key="xai-" + "a1B2c3D4e5" * 8,
        chat_model="grok-4.20-0309-non-reasoning",
        tools=True,
        completion_id=UUID,
        tool_call_id=r"call_[A-Za-z0-9]{24}",
        wrong_key=(400, openai.BadRequestError, "Incorrect API key provided: wr***00."),
        missing_key_status=400,
        unknown_model=(404, openai.NotFoundError, "The model no-such-model does not exist or your team"),
        validation_status=400,
        stream_done=True,
        stream_usage_always=False,
        usage_extras=frozenset(
            {"prompt_tokens_details", "completion_tokens_details", "num_sources_used", "cost_in_usd_ticks"}
        ),
        answer_extras=frozenset({"system_fingerprint"}),
        reasoning=("grok-4.7", None),
        refusal=(
            {"model": "grok-4.7", "presence_penalty": 0.5},
            400,
            "not supported on this model: presencePenalty",
        ),
        accepted_extra={"search_parameters": {"mode": "off"}},
    ),
    Case(
        name="together",
        key="tgp_v1_" + "AbCdEfGhIj" * 4 + "xyz",
        chat_model="meta-llama/Llama-3.3-70B-Instruct-Turbo",
        tools=True,
        completion_id=r"[A-Za-z0-9]{7}-[A-Za-z0-9]{6}-[0-9a-f]{16}",
        tool_call_id=r"call_[0-9a-f]{24}",
        wrong_key=(401, openai.AuthenticationError, '"code":"invalid_api_key"'),
        missing_key_status=401,
        unknown_model=(404, openai.NotFoundError, "Unable to access model no-such-model."),
        validation_status=400,
        stream_done=True,
        stream_usage_always=True,
        usage_extras=frozenset({"reasoning_tokens"}),
        answer_extras=frozenset({"prompt"}),
        reasoning=("openai/gpt-oss-20b", "reasoning"),
        refusal=None,
        accepted_extra={"top_k": 5, "repetition_penalty": 1.1},
        embedding=("BAAI/bge-base-en-v1.5", 768),
    ),
    Case(
        name="fireworks",
        key="fw_" + "Ab3" * 8,
        chat_model="accounts/fireworks/models/llama-v3p3-70b-instruct",
        tools=True,
        completion_id=UUID,
        tool_call_id=r"call_[A-Za-z0-9]{24}",
        wrong_key=(401, openai.AuthenticationError, '"message":"invalid api key"'),
        missing_key_status=401,
        unknown_model=(404, openai.NotFoundError, "Model not found, inaccessible, and/or not deployed"),
        validation_status=400,
        stream_done=True,
        stream_usage_always=False,
        usage_extras=frozenset(),
        answer_extras=frozenset(),
        reasoning=("accounts/fireworks/models/gpt-oss-120b", "reasoning_content"),
        refusal=(
            {
                "tools": [{"type": "function", "function": {"name": "f"}}],
                "response_format": {"type": "json_object"},
            },
            400,
            "You cannot specify response format and function call at the same time",
        ),
        accepted_extra={"top_k": 5, "prompt_truncate_len": 1000},
        embedding=("nomic-ai/nomic-embed-text-v1.5", 768),
    ),
    Case(
        name="cerebras",
        key="csk-" + "a1b2c3d4" * 6,
        chat_model="qwen-3.8-27b",
        tools=True,
        completion_id="chatcmpl-" + UUID,
        tool_call_id=r"[0-9a-f]{9}",
        wrong_key=(401, openai.AuthenticationError, '"code":"wrong_api_key"'),
        missing_key_status=403,
        unknown_model=(
            404,
            openai.NotFoundError,
            "Model no-such-model does not exist or you do not have access",
        ),
        validation_status=400,
        stream_done=True,
        stream_usage_always=True,
        usage_extras=frozenset({"image_tokens", "completion_tokens_details", "prompt_tokens_details"}),
        answer_extras=frozenset({"time_info", "system_fingerprint"}),
        reasoning=("gpt-oss-120b", "reasoning"),
        refusal=({"frequency_penalty": 0.5}, 400, "Unsupported parameter: 'frequency_penalty'"),
        accepted_extra={"reasoning_format": "parsed"},
    ),
    Case(
        name="perplexity",
        key="pplx-" + "AbCd1234" * 6,
        chat_model="sonar",
        tools=False,
        completion_id=UUID,
        tool_call_id="",
        wrong_key=(401, openai.AuthenticationError, "<title>401 Authorization Required</title>"),
        missing_key_status=401,
        unknown_model=(400, openai.BadRequestError, "Invalid model 'no-such-model'. Permitted models"),
        validation_status=400,
        stream_done=False,
        stream_usage_always=True,
        usage_extras=frozenset({"search_context_size", "cost"}),
        answer_extras=frozenset({"citations", "search_results"}),
        reasoning=("sonar-reasoning-pro", None),
        refusal=(
            {"tools": [{"type": "function", "function": {"name": "f"}}]},
            400,
            "Tool calling is not supported for this model.",
        ),
        accepted_extra={"search_mode": "web", "return_images": False},
    ),
)
BY_NAME = {case.name: case for case in CASES}


@dataclass(frozen=True)
class Live:
    """A running emulator with the expectations it must meet."""

    case: Case
    server: EmulatorServer

    @property
    def emulator(self) -> Emulator:
        return self.server.emulator

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def client(self, api_key: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.base_url, api_key=api_key or self.case.key, max_retries=0)

    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.case.key}"}

    def chat(
        self, body: dict[str, Any], headers: dict[str, str] | None = None, *, plain: bool = True
    ) -> httpx.Response:
        """POST a chat request (`plain` adds the case's `plain_extra`, e.g. thinking off)."""
        payload = {"model": self.case.chat_model, **(self.case.plain_extra if plain else {}), **body}
        return httpx.post(
            f"{self.base_url}/chat/completions",
            json=payload,
            headers=self.auth() if headers is None else headers,
        )


def events(response: httpx.Response) -> list[dict[str, Any]]:
    """The JSON objects of an SSE body."""
    return [json.loads(line[6:]) for line in response.text.split("\n\n") if line.startswith("data: {")]


def matches(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None
