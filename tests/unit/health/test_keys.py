"""A pool's key choice and cooldowns, on a clock the test moves."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from byokgate.health.keys import KeyHealth


@dataclass(frozen=True)
class Key:
    credential_id: str
    weight: int = 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_smooth_weighted_round_robin_shares_by_weight_and_interleaves() -> None:
    health = KeyHealth()
    pool = [Key("a", 5), Key("b", 1), Key("c", 1)]
    picks = [health.pick(pool, strict=True) for _ in range(14)]
    assert Counter(k.credential_id for k in picks if k) == {"a": 10, "b": 2, "c": 2}
    first = [k.credential_id for k in picks[:7] if k]
    assert first.count("a") == 5
    assert first[:2] != ["a", "a"] or first[2:4] != ["a", "a"]  # spread out, not in a block


def test_least_in_flight_per_weight() -> None:
    health = KeyHealth("least_in_flight")
    pool = [Key("a", 2), Key("b", 1)]
    health.started("a")
    health.started("a")
    picked = health.pick(pool, strict=True)
    assert picked is not None
    assert picked.credential_id == "b"  # a: 2 in flight / weight 2 = 1 > b: 0
    health.started("b")
    health.finished("a")  # a: 1 in flight / weight 2 = 0.5 < b: 1 / 1
    picked = health.pick(pool, strict=True)
    assert picked is not None
    assert picked.credential_id == "a"


def test_cooling_keys_are_skipped_strictly_and_taken_last_leniently() -> None:
    clock = Clock()
    health = KeyHealth(clock=clock)
    pool = [Key("a"), Key("b")]
    health.cool("a", "429", 30)
    assert {health.pick(pool, strict=True).credential_id for _ in range(4)} == {"b"}  # type: ignore[union-attr]
    health.cool("b", "429", 10)
    assert health.pick(pool, strict=True) is None
    lenient = health.pick(pool, strict=False)
    assert lenient is not None
    assert lenient.credential_id == "b"  # its cooldown ends first
    clock.now += 10
    fresh = health.pick(pool, strict=True)
    assert fresh is not None
    assert fresh.credential_id == "b"


def test_a_refused_key_is_never_used_until_cleared() -> None:
    health = KeyHealth()
    pool = [Key("a")]
    health.cool("a", "401", None)
    assert health.pick(pool, strict=False) is None
    assert health.view()["a"].until is None
    health.clear("a")
    assert health.pick(pool, strict=True) == Key("a")


def test_avoided_and_blocked_keys_are_not_fresh() -> None:
    health = KeyHealth()
    pool = [Key("a"), Key("b"), Key("c")]
    picked = health.pick(pool, {"a"}, strict=True, blocked=lambda cid: cid == "b")
    assert picked == Key("c")
    assert health.has_fresh(pool, {"a", "c"})
    health.cool("b", "429", 5)
    assert not health.has_fresh(pool, {"a", "c"})


def test_a_429_cools_the_key_for_its_model_only_and_a_refusal_for_every_model() -> None:
    clock = Clock()
    health = KeyHealth(clock=clock)
    pool = [Key("a")]
    health.cool("a", "429", 30, model="gpt-4o")
    assert health.pick(pool, strict=True, model="gpt-4o") is None  # providers limit each model apart
    assert health.pick(pool, strict=True, model="gpt-4o-mini") == Key("a")
    assert not health.has_fresh(pool, (), "gpt-4o")
    assert health.has_fresh(pool, (), "gpt-4o-mini")
    assert [c.model for c in health.cooldowns("a")] == ["gpt-4o"]
    health.cool("a", "401", None)
    assert health.pick(pool, strict=False, model="gpt-4o-mini") is None
    assert [c.model for c in health.cooldowns("a")] == [None, "gpt-4o"]  # the one for every model first
    health.clear("a")  # an operator set it active: every cooldown of the key is lifted
    assert health.cooldowns("a") == []
    assert health.pick(pool, strict=True, model="gpt-4o") == Key("a")
