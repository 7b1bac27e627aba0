"""axe-core (the npm package, pinned in clients/package.json) finds no serious or critical accessibility
violation on any dashboard page, in Debian's Chromium: signed out, with a refused sign-in, and every page
a signed-in admin reaches, with and without a field's error showing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import ADMIN_EMAIL, PASSWORD, needed, shot

AXE = Path(__file__).resolve().parents[2] / "clients" / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(
    v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))}))"""

pytestmark = pytest.mark.usefixtures("users")


def violations(page: Any, state: str) -> list[dict[str, Any]]:
    """axe's serious and critical findings on the page; a screenshot of it goes to the artifacts."""
    shot(page, "a11y-" + re.sub(r"[^a-z0-9]+", "-", state.lower()).strip("-"))
    # The pages' policy forbids inline script (the test's context bypasses it to add axe's).
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_serious_or_critical_violations_on_any_page(chromium: Any, gateway_url: str) -> None:
    needed(AXE, "axe-core (make clients)")
    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        page.goto(f"{gateway_url}/dashboard/sign-in")
        found["sign-in"] = violations(page, "sign-in")
        page.get_by_label("Email").fill(ADMIN_EMAIL)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        found["sign-in refused"] = violations(page, "sign-in refused")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/dashboard/")
        found["projects, none yet"] = violations(page, "projects, none yet")
        page.get_by_label("Name").fill("a11y")
        page.get_by_role("button", name="Create project").click()
        found["new API key"] = violations(page, "new API key")
        page.get_by_role("link", name="API keys", exact=True).click()
        found["API keys"] = violations(page, "API keys")
        page.get_by_role("link", name="Requests", exact=True).click()
        found["requests, none yet"] = violations(page, "requests, none yet")
        page.get_by_role("link", name="Audit", exact=True).click()
        found["audit"] = violations(page, "audit")
        page.get_by_role("link", name="Playground", exact=True).click()
        page.get_by_role("button", name="Use a new playground key").click()
        page.get_by_text("No model is reachable: add a provider key first.").wait_for()
        found["playground"] = violations(page, "playground")
        page.get_by_role("link", name="Usage", exact=True).click()
        page.locator("#usage-chart canvas").wait_for()
        found["usage"] = violations(page, "usage")
        page.goto(f"{gateway_url}/dashboard/")
        found["projects"] = violations(page, "projects")
        page.get_by_role("link", name="Provider keys of a11y").click()
        found["provider keys"] = violations(page, "provider keys")
        page.get_by_label("OpenAI key", exact=True).fill("not a key")
        page.locator("#provider-openai").get_by_role("button", name="Save").click()
        found["provider keys, refused"] = violations(page, "provider keys, refused")
        page.get_by_role("link", name="Routing", exact=True).click()
        found["routing"] = violations(page, "routing")
        page.locator('select[name="targets[0].provider"]').select_option("anthropic")
        page.locator('input[name="targets[0].model"]').fill("claude-3-5-haiku-latest")
        page.get_by_label("Name clients ask for").fill("fast")
        page.get_by_role("button", name="Save route").click()
        page.get_by_text("the project has no anthropic key").wait_for()
        found["routing, refused"] = violations(page, "routing, refused")
        page.get_by_role("button", name="Preview changes").click()
        found["routing, preview"] = violations(page, "routing, preview")
        page.get_by_role("link", name="Members", exact=True).click()
        found["members"] = violations(page, "members")
        page.get_by_role("link", name="Settings", exact=True).click()
        found["settings"] = violations(page, "settings")
        page.get_by_label("Requests a minute").fill("many")
        page.get_by_role("button", name="Save limits").click()
        page.get_by_text("Type a whole number.").wait_for()
        found["settings, refused"] = violations(page, "settings, refused")
        page.goto(f"{gateway_url}/dashboard/users")
        found["users"] = violations(page, "users")
        page.get_by_label("Email").fill("x@example.com")
        page.get_by_role("button", name="Create user").click()
        found["users, refused"] = violations(page, "users, refused")
        page.goto(f"{gateway_url}/dashboard/account/password")
        found["password"] = violations(page, "password")
        page.get_by_label("Current password").fill("wrong")
        page.get_by_label("New password").fill("long enough new password")
        page.get_by_role("button", name="Change password").click()
        found["password, refused"] = violations(page, "password, refused")
    finally:
        context.close()
    assert {name: v for name, v in found.items() if v} == {}
    assert len(found) == 22
