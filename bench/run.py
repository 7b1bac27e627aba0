"""Benchmark byokgate's data plane against direct calls to the emulators and against LiteLLM's proxy.

.venv/bin/python bench/run.py [--duration 10] [--concurrency 1,16,64] [--modes json,stream]
    [--targets direct,byokgate,litellm,direct-anthropic,byokgate-anthropic,byokgate-messages,
               cache-hit-memory,cache-hit-redis,cache-miss,cache-off]
    [--ttft-requests 200] [--redis-url redis://127.0.0.1:6379/14]

On a 2-core machine the gateway under test (byokgate or LiteLLM) runs alone on CPU 0; the OpenAI and
Anthropic emulators, wrk and this script share CPU 1. Gateways are measured one at a time and stopped before
any other target is measured (consecutive byokgate targets share one gateway process), so an idle gateway
never competes with the one being measured. The cache targets measure byokgate's response cache: answers
served from it (memory or Redis), and misses next to the same requests with the cache off. See
bench/README.md.
"""

# The subprocess calls run fixed argv lists (no shell) built from this script's own paths and options.
# ruff: noqa: S603, S607

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import http.client
import importlib.metadata
import itertools
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "bench"
RESULTS_DIR = BENCH_DIR / "results"
BYOKGATE_BIN = REPO / ".venv" / "bin" / "byokgate"
LITELLM_VENV = BENCH_DIR / ".venv-litellm"
LITELLM_BIN = LITELLM_VENV / "bin" / "litellm"

GATEWAY_CPU = 0  # byokgate / LiteLLM, alone
CLIENT_CPU = 1  # emulator, wrk, this script (TTFT client)

TARGETS = (
    "direct",
    "byokgate",
    "litellm",
    "direct-anthropic",
    "byokgate-anthropic",
    "byokgate-messages",
    "cache-hit-memory",
    "cache-hit-redis",
    "cache-miss",
    "cache-off",
)
# A target's added latency and TTFT are measured against its baseline (same mode and concurrency).
BASELINES = {
    "byokgate": "direct",
    "litellm": "direct",
    "byokgate-anthropic": "direct-anthropic",
    "byokgate-messages": "direct-anthropic",
    "cache-hit-memory": "direct",
    "cache-hit-redis": "direct",
    "cache-miss": "direct",
    "cache-off": "direct",
}
# The response-cache targets and the x-byokgate-cache value every one of their answers must carry (any other
# value is counted as an error). cache-miss and cache-off send a different prompt with every request.
CACHE_EXPECT = {
    "cache-hit-memory": "HIT",
    "cache-hit-redis": "HIT",
    "cache-miss": "MISS",
    "cache-off": "BYPASS",
}
CACHE_TARGETS = frozenset(CACHE_EXPECT)
UNIQUE_TARGETS = frozenset({"cache-miss", "cache-off"})
REDIS_TARGETS = frozenset({"cache-hit-redis"})  # served by a gateway of their own, with BYOKGATE_REDIS_URL
# The targets that need each emulator, and the byokgate targets (one gateway process serves a run of them).
OPENAI_TARGETS = frozenset({"direct", "byokgate", "litellm", *CACHE_TARGETS})
ANTHROPIC_TARGETS = frozenset({"direct-anthropic", "byokgate-anthropic", "byokgate-messages"})
BYOKGATE_TARGETS = frozenset({"byokgate", "byokgate-anthropic", "byokgate-messages", *CACHE_TARGETS})
MODES = ("json", "stream")
MODEL = "gpt-4o-mini"
CLAUDE_MODEL = "claude-3-5-haiku-20241022"
CLAUDE_MAX_TOKENS = 64
ANTHROPIC_VERSION = "2023-06-01"
PROMPT = "Say hello"
CACHE_TTL_S = 3600
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
UNIQUE_MARK = "@@UNIQUE@@"  # where the Lua script of a unique-body target puts its per-request tag
RUN_TAG = secrets.token_hex(4)  # makes this run's unique prompts differ from any earlier run's
_unique_ids = itertools.count(1)
RESULT_MARKER = "BENCH_RESULT "
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """The harness cannot go on (a process died, a check failed)."""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def request_body(
    stream: bool, model: str = MODEL, max_tokens: int | None = None, prompt: str = PROMPT
) -> bytes:
    """A chat body; OpenAI chat completions and Anthropic Messages share these fields.

    `max_tokens` is sent to Claude only: Messages requires it, and byokgate maps an OpenAI request's
    `max_tokens` to it, so every Claude target asks the Anthropic emulator for the same thing.
    """
    body: dict[str, Any] = {"model": model}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    body["messages"] = [{"role": "user", "content": prompt}]
    if stream:
        body["stream"] = True
    return json.dumps(body, separators=(",", ":")).encode()


def unique_prompt() -> str:
    """A prompt no other request of this run (or of an earlier one) has sent: a guaranteed cache miss."""
    return f"{PROMPT} {RUN_TAG}p{next(_unique_ids)}"


def api_headers(api: str, key: str) -> dict[str, str]:
    """The request headers of one API format: OpenAI (bearer) or Anthropic (`x-api-key` + version)."""
    if api == "anthropic":
        return {"x-api-key": key, "anthropic-version": ANTHROPIC_VERSION, "Content-Type": "application/json"}
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --------------------------------------------------------------------------------------------------------
# Processes


