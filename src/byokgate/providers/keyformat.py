"""A light check of pasted provider keys and the fields they carry, and the masked view shown instead.

It catches obvious mistakes (empty, whitespace, a key of another provider in the wrong slot, a byokgate
project key) without rejecting formats it does not know: providers change key formats without notice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from byokgate.apikeys import PROJECT_KEY_PREFIX
from byokgate.domain.secret import Secret
from byokgate.providers.base import KeyField, ProviderAdapter
from byokgate.providers.registry import ProviderRegistry

MAX_KEY_LENGTH = 512


class KeyFormatError(ValueError):
    """A message safe to show: it never contains the key."""


def _owners(value: str, registry: ProviderRegistry) -> tuple[list[ProviderAdapter], str]:
    """The providers whose known prefix matches the key best (the longest prefix; several when they share
    it, as DeepSeek's keys and OpenAI's older ones share "sk-"), and that prefix."""
    best: list[ProviderAdapter] = []
    best_prefix = ""
    for adapter in registry.values():
        prefix = next((p for p in adapter.key_prefixes if value.startswith(p)), "")
        if prefix and len(prefix) > len(best_prefix):
            best, best_prefix = [adapter], prefix
        elif prefix and len(prefix) == len(best_prefix):
            best.append(adapter)
    return best, best_prefix


def check_key(provider: ProviderAdapter, secret: Secret, registry: ProviderRegistry) -> None:
    value = secret.reveal()
    if not value:
        raise KeyFormatError("the API key is empty")
    if any(char.isspace() for char in value):
        raise KeyFormatError(
            "the API key contains whitespace; paste the key alone (no 'Bearer ', quotes or line breaks)"
        )
    if len(value) > MAX_KEY_LENGTH:
        raise KeyFormatError(f"the API key is longer than {MAX_KEY_LENGTH} characters")
    if not value.isascii() or not value.isprintable():
        raise KeyFormatError("the API key contains non-printable or non-ASCII characters")
    if value.startswith(PROJECT_KEY_PREFIX):
        raise KeyFormatError(
            f"this is a byokgate project key ({PROJECT_KEY_PREFIX}...), not a {provider.title} key"
        )
    owners, prefix = _owners(value, registry)
    if owners and all(owner.name != provider.name for owner in owners):
        titles = " or ".join(owner.title for owner in owners)
        byok = [owner.name for owner in owners if owner.accepts_byok]
        named = " or ".join(f"'{name}'" for name in byok)
        hint = f"store it under provider {named}" if byok else "it is not a BYOK key"
        raise KeyFormatError(
            f"this looks like a {titles} key ({prefix}...), not one for {provider.title}; {hint}"
        )


def mask_key(provider: ProviderAdapter, secret: Secret) -> str:
    """Known prefix (or first 3 characters) + '...' + last 4; shorter keys show less."""
    value = secret.reveal()
    prefix = next((p for p in provider.key_prefixes if value.startswith(p)), value[:3])
    if len(value) - len(prefix) >= 12:
        return f"{prefix}...{value[-4:]}"
    if len(value) >= 8:
        return f"...{value[-2:]}"
    return "..."


class KeyFieldError(ValueError):
    """A provider key's field that is missing or malformed; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


_NAME = re.compile(r"[A-Za-z0-9._:/@+-]{1,256}")


def check_fields(provider: ProviderAdapter, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The non-secret fields a provider's keys carry (``key_fields``), checked; anything else is refused."""
    given = dict(given or {})
    declared = {spec.name: spec for spec in provider.key_fields}
    for name in given:
        if name not in declared:
            known = ", ".join(declared) or "none"
            raise KeyFieldError(name, f"{provider.title} keys take no such field (they take: {known})")
    checked: dict[str, Any] = {}
    for name, spec in declared.items():
        value = given.get(name)
        if value is None or value == "" or value == {}:
            if spec.required:
                raise KeyFieldError(name, f"required for {provider.title} keys ({spec.description})")
            continue
        checked[name] = _field_value(spec, value)
    return checked


def _field_value(spec: KeyField, value: Any) -> Any:
    if spec.kind == "names":
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and _NAME.fullmatch(k) and _NAME.fullmatch(v)
            for k, v in value.items()
        ):
            raise KeyFieldError(spec.name, "must be an object mapping model names to names (strings)")
        return value
    if not isinstance(value, str) or len(value) > 512 or not value.isprintable() or value != value.strip():
        raise KeyFieldError(spec.name, "must be a single-line string of at most 512 characters")
    if spec.kind == "url":
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise KeyFieldError(spec.name, "must be an http:// or https:// URL without a query")
        return value.rstrip("/")
    if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
        raise KeyFieldError(spec.name, f"{value!r} is not of the expected form ({spec.description})")
    return value
