"""A project's requests and audit trail in the dashboard over real HTTP: what the SDK sent is listed with its
facts, filters narrow it, pages of 50 follow a cursor, one request's trace shows its key use, exports stream
CSV and JSON Lines; refused filters are explained; another project's member sees nothing."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import openai
import orjson
import pytest

from tests.dashboard.conftest import ADMIN_EMAIL, MEMBER_EMAIL, OPENAI, sign_in
from tests.dashboard.test_api_keys import new_project
from tests.dashboard.test_provider_keys import post_key

pytestmark = pytest.mark.usefixtures("users")
ROW = re.compile(r'href="/dashboard/projects/proj_[0-9a-f]+/requests/(req_[0-9a-f]+)"')


def listed(client: httpx.Client, url: str, count: int) -> list[str]:
    """The request ids a page lists, once it lists ``count`` (the writer stores records in the background)."""
    found: list[str] = []
    for _ in range(300):
        page = client.get(url)
        assert page.status_code == 200, page.text
        found = ROW.findall(page.text)
        if len(found) >= count:
            return found
        time.sleep(0.03)
    raise AssertionError(f"expected {count} requests listed, found {len(found)}")


@pytest.fixture
def traffic(browser: httpx.Client, gateway_url: str) -> str:
    """A project (made in the dashboard) with an OpenAI key, 52 answered requests and one for a model no
    provider serves."""
    sign_in(browser, ADMIN_EMAIL)
    project_id, secret = new_project(browser, "traffic")
    assert post_key(browser, project_id, OPENAI.key, "save").status_code == 303
    sdk = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=secret, max_retries=0)
    for _ in range(52):
        sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.APIStatusError):
        sdk.chat.completions.create(
            model="no-such-model-anywhere", messages=[{"role": "user", "content": "hi"}]
        )
    return project_id


def test_requests_are_listed_paged_filtered_traced_and_exported(browser: httpx.Client, traffic: str) -> None:
    base = f"/dashboard/projects/{traffic}/requests"
    errors = listed(browser, f"{base}?status=error", 1)  # the newest, so every record is stored by now
    assert len(errors) == 1
    first = listed(browser, base, 50)
    assert len(first) == 50  # a page of 50, newest first
    assert first[0] == errors[0]
    page = browser.get(base).text
    older = re.search(r'href="\?(before=[^"]+)"', page)
    assert older is not None
    rest = listed(browser, f"{base}?{older.group(1).replace('&amp;', '&')}", 3)
    assert len(rest) == 3
    assert not set(first) & set(rest)

    ok = listed(browser, f"{base}?status=ok&model=gpt-4o-mini", 50)
    assert errors[0] not in ok

    trace = browser.get(f"{base}/{first[-1]}")
    assert trace.status_code == 200
    assert "gpt-4o-mini" in trace.text
    assert "openai" in trace.text
    assert "key <code>cred_" in trace.text  # the provider key it used

    exported = browser.get(f"/dashboard/projects/{traffic}/requests/export", params={"format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 53
    lines = browser.get(
        f"/dashboard/projects/{traffic}/requests/export", params={"format": "jsonl", "status": "error"}
    )
    assert [orjson.loads(line)["id"] for line in lines.text.splitlines()] == errors
    assert orjson.loads(lines.text.splitlines()[0])["requested_model"] == "no-such-model-anywhere"


def test_the_audit_trail_lists_changes_and_key_uses(browser: httpx.Client, traffic: str) -> None:
    audit = f"/dashboard/projects/{traffic}/audit"
    for _ in range(300):  # key uses are stored by the writer, in the background
        page = browser.get(audit).text
        if "Older events" in page:  # 53 key uses and 3 changes: more than a page, once all are stored
            break
        time.sleep(0.03)
    assert "Older events" in page
    assert "<td>provider_key.use</td>" in page
    only_sets = browser.get(audit, params={"action": "provider_key.set"}).text
    assert "<td>provider_key.set</td>" in only_sets
    assert "<td>user:usr_" in only_sets  # set by the signed-in user
    assert "<td>provider_key.use</td>" not in only_sets
    exported = browser.get(f"{audit}/export", params={"format": "jsonl", "action": "project.create"})
    assert [orjson.loads(line)["action"] for line in exported.text.splitlines()] == ["project.create"]


def test_the_further_filters_narrow_requests_and_audit(browser: httpx.Client, traffic: str) -> None:
    base = f"/dashboard/projects/{traffic}/requests"
    everything = listed(browser, f"{base}?status=error", 1)
    assert len(everything) == 1
    now = datetime.now(UTC)
    window = {"start": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"), "end": ""}
    assert len(listed(browser, f"{base}?{urlencode(window)}", 50)) == 50
    future = urlencode({"start": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")})
    page = browser.get(f"{base}?{future}")
    assert ROW.findall(page.text) == []
    assert '<details class="more" open>' in page.text  # the further filters in use are shown
    unknown = browser.get(f"{base}?error_type=model_not_found")
    assert len(ROW.findall(unknown.text)) == 1
    key_ids = re.findall(r'<option value="(key_[0-9a-f]+)"', browser.get(base).text)
    assert len(key_ids) == 1  # the project's one key, to pick from
    assert len(listed(browser, f"{base}?api_key={key_ids[0]}", 50)) == 50
    assert ROW.findall(browser.get(f"{base}?api_key=key_{'0' * 32}").text) == []
    assert ROW.findall(browser.get(f"{base}?user=nobody").text) == []

    audit = f"/dashboard/projects/{traffic}/audit"
    actor = re.search(r"<td>(user:usr_[0-9a-f]+)</td>", browser.get(f"{audit}?action=project.create").text)
    assert actor is not None
    by_actor = browser.get(f"{audit}?actor={actor.group(1)}").text
    assert "<td>project.create</td>" in by_actor
    assert "<td>provider_key.use</td>" not in by_actor  # the data plane's, not the user's
    answered = listed(browser, f"{base}?status=ok", 50)[0]
    by_request = browser.get(f"{audit}?request_id={answered}").text
    assert "<td>provider_key.use</td>" in by_request
    assert "<td>project.create</td>" not in by_request
    assert "No audit events match these filters." in browser.get(f"{audit}?{future}").text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("lane=bogus", "Choose a lane from the list."),
        ("status=teapot", "status takes a code"),
        ("before=not-a-cursor", "before must be a next_before value"),
        ("audit:before=not-a-number", "That page link is not valid."),
        ("start=yesterday", "Give the from time like 2026-12-07T09:30."),
        ("audit:end=soon", "Give the to time like 2026-12-07T09:30."),
    ],
)
def test_a_refused_filter_is_explained(
    browser: httpx.Client, gateway_url: str, query: str, message: str
) -> None:
    sign_in(browser, ADMIN_EMAIL)
    project_id, _ = new_project(browser, "filters")
    log, _, query = query.rpartition(":")
    answer = browser.get(f"/dashboard/projects/{project_id}/{log or 'requests'}?{query}")
    assert answer.status_code == 400
    assert message in answer.text


def test_another_projects_member_sees_none_of_it(
    browser: httpx.Client, gateway_url: str, traffic: str
) -> None:
    with httpx.Client(base_url=gateway_url) as member:
        sign_in(member, MEMBER_EMAIL)
        for path in ("requests", "audit", "requests/export", "audit/export", "requests/req_0"):
            assert member.get(f"/dashboard/projects/{traffic}/{path}").status_code == 404
