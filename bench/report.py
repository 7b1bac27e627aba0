"""Results and report: the record of every wrk run and target, the added figures against each target's
baseline, the Markdown tables, the machine's description and the JSON file."""

# The subprocess calls run fixed argv lists (no shell) built from the harness's own paths and options.
# ruff: noqa: S603, S607

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.config import BASELINES, CLIENT_CPU, GATEWAY_CPU, MODES, REDIS_TARGETS, REPO, RESULTS_DIR, TARGETS
from bench.redis_client import redis_environment
from bench.targets import litellm_version


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


def save(results: Results) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS_DIR / f"{stamp}.json"
    path.write_text(json.dumps(asdict(results), indent=2) + "\n")
    return path
