"""The in-process LRU and the Redis store, for real (Redis legs on the real Redis)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid

import orjson
import pytest

from byokgate.cache.redis_store import RedisStore
from byokgate.cache.store import MemoryStore


async def test_memory_store_ttl_lru_and_purge() -> None:
    store = MemoryStore(max_bytes=1024 * 1024)
    await store.set("proj_a:1", b"one", ttl_s=60)
    await store.set("proj_b:1", b"two", ttl_s=60)
    await store.set("proj_a:short", b"brief", ttl_s=0.05)
    assert await store.get("proj_a:1") == b"one"
    await asyncio.sleep(0.1)
    assert await store.get("proj_a:short") is None
    assert await store.purge("proj_a") == 1
    assert await store.get("proj_a:1") is None
    assert await store.get("proj_b:1") == b"two"


async def test_memory_store_is_bounded_by_bytes_least_recently_used_first() -> None:
    store = MemoryStore(max_bytes=1024 * 1024)
    chunk = b"x" * (400 * 1024)
    await store.set("p:a", chunk, 60)
    await store.set("p:b", chunk, 60)
    assert await store.get("p:a") == chunk  # a is now the most recently used
    await store.set("p:c", chunk, 60)
    assert await store.get("p:b") is None
    assert await store.get("p:a") == chunk
    assert store.size <= 1024 * 1024
    await store.set("p:huge", b"y" * (2 * 1024 * 1024), 60)  # larger than the whole cache: not stored
    assert await store.get("p:huge") is None


def test_memory_store_sweeps_the_least_recently_used_down_to_its_low_water_mark() -> None:
    """A write past the budget drops the oldest entries in one sweep, to 7/8 of the budget; what was read
    lately stays, and ``size`` is exactly what the remaining entries are charged."""
    store = MemoryStore(max_bytes=1024 * 1024)
    value = b"v" * 1000
    for i in range(800):  # 800 x 1,245 bytes charged: just under the budget
        store.put(f"p:{i}", value, 60)
    assert store.peek("p:0") == value  # read: now the most recently used
    for i in range(800, 1200):
        store.put(f"p:{i}", value, 60)
    assert 1024 * 1024 * 7 // 8 - 2000 < store.size <= 1024 * 1024
    assert store.peek("p:0") == value
    assert store.peek("p:1") is None
    assert store.peek("p:100") is None
    assert store.peek("p:1199") == value
    kept = list(store.entries)
    assert kept[-1] == "p:1199"
    assert kept[-2] == "p:0"
    assert store.size == sum(len(k) + len(v) + 240 for k, (_, v) in store.entries.items())


def test_memory_store_never_sweeps_out_the_entry_it_writes() -> None:
    """An entry larger than the low-water mark but within the budget stays; the others make room."""
    store = MemoryStore(max_bytes=1024 * 1024)
    small, big = b"s" * 10_000, b"b" * 1_040_000
    store.put("p:old", small, 60)
    store.put("p:big", big, 60)
    assert store.peek("p:old") is None
    assert store.peek("p:big") == big
    assert store.size == len(big) + len("p:big") + 240
    store.put("p:next", small, 60)  # now the big one is the oldest and goes
    assert store.peek("p:big") is None
    store.put("p:x", small, 60)
    store.swap("p:next", big)  # a replacement that passes the budget stays too, in its place
    assert store.peek("p:next") == big
    assert store.peek("p:x") is None


def test_memory_store_keeps_its_own_copy_of_the_value() -> None:
    """The store keeps a new object of the value's size, not the caller's (see the RSS test below)."""
    store = MemoryStore(max_bytes=1024 * 1024)
    answer = orjson.dumps({"content": "y" * 650})
    store.put("p:a", answer, 60)
    stored = store.peek("p:a")
    assert stored == answer
    assert stored is not answer


def test_memory_store_keeps_an_exact_value_as_it_is_and_charges_it_the_same() -> None:
    """``exact``: the caller vouches that the value holds no spare buffer (read off the network or joined),
    so the store keeps the object itself; the accounting does not change."""
    exact, copied = MemoryStore(max_bytes=1024 * 1024), MemoryStore(max_bytes=1024 * 1024)
    answer = b"".join([b'{"content": "', b"y" * 650, b'"}'])
    exact.put("p:a", answer, 60, exact=True)
    copied.put("p:a", answer, 60)
    assert exact.peek("p:a") is answer
    assert copied.peek("p:a") == answer
    assert copied.peek("p:a") is not answer
    assert exact.size == copied.size == len(answer) + len("p:a") + 240


@pytest.mark.redis
async def test_redis_store_shares_entries_and_purges_one_project(redis_url: str) -> None:
    project = f"proj_{uuid.uuid4().hex}"
    first, second = RedisStore(redis_url), RedisStore(redis_url)
    try:
        await first.set(f"{project}:k", b"answer", ttl_s=60)
        await first.set(f"{project}_other:k", b"other", ttl_s=60)
        assert await second.get(f"{project}:k") == b"answer"
        await first.set(f"{project}:brief", b"gone soon", ttl_s=0.05)
        await asyncio.sleep(0.15)
        assert await second.get(f"{project}:brief") is None
        assert await second.purge(project) == 1
        assert await first.get(f"{project}:k") is None
        assert await first.get(f"{project}_other:k") == b"other"
    finally:
        await first.aclose()
        await second.aclose()


async def test_memory_store_replace_keeps_the_expiry_and_none_drops() -> None:
    store = MemoryStore(max_bytes=1024 * 1024)
    await store.set("p:a", b"recorded, long", ttl_s=0.1)
    size = store.size
    await store.replace("p:a", b"short")
    assert await store.get("p:a") == b"short"
    assert store.size == size - len(b"recorded, long") + len(b"short")
    await store.replace("p:absent", b"x")  # only an entry that is there is replaced
    assert await store.get("p:absent") is None
    await asyncio.sleep(0.15)
    assert await store.get("p:a") is None  # the first expiry still holds
    await store.set("p:b", b"v", 60)
    await store.replace("p:b", None)
    assert await store.get("p:b") is None
    assert store.size == 0


async def test_redis_store_replace_keeps_the_ttl_and_none_drops(redis_url: str) -> None:
    project = f"proj_{uuid.uuid4().hex}"
    store = RedisStore(redis_url)
    try:
        await store.set(f"{project}:a", b"recorded", ttl_s=0.3)
        await store.replace(f"{project}:a", b"assembled")
        assert await store.get(f"{project}:a") == b"assembled"
        await store.replace(f"{project}:absent", b"x")
        assert await store.get(f"{project}:absent") is None
        await asyncio.sleep(0.45)
        assert await store.get(f"{project}:a") is None  # the TTL was kept
        await store.set(f"{project}:b", b"v", 60)
        await store.replace(f"{project}:b", None)
        assert await store.get(f"{project}:b") is None
        assert store.errors == 0
    finally:
        await store.aclose()


async def test_redis_down_is_a_miss_not_an_error() -> None:
    store = RedisStore("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        assert await store.get("p:k") is None
        await store.set("p:k", b"v", 60)
        assert await store.purge("p") == 0
        await store.replace("p:k", b"w")
        assert store.errors == 4
    finally:
        await store.aclose()


def test_memory_store_holds_answers_at_their_size() -> None:
    """orjson.dumps output pins its ~8 KiB working buffer (glibc cannot reuse the freed tail for the next
    one), so 20,000 stored 700-byte answers take ~70 MB instead of ~17 MB. Measured in a fresh
    process: peak RSS growth while filling the store."""
    script = """
import asyncio, resource, orjson
from byokgate.cache.store import MemoryStore

async def fill():
    store = MemoryStore(max_bytes=256 * 1024 * 1024)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for i in range(20_000):
        await store.set(f"p:{i}", orjson.dumps({"content": "y" * 650, "n": i}), 60)
    print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)

asyncio.run(fill())
"""
    grown_mb = int(
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    )
    assert grown_mb < 40, f"the store took {grown_mb} MB for 20,000 answers of ~700 bytes"
