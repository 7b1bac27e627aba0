"""Cache entries in Redis, shared by every gateway instance; an outage is a miss and a log line, not an error.

Imported only when ``BYOKGATE_REDIS_URL`` is set.
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from byokgate.logs import OutageLog

log = logging.getLogger(__name__)

_PREFIX = "byokgate:cache:"


class RedisStore:
    def __init__(self, url: str) -> None:
        self._redis = aioredis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        self._outage = OutageLog(
            log, "response cache: Redis unavailable ({error}); serving misses until it is back"
        )

    @property
    def errors(self) -> int:
        """Failures seen (requests were served around them)."""
        return self._outage.errors

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._redis.get(_PREFIX + key)
        except (RedisError, OSError) as exc:
            self._outage.failed(exc)
            return None
        if value is None:
            return None
        return value if isinstance(value, bytes) else str(value).encode()

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        try:
            await self._redis.set(_PREFIX + key, value, px=max(int(ttl_s * 1000), 1))
        except (RedisError, OSError) as exc:
            self._outage.failed(exc)

    async def replace(self, key: str, value: bytes | None) -> None:
        try:
            if value is None:
                await self._redis.unlink(_PREFIX + key)
            else:
                await self._redis.set(_PREFIX + key, value, xx=True, keepttl=True)
        except (RedisError, OSError) as exc:
            self._outage.failed(exc)

    async def purge(self, project_id: str) -> int:
        removed = 0
        try:
            async for key in self._redis.scan_iter(match=f"{_PREFIX}{project_id}:*", count=500):
                removed += int(await self._redis.unlink(key))
        except (RedisError, OSError) as exc:
            self._outage.failed(exc)
        return removed

    async def aclose(self) -> None:
        await self._redis.aclose()
        await self._redis.connection_pool.disconnect()
