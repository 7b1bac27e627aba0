"""A project's routes: reading them (every bad field named), matching names, and their targets."""

from __future__ import annotations

import random
from typing import Any

import pytest

from byokgate.domain.routes import RouteConfig, RouteError, RouteTable, RouteTarget, matches, route_from
from byokgate.providers.registry import default_registry
from byokgate.routing.policy import Lane, Route, RoutingError, RoutingPolicy
from byokgate.routing.routes import route_targets

POLICY = RoutingPolicy(default_registry(), pooled_provider="openrouter")
FAST = {
    "targets": [
        {"provider": "groq", "model": "llama-3.3-70b-versatile"},
        {"provider": "openai", "model": "gpt-4o-mini"},
    ]
}


def test_a_route_reads_back_as_it_was_written() -> None:
    body = {
        "name": "claude-*",
        "targets": [
            {"provider": "anthropic", "model": "claude-*", "weight": 2},
            {"provider": "openrouter", "model": "anthropic/claude-*", "lane": "pooled", "weight": 0},
        ],
        "retries": 0,
        "timeout_s": 20,
        "ttft_timeout_s": 4.5,
        "deadline_s": 60,
        "route_around_refusals": True,
        "continue_streams": True,
    }
    route = route_from(body)
    assert route.continue_streams
    assert route.pattern
    assert route.targets[1] == RouteTarget("openrouter", "anthropic/claude-*", "pooled", 0.0)
    assert route_from(route.as_json()) == route
    assert route.as_json()["targets"][0] == {
        "provider": "anthropic",
        "model": "claude-*",
        "lane": "byok",
        "weight": 2.0,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "fast"}, "targets"),
        ({"name": "fast", "targets": []}, "targets"),
        ({"name": "two * stars *", **FAST}, "name"),
        ({"name": "a**", **FAST}, "name"),
        ({"name": "fast", "targets": [{"provider": "Groq!", "model": "x"}]}, "targets[0].provider"),
        ({"name": "fast", "targets": [{"provider": "groq"}]}, "targets[0].model"),
        ({"name": "fast", "targets": [{"provider": "groq", "model": "m-*"}]}, "targets[0].model"),
        ({"name": "fast", "targets": [{"provider": "groq", "model": "m", "lane": "vip"}]}, "targets[0].lane"),
        (
            {"name": "fast", "targets": [{"provider": "groq", "model": "m", "weight": -1}]},
            "targets[0].weight",
        ),
        ({"name": "fast", "targets": [{"provider": "groq", "model": "m", "weight": 0}]}, "targets"),
        (
            {"name": "fast", "targets": [{"provider": "groq", "model": "m", "region": "eu"}]},
            "targets[0].region",
        ),
        ({"name": "fast", **FAST, "retries": 11}, "retries"),
        ({"name": "fast", **FAST, "retries": True}, "retries"),
        ({"name": "fast", **FAST, "ttft_timeout_s": 0}, "ttft_timeout_s"),
        ({"name": "fast", **FAST, "deadline_s": "60"}, "deadline_s"),
        ({"name": "fast", **FAST, "route_around_refusals": "yes"}, "route_around_refusals"),
        ({"name": "fast", **FAST, "continue_streams": 1}, "continue_streams"),
        ({"name": "fast", **FAST, "strategy": "loadbalance"}, "strategy"),
        ({"name": "fast", "targets": [{"provider": "groq", "model": "m"}] * 9}, "targets"),
    ],
)
def test_each_bad_field_is_named(body: dict[str, Any], field: str) -> None:
    with pytest.raises(RouteError) as caught:
        route_from(body)
    assert caught.value.field == field


def test_names_match_exactly_or_by_their_one_wildcard() -> None:
    assert matches("gpt-4o", "gpt-4o") == ""
    assert matches("gpt-4o", "gpt-4o-mini") is None
    assert matches("claude-*", "claude-3-5-sonnet") == "3-5-sonnet"
    assert matches("*-latest", "gpt-4o-latest") == "gpt-4o"
    assert matches("claude-*-sonnet", "claude-3-5-sonnet") == "3-5"
    assert matches("claude-*-sonnet", "claude-sonnet") is None


def test_the_table_prefers_exact_names_then_the_most_specific_pattern() -> None:
    table = RouteTable(
        route_from({"name": name, "targets": [{"provider": "anthropic", "model": "m"}]})
        for name in ("claude-*", "claude-3-5-*", "claude-3-5-sonnet")
    )
    found = table.find("claude-3-5-sonnet")
    assert found is not None
    assert found[0].name == "claude-3-5-sonnet"
    found = table.find("claude-3-5-haiku")
    assert found is not None
    assert found[0].name == "claude-3-5-*"
    found = table.find("claude-3-opus")
    assert found is not None
    assert (found[0].name, found[1]) == ("claude-*", "3-opus")
    assert table.find("gpt-4o") is None


def route(**body: Any) -> RouteConfig:
    return route_from({"name": "r", **body})


def test_targets_follow_the_route_and_the_wildcard_fills_the_model() -> None:
    wild = route_from(
        {
            "name": "claude-*",
            "targets": [
                {"provider": "anthropic", "model": "claude-*"},
                {"provider": "openrouter", "model": "anthropic/claude-*", "lane": "pooled"},
            ],
        }
    )
    targets, refused = route_targets(POLICY, wild, "3-5-sonnet", frozenset({"anthropic"}), "byok_then_pooled")
    assert targets == [
        Route(Lane.BYOK, "anthropic", "claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        Route(Lane.POOLED, "openrouter", "anthropic/claude-3-5-sonnet", "anthropic/claude-3-5-sonnet"),
    ]
    assert refused is None


def test_a_target_that_cannot_be_served_now_is_left_out_and_said() -> None:
    fast = route(**FAST)
    targets, refused = route_targets(POLICY, fast, "", frozenset({"openai"}), "byok_then_pooled")
    assert [t.provider for t in targets] == ["openai"]
    assert isinstance(refused, RoutingError)
    assert "groq" in refused.message
    pooled = route(targets=[{"provider": "openrouter", "model": "openai/gpt-4o", "lane": "pooled"}])
    targets, refused = route_targets(POLICY, pooled, "", frozenset(), "byok_only")
    assert targets == []
    assert refused is not None
    assert "byok_only" in refused.message


def test_weights_draw_the_first_target_and_the_rest_follow_in_order() -> None:
    weighted = route(
        targets=[
            {"provider": "openai", "model": "gpt-4o", "weight": 1},
            {"provider": "anthropic", "model": "claude-3-5-sonnet", "weight": 3},
            {"provider": "groq", "model": "llama-3.3-70b-versatile"},  # weight 0: a fallback only
        ]
    )
    keys = frozenset({"openai", "anthropic", "groq"})
    rng = random.Random(1)
    firsts = [route_targets(POLICY, weighted, "", keys, "byok_then_pooled", rng)[0] for _ in range(2000)]
    share = sum(1 for targets in firsts if targets[0].provider == "anthropic") / len(firsts)
    assert 0.70 < share < 0.80  # 3 of 4
    assert all(targets[0].provider != "groq" for targets in firsts)
    assert all(len(targets) == 3 and targets[-1].provider == "groq" for targets in firsts)
