"""The shipped price catalog covers the routing catalogs; periods, overrides and bad files."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import pytest

from byokgate.pricing.catalog import PriceCatalog, PriceFileError, per_million
from byokgate.providers.registry import default_registry

TODAY = date(2026, 11, 30)


def test_every_native_model_of_every_byok_provider_has_a_price() -> None:
    catalog = PriceCatalog.load()
    missing = [
        f"{name}/{model}"
        for name, adapter in default_registry().items()
        if adapter.accepts_byok
        for model in (*adapter.catalog.models, *adapter.catalog.embedding_models)
        if catalog.price(name, model, TODAY) is None
    ]
    assert missing == []


def test_the_price_in_force_on_a_day_is_the_latest_period_started_by_then() -> None:
    catalog = PriceCatalog.load()
    before = catalog.price("anthropic", "claude-3-5-haiku-20241022", date(2024, 11, 20))
    after = catalog.price("anthropic", "claude-3-5-haiku-20241022", date(2025, 6, 1))
    assert before is not None
    assert after is not None
    assert (before.input, after.input) == (per_million("1.0"), per_million("0.8"))
    assert catalog.price("anthropic", "claude-3-5-haiku-20241022", date(2020, 1, 1)) is None  # not out yet


def test_unknown_models_have_no_price_and_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    catalog = PriceCatalog.load()
    with caplog.at_level(logging.WARNING):
        assert catalog.price("openai", "gpt-9-imaginary", TODAY) is None
        assert catalog.price("openai", "gpt-9-imaginary", TODAY) is None
    assert sum("gpt-9-imaginary" in r.getMessage() for r in caplog.records) == 1


def test_an_override_file_replaces_and_adds_models(tmp_path: Path) -> None:
    override = tmp_path / "prices.json"
    override.write_text(
        json.dumps(
            {
                "version": "negotiated-2026",
                "models": {
                    "openai/gpt-4o": [{"effective": "2024-01-01", "input": 2.0, "output": 8.0}],
                    "openai/my-finetune": [{"effective": "2026-01-01", "input": 3.0, "output": 12.0}],
                },
            }
        )
    )
    catalog = PriceCatalog.load(override)
    gpt_4o = catalog.price("openai", "gpt-4o", TODAY)
    assert gpt_4o is not None
    assert (gpt_4o.input, gpt_4o.cached_input) == (per_million(2), None)
    assert catalog.price("openai", "my-finetune", TODAY) is not None
    assert catalog.price("anthropic", "claude-3-5-sonnet-20241022", TODAY) is not None  # the rest stays
    assert catalog.version.endswith("+negotiated-2026")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json", "price file"),
        (json.dumps({"models": []}), "'models' object"),
        (json.dumps({"models": {"gpt-4o": [{"effective": "2024-01-01", "input": 1}]}}), "provider/model"),
        (json.dumps({"models": {"openai/x": [{"effective": "yesterday", "input": 1}]}}), "openai/x"),
        (json.dumps({"models": {"openai/x": [{"effective": "2024-01-01", "input": -1}]}}), "negative"),
        (json.dumps({"models": {"openai/x": [{"effective": "2024-01-01", "input": "1"}]}}), "number"),
        (json.dumps({"currency": "EUR", "models": {}}), "USD"),
        (
            json.dumps({"models": {"openai/x": [{"effective": "2024-01-01", "input": 0.0000001}]}}),
            "six decimal",
        ),
    ],
)
def test_bad_price_files_are_refused_with_the_reason(tmp_path: Path, content: str, expected: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(PriceFileError, match=expected):
        PriceCatalog.load(bad)
