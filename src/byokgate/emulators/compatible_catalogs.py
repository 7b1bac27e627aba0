"""Model catalogs of the OpenAI-compatible providers (the models each emulator serves, as of late 2026).

Sources are noted per catalog; `/work/provider-facts.md` (the project's facts file) gathers them. A
`created` of 0 means the provider's listing gives none we could read. Prices ($ per million tokens) feed
the usage fields that carry a cost (xAI `cost_in_usd_ticks`, Perplexity `cost`).
"""

from __future__ import annotations

from byokgate.emulators.compatible_spec import ModelSpec

# Mistral: model cards of mistralai/platform-docs-public (2026-08) and a recorded GET /v1/models
# (maruel/genai testdata, 2026). `reasoning` is left off: Mistral's reasoning output (thinking chunks
# inside `content`) is not emulated.
_MISTRAL_CREATED = 1786983164
MISTRAL = (
    *(
        ModelSpec(
            name, vision=True, created=_MISTRAL_CREATED, extra={"context_length": context, "aliases": aliases}
        )
        for name, context, aliases in (
            ("mistral-large-latest", 262144, ("mistral-large-2512",)),
            ("mistral-large-2512", 262144, ("mistral-large-latest",)),
            ("mistral-medium-latest", 262144, ("mistral-medium-3-5", "mistral-medium-3")),
            ("mistral-medium-3-5", 262144, ("mistral-medium-latest",)),
            ("mistral-small-latest", 262144, ("mistral-small-2603",)),
            ("mistral-small-2603", 262144, ("mistral-small-latest",)),
            ("ministral-14b-latest", 262144, ("ministral-14b-2512",)),
            ("ministral-8b-latest", 262144, ("ministral-8b-2512",)),
            ("ministral-3b-latest", 131072, ("ministral-3b-2512",)),
        )
    ),
    ModelSpec("codestral-latest", created=_MISTRAL_CREATED, extra={"context_length": 256000}),
    ModelSpec("devstral-latest", created=_MISTRAL_CREATED, extra={"context_length": 262144}),
    ModelSpec("mistral-embed", "embedding", dimensions=1024, created=_MISTRAL_CREATED),
    ModelSpec("codestral-embed", "embedding", dimensions=1536, created=_MISTRAL_CREATED),
)

# DeepSeek: api-docs.deepseek.com pricing page (2026-11). `deepseek-chat` / `deepseek-reasoner` were
# retired on 2026-07-24; `deepseek-v4-flash` is still accepted (served by V4.1 Flash). Thinking is on
# by default (switch: `thinking: {"type": "disabled"}`); the trace comes back as `reasoning_content`.
DEEPSEEK = (
    ModelSpec("deepseek-flash", vision=True, reasoning=True),
    ModelSpec("deepseek-v4-pro", reasoning=True),
    ModelSpec("deepseek-v4-flash", reasoning=True),
)

# xAI: docs.x.ai model pages (2026-09..11); `created` is the release day (approximate). Reasoning models
# refuse presence/frequency penalties and `stop`; their trace is counted
# (completion_tokens_details.reasoning_tokens) but not returned.
_XAI_REASONING_REFUSES = frozenset({"presence_penalty", "frequency_penalty", "stop"})
XAI = (
    *(
        ModelSpec(
            name,
            vision=True,
            reasoning=True,
            reasoning_visible=False,
            rejects=_XAI_REASONING_REFUSES,
            created=created,
            extra={"pricing": {"input": price_in, "output": price_out}},
        )
        for name, created, price_in, price_out in (
            ("grok-4.7", 1789948800, 2.0, 6.0),
            ("grok-4.6", 1786060800, 2.0, 6.0),
            ("grok-4.5", 1783555200, 2.0, 6.0),
            ("grok-4.3", 1777507200, 1.25, 2.5),
            ("grok-4.20-0309-reasoning", 1773100800, 1.25, 2.5),
            ("grok-build-0.1", 1779235200, 1.0, 2.0),
        )
    ),
    ModelSpec(
        "grok-4.20-0309-non-reasoning",
        vision=True,
        created=1773100800,
        extra={"pricing": {"input": 1.25, "output": 2.5}},
    ),
)

