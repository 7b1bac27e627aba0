"""A light check of pasted provider keys, and the masked view shown instead of them.

It catches obvious mistakes (empty, whitespace, a key of another provider in the wrong slot, a byokgate
project key) without rejecting formats it does not know: providers change key formats without notice.
"""

from __future__ import annotations

from byokgate.apikeys import PROJECT_KEY_PREFIX
from byokgate.domain.secret import Secret
from byokgate.providers.base import ProviderAdapter
from byokgate.providers.registry import ProviderRegistry

MAX_KEY_LENGTH = 512


class KeyFormatError(ValueError):
    """A message safe to show: it never contains the key."""


def _owner(value: str, registry: ProviderRegistry) -> tuple[ProviderAdapter, str] | None:
    """The provider whose known prefix matches the key best (longest prefix wins)."""
    best: tuple[ProviderAdapter, str] | None = None
    for adapter in registry.values():
        for prefix in adapter.key_prefixes:
            if value.startswith(prefix) and (best is None or len(prefix) > len(best[1])):
                best = (adapter, prefix)
    return best


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
    owner = _owner(value, registry)
    if owner is not None and owner[0].name != provider.name:
        other, prefix = owner
        hint = f"store it under provider '{other.name}'" if other.accepts_byok else "it is not a BYOK key"
        raise KeyFormatError(
            f"this looks like a {other.title} key ({prefix}...), not one for {provider.title}; {hint}"
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
