"""One `CompatibleSpec` record per OpenAI-compatible provider: Mistral, DeepSeek, xAI, Together, Fireworks,
Cerebras and Perplexity (Sonar), with a factory for each.

Facts come from recorded real exchanges (maruel/genai testdata: Mistral, DeepSeek, Together, Cerebras,
Perplexity), provider docs and issue threads quoting real bodies, gathered in `/work/provider-facts.md`.
Anything marked "(unverified)" is our best reconstruction, not an observed answer. Each record's error
texts live in `compatible_errors`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from byokgate.emulators import compatible_catalogs as catalogs
from byokgate.emulators import compatible_errors as errors
from byokgate.emulators.compatible import compatible_emulator
from byokgate.emulators.compatible_spec import CompatibleSpec, RateLimit, Reasoning, StreamShape
from byokgate.emulators.openai_compat import Emulator

# Mistral: recorded exchanges (2025-12) for the bodies, streams, ids and headers; the public OpenAPI
# (closed request schema) for the refused OpenAI fields. 401 bodies seen: {"detail":"Unauthorized"}
# (2025-12) and {"detail":"Invalid API Key"} (2026-08, used here). The stream always ends with usage on
# the finishing chunk; whether `stream_options` is refused (reports of 422 in 2025) or required (2026
# docs) is in conflict, so it is accepted.
MISTRAL = CompatibleSpec(
    name="mistral",
    base_path="/v1",
    models=catalogs.MISTRAL,
    owned_by="mistralai",
    errors=errors.MISTRAL,
    stream=StreamShape(
        finish_delta={"content": ""},
        logprobs_null=False,
        usage="with_finish",
        usage_null=False,
        tool_calls="whole_with_finish",
        padding_field="p",
    ),
    listing="capabilities",
    completion_id="hex32",
    tool_call_id="alnum9",
    tool_call_type=False,
    tool_call_index=True,
    tool_calls_when_none="null",
    content_with_tools="",
    logprobs_null=False,
    tool_choice_aliases={"any": "required"},
    extra_fields=frozenset(
        {
            "random_seed",
            "safe_prompt",
            "prompt_mode",
            "guardrails",
            "document_image_limit",
            "document_page_limit",
        }
    ),
    rejected_fields=frozenset(
        {
            "max_completion_tokens",
            "seed",
            "logprobs",
            "top_logprobs",
            "logit_bias",
            "user",
            "store",
            "modalities",
            "audio",
            "functions",
            "function_call",
            "web_search_options",
            "verbosity",
            "safety_identifier",
            "prompt_cache_retention",
            "moderation",
        }
    ),
    embedding_rejected_fields=frozenset({"dimensions", "user"}),
    request_id_headers=("mistral-correlation-id", "x-kong-request-id"),
    rate_limits=(
        RateLimit("x-ratelimit-limit-req-60-second", "x-ratelimit-remaining-req-60-second", 360),
        RateLimit(
            "x-ratelimit-limit-tokens-minute", "x-ratelimit-remaining-tokens-minute", 2_000_000, "tokens"
        ),
        RateLimit(
            "x-ratelimit-limit-tokens-month", "x-ratelimit-remaining-tokens-month", 10_000_000_000, "tokens"
        ),
    ),
)

# DeepSeek: recorded exchanges (2026-05) for bodies, ids, the fingerprint and the stream (usage always on
# the finishing chunk, tool-call arguments in fragments); error texts from the docs and issue threads.
# The unknown-model text was recorded before `deepseek-flash` existed. Validation errors are answered
# 400 here; the API answers 422 ("Invalid Parameters") for some (unverified which).
DEEPSEEK = CompatibleSpec(
    name="deepseek",
    base_path="",
    extra_base_paths=("/v1",),
    models=catalogs.DEEPSEEK,
    owned_by="deepseek",
    errors=errors.DEEPSEEK,
    stream=StreamShape(finish_delta={"content": ""}, usage="with_finish", usage_null=False),
    usage="cache_split",
    listing="no_created",
    reasoning=Reasoning("reasoning_content", switch="thinking"),
    completion_id="uuid",
    tool_call_id="call_indexed",
    fingerprint="fp_8b330d02d0_prod0820_fp8_kvcache_20260402",
    extra_fields=frozenset({"thinking"}),
)

# xAI: error bodies from issue threads (a wrong key is a 400; `code` holds the gRPC status wording),
# usage from the docs' example answer (reasoning tokens outside completion_tokens, counted in the total).
# Streams are taken to follow OpenAI (usage only with include_usage; unverified), as are tool-call ids.
XAI = CompatibleSpec(
    name="xai",
    base_path="/v1",
    models=catalogs.XAI,
    owned_by="xai",
    errors=errors.XAI,
    usage="itemised",
    reasoning=Reasoning("reasoning_content", in_completion=False),
    completion_id="uuid",
    fingerprint="fp_44e53da025",
    refusal_field=True,
    extra_fields=frozenset({"search_parameters", "deferred"}),
)

# Together: recorded exchanges (2026-05): pretty ids, error bodies with a top-level `id`, `tool_calls: []`
# and `seed: null` in answers, and streams whose deltas repeat `token_id`/`role`/`content`/`reasoning`,
# whose chunks carry `usage: null`, and which always end with a usage chunk of empty choices.
TOGETHER = CompatibleSpec(
    name="together",
    base_path="/v1",
    models=catalogs.TOGETHER,
    owned_by="together",
    errors=errors.TOGETHER,
    stream=StreamShape(
        first_delta={},
        delta_extras={"token_id": None, "role": "assistant", "content": "", "reasoning": None},
        choice_extras={"text": ""},
        usage="final_chunk",
        fragment_nulls=True,
    ),
    usage="reasoning_count",
    listing="bare_array",
    reasoning=Reasoning("reasoning"),
    completion_id="triplet",
    tool_call_id="call_hex24",
    tool_call_index=True,
    tool_calls_when_none="empty",
    content_with_tools="",
    completion_extras={"prompt": []},
    choice_extras={"seed": None},
    extra_fields=frozenset(
        {"top_k", "repetition_penalty", "min_p", "echo", "safety_model", "context_length_exceeded_behavior"}
    ),
)

# Fireworks: error shape and texts from a 2026 SDK example listing Fireworks' own messages; the
# tools + response_format refusal from a 2026 pull request. Ids, tool-call ids and 5xx texts are
# unverified. The real API answers 400 "Extra inputs are not permitted, field: '<name>'" for fields
# outside its schema; unknown fields are accepted here (construct with strict_unknown_fields=True for
# a refusal in OpenAI's words).
FIREWORKS = CompatibleSpec(
    name="fireworks",
    base_path="/inference/v1",
    models=catalogs.FIREWORKS,
    owned_by="fireworks",
    errors=errors.FIREWORKS,
    reasoning=Reasoning("reasoning_content"),
    completion_id="uuid",
    extra_fields=frozenset(
        {
            "top_k",
            "min_p",
            "typical_p",
            "repetition_penalty",
            "mirostat_target",
            "mirostat_lr",
            "prompt_truncate_len",
            "context_length_exceeded_behavior",
            "raw_output",
            "echo",
            "ignore_eos",
            "perf_metrics_in_response",
        }
    ),
    rate_limits=(
        RateLimit("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", 6000),
        RateLimit(
            "x-ratelimit-limit-tokens-prompt", "x-ratelimit-remaining-tokens-prompt", 2_000_000, "tokens"
        ),
        RateLimit(
            "x-ratelimit-limit-tokens-generated", "x-ratelimit-remaining-tokens-generated", 400_000, "tokens"
        ),
    ),
)

# Cerebras: recorded exchanges (2026-07): flat error bodies, `chatcmpl-<uuid>` ids, 9-hex tool-call ids,
# `time_info`, and streams that omit `finish_reason` until the end and always close with usage. No key
# at all is refused by the front proxy with 403 {"detail":"Not authenticated"} (live probes, 2026-08).
# The documented 400s for penalties, logit_bias and service_tier are kept (wording unverified).
CEREBRAS = CompatibleSpec(
    name="cerebras",
    base_path="/v1",
    models=catalogs.CEREBRAS,
    owned_by="Cerebras",
    errors=errors.CEREBRAS,
    stream=StreamShape(
        first_delta={"role": "assistant"},
        finish_null=False,
        logprobs_null=False,
        usage="with_finish",
        usage_null=False,
        tool_calls="whole",
    ),
    usage="timed",
    reasoning=Reasoning("reasoning"),
    completion_id="chatcmpl_uuid",
    tool_call_id="hex9",
    fingerprint="fp_b2c59c382b338de84cfc",
    logprobs_null=False,
    extra_fields=frozenset({"reasoning_format", "clear_thinking", "disable_reasoning"}),
    rejected_fields=frozenset({"frequency_penalty", "presence_penalty", "logit_bias", "service_tier"}),
    rate_limits=(
        *(
            RateLimit(
                f"x-ratelimit-limit-requests-{period}", f"x-ratelimit-remaining-requests-{period}", limit
            )
            for period, limit in (("day", 720_000), ("hour", 30_000), ("minute", 500))
        ),
        *(
            RateLimit(
                f"x-ratelimit-limit-tokens-{period}",
                f"x-ratelimit-remaining-tokens-{period}",
                limit,
                "tokens",
            )
            for period, limit in (("day", 720_000_000), ("hour", 30_000_000), ("minute", 500_000))
        ),
    ),
)

# Perplexity Sonar Chat Completions (ended 2026-09-27 in favour of the Agent API; emulated as it was):
# recorded exchanges (2025-08/09) for the HTML 401, the error shape, answers with `citations` and
# `search_results` and a `delta` next to the message, and streams of cumulative "chat.completion"
# objects with running usage and no `[DONE]`. The tools refusal is quoted from a 2026 pull request.
PERPLEXITY = CompatibleSpec(
    name="perplexity",
    base_path="",
    models=catalogs.PERPLEXITY,
    owned_by="perplexity",
    errors=errors.PERPLEXITY,
    stream=StreamShape(
        first_delta=None,
        finish_delta={"role": "assistant", "content": ""},
        delta_extras={"role": "assistant"},
        logprobs_null=False,
        usage="every_chunk",
        usage_null=False,
        done=False,
        chunk_object="chat.completion",
        cumulative=True,
    ),
    usage="priced_search",
    reasoning=Reasoning(None),
    completion_id="uuid",
    logprobs_null=False,
    choice_extras={"delta": {"role": "assistant", "content": ""}},
    search_results=True,
    search_off="disable_search",
    has_models_list=False,
    context_window=128_000,  # Sonar's documented 128k (unverified for the other models)
    extra_fields=frozenset(
        {
            "search_mode",
            "search_domain_filter",
            "search_recency_filter",
            "search_after_date_filter",
            "search_before_date_filter",
            "last_updated_after_filter",
            "last_updated_before_filter",
            "return_images",
            "return_related_questions",
            "disable_search",
            "enable_search_classifier",
            "top_k",
            "language_preference",
        }
    ),
)

SPECS: dict[str, CompatibleSpec] = {
    spec.name: spec for spec in (MISTRAL, DEEPSEEK, XAI, TOGETHER, FIREWORKS, CEREBRAS, PERPLEXITY)
}


def factory(spec: CompatibleSpec) -> Callable[..., Emulator]:
    """`build`-style factory for one record: `(keys, *, accept_any_key=False, **options) -> Emulator`."""

    def make(keys: Iterable[str] = (), *, accept_any_key: bool = False, **options: Any) -> Emulator:
        return compatible_emulator(spec, keys, accept_any_key=accept_any_key, **options)

    make.__name__ = f"{spec.name}_emulator"
    make.__doc__ = f"A {spec.name} emulator (clients use `<root>{spec.base_path}` as their base URL)."
    return make
