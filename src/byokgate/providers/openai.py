from __future__ import annotations

import re

from byokgate.providers.base import Capabilities, ModelCatalog
from byokgate.providers.openai_compat import OpenAICompatible
from byokgate.providers.openai_responses import RESPONSES


class OpenAIProvider(OpenAICompatible):
    name = "openai"
    title = "OpenAI"
    key_prefixes = ("sk-proj-", "sk-svcacct-", "sk-admin-", "sk-")
    default_base_url = "https://api.openai.com/v1"
    capabilities = Capabilities(
        embeddings=True,
        vision=True,
        json_mode=True,
        endpoints=frozenset({"completions", "images", "transcriptions", "speech", "moderations"}),
    )
    native_apis = frozenset({RESPONSES})  # /v1/responses goes to OpenAI as it is
    admin_paths = ("/v1/organization",)  # the Administration API (admin keys): usage, projects, users
    catalog = ModelCatalog(
        models=(
            "gpt-4o",
            "gpt-4o-2024-11-20",
            "gpt-4o-2024-08-06",
            "gpt-4o-mini",
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4.1-nano",
            "gpt-4-turbo",
            "gpt-3.5-turbo",
            "o1",
            "o1-mini",
            "o3",
            "o3-mini",
            "o4-mini",
            "text-embedding-3-small",
            "text-embedding-3-large",
            "text-embedding-ada-002",
            # served on the rest of the API (doors/media.py)
            "gpt-3.5-turbo-instruct",
            "davinci-002",
            "babbage-002",
            "dall-e-2",
            "dall-e-3",
            "gpt-image-1",
            "whisper-1",
            "gpt-4o-transcribe",
            "gpt-4o-mini-transcribe",
            "tts-1",
            "tts-1-hd",
            "omni-moderation-latest",
            "text-moderation-latest",
        ),
        pattern=re.compile(
            r"^(gpt-|o\d|chatgpt-|text-embedding-|ft:gpt-|ft:o\d|dall-e-|whisper-|tts-|"
            r"omni-moderation-|text-moderation-)"
        ),
        vendors=("openai",),
        embedding_models=("text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002"),
        current=("gpt-5", "gpt-5-mini", "gpt-4.1", "o4-mini"),
    )
