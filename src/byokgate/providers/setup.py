"""From the operator's settings to the providers the gateway runs with, checked once at start-up.

The registry (built-in providers plus declared ones), each provider's base URL (``BYOKGATE_<NAME>_BASE_URL``
overrides the adapter's default) and the pooled lane (its provider and the platform's key). Anything that
names no provider, or a provider that cannot do what it is named for, is a ``ProviderConfigError`` naming
the setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from byokgate.domain.secret import Secret
from byokgate.providers.declared import declared_providers
from byokgate.providers.registry import ProviderConfigError, ProviderRegistry, default_registry


@dataclass(frozen=True, slots=True)
class PooledLane:
    """The pooled (credits) lane: which provider serves it, on the platform's own key."""

    provider: str
    key: Secret


@dataclass(frozen=True, slots=True)
class ProviderSetup:
    registry: ProviderRegistry
    base_urls: Mapping[str, str]
    pooled: PooledLane | None
    prices: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # declared providers' prices


def configure(
    *,
    declared: list[dict[str, Any]],
    base_urls: Mapping[str, str],
    pooled_provider: str | None,
    pooled_key: Secret | None,
    platform_keys: Mapping[str, Secret],
) -> ProviderSetup:
    try:
        made = declared_providers(declared)
    except ValueError as exc:
        raise ProviderConfigError(f"declared provider {exc}") from None
    registry = default_registry(made)
    urls = registry.base_urls(base_urls)
    for name in platform_keys:
        if name not in registry:
            setting = f"BYOKGATE_{name.upper()}_API_KEY"
            raise ProviderConfigError(
                f"{setting}: there is no provider {name!r}; known: {', '.join(registry)}"
            )
    provider = pooled_provider or registry.pooled_default
    pooled = None
    if provider is not None:
        adapter = registry.get(provider)
        if adapter is None or not adapter.pools:
            able = [name for name, known in registry.items() if known.pools]
            raise ProviderConfigError(
                f"BYOKGATE_POOLED_PROVIDER: {provider!r} cannot serve the pooled lane; "
                f"providers that can: {', '.join(able) or 'none'}"
            )
        key = pooled_key or platform_keys.get(provider)
        pooled = PooledLane(provider, key) if key is not None else None
    for name in platform_keys:
        if pooled is None or name != pooled.provider:
            setting = f"BYOKGATE_{name.upper()}_API_KEY"
            raise ProviderConfigError(f"{setting}: only the pooled lane's provider takes a platform key")
    prices = {name: periods for adapter in made for name, periods in adapter.prices.items()}
    return ProviderSetup(registry, urls, pooled, prices)
