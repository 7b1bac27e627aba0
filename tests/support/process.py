"""A real ``byokgate serve`` in a subprocess (for what only a process can show: a crash, a restart)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.server import free_port


@dataclass
class GatewayProcess:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        """``kill -9`` of the serving process: no shutdown, no flush (its writer process lives on)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def kill_all(self) -> None:
        """``kill -9`` of the serving process and its writer process at once (its process group)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def children(self) -> list[int]:
        """The pids of the serving process's children (its writer process)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                found.append(int(stat.parent.name))
        return found

    def stop(self) -> None:
        """A graceful stop (SIGTERM: uvicorn's shutdown, the writer drains)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextmanager
def gateway_process(
    tmp_path: Path, env: dict[str, str], *, port: int | None = None
) -> Iterator[GatewayProcess]:
    """``python -m byokgate serve`` with ``env`` (over a clean environment), ready to serve."""
    port = port or free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BYOKGATE_")}
    environment.update({"BYOKGATE_PORT": str(port), "BYOKGATE_LOG_LEVEL": "warning", **env})
    log = tmp_path / f"gateway-{port}-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "byokgate", "serve"],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            start_new_session=True,  # a process group of its own: kill_all
        )
    gateway = GatewayProcess(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{gateway.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"the gateway did not become ready:\n{log.read_text()}"
            time.sleep(0.05)
        yield gateway
    finally:
        gateway.stop()
