"""The semantic cache on the request path: embed the last user turn, search its bucket, remember new answers.

It fails open: an embedder or index failure is a miss (counted in ``errors``, logged at most every 30 s),
never a failed request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from byokgate.cache.controls import CachePlan
from byokgate.cache.semantic import SemanticQuery
from byokgate.cache.vectors import SemanticIndex
from byokgate.domain.entities import CacheSettings
from byokgate.logs import OutageLog
from byokgate.proxy.embedder import Embedder
from byokgate.snapshot.model import KeyEntry, Snapshot

log = logging.getLogger(__name__)


@dataclass(slots=True)
class CacheTicket:
    """What a cached request carries to the point where its answer is stored."""

    plan: CachePlan
    key: str  # the exact storage key
    query: SemanticQuery | None = None  # set when the semantic cache takes part
    vector: bytes | None = None  # the query's embedding, indexed once the answer is stored
    leading: bool = False  # this request leads a single flight (identical ones wait for it)


@dataclass(frozen=True, slots=True)
class SemanticMatch:
    key: str  # the exact storage key of the similar request's answer
    similarity: float


class SemanticCache:
    def __init__(self, index: SemanticIndex, embedder: Embedder) -> None:
        self.index = index
        self._embedder = embedder
        self._outage = OutageLog(log, "semantic cache unavailable ({error}); serving misses")

    @property
    def errors(self) -> int:
        """Failures seen (requests were served around them)."""
        return self._outage.errors

    async def probe(
        self,
        snapshot: Snapshot,
        key: KeyEntry,
        settings: CacheSettings,
        ticket: CacheTicket,
        request_id: str,
        *,
        search: bool,
    ) -> SemanticMatch | None:
        """Embed the ticket's query (kept on the ticket for ``remember``) and, if asked, find a match."""
        assert ticket.query is not None
        try:
            ticket.vector = await self._embedder.embed(
                snapshot, key, settings.semantic_model, ticket.query.text, request_id
            )
            found = await self.index.search(ticket.query.bucket, ticket.vector) if search else None
        except Exception as exc:
            self._outage.failed(exc)
            return None
        if found is None or found[1] < settings.semantic_threshold:
            return None
        return SemanticMatch(found[0], found[1])

    async def remember(self, ticket: CacheTicket) -> None:
        if ticket.query is None or ticket.vector is None:
            return
        try:
            await self.index.add(ticket.query.bucket, ticket.vector, ticket.key, ticket.plan.ttl_s)
        except Exception as exc:
            self._outage.failed(exc)
