"""The dashboard on a phone's screen and from the keyboard alone, in a real browser: no page scrolls sideways
at 390 px (wide tables scroll inside themselves), and a person signs in, reaches a project's provider keys,
tests a key and signs out with the keyboard only, the focused control always outlined."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.dashboard.conftest import ADMIN_EMAIL, OPENAI, PASSWORD, shot
from tests.dashboard.test_settings import ADMIN

pytestmark = pytest.mark.usefixtures("users")
FOCUSED = """(() => {
    const e = document.activeElement;
    return [e.getAttribute("aria-label") || e.textContent.trim() || e.id, getComputedStyle(e).outlineStyle];
})()"""
PAGES = (
    "playground",
    "usage",
    "requests",
    "audit",
    "api-keys",
    "provider-keys",
    "routing",
    "members",
    "settings",
)


def sign_in(page: Any, gateway_url: str) -> None:
    page.goto(f"{gateway_url}/dashboard/sign-in")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_page_scrolls_sideways_on_a_phone(chromium: Any, gateway_url: str) -> None:
    made = httpx.post(f"{gateway_url}/admin/v1/projects", json={"name": "phone"}, headers=ADMIN).json()
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, gateway_url)
        wide = {}
        project_pages = [f"/dashboard/projects/{made['id']}/{name}" for name in PAGES]
        for path in ["/dashboard/", "/dashboard/users", "/dashboard/account/password", *project_pages]:
            page.goto(gateway_url + path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                wide[path] = overflow
            shot(page, "phone-" + (path.rsplit("/", 1)[-1] or "projects"))
        assert wide == {}
    finally:
        context.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_keyboard_alone_reaches_a_key_test_and_signs_out(page: Any, gateway_url: str) -> None:
    from playwright.sync_api import expect

    made = httpx.post(
        f"{gateway_url}/admin/v1/projects", json={"name": "keys-by-keyboard"}, headers=ADMIN
    ).json()

    def tab_to(name: str, limit: int = 80) -> None:
        """Press Tab until the focused control is ``name`` (its accessible text); it must be outlined."""
        for _ in range(limit):
            page.keyboard.press("Tab")
            focused = page.evaluate(FOCUSED)
            if focused[0] == name:
                assert focused[1] != "none", f"{name} has focus but no visible outline"
                return
        raise AssertionError(f"Tab never reached {name}")

    page.goto(f"{gateway_url}/dashboard/sign-in")
    tab_to("Skip to content")
    tab_to("email")
    page.keyboard.type(ADMIN_EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    tab_to(f"Provider keys of {made['name']}")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Provider keys")).to_be_visible()
    tab_to("key-openai")
    page.keyboard.type(OPENAI.key)
    tab_to("Test key")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("OpenAI accepted this key. It is not saved yet.")
    page.goto(f"{gateway_url}/dashboard/")
    tab_to("Sign out")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
