"""A full scenario, then a search of everything at rest and every log line for the plaintext keys."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import httpx
import pytest

from byokgate.app import create_app
from byokgate.settings import Settings
from tests.conftest import ADMIN_TOKEN, ANTHROPIC_KEY, GEMINI_KEY, GROQ_KEY, OPENAI_KEY
from tests.support.server import running_server
from tests.support.settings import wired

ROTATED_OPENAI = "sk-proj-" + "R0tat3d" * 6
SECRETS = [
    OPENAI_KEY.reveal(),
    ANTHROPIC_KEY.reveal(),
    GROQ_KEY.reveal(),
    GEMINI_KEY.reveal(),
    ROTATED_OPENAI,
]


def _scenario(base: str) -> list[str]:
    """Everything an operator does with keys; returns the project keys it was shown."""
    shown: list[str] = []
    headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=f"{base}/admin/v1", headers=headers) as admin:
        for name in ("alpha", "beta"):
            created = admin.post("/projects", json={"name": name}).json()
            pid = created["id"]
            shown.append(created["api_key"])
            shown.append(admin.post(f"/projects/{pid}/api-keys", json={"name": "second"}).json()["key"])
            for provider, key in [
                ("openai", OPENAI_KEY),
                ("anthropic", ANTHROPIC_KEY),
                ("groq", GROQ_KEY),
                ("gemini", GEMINI_KEY),
            ]:
                assert admin.put(
                    f"/projects/{pid}/provider-keys/{provider}", json={"api_key": key.reveal()}
                ).is_success
            # mistakes: the key in the wrong slot, with whitespace, as JSON of the wrong type
            assert (
                admin.put(
                    f"/projects/{pid}/provider-keys/groq", json={"api_key": OPENAI_KEY.reveal()}
                ).status_code
                == 400
            )
            assert (
                admin.put(
                    f"/projects/{pid}/provider-keys/openai", json={"api_key": f" {OPENAI_KEY.reveal()}"}
                ).status_code
                == 400
            )
            assert admin.put(
                f"/projects/{pid}/provider-keys/openai", json={"api_key": ROTATED_OPENAI}
            ).is_success
            # verification against a provider that cannot be reached
            admin.put(
                f"/projects/{pid}/provider-keys/gemini?verify=true", json={"api_key": GEMINI_KEY.reveal()}
            )
            for path in ("/provider-keys", "/audit", "/api-keys", ""):
                response = admin.get(f"/projects/{pid}{path}")
                assert response.status_code == 200
                for secret in SECRETS + shown:
                    assert secret not in response.text
        admin.delete(f"/projects/{pid}/provider-keys/anthropic")
        admin.delete(f"/projects/{pid}")
    return shown


def _assert_absent(haystack: bytes, secrets: list[str], where: str) -> None:
    for secret in secrets:
        assert secret.encode() not in haystack, f"plaintext key found in {where}"
        # also no fragment long enough to matter
        assert secret[-20:].encode() not in haystack, f"key fragment found in {where}"


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_no_plaintext_key_in_database_files_dumps_or_logs(
    settings: Settings, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = wired(settings, {"gemini": "http://127.0.0.1:9/gemini"})
    caplog.set_level(logging.DEBUG)
    with running_server(create_app(unreachable)) as base:
        project_keys = _scenario(base)
    logs = caplog.text.encode()
    assert b"byokgate ready" in logs  # the capture saw the gateway's own lines
    _assert_absent(logs, SECRETS + project_keys, "logs")

    if database_url.startswith("sqlite"):
        db_file = Path(database_url.split("///", 1)[1])
        files = [p for p in db_file.parent.iterdir() if p.name.startswith(db_file.name)]
        assert files
        _assert_absent(b"".join(p.read_bytes() for p in files), SECRETS + project_keys, "the SQLite files")
    else:
        plain_url = database_url.replace("postgresql+asyncpg://", "postgresql://")
        dump = subprocess.run(["pg_dump", "--no-owner", plain_url], capture_output=True, check=True).stdout
        assert b"provider_credentials" in dump
        assert b"audit_events" in dump
        _assert_absent(dump, SECRETS + project_keys, "the PostgreSQL dump")
