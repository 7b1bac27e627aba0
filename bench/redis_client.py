"""Redis (for the cache-hit-redis target): a few commands over RESP, so the harness stays stdlib-only."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.config import BenchError


def _resp_encode(args: Sequence[str]) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _resp_read(reader: Any) -> Any:
    line: bytes = reader.readline()
    if not line.endswith(b"\r\n"):
        raise BenchError(f"Redis: connection closed or malformed reply ({line[:100]!r})")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise BenchError(f"Redis error: {rest.decode(errors='replace')}")
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None
        data: bytes = reader.read(size + 2)
        return data[:-2]
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_resp_read(reader) for _ in range(count)]
    raise BenchError(f"Redis: unexpected reply {line[:100]!r}")


def redis_command(url: str, *args: str, timeout_s: float = 5.0) -> Any:
    """One command against the database of a `redis://[[user]:password@]host[:port][/db]` URL."""
    parts = urlsplit(url)
    if parts.scheme != "redis":
        raise BenchError(f"--redis-url: only redis:// URLs are supported, got {url!r}")
    database = parts.path.strip("/") or "0"
    commands: list[list[str]] = []
    if parts.password:
        commands.append(["AUTH", *([parts.username] if parts.username else []), parts.password])
    commands += [["SELECT", database], list(args)]
    address = (parts.hostname or "127.0.0.1", parts.port or 6379)
    try:
        with socket.create_connection(address, timeout=timeout_s) as sock, sock.makefile("rb") as reader:
            reply: Any = None
            for command in commands:
                sock.sendall(_resp_encode(command))
                reply = _resp_read(reader)
            return reply
    except OSError as exc:
        raise BenchError(f"Redis at {address[0]}:{address[1]}: {type(exc).__name__}: {exc}") from None


def redis_info(url: str, section: str) -> dict[str, str]:
    raw = redis_command(url, "INFO", section)
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    info = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and not name.startswith("#"):
            info[name.strip()] = value.strip()
    return info


def redis_cpu_seconds(url: str) -> float:
    """The Redis server's own user + system CPU time (INFO cpu; microsecond resolution)."""
    info = redis_info(url, "cpu")
    return float(info.get("used_cpu_user", 0)) + float(info.get("used_cpu_sys", 0))


def redis_environment(url: str) -> dict[str, Any]:
    try:
        server = redis_info(url, "server")
    except BenchError as exc:
        return {"url": url, "error": str(exc)}
    info: dict[str, Any] = {
        "url": url,
        "version": server.get("redis_version"),
        "process_id": server.get("process_id"),
    }
    # Not started (so not pinned) by the harness; note which CPUs it may use, when this machine can tell.
    with contextlib.suppress(OSError, ValueError):
        status = Path(f"/proc/{int(server.get('process_id', ''))}/status").read_text()
        for line in status.splitlines():
            if line.startswith("Cpus_allowed_list:"):
                info["cpus_allowed"] = line.split(":", 1)[1].strip()
    return info
