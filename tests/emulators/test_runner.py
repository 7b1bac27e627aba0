"""Starting emulators: several at once in the background, and the `emulate` CLI command."""

from __future__ import annotations

import httpx
import openai
import pytest
from click.testing import CliRunner

from byokgate.emulators import build, running
from byokgate.emulators.cli import emulate


def test_running_starts_several_on_their_own_ports() -> None:
    emulators = [build(name, ["k"]) for name in ("openai", "groq", "openrouter")]
    with running(*emulators) as servers:
        assert len({server.port for server in servers}) == 3
        assert [server.base_url.rsplit(":", 1)[1].split("/", 1)[1] for server in servers] == [
            "v1",
            "openai/v1",
            "api/v1",
        ]
        for server in servers:
            client = openai.OpenAI(base_url=server.base_url, api_key="anything", max_retries=0)
            with client, pytest.raises(openai.AuthenticationError):
                client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
            assert httpx.get(f"{server.url}/_emulator/health").json()["provider"] == server.emulator.name


def test_accept_any_key() -> None:
    with running(build("groq", accept_any_key=True)) as (server,):
        response = httpx.get(f"{server.base_url}/models", headers={"authorization": "Bearer whatever"})
        assert response.status_code == 200
        assert httpx.get(f"{server.base_url}/models").status_code == 401


def test_build_rejects_unknown_providers() -> None:
    with pytest.raises(ValueError, match="unknown provider"):
        build("no-such-provider")


def test_every_new_provider_is_registered_with_its_base_path() -> None:
    expected = {
        "mistral": "/v1",
        "deepseek": "",
        "xai": "/v1",
        "together": "/v1",
        "fireworks": "/inference/v1",
        "cerebras": "/v1",
        "perplexity": "",
        "azure": "",
    }
    assert {name: build(name, ["k"]).base_path for name in expected} == expected
    choices = CliRunner().invoke(emulate, ["--help"]).output
    assert all(name in choices for name in expected)


def test_cli_serves_a_new_provider_by_name() -> None:
    result = CliRunner().invoke(emulate, ["--provider", "no-such-provider", "--key", "k"])
    assert result.exit_code == 2
    assert "perplexity" in result.output  # the choices listed include the new providers


def test_cli_needs_a_key_policy() -> None:
    result = CliRunner().invoke(emulate, ["--provider", "openai"])
    assert result.exit_code == 2
    assert "--key" in result.output
    help_text = CliRunner().invoke(emulate, ["--help"]).output
    assert "--provider" in help_text
    assert "--port" in help_text