class Service:
    """A server process in its own session (so Ctrl-C reaches us, not it), logging to a file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.spawned_at = 0.0

    def start(self) -> None:
        with self.log_path.open("wb") as log_file:
            self.spawned_at = time.perf_counter()
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise BenchError(f"{self.name} is not started")
        return self.proc.pid

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise BenchError(f"{self.name} is not running (exit code {code}); log:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace_s: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(wait_s)
                return
            except subprocess.TimeoutExpired:
                continue


class Services:
    """Every process started, so that all of them are stopped on any exit path."""

    def __init__(self) -> None:
        self._all: list[Service] = []

    def start(self, service: Service) -> Service:
        self._all.append(service)
        service.start()
        return service

    def stop(self, service: Service) -> None:
        service.stop()
        if service in self._all:
            self._all.remove(service)

    def stop_all(self) -> None:
        while self._all:
            self._all.pop().stop()


def pinned(cpu: int, argv: Sequence[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *argv]


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants."""
    children = _children_map()
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process tree (all threads), from /proc/<pid>/stat."""
    total = 0
    for member in process_tree(pid):
        try:
            stat = Path(f"/proc/{member}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / CLK_TCK


def peak_rss_bytes(pid: int) -> int:
    """Sum of VmHWM over a process tree."""
    total = 0
    for member in process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) * 1024
    return total


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


# --------------------------------------------------------------------------------------------------------
# Redis (for the cache-hit-redis target): a few commands over RESP, so the harness stays stdlib-only


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


# --------------------------------------------------------------------------------------------------------
# Targets


@dataclass
class Target:
    name: str
    url: str  # the chat completions or messages URL
    key: str
    service: Service  # the process whose CPU and memory are measured
    upstream: Service  # the emulator behind it
    startup_s: float
    startup_note: str = ""
    api: str = "openai"  # the request format: "openai" (chat completions) or "anthropic" (Messages)
    model: str = MODEL
    unique: bool = False  # every request a different prompt (cache-miss, cache-off)
    expect_cache: str | None = None  # the x-byokgate-cache every answer must carry (cache targets)
    redis_url: str | None = None  # the Redis behind the gateway, whose CPU is measured too

    @property
    def headers(self) -> dict[str, str]:
        return api_headers(self.api, self.key)

    def body(self, stream: bool, prompt: str | None = None) -> bytes:
        """The request body; a unique target's prompt is new at every call."""
        max_tokens = CLAUDE_MAX_TOKENS if self.model == CLAUDE_MODEL else None
        if prompt is None:
            prompt = unique_prompt() if self.unique else PROMPT
        return request_body(stream, self.model, max_tokens, prompt)


@dataclass
class Emulator:
    service: Service
    base_url: str  # what a client uses as its base URL (OpenAI: .../v1; Anthropic: the root)
    key: str
    startup_s: float


def start_emulator(services: Services, workdir: Path, provider: str, key: str) -> Emulator:
    port = free_port()
    argv = [str(BYOKGATE_BIN), "emulate", "--provider", provider, "--port", str(port)]
    argv += ["--key", key, "--no-record"]
    env = dict(os.environ)
    name = "emulator" if provider == "openai" else f"emulator-{provider}"
    service = services.start(Service(name, pinned(CLIENT_CPU, argv), env, workdir))
    startup = wait_http(service, f"http://127.0.0.1:{port}/_emulator/health", timeout_s=60)
    log(f"{provider} emulator up on :{port} in {startup:.2f} s (pid {service.pid})")
    base_url = f"http://127.0.0.1:{port}" + ("/v1" if provider == "openai" else "")
    return Emulator(service, base_url, key, startup)


