"""Blocking HTTP/1.1 calls with the standard library: one request, a JSON call (the admin API), and polling a
service until it answers 200."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import urlsplit

from bench.config import BenchError
from bench.processes import Service


def http_exchange(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout_s: float = 30.0,
) -> tuple[int, dict[str, str], bytes]:
    """One blocking HTTP/1.1 request (stdlib only); returns the status, the response headers (names in lower
    case) and the whole (de-chunked) body."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    connection = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout_s
    )
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, answer_headers, response.read()
    finally:
        connection.close()


def http_call(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout_s: float = 30.0,
) -> tuple[int, bytes]:
    """One blocking HTTP/1.1 request (stdlib only); returns the status and the whole (de-chunked) body."""
    status, _, raw = http_exchange(url, method=method, headers=headers, body=body, timeout_s=timeout_s)
    return status, raw


def call_json(
    url: str, method: str, headers: dict[str, str], payload: dict[str, Any] | None = None
) -> dict[str, Any]:
    status, raw = http_call(
        url,
        method=method,
        headers={**headers, "Content-Type": "application/json"} if payload is not None else headers,
        body=json.dumps(payload).encode() if payload is not None else None,
    )
    if status not in (200, 201):
        raise BenchError(f"{method} {url}: HTTP {status} {raw[:300]!r}")
    data: dict[str, Any] = json.loads(raw)
    return data


def wait_http(
    service: Service,
    url: str,
    *,
    timeout_s: float,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    since: float | None = None,
) -> float:
    """Poll until `url` answers 200; return the seconds from `since` (default: the spawn)."""
    start = service.spawned_at if since is None else since
    deadline = time.perf_counter() + timeout_s
    last = "no answer"
    while True:
        service.check_alive()
        try:
            status, raw = http_call(url, method=method, headers=headers, body=body, timeout_s=5.0)
            if status == 200:
                return time.perf_counter() - start
            last = f"HTTP {status}: {raw[:200]!r}"
        except (OSError, http.client.HTTPException) as exc:
            last = type(exc).__name__
        if time.perf_counter() > deadline:
            raise BenchError(f"{service.name}: {url} did not answer 200 in {timeout_s:.0f} s ({last})")
        time.sleep(0.02)
