"""The Anthropic emulator's models endpoints (paging, lifecycle filter, aliases) and its registration with
the runner and the `emulate` CLI."""

from __future__ import annotations

import anthropic
import httpx
import pytest
from anthropic.types import ModelInfo
from click.testing import CliRunner

from byokgate.emulators import PROVIDERS, EmulatorServer, anthropic_emulator, build
from byokgate.emulators.anthropic_models import CATALOG
from byokgate.emulators.cli import emulate
from tests.emulators.anthropic.conftest import KEY

LISTED = [model.id for model in CATALOG if model.lifecycle != "retired"]


def test_list_pages_forward_with_after_id(client: anthropic.Anthropic) -> None:
    first = client.models.list(limit=5)
    assert [model.id for model in first.data] == LISTED[:5]
    assert (first.has_more, first.first_id, first.last_id) == (True, LISTED[0], LISTED[4])
    assert [model.id for model in client.models.list(limit=5)] == LISTED  # auto-paging
    last = client.models.list(limit=5, after_id=LISTED[-3])
    assert [model.id for model in last.data] == LISTED[-2:]
    assert last.has_more is False
    assert len(client.models.list().data) == min(20, len(LISTED))
    assert "claude-sonnet-4-6" in LISTED
    assert "claude-3-5-sonnet-20241022" in LISTED
    assert "claude-2.1" not in LISTED


def test_list_pages_backward_with_before_id(client: anthropic.Anthropic) -> None:
    page = client.models.list(limit=3, before_id=LISTED[5])
    assert [model.id for model in page.data] == LISTED[2:5]
    assert page.has_more is True
    start = client.models.list(limit=3, before_id=LISTED[2])
    assert ([model.id for model in start.data], start.has_more) == (LISTED[:2], False)


def test_lifecycle_filter(client: anthropic.Anthropic) -> None:
    retired = client.models.list(lifecycle=["retired"])
    assert [model.id for model in retired.data] == [
        model.id for model in CATALOG if model.lifecycle == "retired"
    ]
    assert {model.lifecycle for model in retired.data} == {"retired"}
    deprecated = client.models.list(lifecycle=["deprecated"], limit=100)
    assert "claude-sonnet-4-5-20250929" in [model.id for model in deprecated.data]


def test_model_objects_validate_strictly(server: EmulatorServer) -> None:
    headers = {"x-api-key": KEY, "anthropic-version": "2026-10-21"}
    body = httpx.get(f"{server.url}/v1/models", params={"limit": 1000}, headers=headers).json()
    assert set(body) == {"data", "has_more", "first_id", "last_id"}
    for item in body["data"]:
        ModelInfo.model_validate(item)
        assert item["type"] == "model"
    sonnet = next(item for item in body["data"] if item["id"] == "claude-sonnet-5-5")
    assert sonnet["display_name"] == "Claude Sonnet 5.5"
    assert sonnet["created_at"] == "2026-06-30T00:00:00Z"
    for bad in ("0", "1001", "many"):
        response = httpx.get(f"{server.url}/v1/models", params={"limit": bad}, headers=headers)
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_request_error"


def test_retrieve_by_id_or_alias(client: anthropic.Anthropic) -> None:
    assert client.models.retrieve("claude-sonnet-4-6").display_name == "Claude Sonnet 4.6"
    aliased = client.models.retrieve("claude-sonnet-4-5")
    assert (aliased.id, aliased.lifecycle) == ("claude-sonnet-4-5-20250929", "deprecated")
    assert client.models.retrieve("claude-2.1").lifecycle == "retired"
    with pytest.raises(anthropic.NotFoundError) as info:
        client.models.retrieve("claude-9")
    assert (info.value.type, info.value.api_message) == ("not_found_error", "model: claude-9")


def test_registered_with_the_runner_and_the_cli() -> None:
    assert PROVIDERS["anthropic"] is anthropic_emulator
    emulator = build("anthropic", accept_any_key=True, record=False)
    assert (emulator.name, emulator.base_path) == ("anthropic", "")
    with EmulatorServer(emulator) as server:
        assert server.base_url == server.url
        client = anthropic.Anthropic(base_url=server.base_url, api_key="anything", max_retries=0)
        with client:
            assert client.models.list(limit=1).data
        assert emulator.requests == []
    help_text = CliRunner().invoke(emulate, ["--help"]).output
    assert "anthropic" in help_text
    options = build("anthropic", ["k"], record=False, stream_chunk_delay_ms=5)  # what `emulate` passes
    assert options.stream_chunk_delay_s == 0.005
