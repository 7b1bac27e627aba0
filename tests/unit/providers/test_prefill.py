"""Which models continue an assistant prefill, as the adapters declare it (a continuation is only asked of
those): Anthropic's against the emulator's model table (the 4.6 and later models refuse one), and an
operator's declared provider with a pattern of models that refuse it."""

from __future__ import annotations

import pytest

from byokgate.emulators.anthropic_models import CATALOG
from byokgate.providers.declared import Declaration, DeclaredProvider
from byokgate.providers.registry import default_registry

REGISTRY = default_registry()
CLAUDES = [(name, model.prefill) for model in CATALOG for name in (model.id, *model.aliases)]


@pytest.mark.parametrize(("model", "prefills"), CLAUDES, ids=[name for name, _ in CLAUDES])
def test_anthropic_prefill_as_the_api_takes_it(model: str, prefills: bool) -> None:
    assert REGISTRY["anthropic"].capabilities.prefills(model) is prefills


def test_providers_without_prefill_are_never_asked() -> None:
    assert not REGISTRY["gemini"].capabilities.prefills("gemini-2.5-flash")
    assert not REGISTRY["openai"].capabilities.prefills("gpt-4o")
    assert REGISTRY["mistral"].capabilities.prefill_marker == "prefix"


def test_a_declared_provider_names_its_models_that_refuse_a_prefill() -> None:
    declaration = Declaration.model_validate(
        {
            "name": "local",
            "base_url": "http://127.0.0.1:8000/v1",
            "model_pattern": "^local-",
            "capabilities": {"prefill": True, "no_prefill_pattern": "-instruct$"},
        }
    )
    capabilities = DeclaredProvider(declaration).capabilities
    assert capabilities.prefills("local-base")
    assert not capabilities.prefills("local-8b-instruct")
    with pytest.raises(ValueError, match="not a regular expression"):
        Declaration.model_validate(
            {
                "name": "bad",
                "base_url": "http://h/v1",
                "models": ["m"],
                "capabilities": {"no_prefill_pattern": "("},
            }
        )
