"""The response cache on the request path, for both chat formats: plan, look up, wait, serve, store.

The pipeline asks ``ticket`` whether a request takes part (project settings narrowed by the client's
headers), ``lookup`` before it opens a provider key (a hit is not a key use; identical concurrent misses wait
for the first one: single flight), ``similar`` for a semantic hit, ``store`` once an answer is known to be
clean, and ``land`` when the request is done. Entries are stored in the format the endpoint answers in (a
``chat.completion`` or an Anthropic ``message``); ``Replay`` turns one into that format's event stream when
the client asked for a stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, NamedTuple, TypeVar

import orjson

from byokgate.asgi import JSON_CONTENT, SSE_HEADERS, send_bytes
from byokgate.cache.controls import CONTROL_HEADERS, CachePlan, plain_plan, plan_for
from byokgate.cache.keys import CacheKeys, public_key
from byokgate.cache.recording import RECORDED, Assembler, StreamRecord, settled
from byokgate.cache.semantic import semantic_query
from byokgate.cache.store import CacheStore, MemoryStore
from byokgate.domain.entities import CacheSettings
from byokgate.domain.stream import TranslationError
from byokgate.errors import InvalidRequestError
from byokgate.proxy.costs import Coster
from byokgate.proxy.exchange import Exchange, Responded
from byokgate.proxy.semantic import CacheTicket, SemanticCache
from byokgate.snapshot.model import Snapshot

Made = TypeVar("Made")


class Replay(NamedTuple):
    """How a stored entry becomes the stream events of the endpoint's format, and a recorded stream
    (``cache.recording``) the entry."""

    render: Callable[[bytes], list[bytes]]
    variant: str  # what else the rendering depends on (e.g. whether the client asked for usage)
    usage: Callable[[dict[str, Any]], dict[str, Any]]  # a parsed entry's usage, in canonical terms
    assemble: Callable[[], Assembler]  # a new assembler of the format's events
    checked: bytes  # a recorded stream holding these bytes is assembled (checked) before it is stored
    storable: Callable[[Any], bool]  # whether an answer (parsed; None: not JSON) may be stored


_RENDERED_MAX_BYTES = 4 * 1024 * 1024  # streamed hits kept rendered (the hottest entries)
_PLAINS_MAX = 1024
_USAGES_MAX_BYTES = 4 * 1024 * 1024  # entries whose usage is kept parsed (they are kept alive for it)


class EntryMemo(Generic[Made]):
    """What was made from stored entries (a rendered stream, a parsed usage), for the entries served lately:
    making it costs more than sending it, and a popular entry is asked for again and again. Bounded by the
    bytes it keeps alive (the entries and what was made); checked against the entry each time, so a changed
    entry is made again and nothing stale is served. Least recently used first out."""

    def __init__(self, max_bytes: int) -> None:
        self._items: OrderedDict[Hashable, tuple[bytes, Made, int]] = OrderedDict()
        self._max_bytes = max_bytes
        self.size = 0

    def get(self, key: Hashable, entry: bytes) -> Made | None:
        known = self._items.get(key)
        if known is None or (known[0] is not entry and known[0] != entry):  # Redis gives equal copies
            return None
        self._items.move_to_end(key)
        return known[1]

    def put(self, key: Hashable, entry: bytes, made: Made, made_bytes: int = 0) -> Made:
        replaced = self._items.pop(key, None)
        if replaced is not None:
            self.size -= replaced[2]
        cost = len(entry) + made_bytes
        self._items[key] = (entry, made, cost)
        self.size += cost
        while self.size > self._max_bytes and self._items:
            _, (_, _, dropped) = self._items.popitem(last=False)
            self.size -= dropped
        return made

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


class CacheGate:
    def __init__(
        self,
        store: CacheStore,
        semantic: SemanticCache | None,
        coster: Coster,
        flight_wait_s: float,
        keys: CacheKeys,
    ) -> None:
        self._store = store
        # The in-process store is called directly, without a coroutine per get and set: a miss should cost
        # next to nothing over no cache at all.
        self._local = store if isinstance(store, MemoryStore) else None
        self._keys = keys
        self._semantic = semantic
        self._coster = coster
        # Single flight: the storage keys of misses on their way upstream -> the event their identical
        # followers wait on (made only when a follower comes: a lone miss costs a dict entry).
        self._leaders: dict[str, asyncio.Event | None] = {}
        # id(settings) -> (settings, the plan of a request without cache headers). Settings objects live in
        # the snapshot and change only with it; an identity check is far cheaper than hashing the dataclass.
        # The entry keeps its settings alive, so an id is never reused while it is here.
        self._plains: dict[int, tuple[CacheSettings, CachePlan]] = {}
        self._flight_wait_s = flight_wait_s
        # (storage key, variant) -> the entry's rendered stream; storage key -> the entry's usage.
        self._rendered: EntryMemo[bytes] = EntryMemo(_RENDERED_MAX_BYTES)
        self._usages: EntryMemo[dict[str, Any]] = EntryMemo(_USAGES_MAX_BYTES)

    def ticket(
        self,
        headers: list[tuple[bytes, bytes]],
        settings: CacheSettings,
        exchange: Exchange,
        payload: dict[str, Any],
        *,
        scope: str = "",
    ) -> CacheTicket | None:
        """The request's cache ticket, or None when it does not use the cache. ``scope`` separates endpoints
        (and what changes an answer outside the body, such as API version headers).

        This and ``lookup``, ``store`` and ``land`` are what every miss runs, so they are written flat (few
        calls): under load each Python call on this path cost several times what it costs in a loop."""
        if not settings.enabled:
            return None
        for name, _ in headers:
            if name in CONTROL_HEADERS:
                try:
                    found = plan_for(headers, settings)
                except TranslationError as exc:
                    raise InvalidRequestError(exc.message, param=exc.param, code=exc.code) from None
                if found is None:
                    return None
                plan = found
                break
        else:  # no cache headers (most requests): the project's own plan
            known = self._plains.get(id(settings))
            if known is not None and known[0] is settings:
                plan = known[1]
            else:
                if len(self._plains) >= _PLAINS_MAX:
                    self._plains.clear()
                plan = plain_plan(settings)
                self._plains[id(settings)] = (settings, plan)
        assert exchange.key is not None
        assert exchange.route is not None
        route, project_id = exchange.route, exchange.key.project_id
        namespace = f"{scope}\0{plan.namespace}" if scope else plan.namespace
        # Lane is a StrEnum: the member is its own value.
        key = self._keys.request_key(
            project_id, route.lane, route.provider, route.upstream_model, namespace, payload=payload
        )
        ticket = CacheTicket(plan, key)
        if settings.semantic and self._semantic is not None:  # the scope is in ``namespace``: per format
            ticket.query = semantic_query(
                payload,
                project_id,
                route.lane,
                route.provider,
                route.upstream_model,
                namespace,
                max_turns=settings.semantic_max_turns,
                keys=self._keys,
            )
        exchange.cache = plan.label
        exchange.cache_key = key[len(project_id) + 1 :]  # ``public_key``: the digest after "<project id>:"
        return ticket

    def lookup(
        self, send: Responded, exchange: Exchange, ticket: CacheTicket, replay: Replay
    ) -> Awaitable[bool] | None:
        """Answer from the cache if the entry is there, after waiting for an identical in-flight miss.

        None: not answered, and nothing to wait for (the common miss, decided without a coroutine when the
        store is in process). Otherwise an awaitable that says whether the request was answered."""
        plan = ticket.plan
        if not plan.read:
            return None
        local, key = self._local, ticket.key
        if local is None:
            return self._lookup(send, exchange, ticket, replay)
        if key in local.entries:
            entry = local.peek(key)
            if entry is not None and entry.startswith(RECORDED):
                entry = settled(entry, replay.assemble)  # the first read of a recorded stream
                local.swap(key, entry)
            if entry is not None:
                return self._answered(send, exchange, key, entry, replay)
        if not plan.write:
            return None
        leaders = self._leaders  # single flight, as in ``_lead_or_follow``
        if key not in leaders:
            leaders[key] = None
            ticket.leading = True
            return None
        return self._lead_or_follow(send, exchange, ticket, replay)

    async def _get(self, storage_key: str, replay: Replay) -> bytes | None:
        """The entry as it is served (a recorded stream assembled once, and kept so)."""
        entry = await self._store.get(storage_key)
        if entry is not None and entry.startswith(RECORDED):
            entry = settled(entry, replay.assemble)
            await self._store.replace(storage_key, entry)
        return entry

    async def _lookup(self, send: Responded, exchange: Exchange, ticket: CacheTicket, replay: Replay) -> bool:
        entry = await self._get(ticket.key, replay)
        if entry is not None:
            return await self._answered(send, exchange, ticket.key, entry, replay)
        following = self._lead_or_follow(send, exchange, ticket, replay)
        return following is not None and await following

    def _lead_or_follow(
        self, send: Responded, exchange: Exchange, ticket: CacheTicket, replay: Replay
    ) -> Awaitable[bool] | None:
        """After a miss: lead the single flight (None: go upstream) or wait for its leader's answer."""
        if not ticket.plan.write:
            return None
        key, leaders = ticket.key, self._leaders
        if key not in leaders:
            leaders[key] = None
            ticket.leading = True  # this request calls upstream; the others wait for it to ``land``
            return None
        waiter = leaders[key]
        if waiter is None:
            waiter = leaders[key] = asyncio.Event()
        return self._follow(waiter, send, exchange, key, replay)

    async def _follow(
        self, waiter: asyncio.Event, send: Responded, exchange: Exchange, storage_key: str, replay: Replay
    ) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), timeout=self._flight_wait_s)
        return await self.serve(send, exchange, storage_key, replay)

    async def _answered(
        self, send: Responded, exchange: Exchange, storage_key: str, entry: bytes, replay: Replay
    ) -> bool:
        await self._answer(send, exchange, storage_key, entry, replay)
        return True

    async def similar(
        self, send: Responded, exchange: Exchange, snapshot: Snapshot, ticket: CacheTicket, replay: Replay
    ) -> bool:
        """Answer with a semantically similar entry; embeds the query either way (to index the answer).
        Only for tickets with a ``query`` (the semantic cache takes part)."""
        if self._semantic is None or not (ticket.plan.read or ticket.plan.write):
            return False
        assert exchange.key is not None
        settings = snapshot.cache_of(exchange.key.project_id)
        match = await self._semantic.probe(
            snapshot, exchange.key, settings, ticket, exchange.request_id, search=ticket.plan.read
        )
        if match is None:
            return False
        return await self.serve(send, exchange, match.key, replay, similarity=match.similarity)

    async def serve(
        self,
        send: Responded,
        exchange: Exchange,
        storage_key: str,
        replay: Replay,
        *,
        similarity: float | None = None,
    ) -> bool:
        entry = await self._get(storage_key, replay)
        if entry is None:
            return False
        if similarity is not None:
            exchange.cache, exchange.cache_similarity = "SEMANTIC-HIT", similarity
            exchange.cache_key = public_key(storage_key)
        await self._answer(send, exchange, storage_key, entry, replay)
        return True

    async def _answer(
        self, send: Responded, exchange: Exchange, storage_key: str, entry: bytes, replay: Replay
    ) -> None:
        if exchange.cache_similarity is None:
            exchange.cache = "HIT"
        exchange.status = 200
        assert exchange.route is not None
        exchange.cost_micro = 0  # nothing went upstream; what the answer cost when it was made was saved
        exchange.saved_micro = self._coster.cost(exchange.route, self._usage(storage_key, entry, replay))
        if not exchange.stream:
            await send_bytes(send, 200, entry, [JSON_CONTENT, *exchange.gateway_headers()])
            return
        body = self._render(storage_key, entry, replay)
        headers = [*SSE_HEADERS, *exchange.gateway_headers()]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _usage(self, storage_key: str, entry: bytes, replay: Replay) -> dict[str, Any]:
        """The stored answer's usage, in OpenAI's terms (what it saved is priced from it at today's price)."""
        usage = self._usages.get(storage_key, entry)
        if usage is None:
            usage = self._usages.put(storage_key, entry, replay.usage(orjson.loads(entry)))
        return usage

    def _render(self, storage_key: str, entry: bytes, replay: Replay) -> bytes:
        memo_key = (storage_key, replay.variant)
        body = self._rendered.get(memo_key, entry)
        if body is None:
            body = b"".join(replay.render(entry))
            self._rendered.put(memo_key, entry, body, len(body))
        return body

    def store(self, ticket: CacheTicket, body: bytes, *, exact: bool = False) -> Awaitable[None] | None:
        """Store a clean answer. In process this is done on return (None); otherwise the caller awaits what
        it gets (the Redis write, indexing for the semantic cache). ``exact``: ``body`` holds no spare buffer
        (read off the network, or joined), so the in-process store keeps it without a copy
        (``MemoryStore.put``)."""
        plan = ticket.plan
        if not plan.write or len(body) > plan.max_entry_bytes:
            return None
        local = self._local
        if local is not None and ticket.vector is None:
            local.put(ticket.key, body, plan.ttl_s, exact=exact)
            if ticket.leading:  # ``land``, inline: the followers can have the entry now
                ticket.leading = False
                waiter = self._leaders.pop(ticket.key, None)
                if waiter is not None:
                    waiter.set()
            return None
        return self._stored(ticket, body)

    @staticmethod
    def recording(ticket: CacheTicket | None, replay: Replay | None) -> StreamRecord | None:
        """What a streamed request keeps of what it sends, for ``store_recorded`` (None: nothing to store)."""
        if ticket is None or replay is None or not ticket.plan.write:
            return None
        return StreamRecord(replay.assemble, replay.checked, ticket.plan.max_entry_bytes)

    def store_recorded(
        self, ticket: CacheTicket, recording: StreamRecord, tail: bytes = b""
    ) -> Awaitable[None] | None:
        """``store`` what a stream that ended cleanly sent (``tail``: an event the client was not sent but the
        entry needs)."""
        entry = recording.entry(tail)
        # A recorded entry is joined from its parts (exact); an assembled one comes from a serialiser.
        return None if entry is None else self.store(ticket, entry, exact=entry.startswith(RECORDED))

    async def _stored(self, ticket: CacheTicket, body: bytes) -> None:
        await self._store.set(ticket.key, body, ticket.plan.ttl_s)
        if self._semantic is not None and ticket.vector is not None:
            await self._semantic.remember(ticket)

    def land(self, ticket: CacheTicket) -> None:
        """The request is done (stored or not): wake the identical requests that waited for it. Only for a
        ticket still ``leading`` (an in-process ``store`` lands at once)."""
        if ticket.leading:
            waiter = self._leaders.pop(ticket.key, None)
            if waiter is not None:
                waiter.set()