@dataclass
class Gateway:
    """A running byokgate with one project that holds a key for every emulator (cache off), and the cache
    projects the cache targets create when they first need them."""

    service: Service
    base: str
    api_key: str  # the project key (lgw_proj_...)
    startup_s: float
    admin_token: str
    redis_url: str | None = None  # BYOKGATE_REDIS_URL: cache entries in Redis, not in memory
    # cache enabled (True) or disabled (False) -> (project id, project key)
    cache_projects: dict[bool, tuple[str, str]] = field(default_factory=dict)

    @property
    def admin(self) -> tuple[str, dict[str, str]]:
        return f"{self.base}/admin/v1", {"Authorization": f"Bearer {self.admin_token}"}

    def target(self, name: str, emulators: dict[str, Emulator]) -> Target:
        note = "spawn until GET /healthz = 200"
        if name in CACHE_TARGETS:
            _, key = self.cache_project(name != "cache-off", emulators["openai"])
            upstream = emulators["openai"].service
            target = Target(
                name, f"{self.base}/v1/chat/completions", key, self.service, upstream, self.startup_s
            )
            target.startup_note = note
            target.unique = name in UNIQUE_TARGETS
            target.expect_cache = CACHE_EXPECT[name]
            target.redis_url = self.redis_url
            return target
        if name == "byokgate":
            url, api, model, provider = f"{self.base}/v1/chat/completions", "openai", MODEL, "openai"
        elif name == "byokgate-anthropic":
            url, api, model = f"{self.base}/v1/chat/completions", "openai", CLAUDE_MODEL
            provider = "anthropic"
        else:  # byokgate-messages
            url, api, model, provider = f"{self.base}/v1/messages", "anthropic", CLAUDE_MODEL, "anthropic"
        upstream = emulators[provider].service
        return Target(name, url, self.api_key, self.service, upstream, self.startup_s, note, api, model)

    def cache_project(self, enabled: bool, emulator: Emulator) -> tuple[str, str]:
        """A project with the OpenAI emulator's key and its response cache on (or explicitly off), once the
        data plane serves it with that setting: (project id, project key)."""
        if enabled in self.cache_projects:
            return self.cache_projects[enabled]
        admin_url, admin = self.admin
        label = "bench-cache-on" if enabled else "bench-cache-off"
        project_id = str(call_json(f"{admin_url}/projects", "POST", admin, {"name": label})["id"])
        created = call_json(f"{admin_url}/projects/{project_id}/api-keys", "POST", admin, {"name": label})
        key = str(created["key"])
        stored = f"{admin_url}/projects/{project_id}/provider-keys/openai"
        call_json(stored, "PUT", admin, {"api_key": emulator.key})
        settings = {"enabled": enabled, "ttl_s": CACHE_TTL_S}
        call_json(f"{admin_url}/projects/{project_id}/cache", "PUT", admin, settings)
        # The data plane reads a snapshot refreshed in the background (up to ~2 s): poll until the key works
        # and, with the cache on, the answers say anything but BYPASS. Unique prompts: nothing is reused.
        url = f"{self.base}/v1/chat/completions"
        ready, deadline, last = time.perf_counter(), time.perf_counter() + 30, "no answer"
        while True:
            self.service.check_alive()
            body = request_body(False, prompt=unique_prompt())
            try:
                status, headers, raw = http_exchange(
                    url, method="POST", headers=api_headers("openai", key), body=body, timeout_s=5
                )
                cache = headers.get("x-byokgate-cache")
                if status == 200 and (cache != "BYPASS") == enabled:
                    break
                last = f"HTTP {status}, x-byokgate-cache {cache}: {raw[:200]!r}"
            except (OSError, http.client.HTTPException) as exc:
                last = type(exc).__name__
            if time.perf_counter() > deadline:
                raise BenchError(f"{label}: the data plane did not serve it in 30 s ({last})")
            time.sleep(0.05)
        state = "on" if enabled else "off"
        log(
            f"byokgate project {project_id} (cache {state}) serving after {time.perf_counter() - ready:.2f} s"
        )
        self.cache_projects[enabled] = (project_id, key)
        return project_id, key

    def purge_caches(self) -> int:
        """Empty the cache of every cache-enabled project (DELETE .../cache/entries); entries removed."""
        admin_url, admin = self.admin
        removed = 0
        for enabled, (project_id, _) in self.cache_projects.items():
            if enabled:
                purged = call_json(f"{admin_url}/projects/{project_id}/cache/entries", "DELETE", admin)
                removed += int(purged.get("purged", 0))
        return removed


def start_byokgate(
    services: Services,
    workdir: Path,
    name: str,
    emulators: dict[str, Emulator],
    redis_url: str | None = None,
) -> Gateway:
    """`byokgate serve` on a fresh database, with a project holding the key of each emulator running; with
    `redis_url`, the gateway keeps its cache entries (and sends its change notices) there."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = workdir / f"{name}-data"
    data_dir.mkdir()
    admin_token = secrets.token_urlsafe(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOKGATE_")}
    env.update(
        BYOKGATE_DATA_DIR=str(data_dir),
        BYOKGATE_ADMIN_TOKEN=admin_token,
        BYOKGATE_MASTER_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        BYOKGATE_LOG_LEVEL="warning",
    )
    if redis_url is not None:
        env["BYOKGATE_REDIS_URL"] = redis_url
    for provider, emulator in emulators.items():
        env[f"BYOKGATE_{provider.upper()}_BASE_URL"] = emulator.base_url
    argv = pinned(GATEWAY_CPU, [str(BYOKGATE_BIN), "serve", "--port", str(port)])
    service = services.start(Service(name, argv, env, workdir))
    startup = wait_http(service, f"{base}/healthz", timeout_s=120)
    backend = f", cache in Redis {redis_url}" if redis_url else ""
    log(f"byokgate ({name}) up on :{port} in {startup:.2f} s (pid {service.pid}{backend})")

    admin_url, admin = f"{base}/admin/v1", {"Authorization": f"Bearer {admin_token}"}
    project = call_json(f"{admin_url}/projects", "POST", admin, {"name": "bench"})
    project_id = str(project["id"])
    created = call_json(f"{admin_url}/projects/{project_id}/api-keys", "POST", admin, {"name": "bench"})
    api_key = str(created["key"])
    for provider, emulator in emulators.items():
        stored = f"{admin_url}/projects/{project_id}/provider-keys/{provider}"
        call_json(stored, "PUT", admin, {"api_key": emulator.key})

    # The data plane serves from a snapshot that is refreshed in the background: wait until the new keys work.
    gateway = Gateway(service, base, api_key, startup, admin_token, redis_url)
    ready = time.perf_counter()
    for provider in emulators:
        probe = gateway.target("byokgate" if provider == "openai" else "byokgate-anthropic", emulators)
        waited = wait_http(
            service,
            probe.url,
            method="POST",
            headers=probe.headers,
            body=probe.body(False),
            timeout_s=30,
            since=ready,
        )
        log(f"byokgate project {project_id} serving {provider} after {waited:.2f} s")
    return gateway


def ensure_litellm() -> None:
    if LITELLM_BIN.exists():
        return
    log(f"creating {LITELLM_VENV} and installing litellm[proxy] (takes minutes, once)")
    subprocess.run(["python3", "-m", "venv", str(LITELLM_VENV)], check=True)
    pip = str(LITELLM_VENV / "bin" / "pip")
    subprocess.run([pip, "install", "--quiet", "litellm[proxy]"], check=True)


def litellm_version() -> str | None:
    python = LITELLM_VENV / "bin" / "python"
    if not python.exists():
        return None
    code = "import importlib.metadata as m; print(m.version('litellm'))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return done.stdout.strip() or None


def start_litellm(services: Services, workdir: Path, emulator: Emulator) -> Target:
    ensure_litellm()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    master_key = "sk-" + secrets.token_urlsafe(24)
    config = workdir / "litellm.yaml"
    # JSON is YAML: no YAML library needed in this venv.
    config.write_text(
        json.dumps(
            {
                "model_list": [
                    {
                        "model_name": MODEL,
                        "litellm_params": {
                            "model": f"openai/{MODEL}",
                            "api_base": emulator.base_url,
                            "api_key": emulator.key,
                        },
                    }
                ],
                "general_settings": {"master_key": master_key},
            },
            indent=2,
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LITELLM_MASTER_KEY")}
    env.update(
        LITELLM_LOCAL_MODEL_COST_MAP="True",  # no fetch of the model price list from GitHub
        LITELLM_LOG="ERROR",  # byokgate runs at warning; no per-request logging on either side
        NO_DOCS="True",
    )
    argv = [str(LITELLM_BIN), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--num_workers", "1"]
    service = services.start(Service("litellm", pinned(GATEWAY_CPU, argv), env, workdir))
    startup = wait_http(service, f"{base}/health/liveliness", timeout_s=300)
    log(f"litellm up on :{port} in {startup:.2f} s (pid {service.pid})")
    url = f"{base}/v1/chat/completions"
    note = "spawn until GET /health/liveliness = 200"
    return Target("litellm", url, master_key, service, emulator.service, startup, note)


def sse_data(raw: bytes) -> list[str]:
    """The payloads of an SSE body's `data:` lines, in order."""
    lines = raw.decode(errors="replace").splitlines()
    return [line[5:].strip() for line in lines if line.startswith("data:")]


