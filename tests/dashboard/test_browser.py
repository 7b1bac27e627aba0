"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright. A person signs in with
the user the CLI made, sees the projects, tests and saves an OpenAI key (the emulator's) that the official
SDK then uses, opens the password page and signs out; no page breaks its own Content-Security-Policy.
Screenshots of every page go to tests/artifacts/dashboard/ (README: Dashboard)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.dashboard.conftest import ADMIN_EMAIL, OPENAI, PASSWORD, shot

pytestmark = pytest.mark.usefixtures("users")


@pytest.fixture
def page(chromium: object) -> Iterator[object]:
    context = chromium.new_context(viewport={"width": 1200, "height": 800})  # type: ignore[attr-defined]
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sign_in_add_a_provider_key_and_sign_out(page: object, gateway_url: str) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    made = httpx.post(
        f"{gateway_url}/admin/v1/projects",
        json={"name": "browser-project"},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=30,
    )
    assert made.status_code == 201
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(gateway_url + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "sign-in")

    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That email and password do not match a user.")
    shot(page, "sign-in-refused")
    assert all("status of 400" in problem for problem in problems)  # the refused sign-in's own answer
    problems.clear()

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    expect(page.get_by_role("cell", name="browser-project", exact=True)).to_be_visible()
    expect(page.get_by_text(ADMIN_EMAIL)).to_be_visible()
    shot(page, "projects")

    page.get_by_role("link", name="Provider keys of browser-project").click()
    expect(page.get_by_role("heading", name="Provider keys")).to_be_visible()
    key_field = page.get_by_label("OpenAI key")
    key_field.fill(OPENAI.key)
    page.locator("#provider-openai").get_by_role("button", name="Test key").click()
    expect(page.get_by_role("status")).to_have_text("OpenAI accepted this key. It is not saved yet.")
    expect(page.get_by_label("OpenAI key")).to_have_value("")  # the key is not sent back into the field
    page.get_by_label("OpenAI key").fill(OPENAI.key)
    page.locator("#provider-openai").get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved the OpenAI key.")
    expect(page.locator("#provider-openai")).to_contain_text("sk-proj-...cccc")
    assert OPENAI.key not in page.content()
    shot(page, "provider-keys")
    sdk = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=made.json()["api_key"], max_retries=0)
    completion = sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content  # the key saved in the browser serves the SDK

    page.get_by_role("link", name="Password").click()
    expect(page.get_by_role("heading", name="Change password")).to_be_visible()
    expect(page.get_by_role("link", name="Password")).to_have_attribute("aria-current", "page")
    shot(page, "password")

    page.keyboard.press("Shift+Tab")  # the page can be used from the keyboard: focus lands on a control
    focused = page.evaluate("document.activeElement && document.activeElement.tagName")
    assert focused in ("A", "BUTTON", "INPUT")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(gateway_url + "/dashboard/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()  # the session is gone
    assert problems == []  # no script error, no Content-Security-Policy violation
