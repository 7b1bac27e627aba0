from __future__ import annotations

import re

from byokgate.providers.base import Capabilities, ModelCatalog
from byokgate.providers.openai_compat import OpenAICompatible


class GroqProvider(OpenAICompatible):
    name = "groq"
    title = "Groq"
    key_prefixes = ("gsk_",)
    default_base_url = "https://api.groq.com/openai/v1"
    capabilities = Capabilities(
        vision=True, json_mode=True, prefill=True, endpoints=frozenset({"transcriptions"})
    )
    catalog = ModelCatalog(
        models=(
            "llama-3.3-70b-versatile",
            "whisper-large-v3",
            "whisper-large-v3-turbo",
            "llama-3.1-8b-instant",
            "llama3-70b-8192",
            "llama3-8b-8192",
            "llama2-70b-4096",
            "mixtral-8x7b-32768",
            "gemma2-9b-it",
            "meta-llama/llama-4-scout-17b-16e-instruct",
            "meta-llama/llama-4-maverick-17b-128e-instruct",
            "openai/gpt-oss-120b",
            "openai/gpt-oss-20b",
            "qwen/qwen3-32b",
            "moonshotai/kimi-k2-instruct",
            "deepseek-r1-distill-llama-70b",
        ),
        pattern=re.compile(r"^(llama-?\d|llama\d|mixtral-|gemma\d|deepseek-r1-distill-)"),
        vendors=("groq",),
        aliases={
            "meta-llama/llama-3.3-70b-instruct": "llama-3.3-70b-versatile",
            "meta-llama/llama-3.1-8b-instruct": "llama-3.1-8b-instant",
            "groq/llama2-70b": "llama2-70b-4096",
        },
    )
