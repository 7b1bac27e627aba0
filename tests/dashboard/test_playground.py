"""The playground's key: made for the page's script (CSRF token in a header), a day's expiry, usable on the
data plane; refused without the token or to a read-only member."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import insert, select

from byokgate.store.database import Store
from byokgate.store.tables import project_members, users
from tests.dashboard.conftest import ADMIN_EMAIL, MEMBER_EMAIL, csrf_of, sign_in
from tests.dashboard.test_api_keys import new_project

pytestmark = pytest.mark.usefixtures("users")


def make_key(client: httpx.Client, project_id: str, token: str | None) -> httpx.Response:
    headers = {"x-csrf-token": token} if token is not None else {}
    return client.post(f"/dashboard/projects/{project_id}/playground/key", headers=headers)


def test_a_playground_key_reaches_the_data_plane_and_expires_in_a_day(browser: httpx.Client) -> None:
    sign_in(browser, ADMIN_EMAIL)
    project_id, _ = new_project(browser, "playground")
    page = browser.get(f"/dashboard/projects/{project_id}/playground")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    for token in (None, "forged"):
        assert make_key(browser, project_id, token).status_code == 403
    made = make_key(browser, project_id, csrf_of(page))
    assert made.status_code == 200
    assert made.headers["cache-control"] == "no-store"
    body = made.json()
    assert body["key"].startswith("lgw_proj_")
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(days=1)
    models = browser.get("/v1/models", headers={"authorization": f"Bearer {body['key']}"})
    assert models.status_code == 200
    keys = browser.get(f"/dashboard/projects/{project_id}/api-keys").text
    assert "<td>playground</td>" in keys
    assert body["key"] not in keys


async def test_a_read_only_member_gets_no_playground_key(browser: httpx.Client, store: Store) -> None:
    async with httpx.AsyncClient(base_url=str(browser.base_url)) as admin:
        page = await admin.get("/dashboard/sign-in")
        await admin.post(
            "/dashboard/sign-in",
            data={"email": ADMIN_EMAIL, "password": "correct horse battery staple", "csrf": csrf_of(page)},
        )
        home = await admin.get("/dashboard/")
        made = await admin.post("/dashboard/projects", data={"csrf": csrf_of(home), "name": "read-only"})
    project_id = made.text.split("/dashboard/projects/")[1].split("/")[0]
    async with store.transaction() as tx:
        member = (
            await tx.connection.execute(select(users.c.id).where(users.c.email == MEMBER_EMAIL))
        ).scalar_one()
        await tx.connection.execute(
            insert(project_members).values(project_id=project_id, user_id=member, role="read")
        )
    await asyncio.to_thread(sign_in, browser, MEMBER_EMAIL)
    page = await asyncio.to_thread(browser.get, f"/dashboard/projects/{project_id}/playground")
    assert page.status_code == 200
    assert "Use a new playground key" not in page.text
    refused = await asyncio.to_thread(make_key, browser, project_id, csrf_of(page))
    assert refused.status_code == 403
