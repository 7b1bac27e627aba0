"""A provider's pool of keys in the dashboard, over real HTTP: a named second key, its weight and state
changed (as the admin API then reads them), each key's last use and the data plane's cooldown on a key the
emulator rate-limited; a provider whose keys carry settings (Azure: endpoint, API version, deployments)
saved from the form, its refusals next to the field."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from byokgate.emulators import EmulatorServer
from byokgate.emulators.faults import Fault
from tests.dashboard.conftest import ADMIN_EMAIL, OPENAI, csrf_of, sign_in
from tests.dashboard.test_settings import admin_get, new_project

pytestmark = pytest.mark.usefixtures("users")
AZURE_KEY = "0123456789abcdef0123456789abcdef"


def keys_page(client: httpx.Client, project_id: str) -> httpx.Response:
    return client.get(f"/dashboard/projects/{project_id}/provider-keys")


def post(client: httpx.Client, project_id: str, path: str, fields: dict[str, str]) -> httpx.Response:
    token = csrf_of(keys_page(client, project_id))
    return client.post(
        f"/dashboard/projects/{project_id}/provider-keys/{path}", data={"csrf": token, **fields}
    )


def stored(gateway_url: str, project_id: str) -> dict[str, dict[str, object]]:
    keys = admin_get(gateway_url, f"/projects/{project_id}/provider-keys").json()["data"]
    return {f"{key['provider']}/{key['name']}": key for key in keys}


def key_block(page: httpx.Response, provider: str, name: str) -> str:
    found = re.search(
        rf'<div class="stored" id="key-{provider}-{name}">(.*?)(?=<div class="stored"|</td>)', page.text, re.S
    )
    assert found is not None, f"no {provider} key {name} on the page"
    return found.group(1)


@pytest.fixture
def clean_upstream(openai_upstream: EmulatorServer) -> Iterator[EmulatorServer]:
    openai_upstream.emulator.reset()
    yield openai_upstream
    openai_upstream.emulator.reset()


def test_a_pool_of_keys_with_weights_states_last_use_and_cooldowns(
    browser: httpx.Client, gateway_url: str, clean_upstream: EmulatorServer
) -> None:
    project_id, project_key = new_project(gateway_url, "pool")
    sign_in(browser, ADMIN_EMAIL)
    assert post(browser, project_id, "openai", {"api_key": OPENAI.key, "action": "save"}).status_code == 303
    second = {"api_key": OPENAI.key, "action": "save", "name": "second"}
    assert post(browser, project_id, "openai", second).status_code == 303
    assert set(stored(gateway_url, project_id)) == {"openai/default", "openai/second"}
    page = keys_page(browser, project_id)
    assert "last used never" in key_block(page, "openai", "second")
    assert "weight 1" in key_block(page, "openai", "default")

    bad = post(browser, project_id, "openai/pool", {"name": "second", "weight": "lots"})
    assert bad.status_code == 400
    assert 'id="error-openai" role="alert">weight: an integer from 0 to 1000' in bad.text
    assert 'aria-describedby="error-openai"' in key_block(bad, "openai", "second")
    assert post(browser, project_id, "openai/pool", {"name": "second", "weight": "3"}).status_code == 303
    assert stored(gateway_url, project_id)["openai/second"]["weight"] == 3
    disabled = post(browser, project_id, "openai/pool", {"name": "second", "state": "disabled"})
    assert disabled.status_code == 303
    assert stored(gateway_url, project_id)["openai/second"]["state"] == "disabled"
    page = browser.get(disabled.headers["location"])
    assert "Changed the OpenAI key." in page.text
    assert '<span class="tag">disabled</span>' in key_block(page, "openai", "second")
    assert "Enable" in key_block(page, "openai", "second")
    assert post(browser, project_id, "openai/pool", {"name": "second", "state": "active"}).status_code == 303
    assert post(browser, project_id, "openai/pool", {"name": "third", "weight": "1"}).status_code == 400

    # One answer through the pool, after a 429 that rests one key: the page shows its cooldown and the
    # other key's last use (as soon as the writer has stored the key-use events).
    clean_upstream.emulator.arm(Fault("429", retry_after_s=300))
    sdk = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=project_key, max_retries=0)
    raw = sdk.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers["x-byokgate-routing-reason"] == "rotated_after_429"
    deadline = time.monotonic() + 15
    while True:
        page = keys_page(browser, project_id)
        blocks = [key_block(page, "openai", name) for name in ("default", "second")]
        resting = [block for block in blocks if "rate limited (429) until" in block]
        used = [block for block in blocks if re.search(r"last used \d{4}-\d\d-\d\d \d\d:\d\d UTC", block)]
        if len(resting) == 1 and len(used) == 2:  # both were used: one answered 429, the other answered
            break
        assert time.monotonic() < deadline, blocks
        time.sleep(0.2)
    request_id = raw.headers["x-byokgate-request-id"]
    trace = browser.get(f"/dashboard/projects/{project_id}/requests/{request_id}").text
    bars = re.findall(r'<rect class="(failed|answered)" x="(\d+)" y="\d+" width="(\d+)"', trace)
    assert [bar[0] for bar in bars] == ["failed", "answered"]  # the 429, then the other key's answer
    assert int(bars[1][1]) >= int(bars[0][1])  # the second attempt starts after the first
    assert "openai gpt-4o: 429" in trace
    for key in stored(gateway_url, project_id).values():
        assert key["cooldown"] is None or key["cooldown"]["reason"] == "429"  # type: ignore[index]
    assert OPENAI.key not in page.text


def test_a_provider_whose_keys_carry_settings_is_saved_from_the_form(
    browser: httpx.Client, gateway_url: str
) -> None:
    project_id, _ = new_project(gateway_url, "azure")
    sign_in(browser, ADMIN_EMAIL)
    page = keys_page(browser, project_id)
    for field in ("field.endpoint", "field.api_version", "field.deployments"):
        assert f'name="{field}"' in page.text.split('id="provider-azure"', 1)[1].split("</tr>", 1)[0]
    assert "Needs settings" not in page.text

    fields = {"api_key": AZURE_KEY, "action": "save", "field.api_version": "2024-10-21"}
    missing = post(browser, project_id, "azure", fields)
    assert missing.status_code == 400
    assert 'id="error-azure" role="alert">endpoint: required for Azure OpenAI keys' in missing.text
    assert (
        'name="field.endpoint" spellcheck="false" aria-invalid="true" aria-describedby="error-azure"'
        in missing.text
    )
    lines = {**fields, "field.endpoint": "https://res.openai.azure.com", "field.deployments": "gpt-4o\n"}
    bad_lines = post(browser, project_id, "azure", lines)
    assert "deployments: line 1: write model = name" in bad_lines.text

    good = {**lines, "field.deployments": "gpt-4o = prod-4o\n\ngpt-4o-mini=mini"}
    assert post(browser, project_id, "azure", good).status_code == 303
    key = stored(gateway_url, project_id)["azure/default"]
    assert key["fields"] == {
        "endpoint": "https://res.openai.azure.com",
        "api_version": "2024-10-21",
        "deployments": {"gpt-4o": "prod-4o", "gpt-4o-mini": "mini"},
    }
    assert AZURE_KEY not in keys_page(browser, project_id).text

    named = post(browser, project_id, "azure", {**good, "name": "not a name!"})
    assert named.status_code == 400
    assert 'id="error-azure" role="alert">name: 1-64 letters' in named.text
    assert '<details class="pool-name" open>' in named.text  # the field in error is shown
