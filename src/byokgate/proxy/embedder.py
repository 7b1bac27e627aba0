"""Embeddings for the semantic cache, made with the project's own embeddings provider (BYOK).

The model is the project's ``semantic_model`` when set (it must route to a provider the project holds a key
for), otherwise the first embeddings model of the first provider, in registry order, whose key the project
holds. The call goes through the transport like any request and is audited as a use of that key. Any failure
raises ``EmbeddingError``; the caller turns it into a cache miss.

Other embedders (a local model shipped in a package, say) plug in through the ``Embedder`` protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from byokgate.cache.vectors import normalised
from byokgate.providers.base import Endpoint
from byokgate.providers.registry import ProviderRegistry
from byokgate.proxy.records import key_use
from byokgate.routing.policy import Lane, Route, RoutingPolicy
from byokgate.snapshot.credentials import CredentialOpener
from byokgate.snapshot.model import KeyEntry, Snapshot
from byokgate.telemetry.writer import BatchWriter
from byokgate.transport import Transport

EMBED_TIMEOUT_S = 10.0  # a slow embedder must not hold a request for the full upstream timeout


class EmbeddingError(Exception):
    """The text could not be embedded (no provider, key, answer or vector); the cache treats it as a miss."""


class Embedder(Protocol):
    async def embed(
        self, snapshot: Snapshot, key: KeyEntry, model: str | None, text: str, request_id: str
    ) -> bytes:
        """``text`` as an L2-normalised float32 vector (``cache.vectors.normalised``)."""
        ...


class ProviderEmbedder:
    def __init__(
        self,
        *,
        registry: ProviderRegistry,
        policy: RoutingPolicy,
        credentials: CredentialOpener,
        transport: Transport,
        writer: BatchWriter,
        base_urls: Mapping[str, str],
    ) -> None:
        self._registry = registry
        self._policy = policy
        self._credentials = credentials
        self._transport = transport
        self._writer = writer
        self._base_urls = base_urls

    def target(self, snapshot: Snapshot, project_id: str, model: str | None) -> Route:
        """Which provider and model embed for this project (BYOK only: the cache never spends credits)."""
        providers = snapshot.providers_of(project_id)
        if model is not None:
            routed = self._policy.resolve(model, providers)
            if not isinstance(routed, Route) or routed.lane is not Lane.BYOK:
                raise EmbeddingError(f"the semantic cache's model {model} is not on a key of the project")
            return routed
        for name, adapter in self._registry.items():
            if name in providers and adapter.capabilities.embeddings and adapter.catalog.embedding_models:
                native = adapter.catalog.embedding_models[0]
                return Route(Lane.BYOK, name, native, native)
        raise EmbeddingError("the project holds no key for a provider with embeddings")

    async def embed(
        self, snapshot: Snapshot, key: KeyEntry, model: str | None, text: str, request_id: str
    ) -> bytes:
        route = self.target(snapshot, key.project_id, model)
        opened = self._credentials.open(snapshot, key.project_id, route.provider)
        if opened is None:
            raise EmbeddingError(f"the project has no {route.provider} key any more")
        adapter = self._registry[route.provider]
        payload: dict[str, Any] = {"model": route.upstream_model, "input": text, "encoding_format": "float"}
        status = 0
        try:
            endpoint = Endpoint(self._base_urls[route.provider], opened.fields)
            upstream = adapter.embeddings_request(endpoint, opened.secret, payload)
            response = await self._transport.send(upstream, timeout_s=EMBED_TIMEOUT_S)
            status = response.status
            if status != 200:
                raise EmbeddingError(f"{adapter.title} answered the embeddings request with HTTP {status}")
            answer = orjson.loads(adapter.embeddings_response(response.body, payload))
            return normalised(answer["data"][0]["embedding"])
        except EmbeddingError:
            raise
        except Exception as exc:  # unreachable, timeout, unreadable answer: all misses
            raise EmbeddingError(f"{adapter.title} embeddings failed: {type(exc).__name__}") from None
        finally:
            detail = {"status": status, "model": route.upstream_model, "purpose": "semantic_cache"}
            outcome = "ok" if status == 200 else "error"
            self._writer.audit(
                key_use(
                    key, route.provider, opened.credential_id, request_id, outcome, detail, datetime.now(UTC)
                )
            )
