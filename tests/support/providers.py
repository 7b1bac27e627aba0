"""The providers as the conformance suites run them: one record each, the rest read off the registry.

A record says what cannot be read off the adapter: a key shaped like the provider's own (its emulator
accepts it), the models to call, the non-secret fields its keys carry, where a translated image lands
upstream, and the list price of its chat model (written out here from the provider's price page, not read
from the gateway's catalog). What the provider can do (tools, vision, JSON mode, streamed usage,
embeddings) comes from its adapter's ``capabilities``. Adding a provider to the suites is one record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from byokgate.providers.base import Capabilities
from byokgate.providers.registry import default_registry

REGISTRY = default_registry()
ImageForm = Literal["image_url", "base64_source", "inline_data"]


@dataclass(frozen=True)
class ProviderCase:
    name: str
    key: str
    chat_model: str  # as clients name it
    prices: tuple[
        str, str, str, str
    ]  # USD per million tokens of ``chat_model``: in, cached in, cache write, out
    vision_model: str | None = None  # when not ``chat_model``
    embedding_model: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)  # "{root}": the emulator's root URL
    translated: bool = False  # the adapter translates (what it cannot express is a 400 of the gateway's)
    image: tuple[tuple[str | int, ...], ImageForm] = (("messages", 0, "content", 1), "image_url")
    spec_checked: bool = False  # its answers match OpenAI's spec to the letter (relayed ones may not)
    unasked_usage: bool = False  # its streams carry the usage on content chunks even when not asked

    @property
    def capabilities(self) -> Capabilities:
        return REGISTRY[self.name].capabilities

    def key_fields(self, root: str) -> dict[str, str]:
        return {name: value.replace("{root}", root) for name, value in self.fields.items()}


CASES = (
    ProviderCase(
        "openai",
        "sk-proj-" + "c" * 40,
        "gpt-4o",
        ("2.5", "1.25", "2.5", "10"),
        embedding_model="text-embedding-3-small",
        spec_checked=True,
    ),
    ProviderCase("groq", "gsk_" + "c" * 52, "llama-3.3-70b-versatile", ("0.59", "0.59", "0.59", "0.79")),
    ProviderCase(
        "anthropic",
        "sk-ant-api03-" + "c" * 80,
        "claude-3-5-sonnet-20241022",
        ("3", "0.3", "3.75", "15"),
        translated=True,
        image=(("messages", 0, "content", 1), "base64_source"),
        spec_checked=True,
    ),
    ProviderCase(
        "gemini",
        "AIza" + "c" * 35,
        "gemini-2.5-flash",
        ("0.3", "0.03", "0.3", "2.5"),
        embedding_model="text-embedding-004",
        translated=True,
        image=(("contents", 0, "parts", 1), "inline_data"),
        spec_checked=True,
    ),
    ProviderCase(
        "mistral",
        "c" * 32,
        "mistral-small-latest",
        ("0.15", "0.015", "0.15", "0.6"),
        embedding_model="mistral-embed",
        unasked_usage=True,
    ),
    ProviderCase(
        "deepseek", "sk-" + "c" * 32, "deepseek-flash", ("0.30", "0.006", "0.30", "1.20"), unasked_usage=True
    ),
    ProviderCase("xai", "xai-" + "c" * 80, "grok-4.3", ("1.25", "0.20", "1.25", "2.50")),
    ProviderCase(
        "together",
        "tgp_v1_" + "c" * 43,
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        ("0.88", "0.88", "0.88", "0.88"),
        vision_model="moonshotai/Kimi-K2.6",
        embedding_model="BAAI/bge-base-en-v1.5",
    ),
    ProviderCase(
        "fireworks",
        "fw_" + "c" * 24,
        "accounts/fireworks/models/llama-v3p3-70b-instruct",
        ("0.9", "0.45", "0.9", "0.9"),
        vision_model="accounts/fireworks/models/kimi-k2p6",
        embedding_model="nomic-ai/nomic-embed-text-v1.5",
    ),
    ProviderCase(
        "cerebras", "csk-" + "c" * 48, "gpt-oss-120b", ("0.35", "0.35", "0.35", "0.75"), unasked_usage=True
    ),
    ProviderCase("perplexity", "pplx-" + "c" * 48, "sonar", ("1", "1", "1", "1"), unasked_usage=True),
    ProviderCase(
        "azure",
        "0123456789abcdef" * 2,
        "azure/gpt-4o",
        ("2.5", "1.25", "2.5", "10"),
        embedding_model="azure/text-embedding-3-small",
        fields={"endpoint": "{root}", "api_version": "2024-10-21"},
    ),
)
BY_NAME = {case.name: case for case in CASES}
