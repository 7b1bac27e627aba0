"""Users and project members over real HTTP: an admin creates a user who then signs in, promotes and
demotes them, deletes them (their session ends at once); adds a member to a project, changes their role
and takes it away, each seen by the member's own session; refusals next to their fields; only admins may."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.dashboard.conftest import ADMIN_EMAIL, MEMBER_EMAIL, PASSWORD, csrf_of, sign_in
from tests.dashboard.test_settings import admin_get, new_project

pytestmark = pytest.mark.usefixtures("users")
NEW_EMAIL = "new.person@example.com"
NEW_PASSWORD = "a long enough first password"


def user_id_of(page: httpx.Response, email: str) -> str:
    row = page.text.split(f"<td>{email}", 1)[1]
    found = re.search(r'action="/dashboard/users/(usr_[0-9a-f]+)"', row)
    assert found is not None, f"no actions for {email}"
    return found.group(1)


def post(
    client: httpx.Client, path: str, fields: dict[str, str], page: str = "/dashboard/users"
) -> httpx.Response:
    return client.post(path, data={"csrf": csrf_of(client.get(page)), **fields})


def test_an_admin_creates_promotes_and_deletes_a_user(browser: httpx.Client, gateway_url: str) -> None:
    sign_in(browser, ADMIN_EMAIL)
    page = browser.get("/dashboard/users")
    assert page.status_code == 200
    assert f'<td>{ADMIN_EMAIL} <span class="tag">you</span>' in page.text
    assert f"<td>{MEMBER_EMAIL}" in page.text
    assert 'action="/dashboard/users/' not in page.text.split(f"<td>{ADMIN_EMAIL}", 1)[1].split("</tr>")[0]

    short = post(browser, "/dashboard/users", {"email": NEW_EMAIL, "password": "short"})
    assert short.status_code == 400
    assert '<p class="error" id="error-password" role="alert">Use at least 12 characters.</p>' in short.text
    assert f'value="{NEW_EMAIL}"' in short.text  # what was typed stays (not the password)
    assert 'value="short"' not in short.text
    taken = post(browser, "/dashboard/users", {"email": MEMBER_EMAIL.upper(), "password": NEW_PASSWORD})
    assert f'id="error-email" role="alert">There is already a user {MEMBER_EMAIL}.' in taken.text

    made = post(browser, "/dashboard/users", {"email": NEW_EMAIL, "password": NEW_PASSWORD})
    assert made.status_code == 303
    assert "Created the user." in browser.get(made.headers["location"]).text
    with httpx.Client(base_url=gateway_url) as person:
        assert sign_in(person, NEW_EMAIL, NEW_PASSWORD).status_code == 303
        assert person.get("/dashboard/").status_code == 200
        assert person.get("/dashboard/users").status_code == 403  # not an admin

        page = browser.get("/dashboard/users")
        new_id = user_id_of(page, NEW_EMAIL)
        assert post(browser, f"/dashboard/users/{new_id}", {"action": "admin"}).status_code == 303
        assert person.get("/dashboard/users").status_code == 200  # an admin now, same session
        assert post(browser, f"/dashboard/users/{new_id}", {"action": "not-admin"}).status_code == 303
        assert person.get("/dashboard/users").status_code == 403

        assert post(browser, f"/dashboard/users/{new_id}", {"action": "delete"}).status_code == 303
        assert person.get("/dashboard/").headers["location"] == "/dashboard/sign-in"  # signed out at once
        assert sign_in(person, NEW_EMAIL, NEW_PASSWORD).status_code == 400
    assert NEW_EMAIL not in browser.get("/dashboard/users").text

    own = re.search(
        rf'<tr id="user-(usr_[0-9a-f]+)">\s*<td>{ADMIN_EMAIL} ', browser.get("/dashboard/users").text
    )
    assert own is not None
    own_id = own.group(1)
    for action, message in [
        ("not-admin", "You cannot take your own admin role"),
        ("delete", "You cannot delete yourself"),
    ]:
        refused = post(browser, f"/dashboard/users/{own_id}", {"action": action})
        assert refused.status_code == 400
        assert message in refused.text
    assert browser.get("/dashboard/users").status_code == 200  # still an admin


def test_an_admin_manages_a_projects_members(browser: httpx.Client, gateway_url: str) -> None:
    project_id, _ = new_project(gateway_url, "team")
    members_page = f"/dashboard/projects/{project_id}/members"
    sign_in(browser, ADMIN_EMAIL)
    assert "No members yet" in browser.get(members_page).text
    unknown = post(browser, members_page, {"email": "nobody@example.com", "role": "read"}, members_page)
    assert unknown.status_code == 400
    assert 'id="error-email" role="alert">There is no user nobody@example.com.' in unknown.text
    assert 'value="nobody@example.com"' in unknown.text

    with httpx.Client(base_url=gateway_url) as member:
        sign_in(member, MEMBER_EMAIL)
        assert member.get(members_page).status_code == 404  # not a member yet
        assert (
            post(browser, members_page, {"email": MEMBER_EMAIL, "role": "write"}, members_page).status_code
            == 303
        )
        assert "team" in member.get("/dashboard/").text
        page = member.get(members_page)
        assert page.status_code == 200
        assert f"<td>{MEMBER_EMAIL}</td>" in page.text
        assert "Add a member" not in page.text  # members see who is in; admins change it
        refused = member.post(
            members_page, data={"csrf": csrf_of(page), "email": MEMBER_EMAIL, "role": "read"}
        )
        assert refused.status_code == 403
        settings = member.get(f"/dashboard/projects/{project_id}/settings")
        renamed = member.post(
            f"/dashboard/projects/{project_id}/settings/general",
            data={"csrf": csrf_of(settings), "name": "ours"},
        )
        assert renamed.status_code == 303  # write

        assert (
            post(browser, members_page, {"email": MEMBER_EMAIL, "role": "read"}, members_page).status_code
            == 303
        )
        assert "<option selected>read</option>" in browser.get(members_page).text
        settings = member.get(f"/dashboard/projects/{project_id}/settings")
        again = member.post(
            f"/dashboard/projects/{project_id}/settings/general",
            data={"csrf": csrf_of(settings), "name": "x"},
        )
        assert again.status_code == 403  # read only now

        assert (
            post(browser, members_page, {"email": MEMBER_EMAIL, "role": "none"}, members_page).status_code
            == 303
        )
        assert member.get(members_page).status_code == 404
        assert "team" not in member.get("/dashboard/").text.replace("project", "")
    audit = admin_get(gateway_url, f"/projects/{project_id}/audit?action=project.member").json()["data"]
    assert [event["detail"]["role"] for event in audit] == [None, "read", "write"]
    assert all(event["actor"].startswith("user:") for event in audit)


def test_users_and_members_are_refused_to_non_admins_and_without_a_token(
    browser: httpx.Client, gateway_url: str
) -> None:
    project_id, _ = new_project(gateway_url, "guarded")
    sign_in(browser, MEMBER_EMAIL)
    page = browser.get("/dashboard/")
    assert 'href="/dashboard/users"' not in page.text
    token = csrf_of(page)
    assert browser.get("/dashboard/users").status_code == 403
    made = browser.post(
        "/dashboard/users", data={"csrf": token, "email": NEW_EMAIL, "password": NEW_PASSWORD}
    )
    assert made.status_code == 403
    added = browser.post(
        f"/dashboard/projects/{project_id}/members",
        data={"csrf": token, "email": MEMBER_EMAIL, "role": "write"},
    )
    assert added.status_code == 404  # a project they cannot see
    browser.cookies.clear()
    sign_in(browser, ADMIN_EMAIL)
    no_token = browser.post("/dashboard/users", data={"email": NEW_EMAIL, "password": NEW_PASSWORD})
    assert no_token.status_code == 403
    assert NEW_EMAIL not in browser.get("/dashboard/users").text
    assert PASSWORD not in browser.get("/dashboard/users").text
