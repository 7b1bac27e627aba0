"""The request log through the admin API: every per-request fact recorded, filters, cursor pages, one
request's trace, streamed exports (CSV and JSON Lines) and each project's retention; on SQLite and
PostgreSQL."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any

import openai
import orjson
import pytest

from byokgate.settings import Settings
from tests.proxy.conftest import Gateway, gateway_for
from tests.proxy.test_end_to_end import OPENAI_KEY_A, USER, Upstreams, _settings
from tests.proxy.test_end_to_end import upstreams as upstreams  # the emulators, shared fixture

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
FORMULA = '=HYPERLINK("http://example.com/x","click")'  # a user agent a spreadsheet would run


@pytest.fixture
def gateway(settings: Settings, upstreams: Upstreams) -> Iterator[Gateway]:
    upstreams.reset()
    yield from gateway_for(_settings(settings, upstreams))


def logged(gateway: Gateway, project_id: str, count: int, **params: Any) -> list[dict[str, Any]]:
    """The project's records once ``count`` are stored (the writer stores them in the background)."""
    records: list[dict[str, Any]] = []
    for _ in range(200):
        response = gateway.admin.get(f"/projects/{project_id}/requests", params=params)
        assert response.status_code == 200, response.text
        records = response.json()["data"]
        if len(records) >= count:
            return records
        time.sleep(0.03)
    raise AssertionError(f"expected {count} records, found {len(records)}")


@pytest.fixture
def traffic(gateway: Gateway) -> tuple[str, str, list[str]]:
    """A project with a plain answer, a tagged stream, a missing model and a refused one (newest last)."""
    project_id, key = gateway.project(openai=OPENAI_KEY_A)
    client = gateway.client(key)
    ids = []
    plain = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=USER, extra_headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}
    )
    ids.append(plain.headers["x-byokgate-request-id"])
    stream = client.chat.completions.with_raw_response.create(
        model="gpt-4o",
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
        user="=cmd|' /C calc'!A0",  # what a spreadsheet would run, were it not neutralised
        metadata={"team": "search"},
        store=True,
    )
    list(stream.parse())
    ids.append(stream.headers["x-byokgate-request-id"])
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="claude-3-5-sonnet-20241022", messages=USER)
    ids.append(missing.value.response.headers["x-byokgate-request-id"])
    with pytest.raises(openai.BadRequestError) as odd:
        client.chat.completions.create(
            model="mistralai/mistral large", messages=USER, extra_headers={"user-agent": FORMULA}
        )
    ids.append(odd.value.response.headers["x-byokgate-request-id"])
    logged(gateway, project_id, 4)
    return project_id, key, ids


def test_every_fact_of_a_request_is_recorded(gateway: Gateway, traffic: tuple[str, str, list[str]]) -> None:
    project_id, _, (plain_id, stream_id, missing_id, _) = traffic
    records = {r["id"]: r for r in logged(gateway, project_id, 4)}
    plain, stream, missing = records[plain_id], records[stream_id], records[missing_id]
    assert plain["trace_id"] == TRACE
    assert plain["client_ip"] == "127.0.0.1"
    assert plain["user_agent"].startswith("OpenAI/Python")
    assert plain["routing_reason"] == "pinned"
    assert plain["overhead_ms"] >= 0
    assert plain["ttfb_ms"] > 0
    assert plain["ttft_ms"] is None  # not a stream
    assert plain["latency_ms"] >= plain["upstream_ms"] >= plain["ttfb_ms"]
    assert stream["ttft_ms"] > 0
    assert stream["tags"] == {"user": "=cmd|' /C calc'!A0", "metadata": {"team": "search"}}
    assert len(stream["trace_id"]) == 32
    assert stream["trace_id"] != TRACE
    assert (missing["status"], missing["error_type"], missing["error_code"]) == (
        404,
        "invalid_request_error",
        "model_not_found",
    )
    assert missing["requested_model"] == "claude-3-5-sonnet-20241022"  # what the client asked for
    assert missing["resolved_model"] is None  # nothing served it


def test_filters_and_cursor_pages(gateway: Gateway, traffic: tuple[str, str, list[str]]) -> None:
    project_id, _, (plain_id, stream_id, missing_id, odd_id) = traffic

    def ids(**params: Any) -> list[str]:
        return [r["id"] for r in logged(gateway, project_id, 0, **params)]

    assert ids(status="error") == [odd_id, missing_id]
    assert ids(status="4xx") == [odd_id, missing_id]
    assert ids(status="404") == [missing_id]
    assert ids(status="ok") == [stream_id, plain_id]
    assert ids(model="gpt-4o") == [stream_id]
    assert ids(model="gpt-4o-mini", provider="openai", lane="byok") == [plain_id]
    assert ids(error_type="model_not_found") == [missing_id]
    assert ids(user="=cmd|' /C calc'!A0") == [stream_id]
    assert ids(provider="groq") == []
    first = gateway.admin.get(f"/projects/{project_id}/requests", params={"limit": 3}).json()
    assert [r["id"] for r in first["data"]] == [odd_id, missing_id, stream_id]
    assert first["has_more"] is True
    rest = gateway.admin.get(
        f"/projects/{project_id}/requests", params={"limit": 3, "before": first["next_before"]}
    ).json()
    assert [r["id"] for r in rest["data"]] == [plain_id]
    assert rest["has_more"] is False
    for bad in ({"status": "teapot"}, {"start": "2026-12-01T00:00:00"}, {"before": "nope"}, {"lane": "x"}):
        refused = gateway.admin.get(f"/projects/{project_id}/requests", params=bad)
        assert refused.status_code in (400, 422), bad
        assert "error" in refused.json()


