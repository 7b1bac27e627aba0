"""``byokgate serve`` as a real process: starts on the embedded default, refuses unsafe configurations."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from byokgate.vault import Keyring
from tests.support.server import free_port


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOKGATE_")}
    env.update({"BYOKGATE_DATA_DIR": str(tmp_path / "data"), **extra})
    return env


def test_serve_starts_on_sqlite_with_generated_development_secrets(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "byokgate", "serve", "--port", str(port)],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, "gateway did not become ready"
            time.sleep(0.05)
        token = (tmp_path / "data" / "admin.token").read_text().strip()
        response = httpx.post(
            f"http://127.0.0.1:{port}/admin/v1/projects",
            json={"name": "from-serve"},
            headers={"authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0].decode()
    assert (tmp_path / "data" / "byokgate.db").exists()
    assert "DEVELOPMENT master key" in output
    assert token not in output


def test_serve_refuses_production_without_master_key(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "byokgate", "serve", "--port", str(free_port())],
        env=_env(tmp_path, BYOKGATE_ENV="production", BYOKGATE_ADMIN_TOKEN="x" * 32),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert b"BYOKGATE_MASTER_KEY is required" in result.stderr
    assert b"Traceback" not in result.stderr
    assert not (tmp_path / "data" / "master.key").exists()


def test_serve_refuses_a_master_key_that_does_not_fit_the_database(tmp_path: Path) -> None:
    first = Keyring.generate_entry("k1")
    env = _env(tmp_path, BYOKGATE_MASTER_KEY=first)
    create = [sys.executable, "-m", "byokgate", "projects", "create", "p"]
    subprocess.run(create, env=env, check=True, capture_output=True, timeout=60)
    wrong = _env(tmp_path, BYOKGATE_MASTER_KEY=Keyring.generate_entry("k1"))
    result = subprocess.run(
        [sys.executable, "-m", "byokgate", "serve", "--port", str(free_port())],
        env=wrong,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert b"not the key that wrapped the stored data keys" in result.stderr
