"""Project Settings -> Provider Keys over real HTTP: test a key without storing it, save it (encrypted,
audit-logged as the user, used by the data plane), replace and delete it; the key never comes back in a
page; a read-only member sees the page and cannot change it; another project's member sees nothing."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest
from sqlalchemy import insert, select

from byokgate.store.database import Store
from byokgate.store.tables import audit_events, project_members, provider_credentials, users
from tests.conftest import ADMIN_TOKEN
from tests.dashboard.conftest import ADMIN_EMAIL, MEMBER_EMAIL, OPENAI, csrf_of, sign_in
from tests.dashboard.test_sign_in import create_project

pytestmark = pytest.mark.usefixtures("users")
WRONG_KEY = "sk-proj-" + "w" * 40


def keys_page(client: httpx.Client, project_id: str) -> httpx.Response:
    return client.get(f"/dashboard/projects/{project_id}/provider-keys")


def post_key(client: httpx.Client, project_id: str, key: str, action: str) -> httpx.Response:
    page = keys_page(client, project_id)
    return client.post(
        f"/dashboard/projects/{project_id}/provider-keys/openai",
        data={"csrf": csrf_of(page), "api_key": key, "action": action},
    )


def test_a_key_is_tested_saved_used_and_deleted_and_never_shown(
    browser: httpx.Client, gateway_url: str
) -> None:
    created = httpx.post(
        f"{gateway_url}/admin/v1/projects",
        json={"name": "keys"},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
    ).json()
    project_id, project_key = created["id"], created["api_key"]
    sign_in(browser, ADMIN_EMAIL)
    page = keys_page(browser, project_id)
    assert page.status_code == 200
    for title in ("OpenAI", "Anthropic", "Groq"):  # a row for every provider the gateway supports
        assert title in page.text

    refused = post_key(browser, project_id, WRONG_KEY, "test")
    assert refused.status_code == 400
    assert "OpenAI rejected this key" in refused.text
    accepted = post_key(browser, project_id, OPENAI.key, "test")
    assert "OpenAI accepted this key. It is not saved yet." in accepted.text
    assert "None" in keys_page(browser, project_id).text  # testing stored nothing

    saved = post_key(browser, project_id, OPENAI.key, "save")
    assert saved.status_code == 303
    page = browser.get(saved.headers["location"])
    assert "Saved the OpenAI key." in page.text
    assert "sk-proj-...cccc" in page.text  # masked
    for answer in (refused, accepted, page):
        assert OPENAI.key not in answer.text
        assert WRONG_KEY not in answer.text
        assert OPENAI.key[8:20] not in answer.text

    sdk = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=project_key, max_retries=0)
    completion = sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content

    deleted = browser.post(
        f"/dashboard/projects/{project_id}/provider-keys/openai/delete",
        data={"csrf": csrf_of(page), "name": "default"},
    )
    page = browser.get(deleted.headers["location"])
    assert "Deleted the OpenAI key." in page.text
    assert "sk-proj-...cccc" not in page.text
    with pytest.raises(openai.APIStatusError):
        sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])


@pytest.mark.parametrize("key", ["", "not a key at all", "sk-ant-api03-" + "c" * 80])
def test_a_key_that_cannot_be_an_openai_key_is_refused_next_to_the_form(
    browser: httpx.Client, gateway_url: str, key: str
) -> None:
    project_id = create_project(gateway_url, "bad-keys")
    sign_in(browser, ADMIN_EMAIL)
    answer = post_key(browser, project_id, key, "save")
    assert answer.status_code == 400
    assert 'role="alert"' in answer.text
    if key:
        assert key not in answer.text
    assert "None" in answer.text  # nothing stored


async def test_saving_is_audit_logged_as_the_user_and_stored_encrypted(
    browser: httpx.Client, gateway_url: str, store: Store
) -> None:
    project_id = await asyncio.to_thread(create_project, gateway_url, "audited")
    await asyncio.to_thread(sign_in, browser, ADMIN_EMAIL)
    saved = await asyncio.to_thread(post_key, browser, project_id, OPENAI.key, "save")
    assert saved.status_code == 303
    async with store.transaction() as tx:
        admin_id = (
            await tx.connection.execute(select(users.c.id).where(users.c.email == ADMIN_EMAIL))
        ).scalar_one()
        actors = (
            (
                await tx.connection.execute(
                    select(audit_events.c.actor).where(audit_events.c.action == "provider_key.set")
                )
            )
            .scalars()
            .all()
        )
        stored = (await tx.connection.execute(select(provider_credentials.c.ciphertext))).scalars().all()
    assert actors == [f"user:{admin_id}"]
    assert len(stored) == 1
    assert OPENAI.key.encode() not in stored[0]


@pytest.mark.parametrize("role", ["read", None])
async def test_members_see_what_their_role_allows(
    browser: httpx.Client, gateway_url: str, store: Store, role: str | None
) -> None:
    project_id = await asyncio.to_thread(create_project, gateway_url, "members")
    if role is not None:
        async with store.transaction() as tx:
            member = (
                await tx.connection.execute(select(users.c.id).where(users.c.email == MEMBER_EMAIL))
            ).scalar_one()
            await tx.connection.execute(
                insert(project_members).values(project_id=project_id, user_id=member, role=role)
            )
    await asyncio.to_thread(sign_in, browser, MEMBER_EMAIL)
    page = await asyncio.to_thread(keys_page, browser, project_id)
    if role is None:  # not a member: as if the project did not exist
        assert page.status_code == 404
        missing = await asyncio.to_thread(keys_page, browser, "proj_" + "0" * 32)
        assert missing.status_code == 404
        return
    assert page.status_code == 200
    assert 'name="api_key"' not in page.text  # no form to change it
    change = await asyncio.to_thread(
        browser.post,
        f"/dashboard/projects/{project_id}/provider-keys/openai",
        data={
            "csrf": csrf_of(await asyncio.to_thread(browser.get, "/dashboard/")),
            "api_key": OPENAI.key,
            "action": "save",
        },
    )
    assert change.status_code == 403
