"""The snapshot itself and how it is loaded from the store (the only database read it ever needs)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from byokgate.apikeys import hash_project_key, looks_like_project_key
from byokgate.domain.entities import (
    DEFAULT_BILLING,
    DEFAULT_CACHE_SETTINGS,
    PROJECT_SCOPE,
    BillingSettings,
    CacheSettings,
    CreditAccount,
    Limits,
)
from byokgate.domain.routes import RouteTable
from byokgate.store.database import Store
from byokgate.store.state import CONFIG_VERSION


@dataclass(frozen=True, slots=True)
class KeyEntry:
    key_id: str
    project_id: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class CredentialRef:
    credential_id: str
    project_id: str
    provider: str
    ciphertext: bytes = field(repr=False)
    fields: Mapping[str, Any] = field(default_factory=dict)  # non-secret fields stored with the key
    name: str = "default"  # its name in the pool
    weight: int = 1


@dataclass(frozen=True, slots=True)
class Snapshot:
    version: int
    api_keys: Mapping[str, KeyEntry]
    credentials: Mapping[tuple[str, str], tuple[CredentialRef, ...]]  # (project, provider) -> its active keys
    wrapped_data_keys: Mapping[str, bytes]
    providers: Mapping[str, frozenset[str]]  # project id -> providers it holds keys for
    cache: Mapping[str, CacheSettings] = field(default_factory=dict)  # projects that changed the defaults
    limits: Mapping[tuple[str, str], Limits] = field(default_factory=dict)  # (project id, scope) -> limits
    billing: Mapping[str, BillingSettings] = field(default_factory=dict)  # projects that left the defaults
    credits: Mapping[str, CreditAccount] = field(default_factory=dict)  # project id -> credit totals
    routes: Mapping[str, RouteTable] = field(default_factory=dict)  # projects with routes
    bodies: Mapping[str, int] = field(default_factory=dict)  # projects that keep request bodies -> days

    def authenticate(self, presented: str, now: datetime) -> KeyEntry | None:
        """The usable project key matching ``presented``, or None. No I/O."""
        if not looks_like_project_key(presented):
            return None
        # Indexed by the SHA-256 of the key: a lookup by digest reveals nothing about the key by timing.
        entry = self.api_keys.get(hash_project_key(presented))
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= now:
            return None
        return entry

    def pool(self, project_id: str, provider: str) -> tuple[CredentialRef, ...]:
        """The project's active keys for ``provider`` (empty: none)."""
        return self.credentials.get((project_id, provider), ())

    def providers_of(self, project_id: str) -> frozenset[str]:
        return self.providers.get(project_id, _NONE)

    def cache_of(self, project_id: str) -> CacheSettings:
        return self.cache.get(project_id, DEFAULT_CACHE_SETTINGS)

    def credits_of(self, project_id: str) -> CreditAccount:
        return self.credits.get(project_id, _NO_CREDITS)

    def routes_of(self, project_id: str) -> RouteTable | None:
        return self.routes.get(project_id)

    def billing_of(self, project_id: str) -> BillingSettings:
        return self.billing.get(project_id, DEFAULT_BILLING)

    def limits_of(self, key: KeyEntry) -> list[tuple[str, Limits]]:
        """The limits a request made with ``key`` is under: its project's, then its own (scope, limits)."""
        found = []
        for scope in (PROJECT_SCOPE, key.key_id):
            limits = self.limits.get((key.project_id, scope))
            if limits is not None:
                found.append((scope, limits))
        return found


_NONE: frozenset[str] = frozenset()
_NO_CREDITS = CreditAccount()
EMPTY = Snapshot(0, MappingProxyType({}), MappingProxyType({}), MappingProxyType({}), MappingProxyType({}))


async def load_snapshot(store: Store) -> Snapshot:
    """Everything the hot path needs, read in one transaction so it is consistent with its version."""
    async with store.transaction() as tx:
        version = await tx.state.get(CONFIG_VERSION)
        keys = await tx.api_keys.all_with_hashes()
        credentials = await tx.credentials.list_all()
        wrapped = await tx.projects.all_key_material()
        cache = await tx.cache_settings.all()
        limits = await tx.limits.all()
        billing = await tx.billing.all()
        credits = await tx.credits.all_accounts()
        routes = await tx.routes.all()
        bodies = await tx.projects.log_bodies()
    api_keys = {
        key_hash: KeyEntry(key.id, key.project_id, key.expires_at)
        for key_hash, key in keys
        if key.revoked_at is None
    }
    pools: defaultdict[tuple[str, str], list[CredentialRef]] = defaultdict(list)
    for c in credentials:
        if c.state == "active":
            ref = CredentialRef(
                c.id,
                c.project_id,
                c.provider,
                c.ciphertext,
                MappingProxyType(dict(c.fields)),
                c.name,
                c.weight,
            )
            pools[(c.project_id, c.provider)].append(ref)
    refs = {pool: tuple(keys) for pool, keys in pools.items()}
    providers: defaultdict[str, set[str]] = defaultdict(set)
    for project_id, provider in refs:
        providers[project_id].add(provider)
    return Snapshot(
        version=version,
        api_keys=MappingProxyType(api_keys),
        credentials=MappingProxyType(refs),
        wrapped_data_keys=MappingProxyType({m.project_id: m.wrapped_data_key for m in wrapped}),
        providers=MappingProxyType({pid: frozenset(names) for pid, names in providers.items()}),
        cache=MappingProxyType(cache),
        limits=MappingProxyType(limits),
        billing=MappingProxyType(billing),
        credits=MappingProxyType(credits),
        routes=MappingProxyType({pid: RouteTable(listed) for pid, listed in routes.items()}),
        bodies=MappingProxyType(bodies),
    )
