"""Projects and project API keys in the dashboard over real HTTP: a project made in the dashboard, its key
shown once and working with the OpenAI SDK, more keys with an expiry, a revoked key refused; who may do
what."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import openai
import pytest
from sqlalchemy import insert, select

from byokgate.apikeys import display_prefix
from byokgate.domain.secret import Secret
from byokgate.store.database import Store
from byokgate.store.tables import audit_events, project_members, users
from tests.dashboard.conftest import ADMIN_EMAIL, MEMBER_EMAIL, OPENAI, csrf_of, sign_in
from tests.dashboard.test_provider_keys import post_key

pytestmark = pytest.mark.usefixtures("users")
SECRET = re.compile(r'<code id="new-key">(lgw_proj_[A-Za-z0-9_-]+)</code>')


def new_project(client: httpx.Client, name: str) -> tuple[str, str]:
    """Made in the dashboard: (project id, its first key's secret, from the page that shows it once)."""
    page = client.get("/dashboard/")
    made = client.post("/dashboard/projects", data={"csrf": csrf_of(page), "name": name})
    assert made.status_code == 200, made.text
    secret = SECRET.search(made.text)
    assert secret is not None
    project_id = re.search(r"/dashboard/projects/(proj_[0-9a-f]+)/api-keys", made.text)
    assert project_id is not None
    return project_id.group(1), secret.group(1)


def chat(gateway_url: str, key: str) -> str | None:
    sdk = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=key, max_retries=0)
    answer = sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    return answer.choices[0].message.content


def test_a_project_made_in_the_dashboard_serves_the_sdk_until_its_key_is_revoked(
    browser: httpx.Client, gateway_url: str
) -> None:
    sign_in(browser, ADMIN_EMAIL)
    project_id, secret = new_project(browser, "made-in-the-dashboard")
    assert post_key(browser, project_id, OPENAI.key, "save").status_code == 303
    assert chat(gateway_url, secret)

    keys = browser.get(f"/dashboard/projects/{project_id}/api-keys")
    assert keys.status_code == 200
    assert secret not in keys.text  # shown once, never again
    assert f"<code>{display_prefix(Secret(secret))}...</code>" in keys.text  # its prefix identifies it
    assert "never" in keys.text

    second = browser.post(
        f"/dashboard/projects/{project_id}/api-keys",
        data={"csrf": csrf_of(keys), "name": "ci", "expires": "30"},
    )
    found = SECRET.search(second.text)
    assert found is not None
    keys = browser.get(f"/dashboard/projects/{project_id}/api-keys")
    assert ">ci<" in keys.text
    key_id = re.search(r"/api-keys/(key_[0-9a-f]+)/revoke", keys.text)
    assert key_id is not None

    first_id = [k for k in re.findall(r"/api-keys/(key_[0-9a-f]+)/revoke", keys.text)]
    for key in first_id:  # revoke every key: the first one's secret must stop working
        revoked = browser.post(
            f"/dashboard/projects/{project_id}/api-keys/{key}/revoke", data={"csrf": csrf_of(keys)}
        )
        assert revoked.status_code == 303
    page = browser.get(f"/dashboard/projects/{project_id}/api-keys?revoked=1")
    assert "Revoked the key." in page.text
    assert page.text.count(">revoked<") == 2
    deadline = time.monotonic() + 10
    while True:  # the data plane's snapshot follows the change at once, or within its poll interval
        try:
            chat(gateway_url, secret)
        except openai.AuthenticationError:
            break
        assert time.monotonic() < deadline, "a revoked key still served requests"
        time.sleep(0.1)


def test_an_expiry_outside_the_list_is_refused(browser: httpx.Client) -> None:
    sign_in(browser, ADMIN_EMAIL)
    project_id, _ = new_project(browser, "expiry")
    page = browser.get(f"/dashboard/projects/{project_id}/api-keys")
    answer = browser.post(
        f"/dashboard/projects/{project_id}/api-keys", data={"csrf": csrf_of(page), "expires": "10000"}
    )
    assert answer.status_code == 400
    assert "Choose an expiry from the list." in answer.text


def test_a_project_needs_a_name(browser: httpx.Client) -> None:
    sign_in(browser, ADMIN_EMAIL)
    page = browser.get("/dashboard/")
    answer = browser.post("/dashboard/projects", data={"csrf": csrf_of(page), "name": "  "})
    assert answer.status_code == 400
    assert 'role="alert"' in answer.text


async def test_changes_are_audit_logged_as_the_user(browser: httpx.Client, store: Store) -> None:
    await asyncio.to_thread(sign_in, browser, ADMIN_EMAIL)
    await asyncio.to_thread(new_project, browser, "audited")
    async with store.transaction() as tx:
        admin = (
            await tx.connection.execute(select(users.c.id).where(users.c.email == ADMIN_EMAIL))
        ).scalar_one()
        rows = await tx.connection.execute(
            select(audit_events.c.action).where(audit_events.c.actor == f"user:{admin}")
        )
        actions = sorted(rows.scalars().all())
    assert actions == ["project.create"]


@pytest.mark.parametrize(("role", "status"), [("write", 200), ("read", 403)])
async def test_a_members_role_decides_whether_they_may_make_keys(
    browser: httpx.Client, store: Store, role: str, status: int
) -> None:
    async with httpx.AsyncClient(base_url=str(browser.base_url)) as admin:
        page = await admin.get("/dashboard/sign-in")
        await admin.post(
            "/dashboard/sign-in",
            data={"email": ADMIN_EMAIL, "password": "correct horse battery staple", "csrf": csrf_of(page)},
        )
        made = await admin.post(
            "/dashboard/projects", data={"csrf": csrf_of(await admin.get("/dashboard/")), "name": "team"}
        )
        project_id = re.search(r"/dashboard/projects/(proj_[0-9a-f]+)/api-keys", made.text)
        assert project_id is not None
    async with store.transaction() as tx:
        member = (
            await tx.connection.execute(select(users.c.id).where(users.c.email == MEMBER_EMAIL))
        ).scalar_one()
        await tx.connection.execute(
            insert(project_members).values(project_id=project_id.group(1), user_id=member, role=role)
        )
    await asyncio.to_thread(sign_in, browser, MEMBER_EMAIL)
    page = await asyncio.to_thread(browser.get, "/dashboard/")
    assert "New project" not in page.text  # only admins make projects
    refused = await asyncio.to_thread(
        browser.post, "/dashboard/projects", data={"csrf": csrf_of(page), "name": "mine"}
    )
    assert refused.status_code == 404
    made = await asyncio.to_thread(
        browser.post,
        f"/dashboard/projects/{project_id.group(1)}/api-keys",
        data={"csrf": csrf_of(page), "expires": ""},
    )
    assert made.status_code == status
