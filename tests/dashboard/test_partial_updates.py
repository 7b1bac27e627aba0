"""Partial updates in a real browser (htmx, vendored): filtering the request log and paging it, and testing,
saving and re-weighting a provider key, each replace a part of the page (the page itself is not reloaded:
a mark left on it survives) and the address follows the filters; a session that ended meanwhile leads to the
sign-in page as a whole page; no Content-Security-Policy or script error on the way."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from tests.dashboard.conftest import ADMIN_EMAIL, OPENAI, PASSWORD, shot
from tests.dashboard.test_settings import ADMIN

pytestmark = pytest.mark.usefixtures("users")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_filters_paging_and_key_forms_update_part_of_the_page(page: object, gateway_url: str) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    made = httpx.post(f"{gateway_url}/admin/v1/projects", json={"name": "partial"}, headers=ADMIN).json()
    project_id, key = made["id"], made["api_key"]
    sdk = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=key, max_retries=0)
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"{message.text} (at {message.location['url']})")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{gateway_url}/dashboard/sign-in")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()

    page.goto(f"{gateway_url}/dashboard/projects/{project_id}/provider-keys")
    page.evaluate("window.notReloaded = true")
    page.get_by_label("OpenAI key", exact=True).fill(OPENAI.key)
    page.locator("#provider-openai").get_by_role("button", name="Test key").click()
    expect(page.get_by_role("status")).to_have_text("OpenAI accepted this key. It is not saved yet.")
    expect(page.get_by_label("OpenAI key", exact=True)).to_have_value("")
    page.get_by_label("OpenAI key", exact=True).fill("not a key")
    page.locator("#provider-openai").get_by_role("button", name="Save").click()
    expect(page.locator("#error-openai")).to_contain_text(
        "whitespace"
    )  # a refusal swapped in next to the field
    page.get_by_label("OpenAI key", exact=True).fill(OPENAI.key)
    page.locator("#provider-openai").get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved the OpenAI key.")
    expect(page.locator("#provider-openai code")).to_have_text("sk-proj-...cccc")
    page.get_by_role("textbox", name="Weight of the OpenAI key default").fill("5")
    page.get_by_role("button", name="Set weight of the OpenAI key default").click()
    expect(page.get_by_role("status")).to_have_text("Changed the OpenAI key.")
    assert page.evaluate("window.notReloaded") is True
    assert page.url.endswith("/provider-keys")  # the forms do not change the address
    shot(page, "provider-keys-partial")

    for model in ["gpt-4o"] * 3 + ["gpt-4o-mini"] * 2:
        sdk.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    page.goto(f"{gateway_url}/dashboard/projects/{project_id}/requests")
    rows = page.locator("#log tbody tr a")
    deadline = time.monotonic() + 15
    while rows.count() < 5:  # the writer stores the records within a second or so
        assert time.monotonic() < deadline
        page.wait_for_timeout(200)
        page.reload()
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Model").fill("gpt-4o-mini")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    assert "model=gpt-4o-mini" in page.url  # the address follows the filters (reload, share, back)
    assert page.evaluate("window.notReloaded") is True
    page.get_by_label("Status").fill("banana")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#log .error")).to_be_visible()  # a refused filter (400) is shown in place
    assert page.evaluate("window.notReloaded") is True
    shot(page, "requests-partial")
    page.get_by_label("Status").fill("")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    rows.first.click()  # a trace is a page of its own, not a part of this one
    expect(page.get_by_role("heading", name="Request req_")).to_be_visible()
    page.go_back()
    expect(rows).to_have_count(2)

    page.context.clear_cookies()  # the session ends (signed out elsewhere, expired)
    page.get_by_label("Status").fill("")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.url.endswith("/dashboard/sign-in")
    unexpected = [p for p in problems if "status of 400" not in p]
    assert unexpected == []
