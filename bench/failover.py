"""byokgate through failoverbench's sixteen provider faults: the failover scorecard of the gateway.

.venv/bin/python bench/failover.py [--profile fast|full] [--only S01,S08] [--controls direct,reference]
    [--fob-dir /tmp/failoverbench] [--fob-python /tmp/fob-venv/bin/python] [--upstream-timeout 30]
    [--setting BYOKGATE_NAME=value ...] [--prefill] [--no-fallback] [--src PATH] [--label TEXT]
    [--results DIR] [--keep-temp]

failoverbench (github.com/failoverbench/failoverbench) is an external tool, run from its own checkout and
venv: its *wall* is a fake OpenAI-compatible provider whose model name picks the fault (`fb-ok` answers,
`fb-s08-stream-cut` dies after 40 of 60 tokens, ...); its *runner* sends one request per scenario through a
system under test and scores what the caller got against what the wall saw (pass / partial / safe / fail).

This script starts the wall, then `byokgate serve` on a fresh SQLite database with the wall declared as an
OpenAI-compatible provider (`BYOKGATE_PROVIDERS`, name `wall`, models `^fb-`), creates a project holding a
key for `wall`, describes that gateway to failoverbench as an `endpoint` system (the scenario's fallback
named in the request as `models: [primary, fallback]`), runs the runner over the catalogue, renders the
scorecard and prints every scenario's verdict with the reason for each one that is not a pass.
See bench/README.md ("Failover scorecard").
"""

# The subprocess calls run fixed argv lists (no shell) built from the harness's own paths and options.
# ruff: noqa: S603, S607

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if not __package__:  # run as a script, `python bench/failover.py`: sys.path[0] is bench/ itself
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.config import BYOKGATE_BIN, REPO, RESULTS_DIR, BenchError, log
from bench.http_client import call_json, wait_http
from bench.processes import Service, Services, exit_on_signals, free_port
from bench.targets import byokgate_command, check_imported

# Where bench/README.md's set-up puts failoverbench's checkout and venv (only read and run from, never
# written to: each run's files go to --results).
DEFAULT_FOB_DIR = Path(os.environ.get("FAILOVERBENCH_DIR", "/tmp/failoverbench"))  # noqa: S108
DEFAULT_FOB_PYTHON = Path(os.environ.get("FAILOVERBENCH_PYTHON", "/tmp/fob-venv/bin/python"))  # noqa: S108
FAILOVER_RESULTS = RESULTS_DIR / "failover"
PROFILES = ("fast", "full")
SCENARIO_ID = re.compile(r"S\d\d")

PROVIDER = "wall"  # the declared provider's registry name, and the provider-key slot of the project
SYSTEM = "byokgate"  # the system's name in failoverbench: results/<profile>/byokgate.json
# The methodology's baseline (METHODOLOGY.md): up to two retries, a 30 s request (or stream-idle) timeout
# and one fallback model. byokgate's upstream timeout is per byte (first byte, then each next one).
BASELINE_TIMEOUT_S = 30.0
# How the caller names the fallback: OpenRouter's `models`, the primary first. failoverbench's endpoint
# adapter fills the placeholders and drops "{fallback}" for calls without one (the alive probe).
FALLBACK_BODY = {"models": ["{primary}", "{fallback}"]}
MARK = {"pass": "PASS", "partial": "PART", "safe": "SAFE", "fail": "FAIL", "na": "n/a"}


def _scenario_ids(text: str) -> list[str]:
    ids = [item.strip().upper() for item in text.split(",") if item.strip()]
    if not ids or any(not SCENARIO_ID.fullmatch(item) for item in ids):
        raise argparse.ArgumentTypeError(f"comma-separated scenario ids (S01..S16) expected, got {text!r}")
    return list(dict.fromkeys(ids))