def verify_chat(target: Target) -> None:
    """One request per mode must succeed, with an answer, before wrk hammers the target.

    OpenAI format: `choices[0].message.content`, and a stream with a content delta that ends with
    `data: [DONE]`. Anthropic format: a text block, and a stream with a `text_delta` whose last event is
    `message_stop` (Anthropic streams have no `[DONE]`). A Claude target must answer for a Claude model.
    A cache target's answers must both say `x-byokgate-cache: <expected>` (HIT, MISS or BYPASS).
    """
    status, headers, raw = http_exchange(
        target.url, method="POST", headers=target.headers, body=target.body(False)
    )
    if status != 200:
        raise BenchError(f"{target.name}: {target.api} answer HTTP {status}: {raw[:300]!r}")
    check_cache_header(target, "answer", headers)
    try:
        answer = json.loads(raw)
        if target.api == "anthropic":
            text = "".join(b.get("text", "") for b in answer["content"] if b.get("type") == "text")
        else:
            text = answer["choices"][0]["message"]["content"]
        model = answer["model"]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise BenchError(f"{target.name}: unexpected {target.api} answer ({exc!r}): {raw[:300]!r}") from None
    if not isinstance(text, str) or not text:
        raise BenchError(f"{target.name}: empty {target.api} answer: {raw[:300]!r}")
    if target.model == CLAUDE_MODEL and not str(model).startswith("claude-"):
        raise BenchError(f"{target.name}: answered for model {model!r}, not {CLAUDE_MODEL}")

    status, headers, raw = http_exchange(
        target.url, method="POST", headers=target.headers, body=target.body(True)
    )
    if status != 200:
        raise BenchError(f"{target.name}: streaming HTTP {status}: {raw[:300]!r}")
    check_cache_header(target, "stream", headers)
    data = sse_data(raw)
    has_content = any(CONTENT_DELTA[target.api]("data: " + payload) for payload in data)
    if target.api == "anthropic":
        last = data[-1] if data else ""
        try:
            ended = json.loads(last).get("type") == "message_stop" and "[DONE]" not in data
        except (ValueError, AttributeError):
            ended = False
        if not has_content or not ended:
            raise BenchError(
                f"{target.name}: stream without text_delta or final message_stop: {raw[-300:]!r}"
            )
    elif not has_content or not data or data[-1] != "[DONE]":
        raise BenchError(f"{target.name}: stream without content or final [DONE]: {raw[-300:]!r}")


def check_cache_header(target: Target, what: str, headers: dict[str, str]) -> None:
    if target.expect_cache is None:
        return
    got = headers.get("x-byokgate-cache")
    if got != target.expect_cache:
        raise BenchError(f"{target.name}: {what} says x-byokgate-cache: {got}, not {target.expect_cache}")


def prime_cache(target: Target) -> None:
    """A hit target's entry: the first plain request stores it (MISS); then both modes must say HIT.

    A streamed request is answered from the entry a plain one filled, so one entry serves both modes.
    """
    if target.expect_cache != "HIT":
        return
    deadline = time.perf_counter() + 10
    seen: dict[bool, str | None] = {}
    while True:
        for stream in (False, True):
            status, headers, raw = http_exchange(
                target.url, method="POST", headers=target.headers, body=target.body(stream)
            )
            if status != 200:
                raise BenchError(f"{target.name}: priming the cache: HTTP {status}: {raw[:300]!r}")
            seen[stream] = headers.get("x-byokgate-cache")
        if seen[False] == seen[True] == "HIT":
            return
        if time.perf_counter() > deadline:
            raise BenchError(
                f"{target.name}: no cache hit after 10 s (plain: {seen[False]}, stream: {seen[True]})"
            )
        time.sleep(0.05)


