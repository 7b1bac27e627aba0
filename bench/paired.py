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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

if not __package__:  # run as a script, `python bench/paired.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.answers import verify_chat
from bench.config import CLIENT_CPU, MODES, BenchError, log
from bench.processes import Services, cpu_seconds, exit_on_signals
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


@dataclass
class Rounds:
    """One side of a pair, a figure per round: req/s, the CPU µs a request of the process measured, and
    the CPU the pair's other process (if it is another one) burnt meanwhile, in ms per second of run."""

    rps: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    other_cpu_ms_per_s: list[float] = field(default_factory=list)


def alternate(
    targets: Mapping[str, Target],
    mode: str,
    concurrency: int,
    duration_s: int,
    rounds: int,
    workdir: Path,
    warmup_s: int = 0,
    timeout_s: int = 10,
    results: dict[str, Rounds] | None = None,
) -> dict[str, Rounds]:
    """``rounds`` rounds of one wrk run per target (two of them: A and B), in ABBA order: AB, BA, AB, ...
    After ``warmup_s`` of unmeasured load on each. Any error stops the run (a failing side must not yield a
    fast figure). With ``results``, the rounds are added to those, the order continuing from their count."""
    names = list(targets)
    if len(names) != 2:
        raise ValueError(f"a pair is two targets, not {names}")
    results = results if results is not None else {}
    for name in names:
        results.setdefault(name, Rounds())
    luas = {name: write_lua(workdir, target, mode) for name, target in targets.items()}
    if warmup_s > 0:
        for name, target in targets.items():
            run_wrk(luas[name], target.url, concurrency, warmup_s, timeout_s)
    done = len(results[names[0]].rps)
    for round_ in range(done, done + rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            target = targets[name]
            others = {t.service.pid for t in targets.values() if t.service is not target.service}
            others_before = sum(cpu_seconds(pid) for pid in others)
            run = measure(target, luas[name], mode, concurrency, duration_s, timeout_s)
            others_cpu = sum(cpu_seconds(pid) for pid in others) - others_before
            if run.error_total:
                raise BenchError(f"{name} {mode}: errors {run.errors}")
            results[name].rps.append(run.rps)
            results[name].cpu.append(run.cpu_us_per_req or 0.0)
            results[name].other_cpu_ms_per_s.append(others_cpu * 1000 / run.duration_s)
    return results


@dataclass(frozen=True)
class PairStats:
    """A against B over paired rounds: medians of each side, the median of the rounds' ratios (A / B - 1)
    with its bootstrap 95% interval and range, and the median of the rounds' CPU differences (A - B), with
    its interval too."""

    a_rps: float
    b_rps: float
    ratio: float
    low: float
    high: float
    least: float
    most: float
    a_cpu: float
    b_cpu: float
    cpu_delta: float
    cpu_low: float
    cpu_high: float

    @classmethod
    def of(cls, a: Rounds, b: Rounds) -> PairStats:
        # Each round's two runs are neighbours in time: compare within rounds, then take the median.
        ratios = sorted(x / y - 1 for x, y in zip(a.rps, b.rps, strict=True))
        deltas = [x - y for x, y in zip(a.cpu, b.cpu, strict=True)]
        low, high = median_interval(ratios)
        cpu_low, cpu_high = median_interval(deltas)
        return cls(
            a_rps=statistics.median(a.rps),
            b_rps=statistics.median(b.rps),
            ratio=statistics.median(ratios),
            low=low,
            high=high,
            least=ratios[0],
            most=ratios[-1],
            a_cpu=statistics.median(a.cpu),
            b_cpu=statistics.median(b.cpu),
            cpu_delta=statistics.median(deltas),
            cpu_low=cpu_low,
            cpu_high=cpu_high,
        )

    def cells(self) -> str:
        """The table cells from A's req/s to the CPU difference (the header is the caller's)."""
        share = f" ({self.cpu_delta / self.b_cpu * 100:+.1f}%)" if self.b_cpu else ""
        return (
            f"{self.a_rps:,.0f} | {self.b_rps:,.0f} | {self.ratio * 100:+.1f}% "
            f"| {self.low * 100:+.1f}% .. {self.high * 100:+.1f}% "
            f"| {self.least * 100:+.1f}% .. {self.most * 100:+.1f}% | {self.a_cpu:.0f} | {self.b_cpu:.0f} "
            f"| {self.cpu_delta:+.0f}{share}"
        )


def compare(targets: dict[str, Target], args: argparse.Namespace, workdir: Path, mode: str) -> list[str]:
    pair = {name: targets[name] for name in PAIR}
    rounds = alternate(pair, mode, args.concurrency, args.duration, args.rounds, workdir, args.warmup)
    stats = PairStats.of(rounds["cache-miss"], rounds["cache-off"])
    return [f"| {mode} | {args.concurrency} | {stats.cells()} |"]


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
