from __future__ import annotations

from byokgate.providers.base import ModelCatalog, OpenAIStyleProvider


class OpenRouterProvider(OpenAIStyleProvider):
    """The pooled lane: the platform's own key, never a project's."""

    name = "openrouter"
    title = "OpenRouter"
    key_prefixes = ("sk-or-v1-", "sk-or-")
    accepts_byok = False
    # The pooled lane takes any vendor/model name; these are the ones /v1/models advertises.
    catalog = ModelCatalog(
        models=(
            "openai/gpt-4o",
            "openai/gpt-4o-mini",
            "openai/o3-mini",
            "anthropic/claude-3.5-sonnet",
            "anthropic/claude-3-opus",
            "anthropic/claude-3-haiku",
            "google/gemini-pro-1.5",
            "google/gemini-flash-1.5",
            "meta-llama/llama-3.3-70b-instruct",
            "meta-llama/llama-3.1-8b-instruct",
            "mistralai/mistral-large",
            "deepseek/deepseek-chat",
        ),
        embedding_models=("openai/text-embedding-3-small", "openai/text-embedding-3-large"),
    )