# --------------------------------------------------------------------------------------------------------
# wrk

LUA_TEMPLATE = """\
-- generated by bench/run.py
wrk.method = "POST"
{headers}
wrk.body = [==[{body}]==]
{unique}
-- wrk itself counts only status >= 400 as errors; count every non-2xx answer, per thread. A cache target
-- also counts every 2xx answer whose x-byokgate-cache is not the expected value.
non2xx = 0
cache_mismatch = 0
local expect_cache = {expect_cache}
local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif expect_cache then
    local got = headers["x-byokgate-cache"] or headers["X-Byokgate-Cache"]
    if got ~= expect_cache then
      cache_mismatch = cache_mismatch + 1
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local bad, mismatch = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
    mismatch = mismatch + (thread:get("cache_mismatch") or 0)
  end
  io.write(string.format(
    '{marker}{{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"non2xx":%d,"cache_mismatch":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"mean_us":%f,"max_us":%d}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    bad, mismatch, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    latency.max))
end
"""

# A unique-body target (cache-miss, cache-off) builds every request itself: the prompt ends with a tag from
# the command line (new for each wrk run) and a per-thread counter, e.g. "Say hello 3f9a0c1bw4-12345".
LUA_UNIQUE = """
local body_head = [==[{head}]==]
local body_tail = [==[{tail}]==]
local run_tag = "x"
local counter = 0

function init(args)
  run_tag = args[1] or run_tag
end

function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, body_head .. run_tag .. "-" .. counter .. body_tail)
end
"""


def write_lua(workdir: Path, target: Target, mode: str) -> Path:
    path = workdir / f"wrk-{target.name}-{mode}.lua"
    stream = mode == "stream"
    body = target.body(stream, PROMPT).decode()
    unique = ""
    if target.unique:
        head, tail = target.body(stream, f"{PROMPT} {UNIQUE_MARK}").decode().split(UNIQUE_MARK)
        unique = LUA_UNIQUE.format(head=head, tail=tail)
    expect_cache = f'"{target.expect_cache}"' if target.expect_cache else "nil"
    headers = "\n".join(f'wrk.headers["{name}"] = [==[{value}]==]' for name, value in target.headers.items())
    path.write_text(
        LUA_TEMPLATE.format(
            headers=headers, body=body, unique=unique, expect_cache=expect_cache, marker=RESULT_MARKER
        )
    )
    return path


def wrk_tag() -> str:
    """The tag a unique-body Lua script puts in its prompts: new for every wrk run (warm-ups included)."""
    return f"{RUN_TAG}w{next(_unique_ids)}"


@dataclass
class WrkRun:
    target: str
    mode: str
    concurrency: int
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: dict[str, int]
    error_total: int
    cpu_us_per_req: float | None
    upstream_cpu_us_per_req: float | None
    redis_cpu_us_per_req: float | None = None  # the Redis server's own CPU (cache-hit-redis)
    added_p50_ms: float | None = None
    baseline: str | None = None  # the target added_p50_ms is measured against
    wrk_raw: dict[str, Any] = field(default_factory=dict)


