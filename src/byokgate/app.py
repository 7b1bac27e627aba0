"""The composition root: ``create_app(settings)`` builds every component; nothing exists at import time."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from byokgate.admin.keyring import check_keyring
from byokgate.admin.services import ControlPlane
from byokgate.admintoken import resolve_admin_token
from byokgate.asgi import JSON_CONTENT, send_bytes
from byokgate.billing.credits import CreditGate
from byokgate.billing.plans import Plans
from byokgate.cache.keys import CacheKeys, cache_secret
from byokgate.cache.store import CacheStore, MemoryStore
from byokgate.cache.vectors import MemoryIndex, SemanticIndex
from byokgate.domain.entities import RequestRecord
from byokgate.domain.secret import Secret
from byokgate.health.breakers import Breakers, BreakerSettings
from byokgate.health.keys import KeyHealth
from byokgate.limits.counters import Counters, MemoryCounters
from byokgate.limits.gate import LimitGate
from byokgate.logs import REDACTOR
from byokgate.masterkey import resolve_keyring
from byokgate.pricing.catalog import PriceCatalog
from byokgate.providers.registry import ProviderRegistry
from byokgate.providers.setup import ProviderSetup, configure
from byokgate.proxy.cached import CacheGate
from byokgate.proxy.chain import Chain, RetryPolicy
from byokgate.proxy.costs import Coster
from byokgate.proxy.dataplane import DataPlane, DataPlaneConfig
from byokgate.proxy.doors.media import MediaDoor
from byokgate.proxy.embedder import Embedder, ProviderEmbedder
from byokgate.proxy.executor import Executor
from byokgate.proxy.forward import Forwarder
from byokgate.proxy.metering import Metering
from byokgate.proxy.native import NativeDoor
from byokgate.proxy.passthrough import Upstream
from byokgate.proxy.pipeline import Pipeline
from byokgate.proxy.planner import Planner
from byokgate.proxy.semantic import SemanticCache
from byokgate.proxy.stored_responses import StoredResponses
from byokgate.routing.auto import AutoCatalog
from byokgate.routing.policy import RoutingPolicy
from byokgate.settings import Settings
from byokgate.snapshot.changes import ChangeBus, LocalChangeBus
from byokgate.snapshot.credentials import CredentialOpener
from byokgate.snapshot.holder import SnapshotHolder
from byokgate.store import migrate
from byokgate.store.database import Store
from byokgate.store.engine import in_memory
from byokgate.telemetry.exposition import MetricsEndpoint, watch
from byokgate.telemetry.journal import Journal
from byokgate.telemetry.metrics import Metrics
from byokgate.telemetry.retention import Retention
from byokgate.telemetry.tracing import Tracing
from byokgate.telemetry.writer import BatchWriter
from byokgate.telemetry.writer_process import WriterProcess
from byokgate.transport import Transport
from byokgate.vault import Vault

if TYPE_CHECKING:
    from byokgate.health.shared import SharedHealth

log = logging.getLogger(__name__)

FLIGHT_WAIT_S = 60.0  # how long an identical cache miss waits for the first one before going itself


@dataclass(slots=True)
class Components:
    settings: Settings
    store: Store
    vault: Vault
    providers: ProviderSetup
    transport: Transport
    control: ControlPlane
    bus: ChangeBus
    snapshot: SnapshotHolder
    credentials: CredentialOpener
    writer: BatchWriter
    cache: CacheStore
    semantic_index: SemanticIndex
    counters: Counters
    plans: Plans
    metrics: Metrics | None = None  # set by create_app (a serving gateway; the CLI has none)
    tracing: Tracing | None = None  # set by create_app when OTLP is configured
    retention: Retention | None = None  # started with a serving instance
    shared_health: SharedHealth | None = None  # breakers and key cooldowns shared through Redis

    async def find_request(self, request_id: str) -> RequestRecord | None:
        """A logged request by id (for ``GET /v1/generations/{id}``; not on the proxy path)."""
        async with self.store.transaction() as tx:
            return await tx.requests.get(request_id)

    async def start(self) -> None:
        """Start the background work of a serving instance (the CLI never calls this)."""
        await self.writer.start()  # first: what a crash left in the journal is stored before balances load
        self.retention = Retention(self.store, default_days=self.settings.log_retention_days)
        await self.retention.start()
        await self.snapshot.start()
        await self.bus.listen(self.snapshot.on_change)
        if self.settings.redis_url:
            from byokgate.health.shared import SharedHealth  # only Redis deployments import the client

            # Instances of one deployment share its database: its URL names their shared state.
            deployment = hashlib.sha256(self.settings.resolved_database_url.encode()).hexdigest()[:12]
            self.shared_health = SharedHealth(
                self.settings.redis_url,
                self.control.breakers,
                self.control.key_health,
                prefix=f"{deployment}:",
            )
            await self.shared_health.start()

    async def aclose(self) -> None:
        if self.shared_health is not None:
            await self.shared_health.aclose()
        if self.retention is not None:
            await self.retention.aclose()
        await self.writer.aclose()  # flushes what is still queued
        if self.tracing is not None:
            await asyncio.to_thread(self.tracing.shutdown)  # exports the spans still batched
        await self.bus.aclose()
        await self.snapshot.aclose()
        await self.transport.aclose()
        await self.cache.aclose()
        await self.semantic_index.aclose()
        await self.counters.aclose()
        await self.store.close()


def provider_setup(settings: Settings) -> ProviderSetup:
    """The providers this gateway runs with (a misconfigured one is a ``ProviderConfigError`` at start-up)."""
    pooled_key = settings.pooled_api_key
    return configure(
        declared=settings.providers,
        base_urls=settings.base_urls,
        pooled_provider=settings.pooled_provider,
        pooled_key=Secret(pooled_key.get_secret_value()) if pooled_key else None,
        platform_keys={name: Secret(key.get_secret_value()) for name, key in settings.platform_keys.items()},
    )


def batch_writer(settings: Settings, store: Store) -> BatchWriter:
    interval, keeps = settings.writer_flush_interval_s, settings.request_log
    if not settings.journal:
        return BatchWriter(store, flush_interval_s=interval, keeps_records=keeps)
    directory = settings.journal_dir or settings.data_dir / "journal"
    process = None
    url = settings.resolved_database_url
    if settings.writer_process and not in_memory(url):  # another process must be able to open it
        process = WriterProcess(
            url,
            directory,
            interval_s=interval,
            log_level=settings.log_level,
            log_format=settings.log_format,
            priority=settings.writer_priority,
        )
    journal = Journal(directory)
    return BatchWriter(
        store, journal=journal, flush_interval_s=interval, process=process, keeps_records=keeps
    )


def build_components(settings: Settings) -> Components:
    """Everything but the web layer; the CLI uses this too."""
    vault = Vault(resolve_keyring(settings))
    store = Store.from_url(settings.resolved_database_url)
    providers = provider_setup(settings)
    transport = Transport(
        timeout_s=settings.upstream_timeout_s,
        connect_timeout_s=settings.upstream_connect_timeout_s,
        total_timeout_s=settings.upstream_total_timeout_s,
    )
    bus: ChangeBus
    if settings.redis_url:
        from byokgate.snapshot.redis_bus import RedisChangeBus  # only Redis deployments import the client

        bus = RedisChangeBus(settings.redis_url)
    else:
        bus = LocalChangeBus()
    cache: CacheStore
    semantic_index: SemanticIndex
    counters: Counters
    if settings.redis_url:
        from byokgate.cache.redis_store import RedisStore  # only Redis deployments import the client
        from byokgate.cache.redis_vectors import RedisIndex
        from byokgate.limits.redis_counters import RedisCounters

        cache, semantic_index = RedisStore(settings.redis_url), RedisIndex(settings.redis_url)
        counters = RedisCounters(settings.redis_url)
    else:
        cache = MemoryStore(settings.cache_memory_bytes)
        semantic_index = MemoryIndex(settings.semantic_index_bytes)
        counters = MemoryCounters()
    plans = Plans.load(settings.plans_file)
    health = KeyHealth(settings.key_selection)
    breakers = Breakers(
        BreakerSettings(
            failures=settings.breaker_failures,
            failure_rate=settings.breaker_failure_rate,
            min_requests=settings.breaker_min_requests,
            window_s=settings.breaker_window_s,
            cool_s=settings.breaker_cool_s,
        )
    )
    control = ControlPlane(
        store,
        vault,
        providers.registry,
        transport,
        providers.base_urls,
        on_committed=bus.publish,
        cache=cache,
        semantic_index=semantic_index,
        plans=plans,
        pooled_provider=providers.pooled.provider if providers.pooled is not None else None,
        key_health=health,
        breakers=breakers,
    )
    return Components(
        settings=settings,
        store=store,
        vault=vault,
        providers=providers,
        transport=transport,
        control=control,
        bus=bus,
        snapshot=SnapshotHolder(store, poll_interval_s=settings.snapshot_poll_interval_s),
        credentials=CredentialOpener(vault, health=health),
        writer=batch_writer(settings, store),
        cache=cache,
        semantic_index=semantic_index,
        counters=counters,
        plans=plans,
    )


class Gateway:
    """Root ASGI app: lifespan, then dispatch by path prefix (no framework on the hot path)."""

    def __init__(
        self,
        components: Components,
        admin: ASGIApp,
        data_plane: ASGIApp,
        metrics: ASGIApp,
        *,
        migrate_on_start: bool,
        dashboard: ASGIApp | None = None,
    ) -> None:
        self.components = components
        self.admin = admin
        self.dashboard = dashboard
        self.data_plane = data_plane
        self.metrics = metrics
        self.migrate_on_start = migrate_on_start

    async def startup(self) -> None:
        store = self.components.store
        if self.migrate_on_start:
            await migrate.upgrade(store.engine)
        usage = await check_keyring(store, self.components.vault)
        await self.components.start()
        # Everything alive now (modules, the admin app, the snapshot) lives as long as the process: move it
        # out of the collector's generations so that full collections under load stay short.
        gc.collect()
        gc.freeze()
        log.info(
            "byokgate ready: database=%s, active master key=%s, data keys by master key=%s",
            store.backend,
            self.components.vault.keyring.active_id,
            usage,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return
        path: str = scope["path"]
        if path.startswith("/v1/"):
            await self.data_plane(scope, receive, send)
        elif path.startswith("/admin/"):
            await self.admin(scope, receive, send)
        elif path in ("/healthz", "/readyz"):
            await send_bytes(send, 200, b'{"status":"ok"}', [JSON_CONTENT])
        elif path == "/metrics":
            await self.metrics(scope, receive, send)
        elif self.dashboard is not None and (path == "/" or path.startswith("/dashboard/")):
            await self.dashboard(scope, receive, send)
        else:  # the data plane checks the project key first: a wrong key is a 401 on any path
            await self.data_plane(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.error("start-up failed: %s", exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.components.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def build_data_plane(components: Components) -> DataPlane:
    settings, setup = components.settings, components.providers
    registry = setup.registry
    policy = RoutingPolicy(registry, pooled_provider=setup.pooled.provider if setup.pooled else None)
    embedder: Embedder
    if settings.semantic_embedder == "local":
        from byokgate.proxy.local_embedder import LocalEmbedder, available

        if not available():
            raise ValueError("BYOKGATE_SEMANTIC_EMBEDDER=local needs the semantic-local extra (wordllama)")
        embedder = LocalEmbedder(settings.data_dir / "wordllama")
    else:
        embedder = ProviderEmbedder(
            registry=registry,
            policy=policy,
            credentials=components.credentials,
            transport=components.transport,
            writer=components.writer,
            base_urls=setup.base_urls,
        )
    keyring = components.vault.keyring
    prices = PriceCatalog.load(settings.prices_file, extra=setup.prices, aliases=registry.price_aliases)
    coster = Coster(prices)
    metering = Metering(
        snapshot=components.snapshot,
        coster=coster,
        plans=components.plans,
        limits=LimitGate(components.counters, components.writer.audit),
        credits=CreditGate(components.counters, components.writer.credit),
    )
    gate = CacheGate(
        components.cache,
        SemanticCache(components.semantic_index, embedder),
        coster,
        FLIGHT_WAIT_S,
        CacheKeys(cache_secret(keyring.key(keyring.active_id))),
    )
    executor = Executor(
        snapshot=components.snapshot,
        credentials=components.credentials,
        registry=registry,
        transport=components.transport,
        coster=coster,
        metering=metering,
        base_urls=setup.base_urls,
        pooled=setup.pooled,
        gate=gate,
        breakers=components.control.breakers,
        tracing=components.tracing,
    )
    retry = RetryPolicy(
        retries=settings.retries,
        deadline_s=settings.request_deadline_s,
        first_token_s=settings.ttft_timeout_s,
        backoff_base_s=settings.retry_backoff_s,
        retry_after_max_s=settings.retry_after_max_s,
        continue_streams=settings.continue_streams,
    )
    auto = AutoCatalog.load()
    pipeline = Pipeline(
        snapshot=components.snapshot,
        planner=Planner(policy=policy, metering=metering, coster=coster, retry=retry, auto=auto),
        metering=metering,
        chain=Chain(executor, retry, components.control.breakers, windows=auto.window),
        gate=gate,
    )
    # Stored Responses: in Redis beside the cache entries (a purge leaves them), else in their own memory.
    kept = components.cache if settings.redis_url else MemoryStore(settings.responses_memory_bytes)
    upstream = Upstream(
        components.snapshot, components.credentials, registry, components.transport, setup.base_urls
    )
    limit = settings.max_request_bytes
    native = NativeDoor(
        upstream,
        coster=coster,
        metering=metering,
        max_body_bytes=limit,
        admin_paths=settings.native_admin_paths,
    )
    media = MediaDoor(upstream, policy=policy, coster=coster, metering=metering, max_body_bytes=limit)
    return DataPlane(
        snapshot=components.snapshot,
        registry=registry,
        pipeline=pipeline,
        native=native,
        media=media,
        stored=StoredResponses(kept, components.vault, components.snapshot, settings.responses_ttl_s),
        forwarder=Forwarder(upstream, setup.pooled),
        writer=components.writer,
        config=DataPlaneConfig(max_body_bytes=settings.max_request_bytes),
        pooled_provider=policy.pooled_provider,
        find_request=components.find_request,
        metrics=components.metrics,
        tracing=components.tracing,
    )


class AdminOnFirstUse:
    """The admin API (FastAPI, pydantic schemas, OpenAPI models) is imported and built on its first request.

    The data plane never needs it, so start-up does not wait for it (a few hundred milliseconds); the
    admin token is still resolved (and checked) at start-up by ``create_app``.
    """

    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self._build = build
        self._app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:  # no await before the assignment: concurrent first requests build it once
            self._app = self._build()
        await self._app(scope, receive, send)


def create_app(settings: Settings, *, migrate_on_start: bool = True) -> Gateway:
    components = build_components(settings)
    admin_token = resolve_admin_token(settings)
    redact_known_secrets(settings, admin_token, components.providers.registry)
    components.metrics = metrics = gateway_metrics(components)
    components.tracing = Tracing.from_environment()

    def build_admin() -> ASGIApp:
        from byokgate.admin.api import build_admin_api

        return build_admin_api(
            components.control,
            admin_token,
            settings.admin_max_body_bytes,
            retention_days=settings.log_retention_days,
        )

    def build_dashboard() -> ASGIApp:
        from byokgate.admin.request_log import RequestLog
        from byokgate.dashboard.pages import Dashboard
        from byokgate.dashboard.sessions import Accounts

        accounts = Accounts(components.store, session_hours=settings.dashboard_session_hours)
        log = RequestLog(components.control, default_retention_days=settings.log_retention_days)
        secure = settings.dashboard_secure_cookies
        return Dashboard(accounts, components.control, log, secure_cookies=secure)

    return Gateway(
        components,
        AdminOnFirstUse(build_admin),
        build_data_plane(components),
        MetricsEndpoint(metrics, admin_token.reveal().encode(), public=settings.metrics_public),
        migrate_on_start=migrate_on_start,
        dashboard=AdminOnFirstUse(build_dashboard),  # (built on first use too: pages import Jinja2)
    )


def redact_known_secrets(settings: Settings, admin_token: Secret, registry: ProviderRegistry) -> None:
    """Tell the log scrubber the secrets this process starts with, and every provider's key prefixes."""
    REDACTOR.add_secret(admin_token.reveal())
    for configured in (settings.master_key, settings.pooled_api_key, *settings.platform_keys.values()):
        if configured is not None:
            value = configured.get_secret_value()
            REDACTOR.add_secret(value)
            for entry in value.split(","):  # a keyring: id:base64 entries
                REDACTOR.add_secret(entry.strip().rpartition(":")[2])
    REDACTOR.add_prefixes(prefix for name in registry for prefix in registry[name].key_prefixes)


def gateway_metrics(components: Components) -> Metrics:
    """The Prometheus metrics, their model label limited to the models the registry knows."""
    registry = components.providers.registry
    known: set[str] = set()
    for name in registry:
        catalog = registry[name].catalog
        known.update(catalog.models, catalog.embedding_models, catalog.aliases.values())
        known.update(catalog.native_aliases.values())
    metrics = Metrics(registry, known)
    watch(metrics, components.writer, components.control.breakers)
    return metrics
