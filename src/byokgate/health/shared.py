"""Circuit breakers and key cooldowns shared by every instance through Redis (when configured).

Each instance keeps its own state for the hot path (no Redis round trip on a request) and: writes every
change it makes at once (a breaker opening, half-opening or closing; a key cooling or cleared) to two Redis
hashes; reads both every ``poll_s`` and adopts what is newer than its own; and claims each due probe with
``SET NX`` so that exactly one instance probes a half-open breaker. A Redis outage leaves every instance
with its own state (the breakers keep working, unshared) and a warning in the log.

Its own module so that instances without Redis never import the client.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from byokgate.health.breakers import Breaker, Breakers, State
from byokgate.health.keys import Cooldown, KeyHealth
from byokgate.tasks import cancel_and_wait

log = logging.getLogger(__name__)

BREAKERS = "byokgate:breakers"
COOLDOWNS = "byokgate:key-cooldowns"
PROBE = "byokgate:probe:"


class SharedHealth:
    def __init__(
        self, url: str, breakers: Breakers, keys: KeyHealth, *, poll_s: float = 0.5, prefix: str = ""
    ) -> None:
        self._redis = aioredis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self._breakers = breakers
        self._keys = keys
        self._poll_s = poll_s
        self._names = (prefix + BREAKERS, prefix + COOLDOWNS, prefix + PROBE)
        self._me = secrets.token_hex(8)
        self._task: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[Callable[[], Awaitable[Any]]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._warned = False
        breakers.shared = True
        breakers.publish = self._publish_breaker
        keys.on_change = self._publish_cooldown

    async def start(self) -> None:
        self._task = asyncio.create_task(self._poll(), name="byokgate-shared-health")
        self._writer = asyncio.create_task(self._drain(), name="byokgate-shared-health-writes")

    async def aclose(self) -> None:
        await cancel_and_wait(self._task)
        for _ in range(100):  # what is queued goes out first (briefly)
            if self._queue.empty():
                break
            await asyncio.sleep(0.01)
        await cancel_and_wait(self._writer)
        await self._redis.aclose()

    # --- writing what this instance learned -------------------------------------------------------

    def _publish_breaker(self, name: str, breaker: Breaker | None) -> None:
        key = self._names[0]
        if breaker is None:
            self._write(lambda: self._redis.hdel(key, name))
        else:
            state = orjson.dumps(breaker.as_json())
            self._write(lambda: self._redis.hset(key, name, state))

    def _publish_cooldown(self, credential_id: str, cooldown: Cooldown | None) -> None:
        key = self._names[1]
        if cooldown is None:
            self._write(lambda: self._redis.hdel(key, credential_id))
        else:
            state = orjson.dumps(cooldown.as_json())
            self._write(lambda: self._redis.hset(key, credential_id, state))

    def _write(self, operation: Callable[[], Awaitable[Any]]) -> None:
        """Queue a write: they go out one by one, in order (a close must not land before its opening)."""
        self._queue.put_nowait(operation)

    async def _drain(self) -> None:
        while True:
            operation = await self._queue.get()
            try:
                await operation()
            except (RedisError, OSError) as exc:
                self._outage(exc)

    # --- reading what the others learned ----------------------------------------------------------

    async def _poll(self) -> None:
        while True:
            try:
                await self.sync()
                self._warned = False
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self._outage(exc)
            except Exception:  # a bad entry must not stop the sharing
                log.exception("shared breakers and key cooldowns: a sync round failed")
            await asyncio.sleep(self._poll_s)

    async def sync(self) -> None:
        """One round: adopt the shared breakers and cooldowns, claim the probes due here."""
        breakers_key, cooldowns_key, probe = self._names
        now = time.time()
        shared = await self._redis.hgetall(breakers_key)
        stale_probe_s = self._breakers.settings.cool_s + 30  # no probe takes this long (the deadline aside)
        seen = set()
        for raw_name, raw in shared.items():
            name = _text(raw_name)
            seen.add(name)
            state = orjson.loads(raw)
            kind, at = State(state["state"]), state["at"]
            if kind is State.HALF_OPEN and at < now - stale_probe_s:  # its prober went away: probe anew
                kind, state["opened_until"] = State.OPEN, now
            self._breakers.adopt(name, kind, state["opened_until"], state["last_failure"], at)
        for name in self._breakers.view():  # closed elsewhere (deleted from the hash), not changed here since
            if name not in seen and self._breakers.changed_since(name) < now - 2 * self._poll_s:
                self._breakers.adopt(name, State.CLOSED, 0.0, 0.0, now)
        for name in self._breakers.due():
            cool_ms = int(self._breakers.settings.cool_s * 1000)
            if await self._redis.set(probe + name, self._me, nx=True, px=cool_ms):
                self._breakers.grant_probe(name)
        cooling = await self._redis.hgetall(cooldowns_key)
        for raw_id, raw in cooling.items():
            data = orjson.loads(raw)
            cooldown = Cooldown(data["reason"], data["until"], data["since"], data.get("model"))
            if cooldown.until is not None and cooldown.until <= now:
                await self._redis.hdel(cooldowns_key, raw_id)
                continue
            self._keys.adopt(_text(raw_id), cooldown)
        for credential_id, cooldown in self._keys.view().items():  # lifted elsewhere, not cooled here since
            if credential_id.encode() not in cooling and cooldown.since < now - 2 * self._poll_s:
                self._keys.adopt(credential_id, None)

    def _outage(self, exc: BaseException) -> None:
        if not self._warned:
            log.warning(
                "Redis unavailable for shared breakers and key cooldowns (%s); each instance keeps its own",
                exc,
            )
            self._warned = True


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