def run_wrk(lua: Path, url: str, concurrency: int, duration_s: int, timeout_s: int) -> dict[str, Any]:
    argv = ["wrk", "-t1", f"-c{concurrency}", f"-d{duration_s}s", "--latency"]
    argv += ["--timeout", f"{timeout_s}s", "-s", str(lua), url, "--", wrk_tag()]
    done = subprocess.run(
        pinned(CLIENT_CPU, argv),
        capture_output=True,
        text=True,
        timeout=duration_s + timeout_s + 60,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            result: dict[str, Any] = json.loads(line[len(RESULT_MARKER) :])
            return result
    raise BenchError(f"wrk gave no result (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")


def measure(
    target: Target,
    lua: Path,
    mode: str,
    concurrency: int,
    duration_s: int,
    timeout_s: int,
) -> WrkRun:
    target.service.check_alive()
    measured_pid, upstream_pid = target.service.pid, target.upstream.pid
    redis_before = redis_cpu_seconds(target.redis_url) if target.redis_url else 0.0
    cpu_before, upstream_before = cpu_seconds(measured_pid), cpu_seconds(upstream_pid)
    raw = run_wrk(lua, target.url, concurrency, duration_s, timeout_s)
    cpu_after, upstream_after = cpu_seconds(measured_pid), cpu_seconds(upstream_pid)
    redis_after = redis_cpu_seconds(target.redis_url) if target.redis_url else 0.0
    target.service.check_alive()
    requests = int(raw["requests"])
    # "non2xx" (our count) includes wrk's "status" (>= 400), so the latter is kept out of the total;
    # "cache_mismatch" counts 2xx answers of a cache target without the expected x-byokgate-cache.
    names = ("non2xx", "cache_mismatch", "connect", "read", "write", "timeout")
    errors = {name: int(raw[name]) for name in names}

    def per_req(delta_s: float) -> float | None:
        return delta_s * 1e6 / requests if requests else None

    run = WrkRun(
        target=target.name,
        mode=mode,
        concurrency=concurrency,
        requests=requests,
        duration_s=raw["duration_us"] / 1e6,
        rps=requests / (raw["duration_us"] / 1e6) if raw["duration_us"] else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        errors=errors,
        error_total=sum(errors.values()),
        cpu_us_per_req=per_req(cpu_after - cpu_before),
        upstream_cpu_us_per_req=None
        if target.service is target.upstream
        else per_req(upstream_after - upstream_before),
        redis_cpu_us_per_req=per_req(redis_after - redis_before) if target.redis_url else None,
        wrk_raw=raw,
    )
    flag = f"  ERRORS {errors}" if run.error_total else ""
    if run.redis_cpu_us_per_req is not None:
        flag = f"  redis {run.redis_cpu_us_per_req:.0f} us/req{flag}"
    log(
        f"{target.name:18} {mode:6} c={concurrency:<3} {run.rps:8.0f} req/s  p50 {run.p50_ms:7.2f} ms  "
        f"p99 {run.p99_ms:7.2f} ms  cpu {_fmt(run.cpu_us_per_req, 0)} us/req{flag}"
    )
    return run


# --------------------------------------------------------------------------------------------------------
# Time to first token


def delta_content(line: str) -> bool:
    """Whether an SSE line is a `data:` chunk carrying a non-empty content delta."""
    if not line.startswith("data:"):
        return False
    payload = line[5:].strip()
    if not payload or payload == "[DONE]":
        return False
    try:
        chunk = json.loads(payload)
        content = chunk["choices"][0]["delta"].get("content")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return False
    return isinstance(content, str) and content != ""


def anthropic_text_delta(line: str) -> bool:
    """Whether an SSE line is the `data:` of a `content_block_delta` carrying a non-empty `text_delta`."""
    if not line.startswith("data:"):
        return False
    try:
        event = json.loads(line[5:])
        delta = event["delta"] if event.get("type") == "content_block_delta" else None
        text = delta.get("text") if isinstance(delta, dict) and delta.get("type") == "text_delta" else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    return isinstance(text, str) and text != ""


# Per request format: does this SSE line carry the first content?
CONTENT_DELTA: dict[str, Callable[[str], bool]] = {"openai": delta_content, "anthropic": anthropic_text_delta}


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


# --------------------------------------------------------------------------------------------------------
# Report


@dataclass
class TargetSummary:
    target: str
    startup_s: float
    startup_note: str
    peak_rss_mb: float
    ttft_p50_ms: float | None = None
    ttft_p99_ms: float | None = None
    ttft_mean_ms: float | None = None
    ttft_samples: int = 0
    added_ttft_p50_ms: float | None = None
    baseline: str | None = None
    version: str | None = None


@dataclass
class Results:
    started_at: str
    options: dict[str, Any]
    environment: dict[str, Any]
    runs: list[WrkRun] = field(default_factory=list)
    targets: list[TargetSummary] = field(default_factory=list)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:+.{digits}f}"


def fill_added(results: Results) -> None:
    """Added p50 and TTFT: each target against its baseline (`BASELINES`) at the same mode and concurrency."""
    runs = {(r.target, r.mode, r.concurrency): r for r in results.runs}
    for run in results.runs:
        run.baseline = BASELINES.get(run.target)
        base = runs.get((run.baseline or "", run.mode, run.concurrency))
        if base is not None:
            run.added_p50_ms = run.p50_ms - base.p50_ms
    summaries = {t.target: t for t in results.targets}
    for summary in results.targets:
        summary.baseline = BASELINES.get(summary.target)
        direct = summaries.get(summary.baseline or "")
        if direct is not None and summary.ttft_p50_ms is not None and direct.ttft_p50_ms is not None:
            summary.added_ttft_p50_ms = summary.ttft_p50_ms - direct.ttft_p50_ms


def _errors_cell(run: WrkRun) -> str:
    if not run.error_total:
        return "0"
    parts = ", ".join(f"{count} {name}" for name, count in run.errors.items() if count)
    return f"**{run.error_total} ⚠** ({parts})"


