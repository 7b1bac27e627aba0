"""Two targets of one byokgate process, measured in pairs so that the machine's drift cancels out.

.venv/bin/python bench/paired.py [--pair cache-miss,cache-off] [--rounds 6] [--duration 5] [--concurrency 16]
    [--modes json,stream] [--src PATH]

One gateway process serves both targets of ``--pair`` (A,B), each measured alternately in ABBA order, round
after round, and the medians of the rounds' ratios A / B - 1 are compared. The default pair is what a cache
miss costs over no cache at all: ``cache-miss`` (cache on, every prompt new, so every request is a lookup, an
upstream call and a store) and ``cache-off`` (the same requests, cache disabled). ``byokgate-fallback``
against ``byokgate`` is what a plan of two targets (a fallback model in ``models``) costs when the first
answers. Separate runs of ``bench/run.py`` swing by about 10% from one minute to the next on a shared VM, more
than the few percent these comparisons are about; pairing removes most of that.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

if not __package__:  # run as a script, `python bench/paired.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.answers import armed_faults, prime_cache, verify_chat, verify_fallback
from bench.config import CLIENT_CPU, MODES, BenchError, log
from bench.processes import Services, cpu_seconds, exit_on_signals
from bench.targets import FALLBACK_PROVIDER, Emulator, Gateway, Target, start_byokgate, start_emulator
from bench.wrk import measure, run_wrk, write_lua

PAIR = ("cache-miss", "cache-off")
# The targets one gateway process can serve side by side, and the emulators each needs: the upstream of its
# requests first, then any fallback's (the project must hold that provider's key for the fallback to be
# planned). cache-hit-redis is left out: it needs a gateway of its own.
UPSTREAMS: dict[str, tuple[str, ...]] = {
    "byokgate": ("openai",),
    "byokgate-fallback": ("openai", FALLBACK_PROVIDER),
    "byokgate-anthropic": ("anthropic",),
    "byokgate-messages": ("anthropic",),
    "byokgate-messages-openai": ("openai",),
    "cache-hit-memory": ("openai",),
    "cache-miss": ("openai",),
    "cache-off": ("openai",),
}
BUSY_LOW = 90  # % of a run the gateway spent on its CPU, below which the run was disturbed


def source_tree(text: str) -> Path:
    path = Path(text).resolve()
    if not (path / "byokgate" / "__init__.py").is_file():
        raise argparse.ArgumentTypeError(f"{path} has no byokgate/__init__.py (pass the tree's src/)")
    return path


def pair_of(text: str) -> tuple[str, str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if len(names) != 2 or names[0] == names[1] or any(name not in UPSTREAMS for name in names):
        raise argparse.ArgumentTypeError(f"two different targets from {', '.join(UPSTREAMS)}")
    return names[0], names[1]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pair",
        type=pair_of,
        default=PAIR,
        help=f"A,B: the two targets, ratios A / B - 1 (default {','.join(PAIR)})",
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
    parser.add_argument(
        "--src",
        type=source_tree,
        default=None,
        help="run the gateway and the emulators from this src/ (default: the venv's byokgate)",
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


def compare(
    targets: dict[str, Target], args: argparse.Namespace, workdir: Path, mode: str
) -> tuple[str, list[float]]:
    """One mode's table row, and how busy the gateway was in each run (its CPU time / run time, in %)."""
    a, b = args.pair
    pair = {name: targets[name] for name in args.pair}
    rounds = alternate(pair, mode, args.concurrency, args.duration, args.rounds, workdir, args.warmup)
    stats = PairStats.of(rounds[a], rounds[b])
    busy = [rps * cpu / 1e4 for side in rounds.values() for rps, cpu in zip(side.rps, side.cpu, strict=True)]
    row = f"| {mode} | {args.concurrency} | {stats.cells()} | {stats.cpu_low:+.0f} .. {stats.cpu_high:+.0f} |"
    return row, busy


def start_emulators(
    services: Services, workdir: Path, providers: set[str], src: Path | None
) -> dict[str, Emulator]:
    emulators: dict[str, Emulator] = {}
    for provider in ("openai", "anthropic"):
        if provider in providers:
            key = "sk-bench-" + secrets.token_urlsafe(24)
            if provider == "anthropic":
                key = "sk-ant-api03-" + secrets.token_hex(40)  # the real format
            emulators[provider] = start_emulator(services, workdir, provider, key, src)
    return emulators


