"""Cache keys (what makes two requests the same) and per-request controls."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest

from byokgate.cache.controls import plan_for
from byokgate.cache.keys import CacheKeys, cache_secret, public_key
from byokgate.domain.entities import CacheSettings
from byokgate.domain.stream import TranslationError

KEYS = CacheKeys(cache_secret(b"k" * 32))
BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "temperature": 0}


def key(payload: dict[str, Any], **scope: str) -> str:
    base = {"project_id": "proj_a", "lane": "byok", "provider": "openai", "model": "gpt-4o", "namespace": ""}
    return KEYS.request_key(payload=payload, **{**base, **scope})


def test_key_order_and_delivery_fields_do_not_matter() -> None:
    reordered = {"temperature": 0, "messages": [{"content": "hi", "role": "user"}], "model": "gpt-4o"}
    delivered = {
        **BODY,
        "stream": True,
        "stream_options": {"include_usage": True},
        "user": "u1",
        "metadata": {"a": "b"},
    }
    assert key(BODY) == key(reordered) == key(delivered)


@pytest.mark.parametrize(
    "change",
    [
        {"temperature": 1},
        {"seed": 3},
        {"tools": []},
        {"messages": [{"role": "user", "content": "hi!"}]},
        {"new_param": 1},
    ],
)
def test_anything_else_in_the_body_matters(change: dict[str, Any]) -> None:
    assert key({**BODY, **change}) != key(BODY)


@pytest.mark.parametrize(
    "scope",
    [
        {"project_id": "proj_b"},
        {"lane": "pooled"},
        {"provider": "openrouter"},
        {"model": "gpt-4o-2024-08-06"},
        {"namespace": "x"},
    ],
)
def test_the_server_side_scope_matters(scope: dict[str, str]) -> None:
    assert key(BODY, **scope) != key(BODY)


def test_keys_are_keyed_per_project_and_by_the_server_secret() -> None:
    same_request = key(BODY)
    assert same_request.startswith("proj_a:")  # a project's entries can be found (purged) by prefix
    digest = public_key(same_request)
    assert len(digest) == 64
    assert same_request == f"proj_a:{digest}"
    assert public_key(key(BODY, project_id="proj_b")) != digest
    # Without the server's secret the digest cannot be computed from a guessed request: another secret
    # (another deployment, or a rotated master key) gives unrelated keys for the same project and request.
    other = CacheKeys(cache_secret(b"m" * 32)).request_key(
        "proj_a", "byok", "openai", "gpt-4o", "", payload=BODY
    )
    assert other != same_request
    assert cache_secret(b"k" * 32) != b"k" * 32


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        CacheKeys(b"short")


ON = CacheSettings(enabled=True, ttl_s=600, max_entry_bytes=4096)


def headers(**values: str) -> list[tuple[bytes, bytes]]:
    return [(name.replace("_", "-").encode(), value.encode()) for name, value in values.items()]


def test_plans() -> None:
    assert plan_for([], CacheSettings(enabled=False)) is None
    default = plan_for([], ON)
    assert default is not None
    assert (default.read, default.write, default.label, default.ttl_s) == (True, True, "MISS", 600)
    assert plan_for(headers(x_byokgate_cache="bypass"), ON) is None
    refresh = plan_for(headers(x_byokgate_cache="refresh"), ON)
    assert refresh is not None
    assert (refresh.read, refresh.write, refresh.label) == (False, True, "REFRESH")
    no_store = plan_for(headers(cache_control="max-age=0, no-store"), ON)
    assert no_store is not None
    assert (no_store.read, no_store.write) == (True, False)
    no_cache = plan_for(headers(cache_control="no-cache"), ON)
    assert no_cache is not None
    assert (no_cache.read, no_cache.write) == (False, True)
    custom = plan_for(headers(x_byokgate_cache_ttl="5", x_byokgate_cache_namespace="run-7"), ON)
    assert custom is not None
    assert (custom.ttl_s, custom.namespace) == (5, "run-7")


@pytest.mark.parametrize(
    "bad",
    [
        {"x_byokgate_cache": "sometimes"},
        {"x_byokgate_cache_ttl": "0"},
        {"x_byokgate_cache_ttl": "1.5"},
        {"x_byokgate_cache_namespace": "n" * 129},
    ],
)
def test_bad_controls_are_400s(bad: dict[str, str]) -> None:
    with pytest.raises(TranslationError):
        plan_for(headers(**bad), ON)


def test_the_key_is_the_documented_encoding_and_leaves_the_payload_alone() -> None:
    """Instances sharing Redis (and an upgrade across versions) must agree on keys: the digest is BLAKE2b-256
    keyed with the project's key, over the NUL-separated scope and the sorted body without ignored fields."""
    secret = cache_secret(b"k" * 32)
    payload = {**BODY, "stream": True, "store": True, "safety_identifier": "s", "n": 1}
    before = dict(payload)
    project_key = hashlib.blake2b(b"proj_a", key=secret, digest_size=32).digest()
    expected = hashlib.blake2b(key=project_key, digest_size=32)
    expected.update(b"byok\0openai\0gpt-4o\0ns\0")
    kept = {"messages": BODY["messages"], "temperature": 0, "n": 1}
    expected.update(orjson.dumps(kept, option=orjson.OPT_SORT_KEYS))
    assert key(payload, namespace="ns") == f"proj_a:{expected.hexdigest()}"
    assert payload == before  # the data plane sends this payload upstream afterwards
