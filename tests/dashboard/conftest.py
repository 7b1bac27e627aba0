"""A running gateway with its dashboard, and users made the way an operator makes them: with the CLI."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from byokgate.app import create_app
from byokgate.emulators import EmulatorServer, build
from byokgate.settings import Settings
from tests.cli.conftest import run
from tests.support.providers import BY_NAME
from tests.support.server import running_server
from tests.support.settings import wired

PASSWORD = "correct horse battery staple"
ADMIN_EMAIL = "admin@example.com"
MEMBER_EMAIL = "member@example.com"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "dashboard"
# Without the background-networking flags Chromium keeps dialling Google's hosts, which this machine refuses.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def needed(path: Path, what: str) -> None:
    """Skip without ``path`` (under ``CI=true``, fail: .ci/run and make install what the tests need)."""
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"no {what} at {path}")
        pytest.skip(f"no {what} at {path}")


@pytest.fixture
def chromium() -> Iterator[object]:
    """Debian's Chromium, headless, under Playwright (its own browser download is never used)."""
    needed(Path(CHROMIUM), "Chromium (apt-get install chromium; .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: object) -> Iterator[object]:
    """A page in a fresh browser context (no cookies), of a desktop's size."""
    context = chromium.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    try:
        yield context.new_page()
    finally:
        context.close()


def shot(page: object, name: str) -> None:
    """A screenshot of the page for people to look at (tests/artifacts/dashboard/)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


OPENAI = BY_NAME["openai"]  # the emulator accepts this key and refuses every other


@pytest.fixture(scope="module")
def openai_upstream() -> Iterator[EmulatorServer]:
    server = EmulatorServer(build("openai", [OPENAI.key])).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def gateway_url(settings: Settings, openai_upstream: EmulatorServer) -> Iterator[str]:
    """The gateway, its OpenAI calls (a key's test among them) going to the emulator."""
    with running_server(create_app(wired(settings, {"openai": openai_upstream.base_url}))) as base:
        yield base


@pytest.fixture
def users(gateway_url: str, cli_env: dict[str, str]) -> None:
    """An admin and a member (no project yet), made with ``byokgate users create``."""
    run(
        cli_env,
        "users",
        "create",
        "--admin",
        "--email",
        ADMIN_EMAIL,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    run(cli_env, "users", "create", "--email", MEMBER_EMAIL, "--password-stdin", stdin=PASSWORD + "\n")


@pytest.fixture
def browser(gateway_url: str) -> Iterator[httpx.Client]:
    """An HTTP client that keeps cookies, as a browser does (redirects not followed: tests look at them)."""
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        yield client


def csrf_of(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    page = client.get("/dashboard/sign-in")
    return client.post(
        "/dashboard/sign-in", data={"email": email, "password": password, "csrf": csrf_of(page)}
    )