def markdown(results: Results) -> str:
    lines = [
        "| target | mode | concurrency | req/s | p50 ms | p99 ms | added p50 ms | CPU µs/req | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    order = {name: index for index, name in enumerate(TARGETS)}
    for run in sorted(results.runs, key=lambda r: (MODES.index(r.mode), r.concurrency, order[r.target])):
        added = "—" if run.target not in BASELINES else _signed(run.added_p50_ms)
        lines.append(
            f"| {run.target} | {run.mode} | {run.concurrency} | {run.rps:.0f} | {run.p50_ms:.2f} | "
            f"{run.p99_ms:.2f} | {added} | {_fmt(run.cpu_us_per_req, 0)} | {_errors_cell(run)} |"
        )
    lines += [
        "",
        "| target | start-up s | peak RSS MB | TTFT p50 ms | TTFT p99 ms | added TTFT p50 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for summary in sorted(results.targets, key=lambda t: order[t.target]):
        name = summary.target if summary.target in BASELINES else f"{summary.target} (emulator)"
        added = "—" if summary.target not in BASELINES else _signed(summary.added_ttft_p50_ms)
        lines.append(
            f"| {name} | {summary.startup_s:.2f} | {summary.peak_rss_mb:.1f} | "
            f"{_fmt(summary.ttft_p50_ms)} | {_fmt(summary.ttft_p99_ms)} | {added} |"
        )
    comparison = miss_vs_off(results)
    if comparison:
        lines += ["", "Cache miss against cache off (Δ = miss relative to off):", "", *comparison]
    return "\n".join(lines)


def _percent(value: float | None, base: float | None) -> str:
    if value is None or base is None or base == 0:
        return "n/a"
    return f"{(value - base) / base * 100:+.1f}%"


def miss_vs_off(results: Results) -> list[str]:
    """cache-miss next to cache-off at each mode and concurrency: what a miss costs over no cache at all."""
    runs = {(r.target, r.mode, r.concurrency): r for r in results.runs}
    lines = [
        "| mode | concurrency | req/s off | req/s miss | Δ req/s | p50 ms off | p50 ms miss | Δ p50 | "
        "CPU µs/req off | CPU µs/req miss | Δ CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    cells = {(r.mode, r.concurrency) for r in results.runs}
    for mode, concurrency in sorted(cells, key=lambda cell: (MODES.index(cell[0]), cell[1])):
        off, miss = runs.get(("cache-off", mode, concurrency)), runs.get(("cache-miss", mode, concurrency))
        if off is None or miss is None:
            continue
        lines.append(
            f"| {mode} | {concurrency} | {off.rps:.0f} | {miss.rps:.0f} | {_percent(miss.rps, off.rps)} | "
            f"{off.p50_ms:.2f} | {miss.p50_ms:.2f} | {_percent(miss.p50_ms, off.p50_ms)} | "
            f"{_fmt(off.cpu_us_per_req, 0)} | {_fmt(miss.cpu_us_per_req, 0)} | "
            f"{_percent(miss.cpu_us_per_req, off.cpu_us_per_req)} |"
        )
    return lines if len(lines) > 2 else []


def environment_info(targets: Sequence[str], redis_url: str | None = None) -> dict[str, Any]:
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    git = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    info: dict[str, Any] = {
        "cpu_model": cpu_model,
        "cpu_count": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "byokgate_version": importlib.metadata.version("byokgate"),
        "byokgate_git": git.stdout.strip() or None,
        "wrk": (wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else None,
        "pinning": {"gateway_cpu": GATEWAY_CPU, "emulator_wrk_client_cpu": CLIENT_CPU},
    }
    if "litellm" in targets:
        info["litellm_version"] = litellm_version()
    if redis_url is not None and REDIS_TARGETS.intersection(targets):
        info["redis"] = redis_environment(redis_url)
    return info


# --------------------------------------------------------------------------------------------------------
# Main


def _csv(allowed: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        unknown = [item for item in items if item not in allowed]
        if unknown or not items:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)} (got {text!r})")
        return list(dict.fromkeys(items))

    return parse


def _concurrencies(text: str) -> list[int]:
    try:
        values = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"comma-separated integers expected, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("concurrency must be >= 1")
    return list(dict.fromkeys(values))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="whole seconds per wrk run (default 10)")
    parser.add_argument("--concurrency", type=_concurrencies, default=[1, 16, 64], help="default 1,16,64")
    parser.add_argument("--targets", type=_csv(TARGETS), default=list(TARGETS), help="default all")
    parser.add_argument("--modes", type=_csv(MODES), default=list(MODES), help="default json,stream")
    parser.add_argument(
        "--warmup", type=int, default=2, help="whole seconds of wrk warm-up per target and mode (0: none)"
    )
    parser.add_argument("--timeout", type=int, default=10, help="wrk per-request timeout, whole seconds")
    parser.add_argument("--ttft-requests", type=int, default=200, help="sequential TTFT requests (0: skip)")
    parser.add_argument("--ttft-warmup", type=int, default=10, help="TTFT requests not counted")
    parser.add_argument(
        "--keep-temp", action="store_true", help="keep the temporary directory (logs, configs)"
    )
    parser.add_argument("--no-json", action="store_true", help="do not write bench/results/<timestamp>.json")
    parser.add_argument(
        "--redis-url",
        default=DEFAULT_REDIS_URL,
        help=f"Redis database for cache-hit-redis; FLUSHDB'd before use (default {DEFAULT_REDIS_URL})",
    )
    return parser.parse_args(argv)


def _raise_exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def exit_on_signals() -> Iterator[None]:
    """SIGTERM / SIGHUP unwind like Ctrl-C does, so the `finally` blocks stop every process.

    SIGINT is (re)installed too: a shell starting us in the background may have left it ignored.
    """
    previous = {sig: signal.signal(sig, _raise_exit) for sig in (signal.SIGTERM, signal.SIGHUP)}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def preflight(args: argparse.Namespace) -> None:
    if (os.cpu_count() or 1) < 2:
        raise BenchError("needs at least 2 CPUs (gateway on CPU 0, emulator + load generator on CPU 1)")
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            raise BenchError(f"{tool} is not installed")
    if not BYOKGATE_BIN.exists():
        raise BenchError(f"{BYOKGATE_BIN} is missing: create the venv and `pip install -e .` first")
    if args.duration < 1 or args.warmup < 0 or args.timeout < 1:
        raise BenchError(
            "--duration and --timeout must be >= 1 and --warmup >= 0 (whole seconds: wrk takes no fractions)"
        )
    if REDIS_TARGETS.intersection(args.targets):
        try:
            pong = redis_command(args.redis_url, "PING")
        except BenchError as exc:
            raise BenchError(f"cache-hit-redis needs Redis at --redis-url {args.redis_url}: {exc}") from None
        if pong != "PONG":
            raise BenchError(f"Redis at {args.redis_url} answered PING with {pong!r}")


def bench_target(target: Target, args: argparse.Namespace, workdir: Path, results: Results) -> None:
    prime_cache(target)
    verify_chat(target)
    cache = f", both x-byokgate-cache: {target.expect_cache}" if target.expect_cache else ""
    log(f"{target.name}: {target.api}-format answer and stream verified{cache}")
    for mode in args.modes:
        lua = write_lua(workdir, target, mode)
        if args.warmup > 0:
            run_wrk(lua, target.url, max(args.concurrency), args.warmup, args.timeout)
        for concurrency in args.concurrency:
            results.runs.append(measure(target, lua, mode, concurrency, args.duration, args.timeout))
    summary = TargetSummary(
        target=target.name,
        startup_s=target.startup_s,
        startup_note=target.startup_note,
        peak_rss_mb=0.0,
    )
    if args.ttft_requests > 0:
        samples = asyncio.run(ttft_samples(target, args.ttft_requests, args.ttft_warmup))
        summary.ttft_samples = len(samples)
        summary.ttft_p50_ms = statistics.median(samples) * 1000
        summary.ttft_p99_ms = percentile(samples, 99) * 1000
        summary.ttft_mean_ms = statistics.fmean(samples) * 1000
        log(f"{target.name}: TTFT p50 {summary.ttft_p50_ms:.2f} ms, p99 {summary.ttft_p99_ms:.2f} ms")
    target.service.check_alive()
    summary.peak_rss_mb = peak_rss_bytes(target.service.pid) / (1024 * 1024)
    results.targets.append(summary)


def direct_target(name: str, emulator: Emulator) -> Target:
    note = "emulator: spawn until GET /_emulator/health = 200"
    if name == "direct":
        url, api, model = f"{emulator.base_url}/chat/completions", "openai", MODEL
    else:  # direct-anthropic
        url, api, model = f"{emulator.base_url}/v1/messages", "anthropic", CLAUDE_MODEL
    service = emulator.service
    return Target(name, url, emulator.key, service, service, emulator.startup_s, note, api, model)


def run(args: argparse.Namespace, workdir: Path, services: Services, results: Results) -> None:
    emulators: dict[str, Emulator] = {}
    if OPENAI_TARGETS.intersection(args.targets):
        emulators["openai"] = start_emulator(
            services, workdir, "openai", "sk-bench-" + secrets.token_urlsafe(24)
        )
    if ANTHROPIC_TARGETS.intersection(args.targets):
        key = "sk-ant-api03-" + secrets.token_hex(40)  # the real format: a prefix and 80+ characters
        emulators["anthropic"] = start_emulator(services, workdir, "anthropic", key)
    # Consecutive byokgate targets share one gateway (its project holds every emulator's key); any other
    # target stops it first, so that a gateway is only ever running while it is being measured. The Redis
    # target needs a gateway of its own (BYOKGATE_REDIS_URL), so it neither shares nor reuses one.
    gateway: Gateway | None = None
    gateway_name = ""
    for name in args.targets:
        if name in BYOKGATE_TARGETS:
            redis_url = args.redis_url if name in REDIS_TARGETS else None
            if gateway is not None and gateway.redis_url != redis_url:
                services.stop(gateway.service)
                gateway = None
            if gateway is None:
                if redis_url is not None:
                    flushed = redis_command(redis_url, "FLUSHDB")
                    log(f"Redis {redis_url}: FLUSHDB {flushed}")
                gateway = start_byokgate(services, workdir, name, emulators, redis_url)
                gateway_name = name
            target = gateway.target(name, emulators)
            if gateway_name != name:
                target.startup_note += f" (the gateway process started for {gateway_name})"
            bench_target(target, args, workdir, results)
            if name in CACHE_TARGETS:
                # Each cache target starts from an empty cache (the next one may share this process).
                log(f"{name}: {gateway.purge_caches()} cache entries purged")
            continue
        if gateway is not None:
            services.stop(gateway.service)
            gateway = None
        if name == "litellm":
            target = start_litellm(services, workdir, emulators["openai"])
            try:
                bench_target(target, args, workdir, results)
            finally:
                services.stop(target.service)
        else:
            provider = "openai" if name == "direct" else "anthropic"
            bench_target(direct_target(name, emulators[provider]), args, workdir, results)
    if gateway is not None:
        services.stop(gateway.service)
    for summary in results.targets:
        if summary.target == "litellm":
            summary.version = results.environment.get("litellm_version")
        elif summary.target in BYOKGATE_TARGETS:
            summary.version = results.environment.get("byokgate_git")


def save(results: Results) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS_DIR / f"{stamp}.json"
    path.write_text(json.dumps(asdict(results), indent=2) + "\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        preflight(args)
    except BenchError as exc:
        log(f"error: {exc}")
        return 2
    # This script (TTFT client, polling) stays off the gateway's core.
    os.sched_setaffinity(0, {CLIENT_CPU})
    results = Results(
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        options=dict(vars(args)),
        environment=environment_info(args.targets, args.redis_url),
    )
    workdir = Path(tempfile.mkdtemp(prefix="byokgate-bench-"))
    services = Services()
    failed = True
    try:
        with exit_on_signals():
            try:
                run(args, workdir, services, results)
                failed = False
            finally:
                services.stop_all()
    except BenchError as exc:
        log(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted; all processes stopped")
        return 130
    except SystemExit:
        log("stopped by a signal; all processes stopped")
        raise
    finally:
        if failed or args.keep_temp:
            log(f"logs and configs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        if failed and (results.runs or results.targets):
            fill_added(results)
            print("Partial results (the run did not finish; not saved):\n")
            print(markdown(results))
    fill_added(results)
    print(markdown(results))
    if not args.no_json:
        log(f"results written to {save(results).relative_to(REPO)}")
    if any(r.error_total for r in results.runs):
        log("some runs had errors (flagged ⚠ in the table)")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
