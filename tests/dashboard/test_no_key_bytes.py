"""No provider key byte in anything the gateway serves: a project holds a key for every provider (random
ones, shaped as each provider's; one pooled OpenAI key the emulator refuses, so that a request meets a 401
and a cooldown), requests go through the data plane, and then every dashboard page a signed-in admin can
reach by following links (requests, traces, audit, exports, usage, routing, settings, ...), every script and
style sheet, the pages answering a refused or tested key, and the admin API's and data plane's JSON are
searched for each key and for any 8 characters of its secret part."""

from __future__ import annotations

import re
import secrets
from collections import deque
from urllib.parse import urljoin, urlsplit

import httpx
import openai
import pytest

from tests.dashboard.conftest import ADMIN_EMAIL, OPENAI, csrf_of, sign_in
from tests.dashboard.test_settings import ADMIN
from tests.support.providers import CASES

pytestmark = pytest.mark.usefixtures("users")
_RUN = re.compile(r"c{8,}|0123456789abcdef0123456789abcdef")
_LINK = re.compile(r'(?:href|src|action)="([^"#]+)')
_MAX_PAGES = 400


def random_key(key: str) -> tuple[str, set[str]]:
    """A key shaped like ``key`` (the emulators' ``c...`` run replaced by random hex), and every 8
    characters of its random part but the last 4 (which its masked form shows)."""
    run = _RUN.search(key)
    assert run is not None
    random = secrets.token_hex(len(run.group()))[: len(run.group())]
    hidden = random[:-4]
    return key[: run.start()] + random + key[run.end() :], {hidden[i : i + 8] for i in range(len(hidden) - 7)}


def crawl(client: httpx.Client, start: list[str]) -> dict[str, httpx.Response]:
    """Every same-origin GET reachable by links from ``start`` (not signing out; not the API's links)."""
    seen: dict[str, httpx.Response] = {}
    queue = deque(start)
    while queue and len(seen) < _MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        response = client.get(url)
        seen[url] = response
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        for link in _LINK.findall(response.text):
            target = urljoin(url, link.replace("&amp;", "&"))
            path = urlsplit(target)
            if path.netloc or not path.path.startswith("/dashboard/") or "sign-out" in path.path:
                continue
            if 'method="post"' in response.text and f'action="{link}"' in response.text:
                continue  # a form's target is posted, not fetched
            queue.append(path.path + (f"?{path.query}" if path.query else ""))
    return seen


def test_no_served_page_script_or_json_holds_a_provider_key(browser: httpx.Client, gateway_url: str) -> None:
    made = httpx.post(f"{gateway_url}/admin/v1/projects", json={"name": "secrets"}, headers=ADMIN).json()
    project_id, project_key = made["id"], made["api_key"]
    made_keys = {case.name: random_key(case.key) for case in CASES}
    keys = {name: key for name, (key, _) in made_keys.items()}
    for case in CASES:
        body = {"api_key": keys[case.name], "fields": case.key_fields("https://example.invalid")}
        stored = httpx.put(
            f"{gateway_url}/admin/v1/projects/{project_id}/provider-keys/{case.name}",
            json=body,
            headers=ADMIN,
        )
        assert stored.status_code == 200, (case.name, stored.text)
    spare = httpx.put(  # the pool's second OpenAI key is the emulator's real one: the random one gets a 401
        f"{gateway_url}/admin/v1/projects/{project_id}/provider-keys/openai/spare",
        json={"api_key": OPENAI.key},
        headers=ADMIN,
    )
    assert spare.status_code == 200
    sdk = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=project_key, max_retries=0)
    for _ in range(3):
        sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.APIError):  # an error path too: a provider that cannot be reached
        sdk.chat.completions.create(
            model="llama-3.3-70b-versatile", messages=[{"role": "user", "content": "hi"}]
        )

    sign_in(browser, ADMIN_EMAIL)
    pages = crawl(browser, ["/dashboard/", f"/dashboard/projects/{project_id}/provider-keys"])
    assert len(pages) > 20
    assert any("/requests/" in url for url in pages)  # the traces were reached
    assert any("/export" in url for url in pages)
    assert any(url.endswith(".js") for url in pages)
    answers = list(pages.values())

    token = csrf_of(browser.get(f"/dashboard/projects/{project_id}/provider-keys"))
    for case in CASES:  # a key tested, refused, saved with a bad name: the answers must not repeat it
        for fields in ({"action": "test"}, {"action": "save", "name": "bad name!"}):
            answers.append(
                browser.post(
                    f"/dashboard/projects/{project_id}/provider-keys/{case.name}",
                    data={"csrf": token, "api_key": keys[case.name], **fields},
                )
            )
        answers.append(
            browser.post(
                f"/dashboard/projects/{project_id}/provider-keys/{case.name}",
                data={"csrf": token, "api_key": keys[case.name] + "!", "action": "save"},
            )
        )
    for path in ("provider-keys", "audit", "requests", "usage", "routes", "credits", "cache", "limits"):
        answers.append(httpx.get(f"{gateway_url}/admin/v1/projects/{project_id}/{path}", headers=ADMIN))
    answers.append(httpx.get(f"{gateway_url}/v1/models", headers={"authorization": f"Bearer {project_key}"}))
    answers.append(httpx.get(f"{gateway_url}/admin/v1/breakers", headers=ADMIN))

    needles = dict(made_keys)
    needles["openai/spare"] = (OPENAI.key, set())
    for answer in answers:
        text = answer.text + "\n" + "\n".join(f"{k}: {v}" for k, v in answer.headers.items())
        for name, (key, parts) in needles.items():
            assert key not in text, f"the {name} key in {answer.request.method} {answer.request.url}"
            leaked = [part for part in parts if part in text]
            assert not leaked, f"8 characters of the {name} key in {answer.request.url}: {leaked[:1]}"
    assert len(answers) > 60
