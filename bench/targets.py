"""The targets: what is measured (URL, key, request format, the process whose CPU and memory count) and the
processes behind them: the emulators, byokgate (with its projects, keys and cache settings) and LiteLLM."""

# The subprocess calls run fixed argv lists (no shell) built from the harness's own paths and options.
# ruff: noqa: S603, S607

from __future__ import annotations

import base64
import http.client
import json
import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.config import (
    BYOKGATE_BIN,
    CACHE_EXPECT,
    CACHE_TARGETS,
    CLIENT_CPU,
    GATEWAY_CPU,
    LITELLM_BIN,
    LITELLM_VENV,
    UNIQUE_TARGETS,
    VENV_PYTHON,
    BenchError,
    log,
)
from bench.http_client import call_json, http_exchange, wait_http
from bench.processes import Service, Services, free_port, pinned
from bench.workload import (
    CLAUDE_MAX_TOKENS,
    CLAUDE_MODEL,
    MODEL,
    PROMPT,
    api_headers,
    request_body,
    unique_prompt,
)

CACHE_TTL_S = 3600
# byokgate-fallback: the `byokgate` request with this fallback model in its `models` field; the gateway plans
# it as a second target, served by this emulator (the bench project holds its key), used only if the first
# fails.
FALLBACK_MODEL = CLAUDE_MODEL
FALLBACK_PROVIDER = "anthropic"


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
    fallbacks: tuple[str, ...] = ()  # OpenRouter's `models` field: byokgate's fallbacks after `model`
    unique: bool = False  # every request a different prompt (cache-miss, cache-off)
    expect_cache: str | None = None  # the x-byokgate-cache every answer must carry (cache targets)
    redis_url: str | None = None  # the Redis behind the gateway, whose CPU is measured too

    @property
    def headers(self) -> dict[str, str]:
        return api_headers(self.api, self.key)

    def body(self, stream: bool, prompt: str | None = None) -> bytes:
        """The request body; a unique target's prompt is new at every call. Messages requires `max_tokens`
        (whatever the model); a Claude model gets it in OpenAI format too."""
        max_tokens = CLAUDE_MAX_TOKENS if self.model == CLAUDE_MODEL or self.api == "anthropic" else None
        if prompt is None:
            prompt = unique_prompt() if self.unique else PROMPT
        return request_body(stream, self.model, max_tokens, prompt, self.fallbacks)


# `byokgate <args>` from a given source tree (`PYTHONPATH=<src>`): as the venv's console script does, after
# printing which files `import byokgate` picked, so that the harness can check the process runs that tree.
IMPORT_MARKER = "BENCH_BYOKGATE_IMPORTED "
LAUNCHER = (
    "import json, sys, byokgate, byokgate.cli; "
    f"print({IMPORT_MARKER!r} + json.dumps([byokgate.__file__, byokgate.cli.__file__]), flush=True); "
    "sys.argv[0] = 'byokgate'; sys.exit(byokgate.cli.main())"
)


def byokgate_command(args: list[str], env: dict[str, str], src: Path | None) -> list[str]:
    """The argv of `byokgate <args>`: the venv's console script, or with `src` the launcher on that tree
    (`env` gets its PYTHONPATH, ahead of the venv's editable install of the repository's own tree)."""
    if src is None:
        return [str(BYOKGATE_BIN), *args]
    env["PYTHONPATH"] = str(src)
    return [str(VENV_PYTHON), "-P", "-c", LAUNCHER, *args]  # -P: the working directory is not on sys.path


def check_imported(service: Service, src: Path) -> Path:
    """The package directory the process imported `byokgate` (and `byokgate.cli`) from, which must be
    `<src>/byokgate`; read from the launcher's line in the service's log."""
    for line in service.log_path.read_text(errors="replace").splitlines():
        if line.startswith(IMPORT_MARKER):
            files = [Path(file).resolve() for file in json.loads(line[len(IMPORT_MARKER) :])]
            break
    else:
        raise BenchError(f"{service.name}: no {IMPORT_MARKER.strip()} line in {service.log_path}")
    expected = (src / "byokgate").resolve()
    if any(not file.is_relative_to(expected) for file in files):  # byokgate.cli: a module or a package
        raise BenchError(
            f"{service.name} imported {', '.join(map(str, files))}, not the tree it was given ({expected})"
        )
    return expected


@dataclass
class Emulator:
    service: Service
    base_url: str  # what a client uses as its base URL (OpenAI: .../v1; Anthropic: the root)
    key: str
    startup_s: float

    @property
    def control_url(self) -> str:
        """The root of its control API (`/_emulator/`: faults, health), outside any provider path."""
        return self.base_url.removesuffix("/v1") + "/_emulator"


