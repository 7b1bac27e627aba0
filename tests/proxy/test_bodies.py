"""Request and response bodies, kept only for the projects that opt in: redacted of credentials, cut at the
cap, for JSON answers and streams, through both front doors; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import anthropic
import pytest

from byokgate.logs import REDACTED
from byokgate.proxy.bodies import CAP_BYTES, BodyCapture, redact
from byokgate.settings import Settings
from tests.admin.test_request_log import logged
from tests.conftest import ADMIN_TOKEN
from tests.proxy.conftest import Gateway, gateway_for
from tests.proxy.test_end_to_end import OPENAI_KEY_A, USER, Upstreams, _settings
from tests.proxy.test_end_to_end import upstreams as upstreams  # the emulators, shared fixture

# (what a client may put in a body, what must not survive of it)
SECRETS = [
    ("my key is sk-proj-AbCdEfGh1234567890abcdefXYZ please", "sk-proj-AbCdEfGh1234567890abcdefXYZ"),
    ("gateway key lgw_proj_0123456789abcdefABCDEF", "lgw_proj_0123456789abcdefABCDEF"),
    ('{"headers": {"Authorization": "Bearer abc.def-ghi_jkl"}}', "abc.def-ghi_jkl"),
    ("curl -H 'authorization: Basic dXNlcjpwYXNzd29yZA=='", "dXNlcjpwYXNzd29yZA=="),
    ('{"api_key": "plain-looking-secret-1"}', "plain-looking-secret-1"),
    ("x-goog-api-key: AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"),
]


@pytest.mark.parametrize(("text", "secret"), SECRETS)
def test_credentials_are_redacted(text: str, secret: str) -> None:
    kept = redact(text)
    assert secret not in kept
    assert REDACTED in kept


def test_each_body_is_cut_at_the_cap() -> None:
    capture = BodyCapture(b"x" * (CAP_BYTES + 10))
    for _ in range(3):
        capture.add(b"y" * (CAP_BYTES // 2 + 1))
    entry = capture.entry("req_1", _now(), "proj_1")
    assert (len(entry.request), len(entry.response), entry.truncated) == (CAP_BYTES, CAP_BYTES, True)
    small = BodyCapture(b"{}")
    small.add(b"ok")
    assert small.entry("req_2", _now(), "proj_1").truncated is False


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def gateway(settings: Settings, upstreams: Upstreams) -> Iterator[Gateway]:
    upstreams.reset()
    yield from gateway_for(_settings(settings, upstreams))


def trace(gateway: Gateway, project_id: str, request_id: str) -> dict[str, Any]:
    response = gateway.admin.get(f"/projects/{project_id}/requests/{request_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def bodies_of(gateway: Gateway, project_id: str, request_id: str) -> dict[str, Any]:
    """The request's kept bodies (they land with its record, in the background)."""
    for _ in range(200):
        response = gateway.admin.get(f"/projects/{project_id}/requests/{request_id}")
        if response.status_code == 200 and response.json()["bodies"] is not None:
            return dict(response.json()["bodies"])
        assert response.status_code in (200, 404), response.text  # 404: its record is not stored yet
        time.sleep(0.03)
    raise AssertionError(f"no bodies were kept for {request_id}")


def test_bodies_are_kept_only_when_the_project_opts_in(gateway: Gateway) -> None:
    project_id, key = gateway.project(openai=OPENAI_KEY_A)
    client = gateway.client(key)
    secret = SECRETS[0][1]
    plain = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"hello {secret}"}]
    )
    first = plain.headers["x-byokgate-request-id"]
    logged(gateway, project_id, 1)
    assert trace(gateway, project_id, first)["bodies"] is None  # not opted in: nothing kept

    setting = f"/projects/{project_id}/log-bodies"
    assert gateway.admin.get(setting).json() == {"object": "log_bodies", "enabled": False, "days": None}
    assert gateway.admin.put(setting, json={"days": 31}).status_code in (400, 422)  # at most 30 days
    assert gateway.admin.put(setting, json={"days": 7}).json()["days"] == 7
    gateway.wait_for_snapshot(lambda snapshot: project_id in snapshot.bodies)

    answered = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": f"hello {secret} and {key}"}],
    )
    kept = bodies_of(gateway, project_id, answered.headers["x-byokgate-request-id"])
    assert '"model":"gpt-4o-mini"' in kept["request"].replace(" ", "")
    assert secret not in kept["request"]
    assert key not in kept["request"]
    assert REDACTED in kept["request"]
    assert kept["response"].startswith("{")
    content = str(answered.parse().choices[0].message.content)
    assert secret in content  # the emulator echoes the prompt: the answer carries the secrets too...
    assert redact(content) in kept["response"]  # ...and is kept redacted
    assert secret not in kept["response"]
    assert key not in kept["response"]
    assert kept["truncated"] is False

    stream = client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream.parse() if chunk.choices)
    streamed = bodies_of(gateway, project_id, stream.headers["x-byokgate-request-id"])
    assert streamed["response"].startswith("data: ")
    assert streamed["response"].rstrip().endswith("data: [DONE]")
    lines = streamed["response"].splitlines()
    events = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"]) == text

    big = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "z" * (CAP_BYTES + 100)}]
    )
    cut = bodies_of(gateway, project_id, big.headers["x-byokgate-request-id"])
    assert cut["truncated"] is True
    assert len(cut["request"].encode()) <= CAP_BYTES

    audit = gateway.admin.get(f"/projects/{project_id}/audit", params={"action": "project.log_bodies"})
    assert audit.json()["data"][0]["detail"] == {"days": 7}
    assert gateway.admin.put(setting, json={"days": None}).json()["enabled"] is False
    gateway.wait_for_snapshot(lambda snapshot: project_id not in snapshot.bodies)
    after = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=USER)
    logged(gateway, project_id, 5)
    assert trace(gateway, project_id, after.headers["x-byokgate-request-id"])["bodies"] is None


def test_the_messages_door_keeps_its_bodies_too(gateway: Gateway) -> None:
    project_id, key = gateway.project(openai=OPENAI_KEY_A)  # Messages in, an OpenAI model behind
    assert gateway.admin.put(f"/projects/{project_id}/log-bodies", json={"days": 1}).status_code == 200
    gateway.wait_for_snapshot(lambda snapshot: project_id in snapshot.bodies)
    client = anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)
    answered = client.messages.with_raw_response.create(
        model="gpt-4o-mini",
        max_tokens=20,
        messages=[{"role": "user", "content": "x-api-key: sk-ant-api03-Zz9Yy8Xx7Ww6Vv5Uu4Tt"}],
    )
    kept = bodies_of(gateway, project_id, answered.headers["x-byokgate-request-id"])
    assert "Zz9Yy8Xx7Ww6Vv5Uu4Tt" not in kept["request"]
    assert '"type":"message"' in kept["response"].replace(" ", "")
    assert ADMIN_TOKEN not in kept["request"] + kept["response"]