def test_one_requests_trace(gateway: Gateway, traffic: tuple[str, str, list[str]]) -> None:
    project_id, _, (plain_id, *_) = traffic
    trace = gateway.admin.get(f"/projects/{project_id}/requests/{plain_id}").json()
    assert trace["request"]["id"] == plain_id
    assert trace["timeline"][0]["provider"] == "openai"
    assert [u["action"] for u in trace["key_uses"]] == ["provider_key.use"]
    assert trace["key_uses"][0]["outcome"] == "ok"
    other, _ = gateway.project("other", openai=OPENAI_KEY_A)
    hidden = gateway.admin.get(f"/projects/{other}/requests/{plain_id}")
    assert hidden.status_code == 404  # another project's request is not found through this one
    assert gateway.admin.get(f"/projects/{project_id}/requests/req_missing").status_code == 404


def test_exports_stream_every_match_as_csv_and_json_lines(
    gateway: Gateway, traffic: tuple[str, str, list[str]]
) -> None:
    project_id, _, ids = traffic
    lines = gateway.admin.get(f"/projects/{project_id}/requests/export", params={"format": "jsonl"})
    assert lines.headers["content-type"] == "application/x-ndjson"
    assert lines.headers["content-disposition"].endswith('.jsonl"')
    rows = [orjson.loads(line) for line in lines.content.splitlines()]
    assert [row["id"] for row in rows] == list(reversed(ids))
    errors = gateway.admin.get(
        f"/projects/{project_id}/requests/export", params={"format": "csv", "status": "error"}
    )
    assert errors.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(errors.text)))
    assert [row["id"] for row in table] == [ids[3], ids[2]]
    everything = list(
        csv.DictReader(
            io.StringIO(gateway.admin.get(f"/projects/{project_id}/requests/export?format=csv").text)
        )
    )
    tagged = next(row for row in everything if row["id"] == ids[1])
    assert orjson.loads(tagged["tags"].removeprefix("'"))["metadata"] == {"team": "search"}
    odd = next(row for row in everything if row["id"] == ids[3])
    assert odd["user_agent"] == f"'{FORMULA}"  # kept, but never a formula
    assert not any(cell.startswith(("=", "+", "@")) for row in everything for cell in row.values())
    audit = gateway.admin.get(f"/projects/{project_id}/audit/export", params={"action": "provider_key.use"})
    events = [orjson.loads(line) for line in audit.content.splitlines()]
    assert {event["request_id"] for event in events} == {ids[0], ids[1]}
    assert gateway.admin.get("/projects/proj_nope/requests/export").status_code == 404


def test_retention_is_set_per_project(gateway: Gateway) -> None:
    project_id, _ = gateway.project()
    shown = gateway.admin.get(f"/projects/{project_id}/log-retention").json()
    assert (shown["days"], shown["effective_days"]) == (None, 30)
    changed = gateway.admin.put(f"/projects/{project_id}/log-retention", json={"days": 7}).json()
    assert (changed["days"], changed["effective_days"]) == (7, 7)
    assert gateway.admin.put(f"/projects/{project_id}/log-retention", json={"days": 0}).status_code in (
        400,
        422,
    )
    events = gateway.admin.get(f"/projects/{project_id}/audit", params={"action": "project.log_retention"})
    assert events.json()["data"][0]["detail"] == {"days": 7}


def test_audit_trail_filters_pages_and_exports(gateway: Gateway, traffic: tuple[str, str, list[str]]) -> None:
    project_id, _, ids = traffic
    answered = next(r for r in logged(gateway, project_id, 4) if r["id"] == ids[0])
    key_id, credential_id = answered["api_key_id"], answered["credential_id"]
    url = f"/projects/{project_id}/audit"

    def events(**params: Any) -> list[dict[str, Any]]:
        response = gateway.admin.get(url, params=params)
        assert response.status_code == 200, response.text
        listed: list[dict[str, Any]] = response.json()["data"]
        exported = gateway.admin.get(f"{url}/export", params=params)
        exported_ids = [orjson.loads(line)["id"] for line in exported.content.splitlines()]
        assert exported_ids == [event["id"] for event in listed]  # the same filters
        return listed

    uses = events(action="provider_key.use")
    assert sorted(e["request_id"] for e in uses) == sorted(ids[:2])
    assert [e["request_id"] for e in events(action="provider_key.use", request_id=ids[1])] == [ids[1]]
    assert len(events(action="provider_key.use", provider="openai", outcome="ok")) == 2
    assert events(action="provider_key.use", outcome="error") == []
    assert {e["action"] for e in events(api_key=key_id)} == {"project.create", "provider_key.use"}
    by_credential = {e["action"] for e in events(provider_key=credential_id)}
    assert {"provider_key.set", "provider_key.use"} <= by_credential
    admin = events(actor="admin-api")
    assert admin
    assert all(e["actor"] == "admin-api" for e in admin)
    assert events(start="2999-01-01T00:00:00Z") == []
    assert len(events(end="2999-01-01T00:00:00Z")) == len(events())
    first = gateway.admin.get(url, params={"limit": 1, "action": "provider_key.use"}).json()
    second = gateway.admin.get(
        url, params={"limit": 1, "action": "provider_key.use", "before": first["next_before"]}
    ).json()
    assert [first["data"][0]["request_id"], second["data"][0]["request_id"]] == [ids[1], ids[0]]
    naive = gateway.admin.get(url, params={"start": "2026-12-01T00:00:00"})
    assert naive.status_code == 400
    assert naive.json()["error"]["param"] == "start"
