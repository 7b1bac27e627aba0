"""Fuzz the data plane with generated bodies and headers: every answer is a 2xx or an OpenAI-style 4xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byokgate.emulators import EmulatorServer, build
from byokgate.settings import Settings
from tests.proxy.conftest import Gateway, gateway_for
from tests.support.settings import wired

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

OPENAI_KEY = "sk-proj-" + "f" * 40
POOLED_KEY = "sk-or-v1-" + "f" * 64
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
models = st.sampled_from(
    ["gpt-4o", "gpt-4o-mini", "openai/gpt-4o", "meta-llama/llama-3.3-70b-instruct", "claude-3-opus", "", "x/"]
) | st.text(max_size=30)
roles = st.sampled_from(["user", "system", "assistant", "tool", "developer"]) | st.text(max_size=8)
messages = (
    st.lists(
        st.fixed_dictionaries({"role": roles}, optional={"content": json_values, "name": json_values}),
        max_size=3,
    )
    | json_values
)
chat_bodies = st.fixed_dictionaries(
    {},
    optional={
        "model": models | json_values,
        "messages": messages,
        "stream": st.booleans() | json_values,
        "stream_options": json_values,
        "temperature": json_values,
        "max_tokens": json_values,
        "tools": json_values,
        "n": json_values,
    },
)
embedding_bodies = st.fixed_dictionaries(
    {}, optional={"model": models | json_values, "input": json_values, "encoding_format": json_values}
)


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[EmulatorServer, EmulatorServer]]:
    with (
        EmulatorServer(build("openai", [OPENAI_KEY])) as openai_server,
        EmulatorServer(build("openrouter", [POOLED_KEY])) as router,
    ):
        yield openai_server, router


@pytest.fixture
def fuzzed(
    settings: Settings, upstream: tuple[EmulatorServer, EmulatorServer]
) -> Iterator[tuple[Gateway, str]]:
    openai_server, router = upstream
    urls = {"openai": openai_server.base_url, "openrouter": router.base_url}
    configured = wired(settings, urls, pooled_key=POOLED_KEY)
    for gateway in gateway_for(configured):
        _, key = gateway.project(openai=OPENAI_KEY)
        yield gateway, key


def assert_well_formed(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert response.headers.get("x-byokgate-request-id", "").startswith("req_")
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["message"], str)
        assert error["message"]
        assert isinstance(error["type"], str)
        assert set(error) >= {"message", "type", "param", "code"}


def post(gateway: Gateway, path: str, key: str, content: bytes) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    with httpx.Client(timeout=30) as client:
        return client.post(f"{gateway.url}{path}", content=content, headers=headers)


@FUZZ
@given(body=chat_bodies)
def test_chat_bodies(fuzzed: tuple[Gateway, str], body: dict[str, Any]) -> None:
    gateway, key = fuzzed
    assert_well_formed(post(gateway, "/v1/chat/completions", key, json.dumps(body).encode()))


@FUZZ
@given(body=embedding_bodies)
def test_embedding_bodies(fuzzed: tuple[Gateway, str], body: dict[str, Any]) -> None:
    gateway, key = fuzzed
    assert_well_formed(post(gateway, "/v1/embeddings", key, json.dumps(body).encode()))


@FUZZ
@given(raw=st.binary(max_size=200) | json_values.map(lambda value: json.dumps(value).encode()))
def test_arbitrary_bytes(fuzzed: tuple[Gateway, str], raw: bytes) -> None:
    gateway, key = fuzzed
    assert_well_formed(post(gateway, "/v1/chat/completions", key, raw))


@FUZZ
@given(
    authorization=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80).map(
        str.strip  # an HTTP client will not send leading or trailing blanks
    )
    | st.sampled_from(["Bearer lgw_proj_", "Bearer lgw_proj_" + "A" * 43, "bearer", "Basic Zm9vOmJhcg=="])
)
def test_authorization_headers(fuzzed: tuple[Gateway, str], authorization: str) -> None:
    gateway, _ = fuzzed
    body = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}'
    with httpx.Client(timeout=30) as client:
        response = client.post(
            f"{gateway.url}/v1/chat/completions",
            content=body,
            headers={"authorization": authorization, "content-type": "application/json"},
        )
    assert_well_formed(response)
    assert response.status_code == 401
