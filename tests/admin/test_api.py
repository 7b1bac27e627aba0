from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ANTHROPIC_KEY, GROQ_KEY, OPENAI_KEY


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    return dict(error)


def _create(admin: httpx.Client, name: str = "acme") -> dict[str, Any]:
    response = admin.post("/projects", json={"name": name})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_project_endpoints(admin: httpx.Client) -> None:
    created = _create(admin)
    assert set(created) >= {"id", "name", "api_key"}
    assert created["api_key"].startswith("lgw_proj_")
    pid = created["id"]
    assert admin.get(f"/projects/{pid}").json()["name"] == "acme"
    patched = admin.patch(f"/projects/{pid}", json={"name": "acme 2"})
    assert patched.status_code == 200
    assert patched.json()["name"] == "acme 2"
    _create(admin, "other")
    page = admin.get("/projects", params={"limit": 1}).json()
    assert page["has_more"] is True
    assert len(page["data"]) == 1
    rest = admin.get("/projects", params={"after": page["next_after"]}).json()
    assert rest["has_more"] is False
    assert len(rest["data"]) == 1
    assert admin.delete(f"/projects/{pid}").status_code == 204
    _error(admin.get(f"/projects/{pid}"), 404)
    _error(admin.delete(f"/projects/{pid}"), 404)
    # The trail of a deleted project stays readable.
    actions = [e["action"] for e in admin.get(f"/projects/{pid}/audit").json()["data"]]
    assert actions == ["project.delete", "project.rename", "project.create"]


def test_api_key_endpoints(admin: httpx.Client) -> None:
    pid = _create(admin)["id"]
    made = admin.post(f"/projects/{pid}/api-keys", json={"name": "ci", "expires_at": "2099-01-01T00:00:00Z"})
    assert made.status_code == 201, made.text
    key = made.json()
    assert key["key"].startswith("lgw_proj_")
    assert key["status"] == "active"
    listed = admin.get(f"/projects/{pid}/api-keys").json()["data"]
    assert len(listed) == 2
    assert all("key" not in item for item in listed)
    assert {item["prefix"] for item in listed} >= {key["key"][:13]}
    assert admin.delete(f"/projects/{pid}/api-keys/{key['id']}").status_code == 204
    statuses = {item["id"]: item["status"] for item in admin.get(f"/projects/{pid}/api-keys").json()["data"]}
    assert statuses[key["id"]] == "revoked"
    _error(admin.delete(f"/projects/{pid}/api-keys/key_missing"), 404)
    _error(admin.post(f"/projects/{pid}/api-keys", json={"expires_at": "2001-01-01T00:00:00Z"}), 400)
    _error(admin.post(f"/projects/{pid}/api-keys", json={"expires_at": "2099-01-01T00:00:00"}), 422)
    _error(admin.post(f"/projects/{pid}/api-keys", json={"expires_at": "tomorrow"}), 422)


def test_provider_key_endpoints_never_return_the_key(admin: httpx.Client) -> None:
    pid = _create(admin)["id"]
    put = admin.put(f"/projects/{pid}/provider-keys/openai", json={"api_key": OPENAI_KEY.reveal()})
    assert put.status_code == 200, put.text
    body = put.json()
    assert body["masked"] == "sk-proj-..." + OPENAI_KEY.reveal()[-4:]
    assert OPENAI_KEY.reveal() not in put.text
    admin.put(f"/projects/{pid}/provider-keys/anthropic", json={"api_key": ANTHROPIC_KEY.reveal()})
    listed = admin.get(f"/projects/{pid}/provider-keys")
    assert [k["provider"] for k in listed.json()["data"]] == ["anthropic", "openai"]
    assert OPENAI_KEY.reveal() not in listed.text
    assert ANTHROPIC_KEY.reveal() not in listed.text
    assert admin.delete(f"/projects/{pid}/provider-keys/anthropic").status_code == 204
    _error(admin.delete(f"/projects/{pid}/provider-keys/anthropic"), 404)
    audit = admin.get(f"/projects/{pid}/audit", params={"limit": 2})
    assert audit.json()["has_more"] is True
    older = admin.get(f"/projects/{pid}/audit", params={"before": audit.json()["next_before"]}).json()
    assert [e["action"] for e in audit.json()["data"] + older["data"]] == [
        "provider_key.delete",
        "provider_key.set",
        "provider_key.set",
        "project.create",
    ]
    assert OPENAI_KEY.reveal() not in audit.text


