"""Run a command with a PostgreSQL and a Redis for the tests.

Uses the ones configured (BYOKGATE_TEST_POSTGRES_URL / BYOKGATE_TEST_REDIS_URL, default: this machine's on
the standard ports) when they answer; otherwise starts throwaway servers from the installed binaries
(initdb/pg_ctl, redis-server) in a temporary directory, points the tests at them, and removes them after.
When neither is possible it says so loudly; the tests then skip those legs, or fail under CI=true.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from urllib.parse import urlsplit

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"


def _answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _find(binary: str) -> str | None:
    found = shutil.which(binary)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{binary}"))
    return candidates[-1] if candidates else None


def _as_postgres_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the 'postgres' user when we are root."""
    if os.geteuid() == 0 and shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _start_postgres(cleanups: list[Callable[[], None]]) -> str | None:
    initdb, pg_ctl = _find("initdb"), _find("pg_ctl")
    if not initdb or not pg_ctl:
        return None
    workdir = tempfile.mkdtemp(prefix="byokgate-pg-")
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
    data, port = os.path.join(workdir, "data"), _free_port()
    subprocess.run(
        _as_postgres_user([initdb, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres_user(
            [pg_ctl, "-D", data, "-o", options, "-l", os.path.join(workdir, "log"), "-w", "start"]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )

    def stop() -> None:
        subprocess.run(_as_postgres_user([pg_ctl, "-D", data, "-m", "immediate", "stop"]), check=False)
        shutil.rmtree(workdir, ignore_errors=True)

    cleanups.append(stop)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def _start_redis(cleanups: list[Callable[[], None]]) -> str | None:
    server = shutil.which("redis-server")
    if not server:
        return None
    port = _free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    cleanups.append(process.terminate)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        if _answers(url, port):
            return url
        time.sleep(0.05)
    return None


def main(argv: list[str]) -> int:
    cleanups: list[Callable[[], None]] = []
    env = dict(os.environ)
    try:
        for name, var, default, port, start in (
            ("PostgreSQL", "BYOKGATE_TEST_POSTGRES_URL", DEFAULT_PG, 5432, _start_postgres),
            ("Redis", "BYOKGATE_TEST_REDIS_URL", DEFAULT_REDIS, 6379, _start_redis),
        ):
            url = env.get(var, default)
            if _answers(url, port):
                env[var] = url
                continue
            started = start(cleanups)
            if started:
                print(
                    f"[with_test_services] {name} not answering at {url}; started a throwaway one", flush=True
                )
                env[var] = started
            else:
                print(
                    f"!!! [with_test_services] {name} is not running and cannot be started here !!!",
                    flush=True,
                )
        return subprocess.call(argv, env=env)
    finally:
        for cleanup in reversed(cleanups):
            cleanup()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
