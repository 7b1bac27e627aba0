"""The only module that talks to upstream providers: one pooled HTTP client, timeouts, cancellation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType

import httpx

from byokgate.domain.upstream import UpstreamRequest, UpstreamResponse


class UpstreamUnreachableError(Exception):
    """Connect failure or timeout; the message names the host, never headers or keys."""


class UpstreamTimeoutError(UpstreamUnreachableError):
    """No answer (or no next byte) within the timeout."""


@dataclass(slots=True)
class UpstreamStream:
    """An upstream response whose body is read as it arrives."""

    status: int
    headers: httpx.Headers
    _response: httpx.Response

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_raw():
                yield chunk
        except httpx.TimeoutException:
            raise UpstreamTimeoutError("upstream stopped sending (read timeout)") from None
        except httpx.HTTPError as exc:
            raise UpstreamUnreachableError(
                f"upstream connection failed mid-response: {type(exc).__name__}"
            ) from None

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])


class Transport:
    def __init__(self, *, timeout_s: float, max_connections: int = 512) -> None:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            follow_redirects=False,
            trust_env=False,
        )

    async def send(self, request: UpstreamRequest, *, timeout_s: float | None = None) -> UpstreamResponse:
        """Send ``request`` and read the whole answer."""
        async with self.open(request, timeout_s=timeout_s) as response:
            body = await response.read()
        return UpstreamResponse(response.status, dict(response.headers), body)

    @asynccontextmanager
    async def open(
        self, request: UpstreamRequest, *, timeout_s: float | None = None
    ) -> AsyncIterator[UpstreamStream]:
        """Send ``request`` and yield the response before its body is read; always closes it."""
        timeout = (
            httpx.USE_CLIENT_DEFAULT
            if timeout_s is None
            else httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0))
        )
        built = self._client.build_request(
            request.method, request.url, headers=request.headers, content=request.body, timeout=timeout
        )
        host = built.url.host
        try:
            response = await self._client.send(built, stream=True)
        except httpx.TimeoutException:
            raise UpstreamTimeoutError(f"timed out waiting for {host}") from None
        except httpx.HTTPError as exc:
            raise UpstreamUnreachableError(f"could not reach {host}: {type(exc).__name__}") from None
        try:
            yield UpstreamStream(response.status_code, response.headers, response)
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
