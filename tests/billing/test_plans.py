"""Plans as data: tiers of pooled models, the default plan, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from byokgate.billing.plans import STANDARD, PlanFileError, Plans


@pytest.mark.parametrize(
    ("model", "tier"),
    [
        ("openai/gpt-4o", "premium"),
        ("openai/gpt-4o-2024-08-06", "premium"),
        ("openai/gpt-4o-mini", STANDARD),
        ("openai/o3-mini", STANDARD),
        ("openai/o1", "premium"),
        ("anthropic/claude-3.5-haiku", "premium"),
        ("google/gemini-2.5-pro", "premium"),
        ("google/gemini-2.5-flash", STANDARD),
        ("mistralai/mistral-large", STANDARD),
        ("meta-llama/llama-3.3-70b-instruct", STANDARD),
    ],
)
def test_shipped_tiers(model: str, tier: str) -> None:
    assert Plans.load().tier_of(model) == tier


def test_shipped_plans_follow_the_seeds() -> None:
    plans = Plans.load()
    assert plans.default == "free"
    assert plans.names == ["free", "starter", "teams"]
    assert "premium" not in plans.get("free").pooled_tiers
    assert "premium" not in plans.get("starter").pooled_tiers
    assert "premium" in plans.get("teams").pooled_tiers  # manual GPT, Claude and Gemini Pro
    assert plans.get(None).name == "free"
    assert plans.get("retired-plan").name == "free"
    assert plans.cheapest_with("premium") == "Teams"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{", "plans file"),
        (json.dumps({"plans": {"a": {}}}), "default_plan"),
        (json.dumps({"default_plan": "b", "plans": {"a": {}}}), "not defined"),
        (json.dumps({"default_plan": "a", "plans": {"a": {"pooled_tiers": ["gold"]}}}), "unknown tier"),
        (json.dumps({"default_plan": "a", "plans": {"a": {"included_tokens": -1}}}), "included_tokens"),
        (json.dumps({"default_plan": "a", "plans": {"a": {"period": "week"}}}), "period"),
    ],
)
def test_bad_plan_files(tmp_path: Path, content: str, expected: str) -> None:
    bad = tmp_path / "plans.json"
    bad.write_text(content)
    with pytest.raises(PlanFileError, match=expected):
        Plans.load(bad)
