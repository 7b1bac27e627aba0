"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright. A person signs in with
the user the CLI made, sees the projects, tests and saves an OpenAI key (the emulator's) that the official
SDK then uses, opens the password page and signs out; no page breaks its own Content-Security-Policy.
Screenshots of every page go to tests/artifacts/dashboard/ (README: Dashboard)."""

from __future__ import annotations

import re
import time

import openai
import pytest

from tests.dashboard.conftest import ADMIN_EMAIL, OPENAI, PASSWORD, shot

pytestmark = pytest.mark.usefixtures("users")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_first_journey(page: object, gateway_url: str) -> None:
    """Sign in, make a project (its key shown once, copied), test and save an OpenAI key, answer the
    official SDK with them, revoke the project key (the SDK gets 401), change nothing else, sign out."""
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
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
    expect(page.get_by_text("No projects yet.")).to_be_visible()
    shot(page, "projects-empty")

    page.get_by_label("Name").fill("browser-project")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="New API key for browser-project")).to_be_visible()
    secret = page.locator("#new-key").inner_text()
    assert secret.startswith("lgw_proj_")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    shot(page, "api-key-created")

    page.get_by_role("link", name="Provider keys").click()
    expect(page.get_by_role("heading", name="Provider keys")).to_be_visible()
    page.get_by_label("OpenAI key", exact=True).fill(OPENAI.key)
    page.locator("#provider-openai").get_by_role("button", name="Test key").click()
    expect(page.get_by_role("status")).to_have_text("OpenAI accepted this key. It is not saved yet.")
    expect(page.get_by_label("OpenAI key", exact=True)).to_have_value(
        ""
    )  # the key is not sent back into the field
    page.get_by_label("OpenAI key", exact=True).fill(OPENAI.key)
    page.locator("#provider-openai").get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved the OpenAI key.")
    expect(page.locator("#provider-openai")).to_contain_text("sk-proj-...cccc")
    assert OPENAI.key not in page.content()
    shot(page, "provider-keys")
    sdk = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=secret, max_retries=0)
    completion = sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content  # what was set up in the browser serves the SDK

    page.get_by_role("link", name="Playground").click()
    page.get_by_role("button", name="Use a new playground key").click()
    expect(page.locator("#pg-key-status")).to_contain_text("models reachable with this key")
    page.get_by_label("Model").select_option("gpt-4o")
    page.get_by_label("Prompt").fill("Say hello.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#pg-facts")).to_be_visible()
    expect(page.locator("#pg-answer")).not_to_be_empty()
    expect(page.locator('[data-fact="x-byokgate-lane"]')).to_have_text("byok")
    expect(page.locator('[data-fact="x-byokgate-provider"]')).to_have_text("openai")
    expect(page.locator('[data-fact="x-byokgate-cost-usd"]')).to_have_text(
        re.compile(r"^0\.\d+$")
    )  # known at the end
    expect(page.locator("#pg-tokens")).to_have_text(re.compile(r"^\d+ in, \d+ out$"))
    shot(page, "playground")

    page.get_by_role("link", name="Requests").click()
    expect(page.get_by_role("heading", name="Requests")).to_be_visible()
    row = (
        page.locator("tbody tr").filter(has_text="gpt-4o").first
    )  # (the newest: the playground's cost lookup)
    for _ in range(100):  # the record is stored by the writer, in the background
        if row.count():
            break
        page.wait_for_timeout(50)
        page.reload()
    expect(row).to_contain_text("gpt-4o")
    shot(page, "requests")
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Request req_")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("openai")
    shot(page, "trace")
    page.get_by_role("link", name="Usage").click()
    expect(page.locator("#usage-chart canvas")).to_be_visible()  # drawn by the vendored uPlot, CSP and all
    expect(page.locator("#usage-tokens-chart canvas")).to_be_visible()
    expect(page.locator("dl.summary")).to_contain_text("Requests")
    shot(page, "usage")
    page.get_by_role("link", name="Audit").click()
    expect(page.get_by_role("cell", name="provider_key.set")).to_be_visible()
    shot(page, "audit")

    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("cell", name="playground")).to_be_visible()
    shot(page, "api-keys")
    page.get_by_role(
        "button", name=f"Revoke the key {secret[:13]}..."
    ).click()  # the SDK's, not the playground's
    expect(page.get_by_role("status")).to_have_text("Revoked the key.")
    expect(page.get_by_role("cell", name="revoked")).to_have_count(1)
    deadline = time.monotonic() + 10
    while True:  # the data plane follows the change at once, or within its snapshot's poll interval
        try:
            sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        except openai.AuthenticationError:  # (the SDK's error for a 401)
            break
        assert time.monotonic() < deadline, "the revoked key still served requests"
        time.sleep(0.1)

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
