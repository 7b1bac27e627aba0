"""Time to first token: a minimal keep-alive HTTP/1.1 client on asyncio streams, sequential streaming requests
over it, and the nearest-rank percentile."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from bench.answers import CONTENT_DELTA
from bench.config import BenchError
from bench.targets import Target


class SseConnection:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams, for timing SSE answers precisely."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.last_headers: dict[str, str] = {}  # the last answer's headers (names and values in lower case)

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def first_content_s(
        self, headers: dict[str, str], body: bytes, is_content: Callable[[str], bool]
    ) -> float:
        """POST, read the whole answer; return the seconds from sending to the first line `is_content`
        accepts (an SSE `data:` line with the first piece of text)."""
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        head = [
            f"POST {self.path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(body)}",
        ]
        head += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        started = time.perf_counter()
        writer.write(request)
        await writer.drain()

        status_line = await reader.readline()
        status = int(status_line.split()[1]) if status_line.startswith(b"HTTP/") else 0
        response_headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            response_headers[name.strip().lower()] = value.strip().lower()
        self.last_headers = response_headers

        first: float | None = None
        pending = b""

        def feed(data: bytes) -> None:
            nonlocal first, pending
            pending += data
            *complete, pending = pending.split(b"\n")
            if first is None:
                for raw_line in complete:
                    if is_content(raw_line.decode(errors="replace").rstrip("\r")):
                        first = time.perf_counter() - started
                        break

        if response_headers.get("transfer-encoding") == "chunked":
            while size := int((await reader.readline()).split(b";")[0].strip() or b"0", 16):
                feed(await reader.readexactly(size))
                await reader.readexactly(2)
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
        elif "content-length" in response_headers:
            feed(await reader.readexactly(int(response_headers["content-length"])))
        else:
            feed(await reader.read())
            response_headers["connection"] = "close"
        feed(b"\n")
        if response_headers.get("connection") == "close":
            await self.close()
        if status != 200:
            raise BenchError(f"{self.path}: TTFT request answered HTTP {status}")
        if first is None:
            raise BenchError(f"{self.path}: a stream ended without a content delta")
        return first


async def ttft_samples(target: Target, count: int, warmup: int) -> list[float]:
    """Sequential streaming requests over one kept-alive connection; seconds to the first content delta.

    A unique-body target sends a new prompt each time; a cache target's answers must carry the expected
    `x-byokgate-cache`.
    """
    headers, is_content = target.headers, CONTENT_DELTA[target.api]
    samples: list[float] = []
    connection = SseConnection(target.url)
    try:
        for index in range(warmup + count):
            body = target.body(True)
            try:
                elapsed = await asyncio.wait_for(
                    connection.first_content_s(headers, body, is_content), timeout=60
                )
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                raise BenchError(f"{target.name}: TTFT request failed ({type(exc).__name__}: {exc})") from exc
            if target.expect_cache is not None:
                got = connection.last_headers.get("x-byokgate-cache", "")
                if got != target.expect_cache.lower():
                    raise BenchError(
                        f"{target.name}: TTFT answer says x-byokgate-cache: {got}, not {target.expect_cache}"
                    )
            if index >= warmup:
                samples.append(elapsed)
    finally:
        await connection.close()
    return samples


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]
