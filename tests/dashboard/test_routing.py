"""Project Settings -> Routing over real HTTP: a route made in the form serves the OpenAI SDK, is edited,
refused with the error next to the field it names, deleted; all routes as YAML, previewed (nothing changes)
then applied; a read-only member sees routes and cannot change them."""

from __future__ import annotations

import html
import re

import httpx
import openai
import pytest

from tests.cli.conftest import run
from tests.dashboard.conftest import ADMIN_EMAIL, MEMBER_EMAIL, OPENAI, csrf_of, sign_in
from tests.dashboard.test_settings import ADMIN, admin_get, new_project

pytestmark = pytest.mark.usefixtures("users")


def project_with_key(gateway_url: str, name: str) -> tuple[str, str]:
    project_id, key = new_project(gateway_url, name)
    put = httpx.put(
        f"{gateway_url}/admin/v1/projects/{project_id}/provider-keys/openai",
        json={"api_key": OPENAI.key},
        headers=ADMIN,
    )
    assert put.status_code == 200, put.text
    return project_id, key


def routing(client: httpx.Client, project_id: str, query: str = "") -> httpx.Response:
    return client.get(f"/dashboard/projects/{project_id}/routing{query}")


def post(client: httpx.Client, project_id: str, path: str, fields: dict[str, str]) -> httpx.Response:
    page = routing(client, project_id)
    return client.post(
        f"/dashboard/projects/{project_id}/routing{path}", data={"csrf": csrf_of(page), **fields}
    )


def routes(gateway_url: str, project_id: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = admin_get(gateway_url, f"/projects/{project_id}/routes").json()["data"]
    return found


def error_at(page: httpx.Response, field: str, *, described: bool = True) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", field).strip("-")
    found = re.search(rf'<p class="error" id="error-{slug}" role="alert">([^<]*)</p>', page.text)
    assert found is not None, f"no error shown at {field}"
    if described:
        assert f'aria-describedby="error-{slug}"' in page.text  # the field points at it
    return html.unescape(found.group(1))


FAST = {
    "name": "fast",
    "targets[0].provider": "openai",
    "targets[0].model": "gpt-4o-mini",
    "targets[0].weight": "3",
    "targets[1].provider": "openai",
    "targets[1].model": "gpt-4o",
    "targets[1].weight": "0",
    "retries": "2",
    "deadline_s": "30",
    "route_around_refusals": "on",
}


def test_a_route_made_in_the_form_serves_the_sdk_and_is_edited_and_deleted(
    browser: httpx.Client, gateway_url: str
) -> None:
    project_id, key = project_with_key(gateway_url, "routed")
    sign_in(browser, ADMIN_EMAIL)
    empty = routing(browser, project_id)
    assert empty.status_code == 200
    assert "No routes yet" in empty.text
    assert "routes: []" in empty.text  # the YAML of no routes

    made = post(browser, project_id, "", FAST)
    assert made.status_code == 303, made.text
    assert "Saved the route." in browser.get(made.headers["location"]).text
    assert routes(gateway_url, project_id) == [
        {
            "object": "route",
            "name": "fast",
            "targets": [
                {"provider": "openai", "model": "gpt-4o-mini", "lane": "byok", "weight": 3.0},
                {"provider": "openai", "model": "gpt-4o", "lane": "byok", "weight": 0.0},
            ],
            "retries": 2,
            "deadline_s": 30.0,
            "route_around_refusals": True,
        }
    ]
    sdk = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=key, max_retries=0)
    answer = sdk.chat.completions.with_raw_response.create(
        model="fast", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.parse().model.startswith("gpt-4o-mini")

    edit = routing(browser, project_id, "?edit=fast")
    for name, value in FAST.items():
        if name != "route_around_refusals":
            assert f'name="{name}" value="{value}"' in edit.text or (
                f'name="{name}"' in edit.text and f"<option selected>{value}</option>" in edit.text
            ), name
    assert 'id="route-route_around_refusals" name="route_around_refusals" checked' in edit.text
    changed = {**FAST, "targets[0].model": "gpt-4o", "retries": "", "route_around_refusals": ""}
    del changed["route_around_refusals"]
    assert post(browser, project_id, "", changed).status_code == 303
    (route,) = routes(gateway_url, project_id)
    assert route["targets"][0]["model"] == "gpt-4o"  # type: ignore[index]
    assert "retries" not in route
    assert "route_around_refusals" not in route

    gone = post(browser, project_id, "/delete", {"name": "fast"})
    assert gone.status_code == 303
    assert routes(gateway_url, project_id) == []
    missing = post(browser, project_id, "/delete", {"name": "fast"})
    assert missing.status_code == 400
    assert "no route named 'fast'" in error_at(missing, "delete", described=False)
    audit = admin_get(gateway_url, f"/projects/{project_id}/audit?limit=100").json()["data"]
    route_events = [e for e in audit if e["action"].startswith("route.")]
    assert {e["action"] for e in route_events} == {"route.create", "route.replace", "route.delete"}
    assert all(e["actor"].startswith("user:") for e in route_events)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {
                "name": "fast",
                "targets[0].provider": "anthropic",
                "targets[0].model": "claude-3-5-haiku-latest",
            },
            "targets[0].provider",
            "the project has no anthropic key",
        ),
        (
            {
                "name": "fast",
                "targets[1].provider": "anthropic",
                "targets[1].model": "claude-3-5-haiku-latest",
            },
            "targets[1].provider",
            "the project has no anthropic key",
        ),  # the row the target came from
        (
            {
                "name": "fast",
                "targets[0].provider": "openai",
                "targets[0].model": "gpt-4o",
                "targets[0].weight": "heavy",
            },
            "targets[0].weight",
            "Type a number.",
        ),
        (
            {
                "name": "fast",
                "targets[0].provider": "openai",
                "targets[0].model": "gpt-4o",
                "targets[0].weight": "5000",
            },
            "targets[0].weight",
            "from 0 to 1000",
        ),
        ({"name": "fast", "targets[0].provider": "openai"}, "targets[0].model", "Type the model"),
        (
            {
                "name": "fast",
                "targets[0].provider": "openai",
                "targets[0].model": "gpt-4o",
                "targets[0].weight": "0",
            },
            "targets",
            "at least one must be above 0",
        ),
        ({"name": "fast"}, "targets[0].provider", "at least one target"),
        (
            {"name": "two words", "targets[0].provider": "openai", "targets[0].model": "gpt-4o"},
            "name",
            "a model name or alias",
        ),
        (
            {"name": "fast", "targets[0].provider": "openai", "targets[0].model": "gpt-*"},
            "targets[0].model",
            "the name has none",
        ),
        (
            {
                "name": "fast",
                "targets[0].provider": "openai",
                "targets[0].model": "gpt-4o",
                "retries": "lots",
            },
            "retries",
            "Type a whole number.",
        ),
        (
            {"name": "fast", "targets[0].provider": "openai", "targets[0].model": "gpt-4o", "retries": "11"},
            "retries",
            "from 0 to 10",
        ),
        (
            {
                "name": "fast",
                "targets[0].provider": "openai",
                "targets[0].model": "gpt-4o",
                "targets[0].lane": "pooled",
            },
            "targets[0].lane",
            "no pooled lane",
        ),
    ],
)
def test_a_refused_route_is_shown_next_to_the_field_it_names(
    browser: httpx.Client, gateway_url: str, fields: dict[str, str], field: str, message: str
) -> None:
    project_id, _ = project_with_key(gateway_url, "refused")
    sign_in(browser, ADMIN_EMAIL)
    refused = post(browser, project_id, "", fields)
    assert refused.status_code == 400, refused.text
    assert message in error_at(refused, field)
    assert f'value="{html.escape(fields["name"])}"' in refused.text  # what was typed stays
    assert routes(gateway_url, project_id) == []