def start_emulator(
    services: Services, workdir: Path, provider: str, key: str, src: Path | None = None
) -> Emulator:
    """`byokgate emulate` on CPU 1; with `src`, the emulator of that source tree."""
    port = free_port()
    env = dict(os.environ)
    args = ["emulate", "--provider", provider, "--port", str(port), "--key", key, "--no-record"]
    argv = byokgate_command(args, env, src)
    name = "emulator" if provider == "openai" else f"emulator-{provider}"
    service = services.start(Service(name, pinned(CLIENT_CPU, argv), env, workdir))
    startup = wait_http(service, f"http://127.0.0.1:{port}/_emulator/health", timeout_s=60)
    tree = f", {check_imported(service, src)}" if src is not None else ""
    log(f"{provider} emulator up on :{port} in {startup:.2f} s (pid {service.pid}{tree})")
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
    package: Path | None = None  # the byokgate package directory it runs, when started from a given tree
    project_id: str = ""  # the project of `api_key`
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
        if name == "byokgate-fallback":  # `byokgate` with a fallback model: a plan of two targets
            if FALLBACK_PROVIDER not in emulators:
                raise BenchError(f"{name} needs the {FALLBACK_PROVIDER} emulator (the project's second key)")
            return replace(self.target("byokgate", emulators), name=name, fallbacks=(FALLBACK_MODEL,))
        if name == "byokgate":
            url, api, model, provider = f"{self.base}/v1/chat/completions", "openai", MODEL, "openai"
        elif name == "byokgate-anthropic":
            url, api, model = f"{self.base}/v1/chat/completions", "openai", CLAUDE_MODEL
            provider = "anthropic"
        elif name == "byokgate-messages-openai":  # Messages in, translated to an OpenAI chat completion
            url, api, model, provider = f"{self.base}/v1/messages", "anthropic", MODEL, "openai"
        elif name == "byokgate-messages":
            url, api, model, provider = f"{self.base}/v1/messages", "anthropic", CLAUDE_MODEL, "anthropic"
        else:
            raise BenchError(f"no byokgate target {name!r}")
        upstream = emulators[provider].service
        return Target(name, url, self.api_key, self.service, upstream, self.startup_s, note, api, model)

    def requests_by_provider(self) -> dict[str, int]:
        """The project's requests so far, per answering provider, from its usage report (the request log,
        written in batches: recent requests may not be in it yet)."""
        admin_url, admin = self.admin
        report = call_json(f"{admin_url}/projects/{self.project_id}/usage?group_by=provider", "GET", admin)
        return {str(row["provider"]): int(row["requests"]) for row in report["data"]}

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
    settings: dict[str, str] | None = None,
    src: Path | None = None,
) -> Gateway:
    """`byokgate serve` on a fresh database, with a project holding the key of each emulator running; with
    `redis_url`, the gateway keeps its cache entries (and sends its change notices) there. ``settings``:
    more BYOKGATE_* variables for the gateway. ``src``: run the byokgate of that source tree (checked)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = workdir / f"{name}-data"
    data_dir.mkdir()
    admin_token = secrets.token_urlsafe(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOKGATE_")}
    env.update(
        BYOKGATE_DATA_DIR=str(data_dir),
        BYOKGATE_DATABASE_URL=f"sqlite:///{data_dir / 'byokgate.db'}",  # the default, made explicit
        BYOKGATE_ADMIN_TOKEN=admin_token,
        BYOKGATE_MASTER_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        BYOKGATE_LOG_LEVEL="warning",
    )
    if redis_url is not None:
        env["BYOKGATE_REDIS_URL"] = redis_url
    env.update(settings or {})
    for provider, emulator in emulators.items():
        env[f"BYOKGATE_{provider.upper()}_BASE_URL"] = emulator.base_url
    argv = pinned(GATEWAY_CPU, byokgate_command(["serve", "--port", str(port)], env, src))
    service = services.start(Service(name, argv, env, workdir))
    startup = wait_http(service, f"{base}/healthz", timeout_s=120)
    package = check_imported(service, src) if src is not None else None
    backend = f", cache in Redis {redis_url}" if redis_url else ""
    tree = f", running {package}" if package is not None else ""
    log(f"byokgate ({name}) up on :{port} in {startup:.2f} s (pid {service.pid}{backend}{tree})")

    admin_url, admin = f"{base}/admin/v1", {"Authorization": f"Bearer {admin_token}"}
    project = call_json(f"{admin_url}/projects", "POST", admin, {"name": "bench"})
    project_id = str(project["id"])
    created = call_json(f"{admin_url}/projects/{project_id}/api-keys", "POST", admin, {"name": "bench"})
    api_key = str(created["key"])
    for provider, emulator in emulators.items():
        stored = f"{admin_url}/projects/{project_id}/provider-keys/{provider}"
        call_json(stored, "PUT", admin, {"api_key": emulator.key})

    # The data plane serves from a snapshot that is refreshed in the background: wait until the new keys work.
    gateway = Gateway(service, base, api_key, startup, admin_token, redis_url, package, project_id)
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


def start_bare(services: Services, workdir: Path, emulator: Emulator) -> Target:
    """bench/bare_proxy.py on the gateway's core: the same server and upstream client, nothing else."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    script = Path(__file__).resolve().parent / "bare_proxy.py"
    argv = [str(VENV_PYTHON), str(script), "--port", str(port)]
    argv += ["--upstream", emulator.base_url.removesuffix("/v1"), "--key", emulator.key]
    service = services.start(Service("bare", pinned(GATEWAY_CPU, argv), dict(os.environ), workdir))
    startup = wait_http(service, f"{base}/v1/models", timeout_s=60)
    log(f"bare proxy up on :{port} in {startup:.2f} s (pid {service.pid})")
    note = "spawn until GET /v1/models answers"
    return Target("bare", f"{base}/v1/chat/completions", "unused", service, emulator.service, startup, note)


def direct_target(name: str, emulator: Emulator) -> Target:
    note = "emulator: spawn until GET /_emulator/health = 200"
    if name == "direct":
        url, api, model = f"{emulator.base_url}/chat/completions", "openai", MODEL
    else:  # direct-anthropic
        url, api, model = f"{emulator.base_url}/v1/messages", "anthropic", CLAUDE_MODEL
    service = emulator.service
    return Target(name, url, emulator.key, service, service, emulator.startup_s, note, api, model)
