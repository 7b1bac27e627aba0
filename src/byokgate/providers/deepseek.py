"""DeepSeek (``https://api.deepseek.com``): OpenAI's format; cache hits also reported as its own fields."""

from __future__ import annotations

import re
from typing import Any

from byokgate.providers.base import Capabilities, ModelCatalog
from byokgate.providers.openai_compat import OpenAICompatible


class DeepSeekProvider(OpenAICompatible):
    name = "deepseek"
    title = "DeepSeek"
    default_base_url = "https://api.deepseek.com"
    key_prefixes = ("sk-",)  # + 32 hex; OpenAI's older keys share the prefix, which then tells nothing
    # Chat prefix completion is a beta served at another base URL (``/beta``): not declared here.
    capabilities = Capabilities(vision=True, json_mode=True)
    catalog = ModelCatalog(
        models=("deepseek-flash", "deepseek-v4-pro", "deepseek-v4-flash"),
        pattern=re.compile(r"^deepseek-(?!r1-distill-)"),  # Groq serves the R1 distills
        vendors=("deepseek",),
        aliases={
            "deepseek/deepseek-chat": "deepseek-flash",
            "deepseek/deepseek-v4.1-flash": "deepseek-flash",
        },
    )

    def usage(self, usage: dict[str, Any]) -> dict[str, Any]:
        """``prompt_cache_hit_tokens`` where ``prompt_tokens_details.cached_tokens`` is missing (the cost
        reads cache hits there)."""
        hits = usage.get("prompt_cache_hit_tokens")
        details = usage.get("prompt_tokens_details")
        if not isinstance(hits, int) or (isinstance(details, dict) and "cached_tokens" in details):
            return usage
        return {**usage, "prompt_tokens_details": {**(details or {}), "cached_tokens": hits}}