def _names(text: str) -> list[str]:
    names = [item.strip() for item in text.split(",") if item.strip()]
    if any(not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name == SYSTEM for name in names):
        raise argparse.ArgumentTypeError(f"comma-separated system names from systems/*.yaml, got {text!r}")
    return list(dict.fromkeys(names))


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not re.fullmatch(r"BYOKGATE_[A-Z0-9_]+", name):
        raise argparse.ArgumentTypeError(f"BYOKGATE_NAME=value expected, got {text!r}")
    return name, value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="fast",
        help="the wall's timings: fast (short waits, ~2 min; local loop) or full (published; ~5 min)",
    )
    parser.add_argument("--only", type=_scenario_ids, default=None, help="scenario ids, e.g. S01,S08")
    parser.add_argument(
        "--controls",
        type=_names,
        default=[],
        help="failoverbench's own systems to score beside byokgate on the same wall, e.g. direct,reference",
    )
    parser.add_argument(
        "--fob-dir",
        type=Path,
        default=DEFAULT_FOB_DIR,
        help=f"failoverbench checkout: catalogue, systems (default $FAILOVERBENCH_DIR or {DEFAULT_FOB_DIR})",
    )
    parser.add_argument(
        "--fob-python",
        type=Path,
        default=DEFAULT_FOB_PYTHON,
        help=f"python of failoverbench's own venv (default $FAILOVERBENCH_PYTHON or {DEFAULT_FOB_PYTHON})",
    )
    parser.add_argument(
        "--upstream-timeout",
        type=float,
        default=BASELINE_TIMEOUT_S,
        help="BYOKGATE_UPSTREAM_TIMEOUT_S (default 30: the bench's baseline timeout)",
    )
    parser.add_argument(
        "--setting",
        type=_setting,
        action="append",
        default=[],
        metavar="BYOKGATE_NAME=value",
        help="another setting for the gateway (repeatable), e.g. a retry budget once there is one",
    )
    parser.add_argument(
        "--prefill",
        action="store_true",
        help="declare what the wall says of its models: they continue an assistant prefill, but for "
        "fb-ok-noprefill (capabilities.prefill, no_prefill_pattern); with BYOKGATE_CONTINUE_STREAMS=true a "
        "cut stream may then be carried on",
    )
    parser.add_argument(
        "--no-fallback",
        action="store_true",
        help="declare no fallback (no `models` in the body; fail-over checks become n/a)",
    )
    parser.add_argument("--src", type=Path, default=None, help="run byokgate from this source tree")
    parser.add_argument(
        "--label",
        default=None,
        help="what the scorecard calls this build (default: `git describe --always --dirty` of its tree)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=FAILOVER_RESULTS,
        help="where each run's directory goes (default bench/results/failover)",
    )
    parser.add_argument(
        "--keep-temp", action="store_true", help="keep the gateway's temporary data directory"
    )
    return parser.parse_args(argv)


def fob(args: argparse.Namespace, *command: str) -> list[str]:
    return [str(args.fob_python), "-m", "failoverbench", *command]


def preflight(args: argparse.Namespace) -> str:
    """Check the prerequisites; return failoverbench's version."""
    if not args.fob_python.exists():
        raise BenchError(
            f"{args.fob_python} is missing: install failoverbench into its own venv, e.g. "
            f"`python3 -m venv /tmp/fob-venv && /tmp/fob-venv/bin/pip install -e {args.fob_dir}` "
            "(or point --fob-python / $FAILOVERBENCH_PYTHON at one)"
        )
    catalogue = args.fob_dir / "scenarios" / "catalogue.yaml"
    if not catalogue.exists():
        raise BenchError(f"{catalogue} is missing: point --fob-dir / $FAILOVERBENCH_DIR at the checkout")
    known = re.findall(r"^\s*-\s*id:\s*(S\d+)\s*$", catalogue.read_text(), re.MULTILINE)
    unknown = [item for item in args.only or [] if item not in known]
    if unknown:
        raise BenchError(f"--only {','.join(unknown)}: not in the catalogue ({', '.join(known)})")
    for name in args.controls:
        if not (args.fob_dir / "systems" / f"{name}.yaml").exists():
            raise BenchError(f"--controls {name}: {args.fob_dir}/systems/{name}.yaml does not exist")
    if args.src is None and not BYOKGATE_BIN.exists():
        raise BenchError(f"{BYOKGATE_BIN} is missing: create the venv and `pip install -e .` first")
    if args.src is not None and not (args.src / "byokgate").is_dir():
        raise BenchError(f"--src {args.src}: no byokgate package in it")
    code = "import failoverbench; print(failoverbench.__version__)"
    done = subprocess.run(
        [str(args.fob_python), "-c", code], capture_output=True, text=True, check=False, cwd=args.fob_dir
    )
    if done.returncode != 0:
        raise BenchError(f"{args.fob_python} cannot import failoverbench: {done.stderr.strip()[-300:]}")
    return done.stdout.strip()


