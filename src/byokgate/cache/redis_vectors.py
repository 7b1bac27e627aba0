"""The semantic index in Redis, shared by every gateway instance. Imported only when Redis is configured.

One hash per bucket (``byokgate:semantic:{project_id}:{digest}``): field = the exact-cache entry key, value =
8 bytes of expiry (Unix milliseconds, big-endian) followed by the vector. A search reads the bucket and scores
it here; the hash itself expires with its longest-lived entry. Errors are raised: the caller treats any
failure of the semantic cache as a miss.
"""

from __future__ import annotations

import struct
import time
from typing import cast

import redis.asyncio as aioredis

from byokgate.cache.vectors import MAX_PER_BUCKET, best_match

_PREFIX = "byokgate:semantic:"
_EXPIRY = struct.Struct(">Q")
_BUCKET_CAP = min(MAX_PER_BUCKET, 1024)  # every search reads the whole hash: keep it small


class RedisIndex:
    def __init__(self, url: str) -> None:
        self._redis = aioredis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)

    async def search(self, bucket: str, vector: bytes) -> tuple[str, float] | None:
        stored = cast("dict[bytes, bytes]", await self._redis.hgetall(_PREFIX + bucket))
        now_ms = int(time.time() * 1000)
        keys: list[bytes] = []
        rows: list[bytes] = []
        expired: list[bytes] = []
        for key, value in stored.items():
            if _EXPIRY.unpack_from(value)[0] <= now_ms:
                expired.append(key)
            else:
                keys.append(key)
                rows.append(value[_EXPIRY.size :])
        if expired:
            await self._redis.hdel(_PREFIX + bucket, *expired)
        found = best_match(rows, vector)
        return None if found is None else (keys[found[0]].decode(), found[1])

    async def add(self, bucket: str, vector: bytes, entry_key: str, ttl_s: float) -> None:
        name = _PREFIX + bucket
        ttl_ms = max(int(ttl_s * 1000), 1)
        value = _EXPIRY.pack(int(time.time() * 1000) + ttl_ms) + vector
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(name, entry_key, value)
            pipe.pexpire(name, ttl_ms, nx=True)  # a new hash gets a TTL ...
            pipe.pexpire(name, ttl_ms, gt=True)  # ... an existing one only ever a longer one
            pipe.hlen(name)
            results = await pipe.execute()
        if int(results[-1]) > _BUCKET_CAP:
            await self._trim(name)

    async def _trim(self, name: str) -> None:
        stored = cast("dict[bytes, bytes]", await self._redis.hgetall(name))
        by_expiry = sorted(stored, key=lambda key: _EXPIRY.unpack_from(stored[key])[0])
        surplus = by_expiry[: len(by_expiry) - _BUCKET_CAP]
        if surplus:
            await self._redis.hdel(name, *surplus)

    async def purge(self, project_id: str) -> int:
        removed = 0
        async for name in self._redis.scan_iter(match=f"{_PREFIX}{project_id}:*", count=500):
            removed += int(await self._redis.hlen(name))
            await self._redis.unlink(name)
        return removed

    async def aclose(self) -> None:
        await self._redis.aclose()
        await self._redis.connection_pool.disconnect()
