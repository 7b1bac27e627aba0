"""Two revisions of byokgate side by side: a base source tree against a new one, in alternating rounds.

.venv/bin/python bench/revisions.py --base-src /tmp/base/src [--new-src src] [--rounds 12] [--duration 2]
    [--launches 2] [--concurrency 16] [--modes json,stream]
    [--targets byokgate,byokgate-messages,byokgate-messages-openai]

Two gateways run at once, each `byokgate serve` of its own tree (`PYTHONPATH=<tree>`, checked from inside
the process), with its own SQLite database, both pinned to the gateway CPU and pointed at the same emulators
(by default the base tree's). Only one is loaded at a time: per target and mode they are measured in ABBA
order (new, base, base, new, ...) with the same wrk script, and each round's ratio new / base is taken; the
table gives the median of those ratios with a bootstrap 95% interval (bench/paired.py's statistics). The
gateways are restarted ``--launches`` times, the one started first alternating, so that what one process
happens to get (start order, memory layout, hash seed) does not sit on one side. See bench/README.md.
"""

# The subprocess calls run fixed argv lists (no shell) built from the harness's own paths and options.
# ruff: noqa: S603, S607

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

if not __package__:  # run as a script, `python bench/revisions.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.answers import verify_chat
from bench.config import CLIENT_CPU, GATEWAY_CPU, MODES, REPO, RESULTS_DIR, BenchError, log
from bench.paired import PairStats, Rounds, alternate
from bench.processes import Services, exit_on_signals
from bench.report import environment_info
from bench.run import _csv, preflight
from bench.targets import Emulator, Gateway, Target, start_byokgate, start_emulator

# What each target exercises, and the emulator it needs:
# byokgate                  /v1/chat/completions, gpt-4o-mini -> OpenAI emulator (the plain proxy path)
# byokgate-messages         /v1/messages, Claude -> Anthropic emulator (native pass-through)
# byokgate-messages-openai  /v1/messages, gpt-4o-mini -> OpenAI emulator (translated both ways)
# byokgate-anthropic        /v1/chat/completions, Claude -> Anthropic emulator (translated both ways)
UPSTREAM = {
    "byokgate": "openai",
    "byokgate-messages": "anthropic",
    "byokgate-messages-openai": "openai",
    "byokgate-anthropic": "anthropic",
}
TARGETS = tuple(UPSTREAM)
DEFAULT_TARGETS = ("byokgate", "byokgate-messages", "byokgate-messages-openai")
SIDES = ("new", "base")  # A and B of every pair: the ratios are new / base - 1
# What may differ between the two gateways' environments (each has its own tree, data and secrets).
OWN_SETTINGS = frozenset(
    {
        "PYTHONPATH",
        "BYOKGATE_DATA_DIR",
        "BYOKGATE_DATABASE_URL",
        "BYOKGATE_ADMIN_TOKEN",
        "BYOKGATE_MASTER_KEY",
    }
)
BUSY_LOW = 90  # % of a run the measured gateway spent on its CPU, below which the run was disturbed
MIN_ROUNDS = 10  # fewer rounds per target and mode give no verdict
EXIT_NOT_SHOWN = 4  # finished, but some row does not show new within --threshold of base


