"""Windowed counters in Redis, shared by every gateway instance (imported only when Redis is configured).

The all-or-nothing take is one Lua script, so concurrent requests on any number of instances can never
together pass a limit. Counters expire with their window.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from byokgate.limits.counters import HELD_TTL_S, Take

_PREFIX = "byokgate:limit:"

# KEYS: the counters; ARGV: limit, amount, ttl in ms, for each key in turn. Returns 0 when every amount was
# added, else the 1-based index of the first counter that would have passed its limit (nothing added).
_TAKE = """
for i, key in ipairs(KEYS) do
  local used = tonumber(redis.call('GET', key) or '0')
  if used + tonumber(ARGV[3 * i - 1]) > tonumber(ARGV[3 * i - 2]) then
    return i
  end
end
for i, key in ipairs(KEYS) do
  redis.call('INCRBY', key, ARGV[3 * i - 1])
  if redis.call('PTTL', key) < 0 then
    redis.call('PEXPIRE', key, ARGV[3 * i])
  end
end
return 0
"""

# KEYS[1]: the counter; ARGV: amount (may be negative), ttl in ms. Never below zero.
_ADD = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if value < 0 then
  redis.call('SET', KEYS[1], 0, 'KEEPTTL')
  value = 0
end
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
"""


# KEYS: spent, held; ARGV: spent_from, ceiling, amount, held ttl in ms. Returns 1 when held, else 0.
_HOLD = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], ARGV[1])
end
local spent = tonumber(redis.call('GET', KEYS[1]))
local held = tonumber(redis.call('GET', KEYS[2]) or '0')
if spent + held + tonumber(ARGV[3]) > tonumber(ARGV[2]) then
  return 0
end
redis.call('INCRBY', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
"""

# KEYS: spent, held; ARGV: spent_from, release, amount. Returns the new spent total.
_SPEND = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], ARGV[1])
end
local total = redis.call('INCRBY', KEYS[1], ARGV[3])
if redis.call('EXISTS', KEYS[2]) == 1 and redis.call('DECRBY', KEYS[2], ARGV[2]) < 0 then
  redis.call('SET', KEYS[2], 0, 'KEEPTTL')
end
return total
"""


def _ms(ttl_s: float) -> int:
    return max(int(ttl_s * 1000), 1)


class RedisCounters:
    def __init__(self, url: str) -> None:
        self._redis = aioredis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        self._take = self._redis.register_script(_TAKE)
        self._add = self._redis.register_script(_ADD)
        self._hold = self._redis.register_script(_HOLD)
        self._spend = self._redis.register_script(_SPEND)

    async def take(self, takes: Sequence[Take]) -> int | None:
        if not takes:
            return None
        args: list[int] = []
        for take in takes:
            args += [take.limit, take.amount, _ms(take.ttl_s)]
        refused = int(await self._take(keys=[_PREFIX + take.key for take in takes], args=args))
        return None if refused == 0 else refused - 1

    async def add(self, key: str, amount: int, ttl_s: float) -> int:
        return int(await self._add(keys=[_PREFIX + key], args=[amount, _ms(ttl_s)]))

    async def first(self, flag: str, ttl_s: float) -> bool:
        return bool(await self._redis.set(_PREFIX + flag, 1, nx=True, px=_ms(ttl_s)))

    async def hold(self, spent: str, held: str, spent_from: int, ceiling: int, amount: int) -> bool:
        keys = [_PREFIX + spent, _PREFIX + held]
        return bool(await self._hold(keys=keys, args=[spent_from, ceiling, amount, _ms(HELD_TTL_S)]))

    async def spend(self, spent: str, held: str, spent_from: int, release: int, amount: int) -> int:
        keys = [_PREFIX + spent, _PREFIX + held]
        return int(await self._spend(keys=keys, args=[spent_from, release, amount]))

    async def aclose(self) -> None:
        await self._redis.aclose()
        await self._redis.connection_pool.disconnect()