def test_auth_is_required_everywhere(gateway_url: str) -> None:
    with httpx.Client(base_url=f"{gateway_url}/admin/v1") as anonymous:
        _error(anonymous.get("/projects"), 401)
        _error(anonymous.post("/projects", json={"name": "x"}), 401)
        _error(anonymous.get("/projects", headers={"authorization": "Bearer wrong-token"}), 401)
        _error(anonymous.get("/projects", headers={"authorization": "Basic abc"}), 401)
    assert httpx.get(f"{gateway_url}/admin/v1/openapi.json").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("post", "/projects", {"content": b'{"name": '}, 400, "invalid_json"),
        ("post", "/projects", {"content": b"[1,2]"}, 422, None),
        ("post", "/projects", {"json": {"name": 5}}, 422, None),
        ("post", "/projects", {"json": {}}, 422, None),
        ("post", "/projects", {"json": {"name": "x", "extra": 1}}, 422, None),
        ("post", "/projects", {"json": {"name": "   "}}, 422, None),
        ("post", "/projects", {"json": {"name": "a\u0085b"}}, 422, None),
        ("post", "/projects", {"content": b'{"name": "\\ud800"}'}, 422, None),
        (
            "post",
            "/projects",
            {"content": b'{"name":"x"}', "headers": {"content-type": "text/plain"}},
            415,
            None,
        ),
        ("post", "/projects", {"json": {"name": "x" * 100_000}}, 413, "payload_too_large"),
        (
            "put",
            "/projects/{pid}/provider-keys/nope",
            {"json": {"api_key": "abcdefghijklmnop"}},
            400,
            "unknown_provider",
        ),
        ("put", "/projects/{pid}/provider-keys/openrouter", {"json": {"api_key": "sk-or-v1-abc"}}, 400, None),
        ("put", "/projects/{pid}/provider-keys/openai", {"json": {"api_key": 12}}, 422, None),
        ("put", "/projects/{pid}/provider-keys/openai", {"json": {"api_key": ""}}, 400, "invalid_key_format"),
        (
            "put",
            "/projects/proj_missing/provider-keys/openai",
            {"json": {"api_key": "sk-abcdefghijklmnopqrst"}},
            404,
            None,
        ),
        ("get", "/projects/{pid}/audit", {"params": {"limit": 0}}, 422, None),
        ("get", "/projects/{pid}/audit", {"params": {"before": "x"}}, 422, None),
        ("get", "/projects/proj_never/audit", {}, 404, "project_not_found"),
        ("get", "/nowhere", {}, 404, None),
        ("patch", "/projects/{pid}", {"json": {"name": None}}, 422, None),
    ],
)
def test_bad_input_gets_a_clear_error_and_changes_nothing(
    admin: httpx.Client, method: str, path: str, kwargs: dict[str, Any], status: int, code: str | None
) -> None:
    pid = _create(admin)["id"]
    admin.put(f"/projects/{pid}/provider-keys/groq", json={"api_key": GROQ_KEY.reveal()})
    before = (admin.get("/projects").json(), admin.get(f"/projects/{pid}/provider-keys").json())
    audit_before = admin.get(f"/projects/{pid}/audit").json()
    if "content" in kwargs:
        kwargs = {"headers": {"content-type": "application/json"}, **kwargs}
    error = _error(admin.request(method.upper(), path.format(pid=pid), **kwargs), status)
    if code:
        assert error["code"] == code
    after = (admin.get("/projects").json(), admin.get(f"/projects/{pid}/provider-keys").json())
    assert after == before
    assert admin.get(f"/projects/{pid}/audit").json() == audit_before


def test_validation_errors_do_not_echo_submitted_secrets(admin: httpx.Client) -> None:
    pid = _create(admin)["id"]
    secret = "sk-proj-" + "S3cr3t" * 8
    response = admin.put(f"/projects/{pid}/provider-keys/openai", json={"api_key": secret, "verify": "nope"})
    _error(response, 422)
    assert secret not in response.text
    response = admin.put(f"/projects/{pid}/provider-keys/openai", json={"api_key": secret + " "})
    _error(response, 400)
    assert "S3cr3t" not in response.text


def test_streamed_oversize_body_is_413(admin: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    response = admin.post("/projects", content=chunks(), headers={"content-type": "application/json"})
    assert _error(response, 413)["code"] == "payload_too_large"
    assert admin.get("/projects").json()["data"] == []
