"""Test settings pointed at emulators."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from byokgate.settings import Settings


def wired(
    settings: Settings, urls: Mapping[str, str] | None = None, *, pooled_key: str | None = None, **extra: Any
) -> Settings:
    """``settings`` with providers' base URLs (registry name -> URL) and, with ``pooled_key``, the pooled
    lane's platform key."""
    update: dict[str, Any] = {
        "base_urls": {**settings.base_urls, **{name: url.rstrip("/") for name, url in (urls or {}).items()}},
        **extra,
    }
    if pooled_key is not None:
        update["pooled_api_key"] = SecretStr(pooled_key)
    return settings.model_copy(update=update)
