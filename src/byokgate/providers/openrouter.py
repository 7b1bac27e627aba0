from __future__ import annotations

from byokgate.providers.base import Capabilities, ModelCatalog
from byokgate.providers.openai_compat import OpenAICompatible


class OpenRouterProvider(OpenAICompatible):
    """The pooled lane: the platform's own key, never a project's."""

    name = "openrouter"
    title = "OpenRouter"
    default_base_url = "https://openrouter.ai/api/v1"
    key_prefixes = ("sk-or-v1-", "sk-or-")
    accepts_byok = False
    pools = True  # takes any vendor/model name
    capabilities = Capabilities(embeddings=True, vision=True, json_mode=True, prefill=True)
    request_id_headers = ("x-generation-id", "x-request-id")
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
