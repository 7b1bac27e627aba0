"""Control-plane use cases shared by the admin API and the CLI.

Each mutation writes its audit event and bumps the configuration version in the same transaction, so
the trail and the hot-path snapshot can never disagree with what is stored.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

from byokgate.admin.provider_keys import ProviderKeyCases
from byokgate.apikeys import display_prefix, generate_project_key, hash_project_key
from byokgate.billing.plans import BillingPolicy, Plans
from byokgate.cache.store import CacheStore
from byokgate.cache.vectors import SemanticIndex
from byokgate.domain.entities import (
    PROJECT_SCOPE,
    AuditEvent,
    BillingSettings,
    CacheSettings,
    CreditAccount,
    CreditEntry,
    Limits,
    NewAuditEvent,
    Project,
    ProjectApiKey,
    ProjectKeyMaterial,
    RequestRecord,
)
from byokgate.domain.ids import new_id
from byokgate.domain.secret import Secret
from byokgate.errors import InvalidRequestError, NotFoundError
from byokgate.health.breakers import Breakers
from byokgate.health.keys import KeyHealth
from byokgate.providers.registry import ProviderRegistry
from byokgate.store.audit import AuditQuery
from byokgate.store.database import Store, Transaction
from byokgate.store.state import CONFIG_VERSION
from byokgate.transport import Transport
from byokgate.vault import Vault

MAX_NAME_LENGTH = 200

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CreatedApiKey:
    key: ProjectApiKey
    plaintext: Secret


@dataclass(frozen=True, slots=True)
class CreatedProject:
    project: Project
    api_key: CreatedApiKey


def _forbidden(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF


def clean_name(name: str, what: str = "name") -> str:
    cleaned = name.strip()
    if not cleaned:
        raise InvalidRequestError(f"{what} must not be empty", param=what)
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidRequestError(f"{what} must be at most {MAX_NAME_LENGTH} characters", param=what)
    if any(_forbidden(char) for char in cleaned):
        raise InvalidRequestError(f"{what} must not contain control characters", param=what)
    return cleaned


class ControlPlane(ProviderKeyCases):
    def __init__(
        self,
        store: Store,
        vault: Vault,
        registry: ProviderRegistry,
        transport: Transport,
        base_urls: Mapping[str, str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_committed: Callable[[int], Awaitable[None]] | None = None,
        cache: CacheStore | None = None,
        semantic_index: SemanticIndex | None = None,
        plans: Plans | None = None,
        pooled_provider: str | None = None,
        key_health: KeyHealth | None = None,
        breakers: Breakers | None = None,
    ) -> None:
        self.store = store
        self.pooled_provider = pooled_provider  # the pooled lane's provider (None: the gateway has none)
        self.key_health = key_health or KeyHealth()  # the data plane's key cooldowns (shown with the keys)
        self.breakers = breakers or Breakers()  # the data plane's circuit breakers (shown in the admin API)
        self._cache = cache
        self._semantic_index = semantic_index
        self.plans = plans or Plans.load()
        self.vault = vault
        self.registry = registry
        self._transport = transport
        self._base_urls = base_urls
        self._now = clock
        self._on_committed = on_committed

    def now(self) -> datetime:
        return self._now()

    # --- projects -------------------------------------------------------------------------------------

    async def create_project(self, name: str, *, actor: str) -> CreatedProject:
        name = clean_name(name)
        now = self._now()
        project = Project(id=new_id("proj"), name=name, created_at=now, updated_at=now)
        _, wrapped = self.vault.new_data_key(project.id)
        material = ProjectKeyMaterial(project.id, wrapped.blob, wrapped.master_key_id)
        async with self.mutation() as tx:
            await tx.projects.insert(project, material)
            created = await self._insert_api_key(tx, project.id, "default", None, now)
            grant = self.plans.get(None).grant_micro_usd
            if grant:
                entry = CreditEntry(
                    project.id, "grant", grant, now, note=f"{self.plans.get(None).title} plan"
                )
                await tx.credits.record([entry], now)
            await self.changed(
                tx,
                NewAuditEvent(actor, "project.create", project.id, api_key_id=created.key.id, at=now),
            )
        return CreatedProject(project, created)

    async def list_projects(
        self, *, limit: int = 100, after: str | None = None, member: str | None = None
    ) -> list[Project]:
        """A page of projects by id; ``member``: only the ones that user is a member of."""
        async with self.store.transaction() as tx:
            return await tx.projects.page(limit=limit, after=after, member=member)

    async def get_project(self, project_id: str) -> Project:
        async with self.store.transaction() as tx:
            return await self.project_in(tx, project_id)

    async def rename_project(self, project_id: str, name: str, *, actor: str) -> Project:
        name = clean_name(name)
        now = self._now()
        async with self.mutation() as tx:
            old = await self.project_in(tx, project_id)
            renamed = await tx.projects.rename(project_id, name, now)
            assert renamed is not None
            detail = {"old_name": old.name, "new_name": name}
            await self.changed(tx, NewAuditEvent(actor, "project.rename", project_id, detail=detail, at=now))
        return renamed

    async def delete_project(self, project_id: str, *, actor: str) -> None:
        async with self.mutation() as tx:
            project = await self.project_in(tx, project_id)
            await tx.projects.shred_and_delete(project_id)
            detail = {"name": project.name, "data_key": "shredded"}
            await self.changed(tx, NewAuditEvent(actor, "project.delete", project_id, detail=detail))

    # --- response cache ---------------------------------------------------------------------------------

    async def cache_settings(self, project_id: str) -> CacheSettings:
        async with self.store.transaction() as tx:
            await self.project_in(tx, project_id)
            return await tx.cache_settings.get(project_id)

    async def set_cache_settings(
        self, project_id: str, settings: CacheSettings, *, actor: str
    ) -> CacheSettings:
        now = self._now()
        async with self.mutation() as tx:
            await self.project_in(tx, project_id)
            await tx.cache_settings.put(project_id, settings, now)
            detail = asdict(settings)
            await self.changed(
                tx, NewAuditEvent(actor, "project.cache_settings", project_id, detail=detail, at=now)
            )
        return settings

    async def purge_cache(self, project_id: str, *, actor: str) -> int:
        """Drop every cached answer of the project (all instances share them when the cache is in Redis)."""
        async with self.store.transaction() as tx:
            await self.project_in(tx, project_id)
        purged = await self._cache.purge(project_id) if self._cache is not None else 0
        if self._semantic_index is not None:
            try:  # the index only points at entries: left-overs could never be served once these are gone
                await self._semantic_index.purge(project_id)
            except Exception as exc:
                log.warning("semantic index purge failed (%s); its pointers will expire", type(exc).__name__)
        async with self.store.transaction() as tx:
            await tx.audit.append(
                NewAuditEvent(actor, "project.cache_purge", project_id, detail={"purged": purged})
            )
        return purged

    # --- plan and billing policy -----------------------------------------------------------------------

    async def billing(self, project_id: str) -> BillingSettings:
        async with self.store.transaction() as tx:
            await self.project_in(tx, project_id)
            return await tx.billing.get(project_id)

    async def set_billing(
        self, project_id: str, *, plan: str | None, policy: str | None, actor: str
    ) -> BillingSettings:
        """Change the plan and/or the billing policy (what is not given stays as it is)."""
        if plan is not None and plan not in self.plans.names:
            raise InvalidRequestError(
                f"unknown plan; this gateway has: {', '.join(self.plans.names)}",
                param="plan",
                code="unknown_plan",
            )
        if policy is not None and policy not in {p.value for p in BillingPolicy}:
            raise InvalidRequestError(
                f"policy must be one of {', '.join(p.value for p in BillingPolicy)}", param="policy"
            )
        now = self._now()
        async with self.mutation() as tx:
            await self.project_in(tx, project_id)
            current = await tx.billing.get(project_id)
            updated = BillingSettings(plan or current.plan, policy or current.policy)
            await tx.billing.put(project_id, updated, now)
            detail = {"plan": updated.plan or self.plans.default, "policy": updated.policy}
            await self.changed(tx, NewAuditEvent(actor, "project.billing", project_id, detail=detail, at=now))
        return updated

    # --- platform credits ------------------------------------------------------------------------------

    async def credits(self, project_id: str, *, limit: int = 50) -> tuple[CreditAccount, list[CreditEntry]]:
        async with self.store.transaction() as tx:
            await self.project_in(tx, project_id)
            return await tx.credits.account(project_id), await tx.credits.entries(project_id, limit=limit)

    async def add_credits(
        self, project_id: str, kind: str, amount_micro_usd: int, note: str | None, *, actor: str
    ) -> CreditAccount:
        """A grant, top-up or refund: credits added (in the ledger and the account, one transaction)."""
        if kind not in ("grant", "topup", "refund") or amount_micro_usd <= 0:
            raise InvalidRequestError("credits are added as a grant, topup or refund of a positive amount")
        now = self._now()
        async with self.mutation() as tx:
            await self.project_in(tx, project_id)
            await tx.credits.record([CreditEntry(project_id, kind, amount_micro_usd, now, note=note)], now)
            detail = {"kind": kind, "amount_micro_usd": amount_micro_usd}
            await self.changed(tx, NewAuditEvent(actor, "credits.add", project_id, detail=detail, at=now))
            return await tx.credits.account(project_id)

    # --- usage reports ---------------------------------------------------------------------------------

    async def usage(
        self, project_id: str, first_day: date, last_day: date, group_by: list[str]
    ) -> list[dict[str, object]]:
        """Requests, tokens, cost and cache savings of a project per group, over whole UTC days (read from
        the daily aggregates, never from the request log)."""
        async with self.store.transaction() as tx:
            await self.project_in(tx, project_id)
            return await tx.usage.report(project_id, first_day, last_day, group_by)

    # --- rate limits and budgets ----------------------------------------------------------------------

    async def limits(self, project_id: str, key_id: str | None = None) -> Limits | None:
        """The limits of a project (``key_id`` None) or of one of its keys; None when it has none."""
        async with self.store.transaction() as tx:
            scope = await self._limits_scope(tx, project_id, key_id)
            return await tx.limits.get(project_id, scope)

    async def set_limits(
        self, project_id: str, key_id: str | None, limits: Limits | None, *, actor: str
    ) -> Limits | None:
        """Set, replace or (with None) remove the limits of a project or one of its keys."""
        now = self._now()
        async with self.mutation() as tx:
            scope = await self._limits_scope(tx, project_id, key_id)
            await tx.limits.put(project_id, scope, limits, now)
            detail = {"scope": scope, **(asdict(limits) if limits is not None else {"removed": True})}
            action = "project.limits" if limits is not None else "project.limits_removed"
            await self.changed(
                tx, NewAuditEvent(actor, action, project_id, api_key_id=key_id, detail=detail, at=now)
            )
        return limits

    async def _limits_scope(self, tx: Transaction, project_id: str, key_id: str | None) -> str:
        await self.project_in(tx, project_id)
        if key_id is None:
            return PROJECT_SCOPE
        if await tx.api_keys.get(project_id, key_id) is None:
            raise NotFoundError(f"project {project_id} has no API key {key_id}", code="api_key_not_found")
        return key_id

    # --- project API keys ------------------------------------------------------------------------------

    async def create_api_key(
        self, project_id: str, *, name: str | None, expires_at: datetime | None, actor: str
    ) -> CreatedApiKey:
        now = self._now()
        if name is not None:
            name = clean_name(name)
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise InvalidRequestError(
                    "expires_at needs a timezone (e.g. a trailing Z)", param="expires_at"
                )
            if expires_at <= now:
                raise InvalidRequestError("expires_at must be in the future", param="expires_at")
        async with self.mutation() as tx:
            await self.project_in(tx, project_id)
            created = await self._insert_api_key(tx, project_id, name, expires_at, now)
            event = NewAuditEvent(actor, "api_key.create", project_id, api_key_id=created.key.id, at=now)
            await self.changed(tx, event)
        return created

    async def list_api_keys(self, project_id: str) -> list[ProjectApiKey]:
        async with self.store.transaction() as tx:
            await self.project_in(tx, project_id)
            return await tx.api_keys.list_for_project(project_id)

    async def revoke_api_key(self, project_id: str, key_id: str, *, actor: str) -> None:
        now = self._now()
        async with self.mutation() as tx:
            await self.project_in(tx, project_id)
            if await tx.api_keys.get(project_id, key_id) is None:
                raise NotFoundError(f"project {project_id} has no API key {key_id}", code="api_key_not_found")
            if await tx.api_keys.revoke(project_id, key_id, now):
                event = NewAuditEvent(actor, "api_key.revoke", project_id, api_key_id=key_id, at=now)
                await self.changed(tx, event)

    async def _insert_api_key(
        self, tx: Transaction, project_id: str, name: str | None, expires_at: datetime | None, now: datetime
    ) -> CreatedApiKey:
        plaintext = generate_project_key()
        key = ProjectApiKey(
            id=new_id("key"),
            project_id=project_id,
            name=name,
            display_prefix=display_prefix(plaintext),
            created_at=now,
            expires_at=expires_at,
            revoked_at=None,
            last_used_at=None,
        )
        await tx.api_keys.insert(key, hash_project_key(plaintext.reveal()))
        return CreatedApiKey(key, plaintext)

    # --- audit ----------------------------------------------------------------------------------------

    async def audit_log(
        self,
        project_id: str,
        *,
        limit: int = 50,
        before_id: int | None = None,
        query: AuditQuery | None = None,
    ) -> list[AuditEvent]:
        async with self.store.transaction() as tx:
            return await tx.audit.list_for_project(project_id, limit=limit, before_id=before_id, query=query)

    async def request_log(
        self, project_id: str, *, limit: int = 50, before: tuple[datetime, str] | None = None
    ) -> list[RequestRecord]:
        async with self.store.transaction() as tx:
            await self.project_in(tx, project_id)
            return await tx.requests.list_for_project(project_id, limit=limit, before=before)

    # --- helpers --------------------------------------------------------------------------------------

    async def project_in(self, tx: Transaction, project_id: str) -> Project:
        project = await tx.projects.get(project_id)
        if project is None:
            raise NotFoundError(f"no project with id {project_id!r}", code="project_not_found")
        return project

    @asynccontextmanager
    async def mutation(self) -> AsyncIterator[Transaction]:
        """A transaction whose committed change is announced to every instance's snapshot."""
        async with self.store.transaction() as tx:
            yield tx
            version = await tx.state.get(CONFIG_VERSION)
        if self._on_committed is not None:
            await self._on_committed(version)

    async def changed(self, tx: Transaction, event: NewAuditEvent) -> None:
        await tx.audit.append(event)
        await tx.state.bump(CONFIG_VERSION)