def settled_counts(gateway: Gateway, wait_s: float = 1.0, tries: int = 20) -> dict[str, int]:
    """The gateway's requests per provider once its request log has caught up (two equal readings)."""
    last = gateway.requests_by_provider()
    for _ in range(tries):
        time.sleep(wait_s)
        counts = gateway.requests_by_provider()
        if counts == last:
            return counts
        last = counts
    raise BenchError(f"the request log did not settle in {wait_s * tries:.0f} s: {last}")


def check_targets(targets: dict[str, Target], emulators: dict[str, Emulator]) -> None:
    """Each target's answers; for a target with fallbacks, first that the gateway plans the fallback."""
    for target in targets.values():
        if target.fallbacks:
            primary = next(e for e in emulators.values() if e.service is target.upstream)
            verify_fallback(target, primary)
    for target in targets.values():
        verify_chat(target)
        prime_cache(target)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    modes = [mode for mode in args.modes.split(",") if mode]
    if not modes or any(mode not in MODES for mode in modes) or args.rounds < 1 or args.duration < 1:
        log("error: --modes takes json and/or stream; --rounds and --duration must be >= 1")
        return 2
    os.sched_setaffinity(0, {CLIENT_CPU})  # the harness stays off the gateway's core
    workdir = Path(tempfile.mkdtemp(prefix="byokgate-paired-"))
    services = Services()
    a, b = args.pair
    rows: list[str] = []
    busy: list[float] = []
    logged_rounds: dict[str, int] = {}  # the request log's new requests per answering provider
    fell_back: dict[str, int] = {}  # those answered by a provider no target sends to (a fallback)
    try:
        with exit_on_signals():
            try:
                providers = {provider for name in args.pair for provider in UPSTREAMS[name]}
                emulators = start_emulators(services, workdir, providers, args.src)
                settings = {}
                if any(name == "byokgate-fallback" for name in args.pair):
                    # The check of the fallback makes six 503s in a row on the primary: not enough to open
                    # its breaker (which would send the rounds' first requests to the fallback).
                    settings["BYOKGATE_BREAKER_FAILURES"] = "20"
                if args.cache_bytes is not None:
                    settings["BYOKGATE_CACHE_MEMORY_BYTES"] = str(args.cache_bytes)
                gateway = start_byokgate(services, workdir, a, emulators, settings=settings, src=args.src)
                targets = {name: gateway.target(name, emulators) for name in args.pair}
                check_targets(targets, emulators)
                spare = [
                    p
                    for p, e in emulators.items()
                    if all(e.service is not t.upstream for t in targets.values())
                ]
                before = settled_counts(gateway) if spare else {}
                for mode in modes:
                    row, mode_busy = compare(targets, args, workdir, mode)
                    rows.append(row)
                    busy += mode_busy
                after = settled_counts(gateway) if spare else {}
                logged_rounds = {p: after.get(p, 0) - before.get(p, 0) for p in after}
                fell_back = {p: logged_rounds.get(p, 0) for p in spare}
                for provider, emulator in emulators.items():
                    if armed_faults(emulator):
                        raise BenchError(f"the {provider} emulator has faults armed after the rounds")
            finally:
                services.stop_all()
    except BenchError as exc:
        log(f"error: {exc}")
        return 1
    tree = f" running {args.src}" if args.src is not None else ""
    print(
        f"{args.rounds} ABBA rounds of {args.duration} s per target and mode, one gateway process{tree} "
        f"(A = {a}, B = {b}):\n\n"
        f"| mode | c | {a} req/s | {b} req/s | {a} vs {b} (median of rounds) | 95% interval of that median "
        f"| range of rounds | {a} CPU µs/req | {b} CPU µs/req | CPU Δ µs/req (median of rounds) "
        "| 95% interval of CPU Δ |\n"
        "|---|---:|---:|---:|---:|---|---|---:|---:|---:|---|"
    )
    print("\n".join(rows))
    low = sum(share < BUSY_LOW for share in busy)
    print(
        f"\nThe gateway was busy a median {statistics.median(busy):.0f}% of its runs (CPU time / run time), "
        f"under {BUSY_LOW}% in {low} of {len(busy)} runs."
    )
    if fell_back:
        logged = ", ".join(f"{provider} {count:,}" for provider, count in logged_rounds.items())
        flag = " ⚠ the comparison includes fallback answers" if any(fell_back.values()) else ""
        print(
            f"Requests in the gateway's request log during the rounds (warm-ups included), by answering "
            f"provider: {logged}; by {', '.join(fell_back)} (no target's upstream): "
            f"{sum(fell_back.values())}.{flag}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