def test_routes_as_yaml_are_previewed_then_applied(browser: httpx.Client, gateway_url: str) -> None:
    project_id, _ = project_with_key(gateway_url, "yaml")
    sign_in(browser, ADMIN_EMAIL)
    assert post(browser, project_id, "", FAST).status_code == 303
    shown = html.unescape(routing(browser, project_id).text)
    assert "- name: fast" in shown
    assert "model: gpt-4o-mini" in shown

    document = f"""project: {project_id}
routes:
  - name: smart
    targets:
      - {{provider: openai, model: gpt-4o}}
      - {{provider: openai, model: gpt-4o-mini}}
    timeout_s: 20
"""
    preview = post(browser, project_id, "/apply", {"document": document, "action": "preview"})
    assert preview.status_code == 200
    assert "create <code>smart</code>" in preview.text
    assert "delete <code>fast</code>" in preview.text
    assert [r["name"] for r in routes(gateway_url, project_id)] == ["fast"]  # a preview changes nothing
    assert "timeout_s: 20" in html.unescape(preview.text)  # the document is kept to apply

    applied = post(browser, project_id, "/apply", {"document": document, "action": "apply"})
    assert applied.status_code == 303
    assert "Applied the routes." in browser.get(applied.headers["location"]).text
    (smart,) = routes(gateway_url, project_id)
    assert smart["name"] == "smart"
    assert smart["timeout_s"] == 20.0
    again = post(browser, project_id, "/apply", {"document": document, "action": "preview"})
    assert "Nothing: the project's routes are these already." in again.text

    for bad, message in [
        ("routes: [", "This is not YAML (line 1)."),
        ("- just a list", "Expected a mapping with `routes`"),
        ("project: proj_other\nroutes: []", "This file is for project proj_other"),
        (
            "routes:\n  - name: x\n    targets: [{provider: anthropic, model: claude-3-5-haiku-latest}]",
            "routes[0].targets[0].provider: the project has no anthropic key",
        ),
        ("routes:\n  - name: x\n    targets: []", "routes[0].targets: must be a non-empty array"),
    ]:
        refused = post(browser, project_id, "/apply", {"document": bad, "action": "apply"})
        assert refused.status_code == 400, bad
        assert message in error_at(refused, "document"), bad
        assert html.escape(bad, quote=False) in refused.text  # the document is kept to fix
    assert [r["name"] for r in routes(gateway_url, project_id)] == ["smart"]


def test_a_read_only_member_sees_routes_and_cannot_change_them(
    browser: httpx.Client, gateway_url: str, cli_env: dict[str, str]
) -> None:
    project_id, _ = project_with_key(gateway_url, "read-only")
    sign_in(browser, ADMIN_EMAIL)
    assert post(browser, project_id, "", FAST).status_code == 303
    browser.cookies.clear()
    run(cli_env, "users", "member", "--email", MEMBER_EMAIL, "--project", project_id, "--role", "read")
    sign_in(browser, MEMBER_EMAIL)
    page = routing(browser, project_id)
    assert page.status_code == 200
    assert "<code>fast</code>" in page.text
    assert "Save route" not in page.text
    assert "readonly" in page.text
    token = csrf_of(page)  # the sign-out form's
    for path, fields in [("", FAST), ("/delete", {"name": "fast"}), ("/apply", {"document": "routes: []"})]:
        refused = browser.post(
            f"/dashboard/projects/{project_id}/routing{path}", data={"csrf": token, **fields}
        )
        assert refused.status_code == 403
    assert [r["name"] for r in routes(gateway_url, project_id)] == ["fast"]