def source_tree(text: str) -> Path:
    path = Path(text).resolve()
    if not (path / "byokgate" / "__init__.py").is_file():
        raise argparse.ArgumentTypeError(f"{path} has no byokgate/__init__.py (pass the tree's src/)")
    return path


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--base-src", type=source_tree, required=True, help="the base revision's src/ (a git worktree's)"
    )
    parser.add_argument(
        "--new-src",
        type=source_tree,
        default=source_tree(str(REPO / "src")),
        help="the new revision's src/ (default: this repository's)",
    )
    parser.add_argument(
        "--emulator-src", type=source_tree, default=None, help="the emulators' src/ (default: --base-src)"
    )
    parser.add_argument(
        "--targets",
        type=_csv(TARGETS),
        default=list(DEFAULT_TARGETS),
        help=f"from {', '.join(TARGETS)} (default {','.join(DEFAULT_TARGETS)})",
    )
    parser.add_argument("--modes", type=_csv(MODES), default=list(MODES), help="default json,stream")
    parser.add_argument(
        "--rounds", type=int, default=12, help="ABBA rounds per target and mode, all launches (default 12)"
    )
    parser.add_argument(
        "--launches", type=int, default=2, help="pairs of gateway processes the rounds are split over (2)"
    )
    parser.add_argument("--duration", type=int, default=2, help="whole seconds per wrk run (default 2)")
    parser.add_argument("--concurrency", type=int, default=16, help="open connections (default 16)")
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of unmeasured load per gateway, target and mode (2)"
    )
    parser.add_argument("--timeout", type=int, default=10, help="wrk per-request timeout, whole seconds")
    parser.add_argument(
        "--threshold", type=float, default=3.0, help="the acceptable slowdown of new, in %% (default 3)"
    )
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary directory (logs)")
    parser.add_argument(
        "--no-json", action="store_true", help="do not write bench/results/revisions-<timestamp>.json"
    )
    args = parser.parse_args(argv)
    if args.emulator_src is None:
        args.emulator_src = args.base_src
    return args


