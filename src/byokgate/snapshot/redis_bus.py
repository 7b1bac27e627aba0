"""The Redis change bus: configuration changes published on a channel every instance subscribes to.

Its own module so that instances without Redis never import the client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from byokgate.snapshot.changes import CHANNEL
from byokgate.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class RedisChangeBus:
    def __init__(self, url: str, *, channel: str = CHANNEL) -> None:
        self._redis = aioredis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        # The subscriber waits for messages indefinitely: no read timeout, a health-check ping instead.
        self._subscriber = aioredis.from_url(url, socket_connect_timeout=2, health_check_interval=30)
        self._channel = channel
        self._task: asyncio.Task[None] | None = None

    async def publish(self, version: int) -> None:
        try:
            await self._redis.publish(self._channel, str(version))
        except (RedisError, OSError) as exc:
            log.warning("could not publish a configuration change to Redis (%s); instances will poll", exc)

    async def listen(self, on_change: Callable[[int], Awaitable[None]]) -> None:
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._listen(on_change, ready), name="byokgate-config-listener")
        await asyncio.wait_for(ready.wait(), timeout=5)

    async def _listen(self, on_change: Callable[[int], Awaitable[None]], ready: asyncio.Event) -> None:
        while True:
            try:
                async with self._subscriber.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    ready.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await on_change(int(message["data"]))
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, ValueError) as exc:
                ready.set()
                log.warning("Redis configuration channel lost (%s); retrying in 1 s, polling meanwhile", exc)
                await asyncio.sleep(1)

    async def aclose(self) -> None:
        await cancel_and_wait(self._task)
        await self._subscriber.aclose()
        await self._redis.aclose()
