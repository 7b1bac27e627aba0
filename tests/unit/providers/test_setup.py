"""From settings to providers: base URLs by registry name, the pooled lane, declared providers, and every
misconfiguration a clear start-up error naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from byokgate.app import create_app, provider_setup
from byokgate.domain.secret import Secret
from byokgate.providers.registry import BUILT_IN, ProviderConfigError
from byokgate.settings import Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("BYOKGATE_"):
            monkeypatch.delenv(name)


def test_every_provider_has_its_default_base_url() -> None:
    setup = provider_setup(Settings())
    assert len(setup.registry) == len(BUILT_IN)
    for name, adapter in setup.registry.items():
        assert setup.base_urls[name] == adapter.default_base_url
        assert adapter.default_base_url == "" or adapter.default_base_url.startswith("https://")
    assert setup.pooled is None  # no platform key: no pooled lane


def test_base_urls_are_overridden_by_registry_name_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BYOKGATE_OPENAI_BASE_URL", "http://127.0.0.1:9000/v1/")
    monkeypatch.setenv("BYOKGATE_GROQ_BASE_URL", "http://127.0.0.1:9001/openai/v1")
    setup = provider_setup(Settings())
    assert setup.base_urls["openai"] == "http://127.0.0.1:9000/v1"
    assert setup.base_urls["groq"] == "http://127.0.0.1:9001/openai/v1"
    assert setup.base_urls["anthropic"] == setup.registry["anthropic"].default_base_url


def test_the_pooled_lane_takes_its_providers_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYOKGATE_OPENROUTER_API_KEY", "sk-or-v1-pooled")
    setup = provider_setup(Settings())
    assert setup.pooled is not None
    assert setup.pooled.provider == "openrouter"
    assert setup.pooled.key.reveal() == "sk-or-v1-pooled"
    explicit = provider_setup(Settings(pooled_api_key="sk-or-v1-other"))
    assert explicit.pooled is not None
    assert explicit.pooled.key.reveal() == "sk-or-v1-other"


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"BYOKGATE_NOPE_BASE_URL": "http://x"}, r"BYOKGATE_NOPE_BASE_URL: there is no provider 'nope'"),
        ({"BYOKGATE_OPENAI_BASE_URL": "ftp://x"}, r"BYOKGATE_OPENAI_BASE_URL: must be an http"),
        ({"BYOKGATE_NOPE_API_KEY": "k"}, r"BYOKGATE_NOPE_API_KEY: there is no provider 'nope'"),
        ({"BYOKGATE_OPENAI_API_KEY": "k"}, r"BYOKGATE_OPENAI_API_KEY: only the pooled lane's provider"),
        (
            {"BYOKGATE_POOLED_PROVIDER": "openai"},
            r"BYOKGATE_POOLED_PROVIDER: 'openai' cannot serve the pooled",
        ),
        ({"BYOKGATE_POOLED_PROVIDER": "nope"}, r"BYOKGATE_POOLED_PROVIDER: 'nope' cannot serve"),
    ],
)
def test_misconfigured_providers_are_start_up_errors_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], message: str
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ProviderConfigError, match=message):
        provider_setup(Settings())


LOCAL = {
    "name": "local-vllm",
    "title": "Local vLLM",
    "base_url": "http://10.0.0.5:8000/v1/",
    "auth_header": "X-Api-Key",
    "auth_scheme": "",
    "key_prefixes": ["sk-local-"],
    "models": ["meta-llama/Llama-3.1-8B-Instruct"],
    "model_pattern": "^local-",
    "capabilities": {"json_mode": True},
    "prices": {"local-small": [{"effective": "2026-01-01", "input": 0.1, "output": 0.25}]},
}


def test_a_declared_provider_is_registered_with_its_configuration() -> None:
    setup = provider_setup(Settings(providers=[LOCAL]))
    adapter = setup.registry.byok("local-vllm")
    assert adapter.title == "Local vLLM"
    assert setup.base_urls["local-vllm"] == "http://10.0.0.5:8000/v1"
    assert adapter.auth.headers(Secret("k")) == {"x-api-key": "k"}
    assert adapter.catalog.serves("local-small")
    assert adapter.catalog.serves("meta-llama/Llama-3.1-8B-Instruct")
    assert (adapter.capabilities.json_mode, adapter.capabilities.tools, adapter.capabilities.vision) == (
        True,
        True,
        False,
    )
    assert adapter.key_prefixes == ("sk-local-",)
    assert str(setup.prices["local-vllm/local-small"][0]["input"]) == "0.1"


def test_a_declared_providers_base_url_can_be_overridden_like_any_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BYOKGATE_LOCAL_VLLM_BASE_URL", "http://10.0.0.6:8000/v1")
    setup = provider_setup(Settings(providers=[LOCAL]))
    assert setup.base_urls["local-vllm"] == "http://10.0.0.6:8000/v1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"base_url": "10.0.0.5:8000"}, r"providers\[0\]\.base_url: Value error, must be an http"),
        ({"name": "Local VLLM"}, r"providers\[0\]\.name: String should match pattern"),
        ({"name": "openai"}, r"provider 'openai' is registered twice"),
        ({"model_pattern": "(["}, r"providers\[0\]\.model_pattern: Value error, not a regular expression"),
        ({"auth_header": "x api key"}, r"providers\[0\]\.auth_header: Value error, must be an HTTP header"),
        ({"capabilities": {"telepathy": True}}, r"providers\[0\]\.capabilities\.telepathy: Extra inputs"),
        ({"models": [], "model_pattern": None}, r"providers\[0\]: Value error, declare the models"),
        ({"base_urll": "http://x"}, r"providers\[0\]\.base_urll: Extra inputs are not permitted"),
        (
            {"prices": {"m": [{"effective": "2026-01-01", "input": "free"}]}},
            r"<declared providers>: local-vllm/m",
        ),
    ],
)
def test_a_bad_declaration_is_a_start_up_error_naming_the_field(
    change: dict[str, object], message: str, tmp_path: Path
) -> None:
    settings = Settings(providers=[{**LOCAL, **change}], data_dir=tmp_path)
    with pytest.raises(ValueError, match=message):
        create_app(settings)  # what `byokgate serve` runs first


def test_a_declaration_in_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "byokgate.toml"
    config.write_text(
        '[[providers]]\nname = "ollama"\nbase_url = "http://127.0.0.1:11434/v1"\nauth_scheme = "Bearer "\n'
        'model_pattern = "^[a-z0-9.-]+:[a-z0-9.]+$"\n\n[providers.capabilities]\nvision = true\n'
    )
    monkeypatch.setenv("BYOKGATE_CONFIG_FILE", str(config))
    setup = provider_setup(Settings())
    adapter = setup.registry.byok("ollama")
    assert setup.base_urls["ollama"] == "http://127.0.0.1:11434/v1"
    assert adapter.catalog.serves("llama3.1:8b")
    assert adapter.capabilities.vision
