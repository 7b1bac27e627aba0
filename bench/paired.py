"""What a cache miss costs over no cache at all, measured in pairs so that the machine's drift cancels out.

.venv/bin/python bench/paired.py [--rounds 6] [--duration 5] [--concurrency 16] [--modes json,stream]

One emulator and one byokgate process serve two projects: ``cache-miss`` (cache on, every prompt new, so every
request is a lookup, an upstream call and a store) and ``cache-off`` (the same requests, cache disabled). The
two are measured alternately in ABBA order within the same gateway process, round after round, and the
medians are compared. Separate runs of ``bench/run.py`` swing by about 10% from one minute to the next on a
shared VM, more than the 5% this comparison is about; pairing removes most of that.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

if not __package__:  # run as a script, `python bench/paired.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.answers import verify_chat
from bench.config import CLIENT_CPU, MODES, BenchError, log
from bench.processes import Services, exit_on_signals
from bench.targets import Target, start_byokgate, start_emulator
from bench.wrk import measure, run_wrk, write_lua

PAIR = ("cache-miss", "cache-off")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=6, help="ABBA rounds per mode (default 6)")
    parser.add_argument("--duration", type=int, default=5, help="whole seconds per wrk run (default 5)")
    parser.add_argument("--concurrency", type=int, default=16, help="open connections (default 16)")
    parser.add_argument("--modes", default="json,stream", help="json, stream or both (default both)")
    parser.add_argument(
        "--warmup", type=int, default=3, help="seconds of unmeasured load per target and mode (default 3)"
    )
    parser.add_argument(
        "--cache-bytes", type=int, default=None, help="BYOKGATE_CACHE_MEMORY_BYTES (default: the gateway's)"
    )
    return parser.parse_args(argv)


def median_interval(
    values: Sequence[float], level: float = 0.95, resamples: int = 4000
) -> tuple[float, float]:
    """A bootstrap interval for the median of ``values`` (resampled with replacement; seeded, so a report
    can be reproduced from its rounds). On a noisy VM single rounds swing by 20-30%; this says how far the
    median of N rounds can be trusted, which decides whether a result is on either side of a threshold."""
    rng = random.Random(0)  # noqa: S311 (statistics, not secrets)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    tail = (1 - level) / 2
    return medians[int(tail * resamples)], medians[min(resamples - 1, int((1 - tail) * resamples))]


def compare(targets: dict[str, Target], args: argparse.Namespace, workdir: Path, mode: str) -> list[str]:
    luas = {name: write_lua(workdir, target, mode) for name, target in targets.items()}
    for name, target in targets.items():
        run_wrk(luas[name], target.url, args.concurrency, args.warmup, 10)
    rps: dict[str, list[float]] = {name: [] for name in PAIR}
    cpu: dict[str, list[float]] = {name: [] for name in PAIR}
    for round_ in range(args.rounds):
        order = PAIR if round_ % 2 == 0 else PAIR[::-1]
        for name in order:
            run = measure(targets[name], luas[name], mode, args.concurrency, args.duration, 10)
            if run.error_total:
                raise BenchError(f"{name} {mode}: errors {run.errors}")
            rps[name].append(run.rps)
            cpu[name].append(run.cpu_us_per_req or 0.0)
    # Each round's two runs are neighbours in time: compare within rounds, then take the median.
    ratios = sorted(m / o - 1 for m, o in zip(rps["cache-miss"], rps["cache-off"], strict=True))
    deltas = [m - o for m, o in zip(cpu["cache-miss"], cpu["cache-off"], strict=True)]
    miss, off = (statistics.median(rps[name]) for name in PAIR)
    miss_cpu, off_cpu = (statistics.median(cpu[name]) for name in PAIR)
    low, high = median_interval(ratios)
    return [
        f"| {mode} | {args.concurrency} | {miss:,.0f} | {off:,.0f} | {statistics.median(ratios) * 100:+.1f}% "
        f"| {low * 100:+.1f}% .. {high * 100:+.1f}% "
        f"| {ratios[0] * 100:+.1f}% .. {ratios[-1] * 100:+.1f}% | {miss_cpu:.0f} | {off_cpu:.0f} "
        f"| {statistics.median(deltas):+.0f} ({statistics.median(deltas) / off_cpu * 100:+.1f}%) |"
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    modes = [mode for mode in args.modes.split(",") if mode]
    if not modes or any(mode not in MODES for mode in modes) or args.rounds < 1 or args.duration < 1:
        log("error: --modes takes json and/or stream; --rounds and --duration must be >= 1")
        return 2
    os.sched_setaffinity(0, {CLIENT_CPU})  # the harness stays off the gateway's core
    workdir = Path(tempfile.mkdtemp(prefix="byokgate-paired-"))
    services = Services()
    rows: list[str] = []
    try:
        with exit_on_signals():
            try:
                key = "sk-bench-" + secrets.token_urlsafe(24)
                emulators = {"openai": start_emulator(services, workdir, "openai", key)}
                settings = {}
                if args.cache_bytes is not None:
                    settings["BYOKGATE_CACHE_MEMORY_BYTES"] = str(args.cache_bytes)
                gateway = start_byokgate(services, workdir, "cache-miss", emulators, settings=settings)
                targets = {name: gateway.target(name, emulators) for name in PAIR}
                for target in targets.values():
                    verify_chat(target)
                for mode in modes:
                    rows += compare(targets, args, workdir, mode)
            finally:
                services.stop_all()
    except BenchError as exc:
        log(f"error: {exc}")
        return 1
    print(
        f"{args.rounds} ABBA rounds of {args.duration} s per target and mode, one gateway process:\n\n"
        "| mode | c | miss req/s | off req/s | miss vs off (median of rounds) | 95% interval of that median "
        "| range of rounds | miss CPU µs/req | off CPU µs/req | CPU Δ µs/req (median of rounds) |\n"
        "|---|---:|---:|---:|---:|---|---|---:|---:|---:|"
    )
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
