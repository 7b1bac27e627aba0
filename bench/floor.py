"""byokgate against a bare pass-through proxy, and with its request log on and off: the hot-path targets.

.venv/bin/python bench/floor.py [--rounds 8] [--duration 3] [--ttft-requests 300]
    [--variants byokgate,byokgate-inline,byokgate-nolog]

Every target runs at once, each its own process pinned to the gateway's core (CPU 0; a gateway's writer
process inherits that pin, so its database work counts against the same core), idle while another is measured;
the emulator, wrk and this script share CPU 1. Each round measures every target in a rotated order: JSON and
streams at concurrency 1 (p99 latency) and 16 (throughput), and sequential streams (p99 time to first token).
After each run the harness waits until the target is idle again (its writer process, which runs at a lower
priority, may still be storing what the run left): that CPU is added to the run's CPU per request (the serving
process's own share is shown apart: what a writer process on another core would take off it), and that time to
the run's duration for the sustained throughput, which is what the targets are judged on (the burst figure,
requests over the run alone, is shown too). Each figure is taken as a ratio to the same round's bare proxy
(or, for "on vs off", to the same round's `byokgate-nolog`), and the median of the rounds' ratios is given
with a bootstrap 95% interval.

The targets (issue 16): p99 at concurrency 1 at most 2x the bare proxy's, for JSON, streams and first token;
throughput at least 0.85 of the bare proxy's for JSON and 0.75 for streams; request log on vs off within 5%.

Variants: `byokgate` (the default: request log on, records stored by the writer process), `byokgate-inline`
(`BYOKGATE_WRITER_PROCESS=false`: stored by the serving process itself, as before), `byokgate-low`
(`BYOKGATE_WRITER_PRIORITY=low`: the writer process at niceness 10 instead of SCHED_IDLE), `byokgate-nolog`
(`BYOKGATE_REQUEST_LOG=false`: no request records; key-use audit events and charges still written).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

if not __package__:  # run as a script, `python bench/floor.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.answers import verify_chat
from bench.config import RESULTS_DIR, BenchError, log
from bench.paired import median_interval
from bench.processes import Services, cpu_seconds, exit_on_signals
from bench.targets import Target, start_bare, start_byokgate, start_emulator
from bench.ttft import percentile, ttft_samples
from bench.wrk import measure, run_wrk, write_lua

VARIANTS = {
    "byokgate": {},
    "byokgate-inline": {"BYOKGATE_WRITER_PROCESS": "false"},
    "byokgate-low": {"BYOKGATE_WRITER_PRIORITY": "low"},
    "byokgate-nolog": {"BYOKGATE_REQUEST_LOG": "false"},
}
# (figure, mode, concurrency): what each round measures of every target
RUNS = (("p99", "json", 1), ("rps", "json", 16), ("p99", "stream", 1), ("rps", "stream", 16))
TARGETS = {  # figure -> (limit, "max" or "min") against the bare proxy
    "p99 json c=1": (2.0, "max"),
    "p99 stream c=1": (2.0, "max"),
    "p99 TTFT": (2.0, "max"),
    "sustained json c=16": (0.85, "min"),
    "sustained stream c=16": (0.75, "min"),
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--duration", type=int, default=3, help="whole seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured load per target")
    parser.add_argument("--ttft-requests", type=int, default=300)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--no-json", action="store_true", help="do not write bench/results/floor-*.json")
    args = parser.parse_args(argv)
    args.variants = [name for name in args.variants.split(",") if name]
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    return args


def start_targets(services: Services, workdir: Path, variants: list[str]) -> list[Target]:
    emulator = start_emulator(services, workdir, "openai", "sk-bench-floor")
    targets = [start_bare(services, workdir, emulator)]
    for name in variants:
        gateway = start_byokgate(services, workdir, name, {"openai": emulator}, settings=VARIANTS[name])
        target = gateway.target("byokgate", {"openai": emulator})
        target.name = name
        verify_chat(target)
        targets.append(target)
    return targets


def own_cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (all its threads, not its children): the serving process
    without its writer process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(target: Target, idle_share: float = 0.03, step_s: float = 0.1) -> tuple[float, float]:
    """Wait until the target's processes are idle (a writer still storing what the run left, at its lower
    priority, is not); the seconds and the CPU seconds that took beyond the run. Both count: the CPU
    against each request, the time against the sustained throughput."""
    pid = target.service.pid
    started, cpu_start = time.perf_counter(), cpu_seconds(pid)
    last = cpu_start
    while True:
        time.sleep(step_s)
        now = cpu_seconds(pid)
        if now - last < idle_share * step_s:
            return time.perf_counter() - started - step_s, last - cpu_start
        last = now


def one_round(
    targets: list[Target], order: list[int], args: argparse.Namespace, workdir: Path
) -> dict[str, dict[str, float]]:
    """Every figure of every target, in the given order of targets."""
    figures: dict[str, dict[str, float]] = {t.name: {} for t in targets}
    for index in order:
        target = targets[index]
        for figure, mode, concurrency in RUNS:
            lua = write_lua(workdir, target, mode)
            own_before = own_cpu_seconds(target.service.pid)
            run = measure(target, lua, mode, concurrency, args.duration, 10)
            if run.error_total:
                raise BenchError(f"{target.name} {mode} c={concurrency}: errors {run.errors}")
            catch_up_s, catch_up_cpu_s = settle(target)
            name = f"{figure} {mode} c={concurrency}"
            figures[target.name][name] = run.p99_ms if figure == "p99" else run.rps
            if figure == "rps":
                cpu = (run.cpu_us_per_req or 0.0) + catch_up_cpu_s * 1e6 / run.requests
                figures[target.name][f"cpu {mode} c={concurrency}"] = cpu
                own = own_cpu_seconds(target.service.pid) - own_before
                figures[target.name][f"serving cpu {mode} c={concurrency}"] = own * 1e6 / run.requests
                figures[target.name][f"sustained {mode} c={concurrency}"] = run.requests / (
                    run.duration_s + catch_up_s
                )
        samples = asyncio.run(ttft_samples(target, args.ttft_requests, 10))
        figures[target.name]["p99 TTFT"] = percentile(samples, 99) * 1000
    return figures


Rounds = list[dict[str, dict[str, float]]]


def summarize(rounds: Rounds, variants: list[str]) -> tuple[str, dict[str, object]]:
    lines = [
        "| target | figure | median | ratio to bare (95% interval) | limit | met |",
        "|---|---|---:|---|---:|---|",
    ]
    summary: dict[str, object] = {}
    for name in variants:
        for figure, (limit, kind) in TARGETS.items():
            ratios = [r[name][figure] / r["bare"][figure] for r in rounds]
            median = statistics.median(ratios)
            low, high = median_interval(ratios)
            met = high <= limit if kind == "max" else low >= limit
            value = statistics.median(r[name][figure] for r in rounds)
            unit = "ms" if figure.startswith("p99") else "req/s"  # sustained: the run plus its catch-up
            sign = "<=" if kind == "max" else ">="
            lines.append(
                f"| {name} | {figure} | {value:.2f} {unit} | {median:.2f} ({low:.2f} .. {high:.2f}) | "
                f"{sign} {limit} | {'yes' if met else 'no'} |"
            )
            summary[f"{name} {figure}"] = {"median": median, "interval": [low, high], "met": met}
    lines += ["", "| figure | " + " | ".join(["bare", *variants]) + " |", "|---" * (len(variants) + 2) + "|"]
    extra = ("cpu", "serving cpu", "rps")
    for figure in (*(f"{name} {mode} c=16" for name in extra for mode in ("json", "stream")), *TARGETS):
        cells = [f"{statistics.median(r[t][figure] for r in rounds):.2f}" for t in ["bare", *variants]]
        lines.append(f"| {figure} (median) | " + " | ".join(cells) + " |")
    if "byokgate-nolog" in variants:
        lines += ["", "| request log on vs off (sustained) | json c=16 | stream c=16 |", "|---|---|---|"]
        for name in (v for v in variants if v != "byokgate-nolog"):
            cells = []
            for figure in ("sustained json c=16", "sustained stream c=16"):
                ratios = [r[name][figure] / r["byokgate-nolog"][figure] - 1 for r in rounds]
                low, high = median_interval(ratios)
                median = statistics.median(ratios)
                cells.append(f"{median:+.1%} ({low:+.1%} .. {high:+.1%})")
                summary[f"{name} on/off {figure}"] = {"median": median, "interval": [low, high]}
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines), summary


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    rounds: list[dict[str, dict[str, float]]] = []
    with exit_on_signals(), tempfile.TemporaryDirectory(prefix="byokgate-floor-") as tmp:
        workdir = Path(tmp)
        services = Services()
        try:
            targets = start_targets(services, workdir, args.variants)
            for target in targets:
                for mode in ("json", "stream"):
                    if args.warmup:
                        run_wrk(write_lua(workdir, target, mode), target.url, 16, args.warmup, 10)
            for number in range(args.rounds):
                order = [(number + i) % len(targets) for i in range(len(targets))]
                log(f"round {number + 1}/{args.rounds}: {' '.join(targets[i].name for i in order)}")
                rounds.append(one_round(targets, order, args, workdir))
        except BenchError as exc:
            log(f"error: {exc}")
            return 1
        finally:
            services.stop_all()
    table, summary = summarize(rounds, args.variants)
    print(table)
    if not args.no_json:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"floor-{time.strftime('%Y%m%d-%H%M%S')}.json"
        path.write_text(json.dumps({"args": vars(args), "rounds": rounds, "summary": summary}, indent=1))
        log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
