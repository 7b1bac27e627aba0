"""Signing in to the dashboard over real HTTP: sessions, cookie flags, CSRF on every form, the lockout,
sign-out, password change, and what a member may see."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from byokgate.app import create_app
from byokgate.settings import Settings
from byokgate.store.database import Store
from byokgate.store.tables import users
from tests.cli.conftest import run
from tests.conftest import ADMIN_TOKEN
from tests.dashboard.conftest import ADMIN_EMAIL, MEMBER_EMAIL, PASSWORD, csrf_of, sign_in
from tests.support.server import running_server

pytestmark = pytest.mark.usefixtures("users")


def cookie_header(response: httpx.Response, name: str) -> str:
    (found,) = [value for value in response.headers.get_list("set-cookie") if value.startswith(f"{name}=")]
    return found.lower()


def create_project(gateway_url: str, name: str) -> str:
    headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    made = httpx.post(f"{gateway_url}/admin/v1/projects", json={"name": name}, headers=headers, timeout=30)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_the_gateway_address_leads_to_the_sign_in_page(browser: httpx.Client) -> None:
    assert browser.get("/").headers["location"] == "/dashboard/"
    assert browser.get("/dashboard/").headers["location"] == "/dashboard/sign-in"
    page = browser.get("/dashboard/sign-in")
    assert page.status_code == 200
    assert "<h1>Sign in</h1>" in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    pre = cookie_header(page, "byokgate_signin")
    assert "httponly" in pre
    assert "samesite=strict" in pre


def test_signing_in_opens_a_session_with_safe_cookie_flags(browser: httpx.Client, gateway_url: str) -> None:
    create_project(gateway_url, "alpha")
    answer = sign_in(browser, ADMIN_EMAIL.upper())  # emails are not case-sensitive
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/"
    cookie = cookie_header(answer, "byokgate_session")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "secure" not in cookie  # plain HTTP here (see the next test for HTTPS)
    page = browser.get("/dashboard/")
    assert page.status_code == 200
    assert "alpha" in page.text
    assert ADMIN_EMAIL in page.text


def test_the_session_cookie_is_secure_when_asked(settings: Settings) -> None:
    """Behind a TLS-terminating proxy (``always``); the client here sends the cookies back by hand, as a
    browser talking HTTPS to the proxy would."""
    secure = settings.model_copy(update={"dashboard_secure_cookies": "always"})
    with running_server(create_app(secure)) as base, httpx.Client(base_url=base) as client:
        page = client.get("/dashboard/sign-in")
        assert "; secure" in cookie_header(page, "byokgate_signin")
        token = page.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        answer = client.post(
            "/dashboard/sign-in",
            data={"email": ADMIN_EMAIL, "password": PASSWORD, "csrf": csrf_of(page)},
            headers={"cookie": f"byokgate_signin={token}"},
        )
        assert "; secure" in cookie_header(answer, "byokgate_session")


@pytest.mark.parametrize(
    ("email", "password"), [(ADMIN_EMAIL, "wrong password!!"), ("nobody@example.com", PASSWORD)]
)
def test_a_wrong_email_or_password_gets_the_same_clear_answer(
    browser: httpx.Client, email: str, password: str
) -> None:
    answer = sign_in(browser, email, password)
    assert answer.status_code == 400
    assert "That email and password do not match a user." in answer.text
    assert "byokgate_session" not in answer.headers.get("set-cookie", "")
    assert email in answer.text  # the email stays in the field


def test_sign_in_locks_after_repeated_failures(browser: httpx.Client) -> None:
    for _ in range(5):
        assert sign_in(browser, MEMBER_EMAIL, "not the password").status_code == 400
    locked = sign_in(browser, MEMBER_EMAIL)  # even the right password, for now
    assert locked.status_code == 429
    assert "Too many failed sign-ins. Try again in 15 minutes." in locked.text
    assert sign_in(browser, ADMIN_EMAIL).status_code == 303  # another user is not locked out


@pytest.mark.parametrize("token", [None, "", "forged"])
def test_sign_in_without_the_forms_token_is_refused(browser: httpx.Client, token: str | None) -> None:
    browser.get("/dashboard/sign-in")  # the form's cookie is set...
    data = {"email": ADMIN_EMAIL, "password": PASSWORD} | ({"csrf": token} if token is not None else {})
    answer = browser.post("/dashboard/sign-in", data=data)  # ...but the form does not carry its token
    assert answer.status_code == 403
    assert "byokgate_session" not in answer.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/dashboard/sign-out", {}),
        ("/dashboard/account/password", {"current": PASSWORD, "new": "another long password"}),
    ],
)
def test_a_signed_in_form_without_the_sessions_token_is_refused(
    browser: httpx.Client, path: str, fields: dict[str, str]
) -> None:
    sign_in(browser, ADMIN_EMAIL)
    for data in (fields, fields | {"csrf": "forged"}):
        assert browser.post(path, data=data).status_code == 403
    assert browser.get("/dashboard/").status_code == 200  # still signed in, password unchanged


def test_signing_out_ends_the_session(browser: httpx.Client) -> None:
    sign_in(browser, ADMIN_EMAIL)
    token = browser.cookies["byokgate_session"]
    page = browser.get("/dashboard/")
    answer = browser.post("/dashboard/sign-out", data={"csrf": csrf_of(page)})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/sign-in"
    with httpx.Client(base_url=str(browser.base_url), cookies={"byokgate_session": token}) as replay:
        assert replay.get("/dashboard/").headers["location"] == "/dashboard/sign-in"  # the old cookie is dead


def test_changing_the_password_ends_every_session(browser: httpx.Client, gateway_url: str) -> None:
    sign_in(browser, MEMBER_EMAIL)
    with httpx.Client(base_url=gateway_url) as elsewhere:
        sign_in(elsewhere, MEMBER_EMAIL)
        form = browser.get("/dashboard/account/password")
        wrong = browser.post(
            "/dashboard/account/password", data={"csrf": csrf_of(form), "current": "nope", "new": "x" * 20}
        )
        assert wrong.status_code == 400
        assert "Your current password is not right." in wrong.text
        short = browser.post(
            "/dashboard/account/password", data={"csrf": csrf_of(form), "current": PASSWORD, "new": "short"}
        )
        assert "Use at least 12 characters." in short.text
        done = browser.post(
            "/dashboard/account/password",
            data={"csrf": csrf_of(form), "current": PASSWORD, "new": "a brand new passphrase"},
        )
        assert done.headers["location"] == "/dashboard/sign-in"
        assert elsewhere.get("/dashboard/").headers["location"] == "/dashboard/sign-in"
    with httpx.Client(base_url=gateway_url) as fresh:
        assert sign_in(fresh, MEMBER_EMAIL).status_code == 400
        assert sign_in(fresh, MEMBER_EMAIL, "a brand new passphrase").status_code == 303


def test_a_member_sees_only_their_projects(
    browser: httpx.Client, gateway_url: str, cli_env: dict[str, str]
) -> None:
    theirs = create_project(gateway_url, "theirs")
    other = create_project(gateway_url, "not-theirs")
    run(cli_env, "users", "member", "--email", MEMBER_EMAIL, "--project", theirs, "--role", "read")
    sign_in(browser, MEMBER_EMAIL)
    page = browser.get("/dashboard/").text
    assert theirs in page
    assert other not in page
    run(cli_env, "users", "member", "--email", MEMBER_EMAIL, "--project", theirs, "--role", "none")
    assert theirs not in browser.get("/dashboard/").text
    assert browser.get(f"/dashboard/projects/{theirs}/requests").status_code == 404


@pytest.mark.parametrize(
    ("email", "project", "message"),
    [
        ("nobody@example.com", None, "There is no user nobody@example.com."),
        (MEMBER_EMAIL, "proj_nope", "There is no project proj_nope."),
    ],
)
def test_membership_needs_a_user_and_a_project(
    gateway_url: str, cli_env: dict[str, str], email: str, project: str | None, message: str
) -> None:
    from click.testing import CliRunner

    from byokgate.cli import main

    project_id = project or create_project(gateway_url, "members")
    args = ["users", "member", "--email", email, "--project", project_id, "--role", "write"]
    result = CliRunner().invoke(main, args, env=cli_env)
    assert result.exit_code != 0
    assert message in result.output


async def test_passwords_are_stored_as_argon2id_hashes_only(store: Store) -> None:
    async with store.transaction() as tx:
        hashes = (await tx.connection.execute(select(users.c.password_hash))).scalars().all()
    assert len(hashes) == 2
    for stored in hashes:
        assert stored.startswith("$argon2id$")
        assert PASSWORD not in stored


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--email", ADMIN_EMAIL], PASSWORD, f"There is already a user {ADMIN_EMAIL}."),
        (["--email", "new@example.com"], "short", "Use at least 12 characters."),
        (["--email", "not-an-email"], PASSWORD, "Give an email address."),
    ],
)
def test_the_cli_refuses_what_it_cannot_make(
    cli_env: dict[str, str], args: list[str], password: str, message: str
) -> None:
    from click.testing import CliRunner

    from byokgate.cli import main

    result = CliRunner().invoke(
        main, ["users", "create", *args, "--password-stdin"], env=cli_env, input=password + "\n"
    )
    assert result.exit_code != 0
    assert message in result.output
