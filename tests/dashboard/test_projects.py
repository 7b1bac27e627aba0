"""The projects page over real HTTP: pages of 50 by id for an admin (every project), a member's page holding
only their projects, however many others there are."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.cli.conftest import run
from tests.dashboard.conftest import ADMIN_EMAIL, MEMBER_EMAIL, sign_in
from tests.dashboard.test_settings import new_project

pytestmark = pytest.mark.usefixtures("users")
ROW = re.compile(r'href="/dashboard/projects/(proj_[0-9a-f]+)/settings"')


def test_projects_come_in_pages_and_members_see_theirs(
    browser: httpx.Client, gateway_url: str, cli_env: dict[str, str]
) -> None:
    made = [new_project(gateway_url, f"p{index}")[0] for index in range(53)]
    for project_id in (made[3], made[40]):
        run(cli_env, "users", "member", "--email", MEMBER_EMAIL, "--project", project_id, "--role", "read")
    sign_in(browser, ADMIN_EMAIL)
    first = browser.get("/dashboard/")
    listed = ROW.findall(first.text)
    assert len(listed) == 50
    assert listed == sorted(made)[:50]  # by id
    more = re.search(r'href="(/dashboard/\?after=proj_[0-9a-f]+)">More projects', first.text)
    assert more is not None
    rest = browser.get(more.group(1))
    assert ROW.findall(rest.text) == sorted(made)[50:]
    assert "More projects" not in rest.text
    assert 'href="/dashboard/">First projects' in rest.text

    browser.cookies.clear()
    sign_in(browser, MEMBER_EMAIL)
    mine = browser.get("/dashboard/")
    assert sorted(ROW.findall(mine.text)) == sorted([made[3], made[40]])
    assert "More projects" not in mine.text