# Together: togethercomputer/skills serverless catalog (2026-08-18) and a recorded GET /v1/models.
# Function calling is per model on Together; which of these lack it is unverified, so all take tools.
TOGETHER = (
    ModelSpec(
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        extra={"organization": "Meta", "pricing": {"input": 0.88, "output": 0.88}},
    ),
    ModelSpec(
        "openai/gpt-oss-120b",
        reasoning=True,
        extra={"organization": "OpenAI", "pricing": {"input": 0.15, "output": 0.6}},
    ),
    ModelSpec(
        "openai/gpt-oss-20b",
        reasoning=True,
        extra={"organization": "OpenAI", "pricing": {"input": 0.05, "output": 0.2}},
    ),
    ModelSpec("deepseek-ai/DeepSeek-V4-Pro", reasoning=True, extra={"organization": "DeepSeek"}),
    ModelSpec("moonshotai/Kimi-K2.6", vision=True, extra={"organization": "Moonshot AI"}),
    ModelSpec("zai-org/GLM-5.1", reasoning=True, extra={"organization": "Zai Org"}),
    ModelSpec("Qwen/Qwen3.5-9B", vision=True, extra={"organization": "Qwen"}),
    ModelSpec("BAAI/bge-base-en-v1.5", "embedding", dimensions=768, extra={"organization": "BAAI"}),
    ModelSpec("BAAI/bge-large-en-v1.5", "embedding", dimensions=1024, extra={"organization": "BAAI"}),
)

# Fireworks: docs.fireworks.ai serverless pricing and genai-prices (2026-08).
_FW = "accounts/fireworks/models/"
FIREWORKS = (
    ModelSpec(_FW + "kimi-k2p6", vision=True),
    ModelSpec(_FW + "deepseek-v4-pro", reasoning=True),
    ModelSpec(_FW + "glm-5p1", reasoning=True),
    ModelSpec(_FW + "gpt-oss-120b", reasoning=True),
    ModelSpec(_FW + "gpt-oss-20b", reasoning=True),
    ModelSpec(_FW + "qwen3-vl-30b-a3b-instruct", vision=True),
    ModelSpec(_FW + "llama-v3p3-70b-instruct"),
    ModelSpec("nomic-ai/nomic-embed-text-v1.5", "embedding", dimensions=768, resizable=True),
)

# Cerebras: shared inference as of late 2026 (gpt-oss-120b, qwen-3.8-27b; gemma-4-31b seen in a
# recorded listing in 2026, its shared status is in conflict). Listings give `created: 0`.
CEREBRAS = (
    ModelSpec("gpt-oss-120b", reasoning=True),
    ModelSpec("qwen-3.8-27b"),
    ModelSpec("gemma-4-31b", vision=True),
)

# Perplexity Sonar: docs.perplexity.ai pricing. No function calling; reasoning models inline their trace
# in `<think>` tags. `request` is the per-request fee at the low search context size.
PERPLEXITY = (
    ModelSpec("sonar", tools=False, extra={"pricing": {"input": 1, "output": 1, "request": 0.005}}),
    ModelSpec("sonar-pro", tools=False, extra={"pricing": {"input": 3, "output": 15, "request": 0.006}}),
    ModelSpec(
        "sonar-reasoning-pro",
        tools=False,
        reasoning=True,
        extra={"pricing": {"input": 2, "output": 8, "request": 0.006}},
    ),
    ModelSpec(
        "sonar-deep-research",
        tools=False,
        reasoning=True,
        extra={"pricing": {"input": 2, "output": 8, "request": 0.005}},
    ),
)
