"""Windowed counters with an all-or-nothing take, in memory and on the real Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from byokgate.limits.counters import Counters, Take
from byokgate.limits.redis_counters import RedisCounters


def unique(name: str) -> str:
    return f"test-{uuid.uuid4().hex[:10]}:{name}"


async def test_a_take_adds_everything_or_nothing(counters: Counters) -> None:
    a, b = unique("a"), unique("b")
    assert await counters.take([Take(a, 10, 6, 60), Take(b, 5, 5, 60)]) is None
    assert await counters.take([Take(a, 10, 4, 60), Take(b, 5, 1, 60)]) == 1  # b would pass 5
    assert await counters.add(a, 0, 60) == 6  # ... so a did not move either
    assert await counters.take([Take(a, 10, 4, 60)]) is None
    assert await counters.take([Take(a, 10, 1, 60)]) == 0
    assert await counters.take([Take(unique("c"), 3, 4, 60)]) == 0  # larger than the limit on its own


async def test_adding_back_never_goes_below_zero(counters: Counters) -> None:
    key = unique("k")
    await counters.take([Take(key, 100, 30, 60)])
    assert await counters.add(key, -10, 60) == 20
    assert await counters.add(key, -50, 60) == 0
    assert await counters.add(key, 7, 60) == 7


async def test_windows_expire(counters: Counters) -> None:
    key = unique("w")
    assert await counters.take([Take(key, 1, 1, 0.2)]) is None
    assert await counters.take([Take(key, 1, 1, 0.2)]) == 0
    await asyncio.sleep(0.3)
    assert await counters.take([Take(key, 1, 1, 0.2)]) is None


async def test_a_flag_is_raised_once(counters: Counters) -> None:
    flag = unique("f")
    assert await counters.first(flag, 60) is True
    assert await counters.first(flag, 60) is False


@pytest.mark.redis
async def test_concurrent_takes_from_several_clients_never_pass_the_limit(redis_url: str) -> None:
    clients = [RedisCounters(redis_url) for _ in range(4)]
    key = unique("race")
    try:
        results = await asyncio.gather(*(clients[i % 4].take([Take(key, 50, 1, 60)]) for i in range(120)))
        assert sum(result is None for result in results) == 50
        assert await clients[0].add(key, 0, 60) == 50
    finally:
        for client in clients:
            await client.aclose()


async def test_redis_down_raises_for_the_gate_to_let_requests_through() -> None:
    counters = RedisCounters("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(Exception):  # noqa: B017, PT011 - any failure: the gate lets the request through
            await counters.take([Take("x", 1, 1, 1)])
    finally:
        await counters.aclose()