def git_describe(tree: Path) -> str:
    """The tree's commit (`git describe --always --dirty`), or its path when it is not a git checkout (a
    `git archive` export given as --src)."""
    done = subprocess.run(
        ["git", "-C", str(tree), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or str(tree)


def start_wall(args: argparse.Namespace, services: Services, run_dir: Path) -> tuple[Service, str]:
    """failoverbench's wall on a free loopback port, logging every request it sees (wall.log)."""
    port = free_port()
    argv = fob(args, "wall", "--host", "127.0.0.1", "--port", str(port), "--profile", args.profile, "-v")
    service = services.start(Service("wall", argv, dict(os.environ), run_dir))
    base = f"http://127.0.0.1:{port}"
    startup = wait_http(service, f"{base}/control/health", timeout_s=30)
    log(f"wall up on :{port} in {startup:.2f} s (pid {service.pid}, profile {args.profile})")
    return service, base


@dataclass
class WallGateway:
    service: Service
    base: str
    project_id: str
    api_key: str  # the project key (lgw_proj_...)


def start_gateway(
    args: argparse.Namespace, services: Services, run_dir: Path, data_dir: Path, wall_base: str
) -> WallGateway:
    """`byokgate serve` on a fresh SQLite database with the wall declared as provider `wall`, and a project
    holding a key for it, once the data plane serves that project (a healthy `fb-ok` answer)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    admin_token = secrets.token_urlsafe(32)
    declared: dict[str, Any] = {
        "name": PROVIDER,
        "title": "failoverbench wall",
        "base_url": f"{wall_base}/v1",
        "model_pattern": "^fb-",
        "auth_scheme": "Bearer ",
    }
    if args.prefill:
        declared["capabilities"] = {"prefill": True, "no_prefill_pattern": "noprefill"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOKGATE_")}
    env.update(
        BYOKGATE_DATA_DIR=str(data_dir),
        BYOKGATE_DATABASE_URL=f"sqlite:///{data_dir / 'byokgate.db'}",
        BYOKGATE_ADMIN_TOKEN=admin_token,
        BYOKGATE_MASTER_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        BYOKGATE_LOG_LEVEL="warning",
        BYOKGATE_PROVIDERS=json.dumps([declared]),
        BYOKGATE_UPSTREAM_TIMEOUT_S=f"{args.upstream_timeout:g}",
    )
    env.update(dict(args.setting))
    argv = byokgate_command(["serve", "--port", str(port)], env, args.src)
    service = services.start(Service("byokgate", argv, env, run_dir))
    startup = wait_http(service, f"{base}/healthz", timeout_s=120)
    tree = f", running {check_imported(service, args.src)}" if args.src is not None else ""
    log(f"byokgate up on :{port} in {startup:.2f} s (pid {service.pid}{tree})")

    admin_url, admin = f"{base}/admin/v1", {"Authorization": f"Bearer {admin_token}"}
    project = call_json(f"{admin_url}/projects", "POST", admin, {"name": "failoverbench"})
    project_id, api_key = str(project["id"]), str(project["api_key"])
    # Any key: the wall only records that one was sent. Not "sk-...": that prefix belongs to OpenAI's keys.
    wall_key = {"api_key": "fbwall-" + secrets.token_hex(16)}
    call_json(f"{admin_url}/projects/{project_id}/provider-keys/{PROVIDER}", "PUT", admin, wall_key)
    # The data plane serves from a snapshot refreshed in the background: wait until the key works.
    ready = time.perf_counter()
    body = {"model": "fb-ok", "messages": [{"role": "user", "content": "ready?"}]}
    waited = wait_http(
        service,
        f"{base}/v1/chat/completions",
        method="POST",
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
        body=json.dumps(body).encode(),
        timeout_s=30,
        since=ready,
    )
    log(f"byokgate project {project_id} serving fb-ok through the wall after {waited:.2f} s")
    return WallGateway(service, base, project_id, api_key)


def system_description(args: argparse.Namespace, gateway: WallGateway, version: str) -> dict[str, Any]:
    """failoverbench's systems/<name>.yaml for this gateway (JSON is YAML), as litellm-proxy.yaml and
    bifrost.yaml describe theirs: the `endpoint` adapter, the base URL, the key and how the fallback is
    named; the notes state every departure from the vendor's defaults."""
    settings = "".join(f", {name}={value}" for name, value in args.setting)
    fallback = (
        "no fallback declared (--no-fallback): fail-over checks are n/a"
        if args.no_fallback
        else "one fallback named per request, OpenRouter-style: `models: [primary, fallback]` in the body"
    )
    notes = (
        f"byokgate `serve` at {version}, fresh SQLite database, response cache off (the default). The wall "
        f"is an operator-declared OpenAI-compatible provider `{PROVIDER}` (BYOKGATE_PROVIDERS: base_url = "
        f"the wall's /v1, model_pattern ^fb-{', capabilities.prefill' if args.prefill else ''}); one "
        f"project with a key for it. Baseline: upstream timeout "
        f"{args.upstream_timeout:g} s (BYOKGATE_UPSTREAM_TIMEOUT_S: first byte and each next byte; the "
        f"default is 60 s){settings}; retries as the gateway does them by default; {fallback}."
    )
    params: dict[str, Any] = {"base_url": f"{gateway.base}/v1", "api_key": gateway.api_key}
    description: dict[str, Any] = {
        "name": SYSTEM,
        "label": f"byokgate ({version})",
        "adapter": "endpoint",
        "notes": notes,
        "params": params,
    }
    if args.no_fallback:
        description["capabilities"] = {"fallback": False}
    else:
        params["extra_body"] = FALLBACK_BODY
    return description


def run_fob(args: argparse.Namespace, command: list[str], what: str) -> None:
    """A failoverbench command in its checkout; its progress lines go to our stderr."""
    done = subprocess.run(command, cwd=args.fob_dir, stdout=sys.stderr, check=False)
    if done.returncode != 0:
        raise BenchError(f"failoverbench {what} exited with status {done.returncode}")


def run_system(args: argparse.Namespace, system_file: Path, wall_base: str, run_dir: Path) -> None:
    command = fob(args, "run", "--system", str(system_file), "--wall", wall_base)
    command += ["--catalogue", str(args.fob_dir / "scenarios" / "catalogue.yaml")]
    command += ["--profile", args.profile, "--out", str(run_dir)]
    if args.only:
        command += ["--only", ",".join(args.only)]
    log(f"failoverbench run --system {system_file.name} --profile {args.profile}")
    run_fob(args, command, f"run ({system_file.name})")


def verdict_lines(doc: dict[str, Any]) -> list[str]:
    """Every scenario's verdict; for anything but a pass, why: the reason and each check that failed."""
    lines = ["| scenario | verdict | attempts p/f | time | reason |", "|---|---|---:|---:|---|"]
    details: list[str] = []
    for result in doc["scenarios"]:
        metrics = result["metrics"]
        lines.append(
            f"| {result['id']} {result['title']} | {result['verdict']} | "
            f"{metrics['attempts_primary']}/{metrics['attempts_fallback']} | {metrics['elapsed_s']:.1f} s | "
            f"{result['reason']} |"
        )
        if result["verdict"] == "pass":
            continue
        details.append(f"{result['id']} {MARK[result['verdict']]}: {result['reason']}")
        for check in result["checks"]:
            if check["status"] in ("fail", "info"):
                severity = "" if check["severity"] == "required" else f", {check['severity']}"
                details.append(f"    {check['id']} ({check['status']}{severity}): {check['detail']}")
        if metrics.get("error"):
            details.append(f"    caller got: {metrics['error']}")
        actions = metrics.get("wall_actions") or []
        shown = "; ".join(actions[:6]) + (f" (+{len(actions) - 6} more)" if len(actions) > 6 else "")
        details.append(f"    wall saw: {shown or 'nothing'}")
    summary = doc["summary"]
    counts = ", ".join(f"{summary.get(v, 0)} {v}" for v in ("pass", "partial", "safe", "fail"))
    head = [f"{doc['system']['label']}: {counts} ({doc['profile']} profile, {doc['run_seconds']:.0f} s)", ""]
    return [*head, *lines, "", *details]


def run(
    args: argparse.Namespace, services: Services, run_dir: Path, data_dir: Path, fob_version: str
) -> Path:
    version = args.label or git_describe(args.src if args.src is not None else REPO)
    _, wall_base = start_wall(args, services, run_dir)
    gateway = start_gateway(args, services, run_dir, data_dir, wall_base)
    system_file = run_dir / f"{SYSTEM}.yaml"
    system_file.write_text(json.dumps(system_description(args, gateway, version), indent=2) + "\n")
    run_system(args, system_file, wall_base, run_dir)
    gateway.service.check_alive()
    services.stop(gateway.service)
    for name in args.controls:
        run_system(args, args.fob_dir / "systems" / f"{name}.yaml", wall_base, run_dir)
    report = fob(args, "report", "--results", str(run_dir), "--profile", args.profile)
    run_fob(args, [*report, "--catalogue", str(args.fob_dir / "scenarios" / "catalogue.yaml")], "report")
    log(f"failoverbench {fob_version}, byokgate {version}")
    return run_dir / str(args.profile)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Absolute, as the processes run elsewhere (absolute(), not resolve(): a venv's python is a symlink).
    args.fob_dir, args.fob_python = args.fob_dir.absolute(), args.fob_python.absolute()
    args.src = args.src.absolute() if args.src is not None else None
    try:
        fob_version = preflight(args)
    except BenchError as exc:
        log(f"error: {exc}")
        return 2
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    run_dir = (args.results / f"{stamp}-{args.profile}").resolve()
    run_dir.mkdir(parents=True)
    data_dir = Path(tempfile.mkdtemp(prefix="byokgate-failover-"))
    services = Services()
    try:
        with exit_on_signals():
            try:
                out = run(args, services, run_dir, data_dir, fob_version)
            finally:
                services.stop_all()
    except BenchError as exc:
        log(f"error: {exc}")
        log(f"logs kept in {run_dir}")
        return 1
    except KeyboardInterrupt:
        log("interrupted; all processes stopped")
        return 130
    except SystemExit:
        log("stopped by a signal; all processes stopped")
        raise
    finally:
        if args.keep_temp:
            log(f"gateway data directory kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    for name in [SYSTEM, *args.controls]:
        doc = json.loads((out / f"{name}.json").read_text())
        print("\n".join(verdict_lines(doc)) + "\n")
    log(f"results: {out / f'{SYSTEM}.json'}; scorecard: {out / 'SCORECARD.md'}; logs: {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
