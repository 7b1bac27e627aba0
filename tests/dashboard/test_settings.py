"""Project Settings over real HTTP: each section saved through the admin API's own rules (read back through
the admin API), refused input shown next to its field with what was typed kept and nothing changed, a
limit that takes effect on the data plane, deletion only after the name is typed again; who may do what."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from tests.cli.conftest import run
from tests.conftest import ADMIN_TOKEN
from tests.dashboard.conftest import ADMIN_EMAIL, MEMBER_EMAIL, OPENAI, csrf_of, sign_in

pytestmark = pytest.mark.usefixtures("users")
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}


def new_project(gateway_url: str, name: str) -> tuple[str, str]:
    made = httpx.post(f"{gateway_url}/admin/v1/projects", json={"name": name}, headers=ADMIN, timeout=30)
    assert made.status_code == 201, made.text
    return made.json()["id"], made.json()["api_key"]


def admin_get(gateway_url: str, path: str) -> httpx.Response:
    return httpx.get(f"{gateway_url}/admin/v1{path}", headers=ADMIN, timeout=30)


def post(client: httpx.Client, project_id: str, section: str, fields: dict[str, str]) -> httpx.Response:
    page = client.get(f"/dashboard/projects/{project_id}/settings")
    return client.post(
        f"/dashboard/projects/{project_id}/settings/{section}", data={"csrf": csrf_of(page), **fields}
    )


def saved(response: httpx.Response, section: str) -> None:
    assert response.status_code == 303, response.text
    assert response.headers["location"].endswith(f"/settings?saved={section}#{section}")


def test_each_section_is_saved_as_the_admin_api_reads_it(browser: httpx.Client, gateway_url: str) -> None:
    project_id, _ = new_project(gateway_url, "settings")
    sign_in(browser, ADMIN_EMAIL)
    page = browser.get(f"/dashboard/projects/{project_id}/settings")
    assert page.status_code == 200
    assert 'aria-current="page">Settings<' in page.text

    saved(post(browser, project_id, "general", {"name": "renamed"}), "general")
    assert admin_get(gateway_url, f"/projects/{project_id}").json()["name"] == "renamed"
    notice = browser.get(f"/dashboard/projects/{project_id}/settings?saved=general")
    assert "Renamed the project." in notice.text

    saved(post(browser, project_id, "billing", {"plan": "teams", "policy": "byok_only"}), "billing")
    billing = admin_get(gateway_url, f"/projects/{project_id}/billing").json()
    assert (billing["plan"], billing["policy"]) == ("teams", "byok_only")

    before = admin_get(gateway_url, f"/projects/{project_id}/credits").json()["balance_usd"]
    saved(
        post(browser, project_id, "credits", {"amount_usd": "12.50", "kind": "grant", "note": "hi"}),
        "credits",
    )
    credits = admin_get(gateway_url, f"/projects/{project_id}/credits").json()
    assert float(credits["balance_usd"]) == pytest.approx(float(before) + 12.5)
    assert credits["data"][0]["kind"] == "grant"

    cache = {
        "enabled": "on",
        "ttl_s": "600",
        "max_entry_bytes": "2048",
        "semantic_threshold": "0.9",
        "semantic_max_turns": "2",
        "semantic_model": "",
    }
    saved(post(browser, project_id, "cache", cache), "cache")
    stored = admin_get(gateway_url, f"/projects/{project_id}/cache").json()
    assert stored["enabled"] is True
    assert stored["semantic"] is False  # an unticked box is off
    assert (stored["ttl_s"], stored["max_entry_bytes"], stored["semantic_threshold"]) == (600, 2048, 0.9)
    assert stored["semantic_model"] is None
    saved(post(browser, project_id, "purge", {}), "purge")

    limits = {"rpm": "60", "tpm": "", "budget_usd": "25", "budget_period": "day", "soft_pct": ""}
    saved(post(browser, project_id, "limits", limits), "limits")
    stored = admin_get(gateway_url, f"/projects/{project_id}/limits").json()
    assert (stored["rpm"], stored["tpm"], stored["budget_period"], stored["soft_pct"]) == (
        60,
        None,
        "day",
        None,
    )
    assert float(stored["budget_usd"]) == 25
    shown = browser.get(f"/dashboard/projects/{project_id}/settings").text
    assert 'name="rpm" type="text" value="60"' in shown
    emptied = {"rpm": "", "tpm": "", "budget_usd": "", "budget_period": "month", "soft_pct": "80"}
    saved(post(browser, project_id, "limits", emptied), "limits")  # every limit emptied: none left
    assert admin_get(gateway_url, f"/projects/{project_id}/limits").status_code == 404  # no limits

    saved(post(browser, project_id, "log", {"retention_days": "7", "bodies_days": "3"}), "log")
    assert admin_get(gateway_url, f"/projects/{project_id}/log-retention").json()["days"] == 7
    assert admin_get(gateway_url, f"/projects/{project_id}/log-bodies").json()["days"] == 3

    audit = admin_get(gateway_url, f"/projects/{project_id}/audit?limit=100").json()["data"]
    actions = {event["action"] for event in audit}
    assert {"project.rename", "project.log_retention", "project.log_bodies"} <= actions
    assert all(event["actor"].startswith("user:") for event in audit if event["action"] != "project.create")


@pytest.mark.parametrize(
    ("section", "fields", "field", "message"),
    [
        (
            "cache",
            {
                "enabled": "on",
                "ttl_s": "soon",
                "max_entry_bytes": "2048",
                "semantic_threshold": "0.95",
                "semantic_max_turns": "3",
            },
            "ttl_s",
            "Type a whole number.",
        ),
        (
            "cache",
            {
                "ttl_s": "0",
                "max_entry_bytes": "2048",
                "semantic_threshold": "0.95",
                "semantic_max_turns": "3",
            },
            "ttl_s",
            "greater than or equal to 1",
        ),
        (
            "cache",
            {"ttl_s": "", "max_entry_bytes": "2048", "semantic_threshold": "0.95", "semantic_max_turns": "3"},
            "ttl_s",
            "Fill this in.",
        ),
        (
            "cache",
            {"ttl_s": "60", "max_entry_bytes": "2048", "semantic_threshold": "2", "semantic_max_turns": "3"},
            "semantic_threshold",
            "less than or equal to 1",
        ),
        ("limits", {"rpm": "-5", "budget_period": "month"}, "rpm", "greater than or equal to 1"),
        ("limits", {"budget_usd": "a lot", "budget_period": "month"}, "budget_usd", "Type an amount"),
        ("limits", {"budget_usd": "NaN", "budget_period": "month"}, "budget_usd", "Type an amount"),
        ("limits", {"rpm": "5", "budget_period": "week"}, "budget_period", "day"),
        ("billing", {"plan": "platinum", "policy": "byok_only"}, "plan", "this gateway has: free"),
        ("billing", {"policy": "free_for_all"}, "policy", "byok_only"),
        ("general", {"name": ""}, "name", "name"),
        ("log", {"retention_days": "7", "bodies_days": "31"}, "bodies_days", "less than or equal to 30"),
        ("credits", {"amount_usd": "-3", "kind": "topup"}, "amount_usd", "greater than 0"),
        ("delete", {"confirm": "not its name"}, "confirm", "to delete it"),
    ],
)
def test_refused_input_is_shown_next_to_its_field_and_changes_nothing(
    browser: httpx.Client, gateway_url: str, section: str, fields: dict[str, str], field: str, message: str
) -> None:
    project_id, _ = new_project(gateway_url, "refusals")
    sign_in(browser, ADMIN_EMAIL)
    before = {
        path: admin_get(gateway_url, f"/projects/{project_id}{path}").json()
        for path in ("", "/cache", "/limits", "/billing", "/credits", "/log-retention", "/log-bodies")
    }
    refused = post(browser, project_id, section, fields)
    assert refused.status_code == 400, refused.text
    error = f'id="{section}-{field}-error" role="alert">'
    assert error in refused.text
    shown = refused.text.split(error, 1)[1].split("</p>", 1)[0]
    assert message in shown
    assert f'aria-describedby="{section}-{field}-error"' in refused.text  # the field points at its error
    typed = fields[field]
    if typed and field not in ("plan", "policy", "budget_period"):
        assert f'value="{typed}"' in refused.text  # what was typed is kept
    after = {
        path: admin_get(gateway_url, f"/projects/{project_id}{path}").json()
        for path in ("", "/cache", "/limits", "/billing", "/credits", "/log-retention", "/log-bodies")
    }
    assert after == before


def test_a_limit_saved_here_is_enforced_by_the_data_plane(browser: httpx.Client, gateway_url: str) -> None:
    project_id, key = new_project(gateway_url, "limited")
    put = httpx.put(
        f"{gateway_url}/admin/v1/projects/{project_id}/provider-keys/openai",
        json={"api_key": OPENAI.key},
        headers=ADMIN,
    )
    assert put.status_code == 200, put.text
    sign_in(browser, ADMIN_EMAIL)
    saved(
        post(browser, project_id, "limits", {"rpm": "1", "budget_period": "month", "soft_pct": "80"}),
        "limits",
    )
    sdk = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=key, max_retries=0)
    deadline = time.monotonic() + 10
    refused: openai.RateLimitError | None = None
    while refused is None:  # the data plane's snapshot follows the change at once, or within its poll
        try:
            for _ in range(2):
                sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        except openai.RateLimitError as error:
            refused = error
        assert time.monotonic() < deadline, "two requests a minute passed a limit of one"
        time.sleep(0.2)
    assert refused.status_code == 429


def test_a_project_is_deleted_only_with_its_name_typed_again(browser: httpx.Client, gateway_url: str) -> None:
    project_id, key = new_project(gateway_url, "doomed")
    sign_in(browser, ADMIN_EMAIL)
    page = browser.get(f"/dashboard/projects/{project_id}/settings")
    assert "Type <strong>doomed</strong> to confirm" in page.text
    gone = post(browser, project_id, "delete", {"confirm": "doomed"})
    assert gone.status_code == 303
    assert gone.headers["location"] == "/dashboard/?deleted=1"
    assert "Deleted the project." in browser.get(gone.headers["location"]).text
    assert admin_get(gateway_url, f"/projects/{project_id}").status_code == 404
    assert browser.get(f"/dashboard/projects/{project_id}/settings").status_code == 404
    models = httpx.get(f"{gateway_url}/v1/models", headers={"authorization": f"Bearer {key}"})
    assert models.status_code == 401


def test_who_may_change_what(browser: httpx.Client, gateway_url: str, cli_env: dict[str, str]) -> None:
    project_id, _ = new_project(gateway_url, "shared")
    other_id, _ = new_project(gateway_url, "other")
    run(cli_env, "users", "member", "--email", MEMBER_EMAIL, "--project", project_id, "--role", "write")
    sign_in(browser, MEMBER_EMAIL)
    page = browser.get(f"/dashboard/projects/{project_id}/settings")
    assert page.status_code == 200
    for admins_only in ('name="plan"', 'id="delete"', "Add credits"):
        assert admins_only not in page.text
    assert browser.get(f"/dashboard/projects/{other_id}/settings").status_code == 404

    saved(post(browser, project_id, "billing", {"plan": "teams", "policy": "byok_only"}), "billing")
    billing = admin_get(gateway_url, f"/projects/{project_id}/billing").json()
    assert billing["policy"] == "byok_only"
    assert billing["plan"] != "teams"  # the plan is the operator's
    assert post(browser, project_id, "credits", {"amount_usd": "100", "kind": "grant"}).status_code == 403
    assert post(browser, project_id, "delete", {"confirm": "shared"}).status_code == 403
    assert admin_get(gateway_url, f"/projects/{project_id}").status_code == 200

    own = browser.get(f"/dashboard/projects/{project_id}/settings")
    foreign = browser.post(
        f"/dashboard/projects/{other_id}/settings/general", data={"csrf": csrf_of(own), "name": "x"}
    )
    assert foreign.status_code == 404
    refused = post(browser, project_id, "billing", {"policy": "free_for_all"})
    assert refused.status_code == 400
    assert "Free preview" in refused.text.split('id="billing-plan"', 1)[1][:200]  # the plan still shown
    missing_token = browser.post(f"/dashboard/projects/{project_id}/settings/general", data={"name": "x"})
    assert missing_token.status_code == 403
    assert browser.post(f"/dashboard/projects/{project_id}/settings/nonsense", data={}).status_code == 404

    run(cli_env, "users", "member", "--email", MEMBER_EMAIL, "--project", project_id, "--role", "read")
    page = browser.get(f"/dashboard/projects/{project_id}/settings")
    assert "You can read these settings" in page.text
    assert "<button" not in page.text.split("<h1>Settings</h1>", 1)[1]  # no button in the sections
    assert post(browser, project_id, "general", {"name": "mine now"}).status_code == 403
    assert admin_get(gateway_url, f"/projects/{project_id}").json()["name"] == "shared"