def describe(src: Path) -> str:
    """The tree's commit (`git describe --always --dirty`), or a note that it is not in a git work tree."""
    done = subprocess.run(
        ["git", "-C", str(src), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "not a git work tree"


def split_rounds(rounds: int, launches: int) -> list[int]:
    each, extra = divmod(rounds, launches)
    return [each + (1 if launch < extra else 0) for launch in range(launches)]


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {key.decode(errors="replace"): value.decode(errors="replace") for key, value in pairs}


def check_pair(gateways: dict[str, Gateway], srcs: dict[str, Path]) -> None:
    """What the two processes really run: each its own tree (unless both were given the same one, an A/A
    run), the same CPU, and environments that differ only in each gateway's own tree, data and secrets."""
    new, base = (gateways[side] for side in SIDES)
    if srcs["new"] != srcs["base"] and new.package == base.package:
        raise BenchError(f"both gateways import byokgate from {new.package}: the comparison would be A/A")
    for side, gateway in gateways.items():
        cpus = os.sched_getaffinity(gateway.service.pid)
        if cpus != {GATEWAY_CPU}:
            raise BenchError(f"the {side} gateway runs on CPUs {sorted(cpus)}, not on {GATEWAY_CPU} alone")
    env_new, env_base = environ(new.service.pid), environ(base.service.pid)
    differ = {key for key in env_new.keys() | env_base.keys() if env_new.get(key) != env_base.get(key)}
    if differ - OWN_SETTINGS:
        raise BenchError(f"the gateways' environments differ in {', '.join(sorted(differ - OWN_SETTINGS))}")
    level = env_new.get("BYOKGATE_LOG_LEVEL")
    log(f"both gateways on CPU {GATEWAY_CPU}, BYOKGATE_LOG_LEVEL={level}; env differs in {sorted(differ)}")


def start_pair(
    services: Services, workdir: Path, launch: int, emulators: dict[str, Emulator], srcs: dict[str, Path]
) -> dict[str, Gateway]:
    """Both gateways, the base one started first in odd-numbered launches (1, 3, ...), the new one first in
    the others."""
    order = SIDES[::-1] if launch % 2 == 0 else SIDES
    gateways: dict[str, Gateway] = {}
    for side in order:
        name = f"{side}-{launch + 1}"
        gateways[side] = start_byokgate(services, workdir, name, emulators, src=srcs[side])
    check_pair(gateways, srcs)
    return {side: gateways[side] for side in SIDES}


@dataclass
class Pairing:
    """The rounds of one target and mode, with the launch each round came from."""

    target: str
    mode: str
    rounds: dict[str, Rounds] = field(default_factory=lambda: {side: Rounds() for side in SIDES})
    launch_of_round: list[int] = field(default_factory=list)


def verdict(stats: PairStats, rounds: int, threshold: float) -> str:
    """Whether the rounds show new at most ``threshold`` % slower than base (the whole 95% interval).
    A bootstrap interval of a median from a few rounds is little more than their range: no verdict then."""
    if rounds < MIN_ROUNDS:
        return "too few rounds"
    if stats.low * 100 >= -threshold:
        return "yes"
    if stats.high * 100 < -threshold:
        return "no"
    return "not shown"


def measure_launch(
    args: argparse.Namespace,
    workdir: Path,
    gateways: dict[str, Gateway],
    emulators: dict[str, Emulator],
    launch: int,
    rounds: int,
    pairings: dict[tuple[str, str], Pairing],
) -> None:
    for name in args.targets:
        # The same target on each gateway, named apart for the logs and wrk scripts (which differ in the key).
        pair: dict[str, Target] = {}
        for side in SIDES:
            pair[side] = replace(gateways[side].target(name, emulators), name=f"{name}@{side}")
            verify_chat(pair[side])
        log(f"{name}: both gateways' {pair['new'].api}-format answers and streams verified")
        for mode in args.modes:
            pairing = pairings[(name, mode)]
            done = len(pairing.launch_of_round)
            alternate(
                pair,
                mode,
                args.concurrency,
                args.duration,
                rounds,
                workdir,
                args.warmup,
                args.timeout,
                pairing.rounds,
            )
            pairing.launch_of_round += [launch + 1] * rounds
            new, base = (pairing.rounds[side].rps[done:] for side in SIDES)
            launch_ratio = statistics.median(n / b - 1 for n, b in zip(new, base, strict=True))
            log(f"launch {launch + 1}, {name} {mode}: new vs base {launch_ratio * 100:+.1f}% (median)")


def table(args: argparse.Namespace, pairings: dict[tuple[str, str], Pairing]) -> tuple[str, bool]:
    """The Markdown table, and whether every row shows new within the threshold."""
    threshold = f"{args.threshold:g}%"
    lines = [
        "| target | mode | c | new req/s | base req/s | new vs base (median of rounds) "
        "| 95% interval of that median | range of rounds | new CPU µs/req | base CPU µs/req "
        f"| CPU Δ µs/req (median of rounds) | 95% interval of CPU Δ | within {threshold}? |",
        "|---|---|---:|---:|---:|---:|---|---|---:|---:|---:|---|---|",
    ]
    shown = True
    for pairing in pairings.values():
        stats = PairStats.of(pairing.rounds["new"], pairing.rounds["base"])
        result = verdict(stats, len(pairing.launch_of_round), args.threshold)
        shown = shown and result == "yes"
        lines.append(
            f"| {pairing.target} | {pairing.mode} | {args.concurrency} | {stats.cells()} "
            f"| {stats.cpu_low:+.0f} .. {stats.cpu_high:+.0f} | {result} |"
        )
    return "\n".join(lines), shown


def notes(pairings: dict[tuple[str, str], Pairing]) -> list[str]:
    """Signs of a disturbed run: the idle gateway's CPU during the other's runs (it shares the CPU), and how
    busy the measured gateway was (its CPU time / run time; ~100% when it is the bottleneck, less when
    something else took its CPU or the emulator and wrk's CPU was short)."""
    sides = [p.rounds[side] for p in pairings.values() for side in SIDES]
    idle = [ms for rounds in sides for ms in rounds.other_cpu_ms_per_s]
    busy = [rps * cpu / 1e4 for rounds in sides for rps, cpu in zip(rounds.rps, rounds.cpu, strict=True)]
    if not busy:
        return []
    low = sum(share < BUSY_LOW for share in busy)
    return [
        f"The idle gateway's CPU during the other's runs: median {statistics.median(idle):.0f} ms/s, "
        f"max {max(idle):.0f} ms/s (on the same CPU as the one measured).",
        f"The measured gateway was busy a median {statistics.median(busy):.0f}% of its runs (CPU time / run "
        f"time), under {BUSY_LOW}% in {low} of {len(busy)} runs: "
        + ("something else had its CPU or the load generator's then." if low else "undisturbed."),
    ]


def save(args: argparse.Namespace, trees: dict[str, Any], pairings: dict[tuple[str, str], Pairing]) -> Path:
    options = {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()}
    data = {
        "started_at": trees.pop("started_at"),
        "options": options,
        "trees": trees,
        "environment": environment_info(args.targets),
        "pairings": [
            {
                "target": p.target,
                "mode": p.mode,
                "concurrency": args.concurrency,
                "launch_of_round": p.launch_of_round,
                "rounds": {side: asdict(p.rounds[side]) for side in SIDES},
                "stats": asdict(PairStats.of(p.rounds["new"], p.rounds["base"])),
            }
            for p in pairings.values()
        ],
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"revisions-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        preflight(args)
        if args.rounds < 1 or args.launches < 1 or args.rounds < args.launches or args.concurrency < 1:
            raise BenchError("--rounds must be >= --launches >= 1 and --concurrency >= 1")
    except BenchError as exc:
        log(f"error: {exc}")
        return 2
    os.sched_setaffinity(0, {CLIENT_CPU})  # the harness stays off the gateways' core
    srcs = {"new": args.new_src, "base": args.base_src}
    trees: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **{side: {"src": str(src), "git": describe(src)} for side, src in srcs.items()},
        "emulators": {"src": str(args.emulator_src), "git": describe(args.emulator_src)},
    }
    for side in (*SIDES, "emulators"):
        log(f"{side}: {trees[side]['src']} ({trees[side]['git']})")
    if srcs["new"] == srcs["base"]:
        log("A/A run: both gateways run the same tree (expect ~0% with an interval around it)")
    pairings = {(name, mode): Pairing(name, mode) for name in args.targets for mode in args.modes}
    workdir = Path(tempfile.mkdtemp(prefix="byokgate-revisions-"))
    services = Services()
    failed = True
    try:
        with exit_on_signals():
            try:
                emulators: dict[str, Emulator] = {}
                needed = {UPSTREAM[name] for name in args.targets}
                for provider in ("openai", "anthropic"):
                    if provider in needed:
                        key = "sk-bench-" + secrets.token_urlsafe(24)
                        if provider == "anthropic":
                            key = "sk-ant-api03-" + secrets.token_hex(40)  # the real format
                        emulators[provider] = start_emulator(
                            services, workdir, provider, key, src=args.emulator_src
                        )
                for launch, rounds in enumerate(split_rounds(args.rounds, args.launches)):
                    gateways = start_pair(services, workdir, launch, emulators, srcs)
                    measure_launch(args, workdir, gateways, emulators, launch, rounds, pairings)
                    for gateway in gateways.values():
                        services.stop(gateway.service)
                failed = False
            finally:
                services.stop_all()
    except BenchError as exc:
        log(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted; all processes stopped")
        return 130
    finally:
        if failed or args.keep_temp:
            log(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    markdown, shown = table(args, pairings)
    print(
        f"new: {trees['new']['src']} ({trees['new']['git']}); base: {trees['base']['src']} "
        f"({trees['base']['git']}); emulators: {trees['emulators']['src']}\n"
        f"{args.rounds} ABBA rounds of {args.duration} s per target and mode over {args.launches} launch(es) "
        "of the two gateways (the first started alternating), one loaded at a time:\n"
    )
    print(markdown)
    for note in notes(pairings):
        print(f"\n{note}")
    if not args.no_json:
        log(f"results written to {save(args, trees, pairings).relative_to(REPO)}")
    return 0 if shown else EXIT_NOT_SHOWN


if __name__ == "__main__":
    sys.exit(main())
