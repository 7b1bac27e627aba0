"""Where a request's CPU goes: py-spy on a byokgate under wrk, summed per function (inclusive).

.venv/bin/python bench/profile.py [--mode json|stream] [--seconds 10] [--concurrency 16] [--py-spy PATH]
    [--top 60] [--setting BYOKGATE_REQUEST_LOG=false ...] [--bare]

Starts the OpenAI emulator (CPU 1) and a byokgate (CPU 0) as bench/run.py does, warms it up, then samples
the gateway and its writer process with ``py-spy record -r 200 -f raw --threads --subprocesses`` while wrk
loads it, and prints, per process, the microseconds a request each function was on the stack (sampled
presence: a process waiting for the CPU, e.g. the writer process in the idle class, counts as present).
py-spy is not a dependency: e.g. ``python3 -m venv ~/spy && ~/spy/bin/pip install py-spy``, then
``--py-spy ~/spy/bin/py-spy``.
"""

# The subprocess call runs a fixed argv (no shell) built from the harness's own paths and options.
# ruff: noqa: S603

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

if not __package__:  # run as a script, `python bench/profile.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.config import BenchError, log
from bench.processes import Services, exit_on_signals
from bench.targets import start_bare, start_byokgate, start_emulator
from bench.wrk import run_wrk, write_lua

RATE = 200  # samples a second


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--mode", choices=("json", "stream"), default="json")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy", help="py-spy's path")
    parser.add_argument("--top", type=int, default=60)
    parser.add_argument("--setting", action="append", default=[], help="NAME=VALUE for the gateway")
    parser.add_argument("--bare", action="store_true", help="profile bench/bare_proxy.py instead")
    parser.add_argument("--raw", type=Path, help="also keep py-spy's raw samples here")
    return parser.parse_args(argv)


def presence(raw: Path, requests: int) -> dict[str, collections.Counter[str]]:
    """Per process: function -> samples with it on the stack (each function once a sample)."""
    found: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")  # process [child process] thread function...
        thread = next((i for i, frame in enumerate(frames) if frame.startswith("thread (")), 0)
        process = "writer process" if "writer_process" in ";".join(frames[:thread]) else "serving process"
        seen = set()
        for frame in frames[thread + 1 :]:
            name, _, where = frame.partition(" (")
            key = f"{name} [{where.split(':')[0].rsplit('/', 1)[-1]}]"
            if key not in seen:
                seen.add(key)
                found[process][key] += int(count)
        found[process]["(all threads)"] += int(count)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which(args.py_spy) is None:
        log(f"error: no py-spy at {args.py_spy} (see --help)")
        return 2
    settings = dict(item.split("=", 1) for item in args.setting)
    with exit_on_signals(), tempfile.TemporaryDirectory(prefix="byokgate-profile-") as tmp:
        workdir, services = Path(tmp), Services()
        try:
            emulator = start_emulator(services, workdir, "openai", "sk-bench-profile")
            if args.bare:
                target = start_bare(services, workdir, emulator)
                pid = target.service.pid
            else:
                upstreams = {"openai": emulator}
                gateway = start_byokgate(services, workdir, "byokgate", upstreams, settings=settings)
                target, pid = gateway.target("byokgate", {"openai": emulator}), gateway.service.pid
            lua = write_lua(workdir, target, args.mode)
            run_wrk(lua, target.url, args.concurrency, 3, 10)  # warm-up
            raw = workdir / "raw.txt"
            argv_spy = [args.py_spy, "record", "-r", str(RATE), "-f", "raw", "-d", str(args.seconds)]
            argv_spy += ["-o", str(raw), "--pid", str(pid), "--threads", "--subprocesses"]
            argv_spy.append("--nonblocking")
            spy = subprocess.Popen(argv_spy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            result = run_wrk(lua, target.url, args.concurrency, args.seconds, 10)
            spy.wait(timeout=args.seconds + 60)
            requests = int(result["requests"])
            found = presence(raw, requests)
            if args.raw is not None:
                shutil.copyfile(raw, args.raw)
        except BenchError as exc:
            log(f"error: {exc}")
            return 1
        finally:
            services.stop_all()
    log(f"{requests} requests in {args.seconds} s")
    for process, counts in found.items():
        print(f"\n{process}: µs a request on the stack (sampled at {RATE} Hz)")
        for name, samples in counts.most_common(args.top):
            print(f"{samples / RATE / requests * 1e6:8.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
