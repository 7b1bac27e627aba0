"""The cost of every request, through the gateway with the official SDKs: headers, the stream's usage chunk,
the request log, cache savings and price overrides. Expected figures use the providers' list prices written
out here, not the gateway's catalog."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from openai.types.chat import ChatCompletionMessageParam

from byokgate.emulators import EmulatorServer
from byokgate.settings import Settings
from tests.proxy.conftest import CHAT_KEYS as KEYS
from tests.proxy.conftest import CHAT_MODELS as MODELS
from tests.proxy.conftest import Gateway, chat_gateway_for
from tests.proxy.test_cache import _wait_for_snapshot
from tests.support.providers import BY_NAME

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

ASK: list[ChatCompletionMessageParam] = [{"role": "user", "content": "What does a gateway cost?"}]


def expected_micro(provider: str, usage: dict[str, Any]) -> int:
    fresh_price, read_price, write_price, out_price = (Decimal(p) for p in BY_NAME[provider].prices)
    details = usage.get("prompt_tokens_details") or {}
    read = details.get("cached_tokens") or 0
    written = details.get("cache_write_tokens") or 0
    fresh = usage["prompt_tokens"] - read - written
    total = (
        fresh * fresh_price
        + read * read_price
        + written * write_price
        + usage["completion_tokens"] * out_price
    )
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def usd(micro: int) -> str:
    return f"{Decimal(micro) / 1_000_000:.6f}"


def logged(gateway: Gateway, project_id: str, request_id: str) -> dict[str, Any]:
    for _ in range(100):
        for record in gateway.admin.get(f"/projects/{project_id}/requests").json()["data"]:
            if record["id"] == request_id:
                return dict(record)
        time.sleep(0.05)
    raise AssertionError(f"{request_id} never reached the request log")


def test_a_plain_answer_says_its_cost_and_the_log_keeps_it(chat_gateway: Gateway, provider: str) -> None:
    project_id, key = chat_gateway.project(**KEYS)
    raw = chat_gateway.client(key).chat.completions.with_raw_response.create(
        model=MODELS[provider], messages=ASK
    )
    usage = raw.parse().usage
    assert usage is not None
    cost = expected_micro(provider, usage.model_dump())
    assert cost > 0
    assert raw.headers["x-byokgate-cost-usd"] == usd(cost)
    assert raw.headers["x-byokgate-charged-credits"] == "0.000000"  # BYOK: billed by the provider directly
    assert raw.headers["x-byokgate-lane"] == "byok"
    record = logged(chat_gateway, project_id, raw.headers["x-byokgate-request-id"])
    assert record["cost_micro_usd"] == cost


def test_a_stream_gets_its_cost_in_the_usage_chunk_and_only_when_asked(
    chat_gateway: Gateway, provider: str, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    project_id, key = chat_gateway.project(**KEYS)
    client = chat_gateway.client(key)
    chunks = list(
        client.chat.completions.create(
            model=MODELS[provider], messages=ASK, stream=True, stream_options={"include_usage": True}
        )
    )
    final = chunks[-1]  # the usage chunk, or the finishing chunk where the provider sends usage there
    assert final.usage is not None
    cost = expected_micro(provider, final.usage.model_dump())
    assert (final.usage.model_extra or {})["cost"] == pytest.approx(cost / 1_000_000)
    assert all("cost" not in (chunk.usage.model_extra or {}) for chunk in chunks[:-1] if chunk.usage)
    if not BY_NAME[provider].unasked_usage:
        assert all(chunk.usage is None for chunk in chunks[:-1])

    # Not asked: no usage chunk and no usage field at all, as from the provider; the cost is still known.
    headers = {"authorization": f"Bearer {key}"}
    body = {"model": MODELS[provider], "messages": ASK, "stream": True}
    with httpx.stream("POST", f"{chat_gateway.url}/v1/chat/completions", json=body, headers=headers) as sse:
        data = [line[6:] for line in sse.iter_lines() if line.startswith("data: ")]
        request_id = sse.headers["x-byokgate-request-id"]
    assert data[-1] == "[DONE]"
    if not BY_NAME[provider].unasked_usage:  # as the provider would stream it had the gateway not asked
        assert all("usage" not in json.loads(item) for item in data[:-1])
    if not BY_NAME[provider].translated:  # relayed providers were asked for the usage anyway
        sent = chat_upstreams[provider].emulator.requests[-1].body
        assert sent["stream_options"] == {"include_usage": True}
    assert logged(chat_gateway, project_id, request_id)["cost_micro_usd"] > 0


def test_anthropic_prompt_caching_is_priced_per_token_kind(chat_gateway: Gateway) -> None:
    project_id, key = chat_gateway.project(**KEYS)
    system: list[anthropic.types.TextBlockParam] = [
        {"type": "text", "text": "You are a careful assistant. " * 60, "cache_control": {"type": "ephemeral"}}
    ]
    with anthropic.Anthropic(base_url=chat_gateway.url, api_key=key, max_retries=0) as client:
        answers = [
            client.messages.with_raw_response.create(
                model=MODELS["anthropic"],
                max_tokens=100,
                system=system,
                messages=[{"role": "user", "content": q}],
            )
            for q in ("first question", "second question")
        ]
    written, read = (a.parse().usage for a in answers)
    assert written.cache_creation_input_tokens
    assert not written.cache_read_input_tokens
    assert read.cache_read_input_tokens
    for raw, usage in zip(answers, (written, read), strict=True):
        fresh = usage.input_tokens
        cost = expected_micro(
            "anthropic",
            {
                "prompt_tokens": fresh
                + (usage.cache_read_input_tokens or 0)
                + (usage.cache_creation_input_tokens or 0),
                "completion_tokens": usage.output_tokens,
                "prompt_tokens_details": {
                    "cached_tokens": usage.cache_read_input_tokens or 0,
                    "cache_write_tokens": usage.cache_creation_input_tokens or 0,
                },
            },
        )
        assert raw.headers["x-byokgate-cost-usd"] == usd(cost)
        record = logged(chat_gateway, project_id, raw.headers["x-byokgate-request-id"])
        assert record["cost_micro_usd"] == cost
        assert record["cached_tokens"] == (usage.cache_read_input_tokens or 0)


def test_embeddings_are_priced(chat_gateway: Gateway) -> None:
    _, key = chat_gateway.project(**KEYS)
    raw = chat_gateway.client(key).embeddings.with_raw_response.create(
        model="text-embedding-3-small", input="price me"
    )
    tokens = raw.parse().usage.prompt_tokens
    assert raw.headers["x-byokgate-cost-usd"] == usd(
        int((Decimal(tokens) * Decimal("0.02")).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    )


def test_a_cache_hit_costs_nothing_and_says_what_it_saved(chat_gateway: Gateway) -> None:
    project_id, key = chat_gateway.project(**KEYS)
    assert chat_gateway.admin.put(f"/projects/{project_id}/cache", json={"enabled": True}).status_code == 200
    _wait_for_snapshot(chat_gateway, key)
    client = chat_gateway.client(key)
    miss = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=ASK)
    hit = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=ASK)
    assert hit.headers["x-byokgate-cache"] == "HIT"
    assert hit.headers["x-byokgate-cost-usd"] == "0.000000"
    assert hit.headers["x-byokgate-cost-saved-usd"] == miss.headers["x-byokgate-cost-usd"]
    assert "x-byokgate-cost-saved-usd" not in miss.headers
    record = logged(chat_gateway, project_id, hit.headers["x-byokgate-request-id"])
    assert record["cost_micro_usd"] == 0
    assert usd(record["cost_saved_micro_usd"]) == miss.headers["x-byokgate-cost-usd"]


@pytest.fixture
def priced_gateway(
    settings: Settings, chat_upstreams: dict[str, EmulatorServer], tmp_path: Path
) -> Iterator[Gateway]:
    override = tmp_path / "prices.json"
    override.write_text(
        json.dumps(
            {
                "version": "negotiated",
                "models": {
                    "openai/gpt-4o": [{"effective": "2024-01-01", "input": 1, "output": 2}],
                    "groq/llama-3.3-70b-versatile": [{"effective": "2999-01-01", "input": 1, "output": 1}],
                },
            }
        )
    )
    yield from chat_gateway_for(settings, chat_upstreams, prices_file=override)


def test_an_override_file_sets_prices_and_an_unknown_price_gives_no_figure(priced_gateway: Gateway) -> None:
    project_id, key = priced_gateway.project(**KEYS)
    client = priced_gateway.client(key)
    negotiated = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=ASK)
    usage = negotiated.parse().usage
    assert usage is not None
    assert negotiated.headers["x-byokgate-cost-usd"] == usd(usage.prompt_tokens + 2 * usage.completion_tokens)
    unpriced = client.chat.completions.with_raw_response.create(model=MODELS["groq"], messages=ASK)
    assert unpriced.status_code == 200
    assert "x-byokgate-cost-usd" not in unpriced.headers  # never a made-up number
    assert (
        logged(priced_gateway, project_id, unpriced.headers["x-byokgate-request-id"])["cost_micro_usd"]
        is None
    )


def test_generations_give_the_figures_back_to_their_own_project_only(chat_gateway: Gateway) -> None:
    _, key = chat_gateway.project(**KEYS)
    _, other_key = chat_gateway.project("other", **KEYS)
    raw = chat_gateway.client(key).chat.completions.with_raw_response.create(model="gpt-4o", messages=ASK)
    request_id = raw.headers["x-byokgate-request-id"]

    def get(path: str, project_key: str) -> httpx.Response:
        return httpx.get(f"{chat_gateway.url}/v1/{path}", headers={"authorization": f"Bearer {project_key}"})

    found = get(f"generations/{request_id}", key)  # at once: possibly still queued for the writer
    assert found.status_code == 200
    body = found.json()
    usage = raw.parse().usage
    assert usage is not None
    assert body["id"] == request_id
    assert (body["object"], body["model"], body["provider"], body["lane"]) == (
        "generation",
        "gpt-4o",
        "openai",
        "byok",
    )
    assert body["usage"]["prompt_tokens"] == usage.prompt_tokens
    assert body["usage"]["completion_tokens"] == usage.completion_tokens
    assert body["cost_usd"] == raw.headers["x-byokgate-cost-usd"]
    assert body["charged_credits"] == "0.000000"
    time.sleep(1.5)  # the batch writer has stored it by now: the same answer from the request log
    assert get(f"generations/{request_id}", key).json() == body

    for path, project_key in (
        (f"generations/{request_id}", other_key),  # another project's request
        ("generations/req_0123456789abcdef0123456789abcdef", key),  # no such request
        ("generations/not-an-id", key),
    ):
        missing = get(path, project_key)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "generation_not_found"
    assert get(f"generations/{request_id}", "lgw_proj_" + "x" * 43).status_code == 401


def test_usage_reports_sum_the_request_log_as_json_and_csv(chat_gateway: Gateway) -> None:
    project_id, key = chat_gateway.project(**KEYS)
    client = chat_gateway.client(key)
    costs = []
    for model in ("gpt-4o", "gpt-4o", MODELS["groq"]):
        raw = client.chat.completions.with_raw_response.create(model=model, messages=ASK)
        costs.append((model, round(float(raw.headers["x-byokgate-cost-usd"]) * 1_000_000)))
    last = raw.headers["x-byokgate-request-id"]
    logged(chat_gateway, project_id, last)  # written by now
    path = f"/projects/{project_id}/usage"
    report = chat_gateway.admin.get(path, params={"group_by": "provider,model"}).json()
    assert report["object"] == "usage_report"
    assert report["group_by"] == ["provider", "model"]
    rows = {(r["provider"], r["model"]): r for r in report["data"]}
    assert rows[("openai", "gpt-4o")]["requests"] == 2
    assert rows[("openai", "gpt-4o")]["cost_micro_usd"] == sum(c for m, c in costs if m == "gpt-4o")
    assert rows[("groq", MODELS["groq"])]["cost_usd"] == usd(costs[2][1])
    csv_text = chat_gateway.admin.get(path, params={"group_by": "lane", "format": "csv"})
    assert csv_text.headers["content-type"].startswith("text/csv")
    header, line = csv_text.text.splitlines()
    assert header.split(",")[:3] == ["lane", "requests", "errors"]
    assert line.startswith("byok,3,0,")
    assert line.endswith(usd(sum(c for _, c in costs)) + ",0.000000,0.000000")  # BYOK: no credits charged
    for bad in (
        {"group_by": "colour"},
        {"group_by": "day,day"},
        {"start": "2026-02-01", "end": "2026-01-01"},
    ):
        refused = chat_gateway.admin.get(path, params=bad)
        assert refused.status_code == 400, bad
    assert chat_gateway.admin.get(path, params={"start": "yesterday"}).status_code == 422
