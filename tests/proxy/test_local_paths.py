"""Data-plane paths decided inside the gateway (no upstream needed), through the official OpenAI SDK."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from byokgate.emulators import EmulatorServer, build
from byokgate.settings import Settings
from tests.proxy.conftest import Gateway, gateway_for
from tests.support.settings import wired

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

GROQ = "gsk_" + "g" * 40
ANTHROPIC = "sk-ant-api03-" + "g" * 80


def test_missing_wrong_and_revoked_project_keys_are_401(gateway: Gateway) -> None:
    pid, key = gateway.project()
    with pytest.raises(openai.AuthenticationError, match="Incorrect API key"):
        gateway.client("lgw_proj_" + "x" * 43).models.list()
    with pytest.raises(openai.AuthenticationError):
        gateway.client("sk-proj-not-ours").chat.completions.create(model="gpt-4o", messages=[])
    response = httpx.post(f"{gateway.url}/v1/chat/completions", json={"model": "gpt-4o"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    key_id = gateway.admin.get(f"/projects/{pid}/api-keys").json()["data"][0]["id"]
    assert gateway.client(key).models.list().data is not None
    gateway.admin.delete(f"/projects/{pid}/api-keys/{key_id}")

    def accepted() -> bool:
        try:
            gateway.client(key).models.list()
        except openai.AuthenticationError:
            return False
        return True

    for _ in range(200):  # the snapshot catches up at once in-process, within a poll interval across
        if not accepted():
            break
        time.sleep(0.01)
    assert not accepted()


def test_native_model_without_its_key_is_model_not_found(gateway: Gateway) -> None:
    _, key = gateway.project(groq=GROQ)
    with pytest.raises(openai.NotFoundError) as caught:
        gateway.client(key).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["code"] == "model_not_found"
    assert "OpenAI API key" in body["message"]
    assert "openai/gpt-4o" in body["message"]
    assert caught.value.response.headers["x-byokgate-request-id"].startswith("req_")


def test_models_lists_what_the_project_can_reach(gateway: Gateway) -> None:
    _, key = gateway.project(groq=GROQ)
    ids = [m.id for m in gateway.client(key).models.list()]
    assert "llama-3.3-70b-versatile" in ids
    assert "gpt-4o" not in ids  # no OpenAI key, and no pooled lane configured in this gateway
    assert all(m.object == "model" for m in gateway.client(key).models.list())


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"[1]", 400, "invalid_json"),
        (b'{"messages": [{"role": "user", "content": "x"}]}', 400, "missing_model"),
        (b'{"model": 5, "messages": []}', 400, "missing_model"),
        (b'{"model": "llama-3.3-70b-versatile"}', 400, "invalid_messages"),
        (b'{"model": "llama-3.3-70b-versatile", "messages": []}', 400, "invalid_messages"),
        (b'{"model": "llama-3.3-70b-versatile", "messages": ["hi"]}', 400, "invalid_messages"),
        (
            b'{"model": "llama-3.3-70b-versatile", "messages": [{"role": "user"}], "stream": "yes"}',
            400,
            "invalid_type",
        ),
        (b'{"model": "no-such-model", "messages": [{"role": "user"}]}', 404, "model_not_found"),
    ],
)
def test_bad_input_is_an_openai_style_4xx(gateway: Gateway, body: bytes, status: int, code: str) -> None:
    _, key = gateway.project(groq=GROQ)
    response = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        content=body,
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code


def test_oversize_body_and_unknown_path(gateway: Gateway) -> None:
    _, key = gateway.project()
    headers = {"authorization": f"Bearer {key}"}
    huge = (
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "'
        + b"x" * (33 * 1024 * 1024)
        + b'"}]}'
    )
    response = httpx.post(f"{gateway.url}/v1/chat/completions", content=huge, headers=headers)
    assert response.status_code == 413
    response = httpx.post(f"{gateway.url}/v1/nothing", json={}, headers=headers)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid URL (POST /v1/nothing)"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/nothing"),
        ("DELETE", "/v1/models/gpt-4o"),  # deleting a fine-tuned model: not served
        ("POST", "/v2/chat/completions"),
        ("GET", "/favicon.ico"),
    ],
)
def test_the_key_is_checked_before_the_path(gateway: Gateway, method: str, path: str) -> None:
    """A wrong or missing key is a 401 on every path, known or not (no probing which paths exist); the
    right key learns that the path is unknown (404), in the API's error format."""
    project_id, key = gateway.project()
    for headers in ({}, {"authorization": "Bearer lgw_proj_wrong0000000000000000"}, {"x-api-key": "nope"}):
        refused = httpx.request(method, f"{gateway.url}{path}", headers=headers)
        assert refused.status_code == 401, (headers, refused.text)
        assert refused.json()["error"]["type"] == "authentication_error"
    for headers in ({"authorization": f"Bearer {key}"}, {"x-api-key": key}):
        unknown = httpx.request(method, f"{gateway.url}{path}", headers=headers)
        assert unknown.status_code == 404
        assert unknown.json()["error"] == {
            "message": f"Invalid URL ({method} {path})",
            "type": "invalid_request_error",
            "param": None,
            "code": "unknown_url",
        }
    for _ in range(200):  # recorded for the project, under a bounded endpoint name (both databases)
        records = gateway.admin.get(f"/projects/{project_id}/requests").json()["data"]
        if len(records) == 2:
            break
        time.sleep(0.05)  # the writer stores records in the background
    assert [(r["endpoint"], r["status"]) for r in records] == [("unknown", 404)] * 2


def test_a_retired_model_is_answered_with_what_to_use(settings: Settings) -> None:
    """The first seed's own example, ``claude-3-sonnet-20240229``, is retired: the provider's 404 becomes
    guidance naming its successor and the current models, in each front door's error format."""
    with EmulatorServer(build("anthropic", [ANTHROPIC])) as upstream:
        for served in gateway_for(wired(settings, {"anthropic": upstream.base_url})):
            _, key = served.project(anthropic=ANTHROPIC)
            with pytest.raises(openai.NotFoundError) as gone:
                served.client(key).chat.completions.create(
                    model="claude-3-sonnet-20240229", messages=[{"role": "user", "content": "Hi"}]
                )
            assert gone.value.code == "model_not_found"
            assert "claude-sonnet-5-5, which replaced it" in gone.value.message
            assert "Current Anthropic models: claude-opus-5-5" in gone.value.message
            answer = httpx.post(
                f"{served.url}/v1/messages",
                json={
                    "model": "claude-3-sonnet-20240229",
                    "max_tokens": 10,
                    "messages": [{"role": "user", "content": "Hi"}],
                },
                headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
            )
            assert answer.status_code == 404
            error = answer.json()["error"]
            assert error["type"] == "not_found_error"
            assert "claude-sonnet-5-5" in error["message"]
