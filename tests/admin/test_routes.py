"""The admin API's routes: every bad field named, unservable routes refused, apply idempotent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from byokgate.app import create_app
from byokgate.settings import Settings
from tests.conftest import ADMIN_TOKEN, ANTHROPIC_KEY, GROQ_KEY, OPENAI_KEY
from tests.support.server import running_server

FAST = {
    "targets": [
        {"provider": "groq", "model": "llama-3.3-70b-versatile"},
        {"provider": "openai", "model": "gpt-4o-mini"},
    ],
    "retries": 1,
    "ttft_timeout_s": 5,
}


@pytest.fixture
def admin(settings: Settings) -> Iterator[httpx.Client]:
    pooled = settings.model_copy(update={"pooled_api_key": SecretStr("sk-or-v1-" + "p" * 64)})
    with running_server(create_app(pooled)) as base:
        headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
        with httpx.Client(base_url=f"{base}/admin/v1", headers=headers, timeout=30) as client:
            yield client


@pytest.fixture
def project(admin: httpx.Client) -> str:
    pid = str(admin.post("/projects", json={"name": "routed"}).json()["id"])
    for provider, key in (("openai", OPENAI_KEY), ("groq", GROQ_KEY)):
        assert admin.put(
            f"/projects/{pid}/provider-keys/{provider}", json={"api_key": key.reveal()}
        ).is_success
    return pid


def refused(response: httpx.Response, param: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param
    assert response.headers["x-should-retry"] == "false"
    return dict(error)


def test_a_route_is_created_listed_replaced_and_deleted(admin: httpx.Client, project: str) -> None:
    created = admin.put(f"/projects/{project}/routes/fast", json=FAST)
    assert created.status_code == 200, created.text
    assert created.json()["targets"][0] == {
        "provider": "groq",
        "model": "llama-3.3-70b-versatile",
        "lane": "byok",
    }
    wildcard = {"targets": [{"provider": "openai", "model": "gpt-4o-*"}]}
    assert admin.put(f"/projects/{project}/routes/gpt-4o-*", json=wildcard).is_success
    slashed = {"targets": [{"provider": "openai", "model": "gpt-4o"}]}
    assert admin.put(f"/projects/{project}/routes/openai/gpt-4o", json=slashed).is_success  # a / in the name
    names = [route["name"] for route in admin.get(f"/projects/{project}/routes").json()["data"]]
    assert names == ["fast", "gpt-4o-*", "openai/gpt-4o"]
    replaced = admin.put(f"/projects/{project}/routes/fast", json={**FAST, "retries": 0})
    assert replaced.json()["retries"] == 0
    assert admin.delete(f"/projects/{project}/routes/openai/gpt-4o").status_code == 204
    assert admin.delete(f"/projects/{project}/routes/openai/gpt-4o").status_code == 404
    actions = [e["action"] for e in admin.get(f"/projects/{project}/audit").json()["data"]][:4]
    assert actions == ["route.delete", "route.replace", "route.create", "route.create"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"targets": "groq"}, "targets"),
        ({"targets": [{"provider": "groq", "model": "m", "lane": "vip"}]}, "targets[0].lane"),
        ({**FAST, "deadline_s": -1}, "deadline_s"),
        ({**FAST, "name": "other"}, "name"),
        ({**FAST, "fallbacks": []}, "fallbacks"),
    ],
)
def test_a_bad_field_is_a_400_naming_it(
    admin: httpx.Client, project: str, body: dict[str, Any], param: str
) -> None:
    refused(admin.put(f"/projects/{project}/routes/fast", json=body), param)


@pytest.mark.parametrize(
    ("target", "param", "words"),
    [
        ({"provider": "anthropic", "model": "claude-3-5-sonnet"}, "targets[1].provider", "no anthropic key"),
        ({"provider": "nosuch", "model": "m"}, "targets[1].provider", "unknown provider"),
        (
            {"provider": "openai", "model": "openai/gpt-4o", "lane": "pooled"},
            "targets[1].provider",
            "openrouter",
        ),
    ],
)
def test_a_route_that_cannot_be_served_is_refused_when_saved(
    admin: httpx.Client, project: str, target: dict[str, str], param: str, words: str
) -> None:
    body = {"targets": [{"provider": "openai", "model": "gpt-4o"}, target]}
    error = refused(admin.put(f"/projects/{project}/routes/smart", json=body), param)
    assert error["code"] == "route_unservable"
    assert words in error["message"]
    assert admin.get(f"/projects/{project}/routes").json()["data"] == []  # nothing stored


def test_a_pooled_target_needs_a_policy_that_allows_the_pooled_lane(
    admin: httpx.Client, project: str
) -> None:
    body = {"targets": [{"provider": "openrouter", "model": "anthropic/claude-3.5-sonnet", "lane": "pooled"}]}
    assert admin.put(f"/projects/{project}/routes/smart", json=body).is_success
    assert admin.put(f"/projects/{project}/billing", json={"policy": "byok_only"}).is_success
    refused(admin.put(f"/projects/{project}/routes/smart", json=body), "targets[0].lane")


def test_apply_makes_the_routes_exactly_the_given_ones_and_twice_changes_nothing(
    admin: httpx.Client, project: str
) -> None:
    assert admin.put(f"/projects/{project}/routes/old", json=FAST).is_success
    assert admin.put(f"/projects/{project}/routes/smart", json=FAST).is_success
    wanted = {
        "routes": [
            {"name": "fast", **FAST},
            {"name": "smart", **FAST, "retries": 2},
        ]
    }
    dry = admin.put(f"/projects/{project}/routes", params={"dry_run": "true"}, json=wanted).json()
    assert (dry["created"], dry["replaced"], dry["deleted"], dry["unchanged"]) == (
        ["fast"],
        ["smart"],
        ["old"],
        [],
    )
    names = [route["name"] for route in admin.get(f"/projects/{project}/routes").json()["data"]]
    assert names == ["old", "smart"]  # a dry run changes nothing
    applied = admin.put(f"/projects/{project}/routes", json=wanted).json()
    assert applied["dry_run"] is False
    assert applied["deleted"] == ["old"]
    again = admin.put(f"/projects/{project}/routes", json=wanted).json()
    assert (again["created"], again["replaced"], again["deleted"]) == ([], [], [])
    assert again["unchanged"] == ["fast", "smart"]
    bad = {
        "routes": [
            {"name": "fast", **FAST},
            {"name": "x", "targets": [{"provider": "anthropic", "model": "m"}]},
        ]
    }
    error = refused(admin.put(f"/projects/{project}/routes", json=bad), "routes[1].targets[0].provider")
    assert "no anthropic key" in error["message"]
    twice = {"routes": [{"name": "fast", **FAST}, {"name": "fast", **FAST}]}
    refused(admin.put(f"/projects/{project}/routes", json=twice), "routes")
    assert [r["name"] for r in admin.get(f"/projects/{project}/routes").json()["data"]] == ["fast", "smart"]


def test_routes_of_an_unknown_project_are_a_404(admin: httpx.Client) -> None:
    assert admin.get("/projects/proj_nosuch/routes").status_code == 404
    assert admin.put("/projects/proj_nosuch/routes/fast", json=FAST).status_code == 404


def test_an_anthropic_key_makes_the_route_servable(admin: httpx.Client, project: str) -> None:
    body = {"targets": [{"provider": "anthropic", "model": "claude-3-5-sonnet"}]}
    refused(admin.put(f"/projects/{project}/routes/smart", json=body), "targets[0].provider")
    key = {"api_key": ANTHROPIC_KEY.reveal()}
    assert admin.put(f"/projects/{project}/provider-keys/anthropic", json=key).is_success
    assert admin.put(f"/projects/{project}/routes/smart", json=body).is_success
