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

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import secrets
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

if not __package__:  # run as a script, `python bench/run.py`: sys.path[0] is bench/ itself
    # Import the harness's modules as the package `bench`, from the repository root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.answers import prime_cache, verify_chat
from bench.config import (
    ANTHROPIC_TARGETS,
    BYOKGATE_BIN,
    BYOKGATE_TARGETS,
    CACHE_TARGETS,
    CLIENT_CPU,
    DEFAULT_REDIS_URL,
    MODES,
    OPENAI_TARGETS,
    REDIS_TARGETS,
    REPO,
    TARGETS,
    BenchError,
    log,
)
from bench.processes import Services, exit_on_signals, peak_rss_bytes
from bench.redis_client import redis_command
from bench.report import Results, TargetSummary, environment_info, fill_added, markdown, save
from bench.targets import (
    Emulator,
    Gateway,
    Target,
    direct_target,
    start_bare,
    start_byokgate,
    start_emulator,
    start_litellm,
)
from bench.ttft import percentile, ttft_samples
from bench.wrk import measure, run_wrk, write_lua

# The entry point, and the building blocks other code drives the harness with (`from bench import run`).
__all__ = [
    "Gateway",
    "Services",
    "exit_on_signals",
    "main",
    "measure",
    "parse_args",
    "prime_cache",
    "start_byokgate",
    "start_emulator",
    "verify_chat",
    "write_lua",
]


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
        if name in ("litellm", "bare"):
            start = start_litellm if name == "litellm" else start_bare
            target = start(services, workdir, emulators["openai"])
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
