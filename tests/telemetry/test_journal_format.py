"""The journal's lines: values by position under a header naming the fields, read back equal; segments
from another version (fields reordered, added or removed) and from before the header (by name) still read."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from byokgate.domain.entities import CreditEntry, NewAuditEvent, RequestBody, RequestRecord
from byokgate.telemetry.journal import HEADER, Entries, Journal, encode, encode_used

NOW = datetime(2026, 12, 7, 17, 0, 0, 123456, tzinfo=UTC)
RECORD = RequestRecord(
    id="req_1",
    created_at=NOW,
    project_id="proj_1",
    api_key_id="key_1",
    endpoint="chat/completions",
    lane="byok",
    provider="openai",
    credential_id="cred_1",
    requested_model="gpt-4o",
    resolved_model="gpt-4o",
    stream=True,
    status=200,
    error_code=None,
    latency_ms=12.625,
    upstream_ms=10.5,
    prompt_tokens=3,
    cost_micro_usd=2**40,
    attempts=[{"provider": "openai", "status": 429}, {"provider": "groq", "status": 200}],
    tags={"user": "ünïcode \u2028", "metadata": {"k": [1, None, True]}},
    client_ip="::1",
)
ENTRIES: list[Any] = [
    RECORD,
    dataclasses.replace(RECORD, id="req_2", created_at=NOW.replace(microsecond=0), attempts=None, tags=None),
    NewAuditEvent(
        "api_key:key_1",
        "provider_key.use",
        "proj_1",
        "openai",
        "cred_1",
        "key_1",
        "req_1",
        "ok",
        {"status": 200},
        NOW,
    ),
    NewAuditEvent("admin", "project.create", at=None),
    CreditEntry("proj_1", "charge", -42, NOW, request_id="req_1"),
    RequestBody("req_1", NOW, "proj_1", '{"model":"gpt-4o"}', '{"id":"x"}', truncated=True),
]


def expected() -> Entries:
    entries = Entries()
    for entry in ENTRIES:
        queues: dict[type, list[Any]] = {
            RequestRecord: entries.records,
            NewAuditEvent: entries.events,
            CreditEntry: entries.credits,
            RequestBody: entries.bodies,
        }
        queues[type(entry)].append(entry)
    entries.key_used("key_1", NOW)
    return entries


def read_back(directory: Path) -> Entries:
    ((_, entries),) = list(Journal(directory).leftovers())
    return entries


def test_every_kind_reads_back_equal(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.open()
    for entry in ENTRIES:
        journal.append(encode(entry))
    journal.append(encode_used("key_1", NOW))
    journal.commit()
    assert journal.seal(release=True) is not None
    assert read_back(tmp_path) == expected()
    journal.close()


def write_segment(directory: Path, lines: list[bytes]) -> None:
    directory.mkdir(exist_ok=True)
    (directory / "00000000000000000001-1-000001.journal").write_bytes(b"".join(lines))


def line(tag: str, body: object) -> bytes:
    return orjson.dumps((tag, body), option=orjson.OPT_NAIVE_UTC | orjson.OPT_APPEND_NEWLINE)


TAGS = {RequestRecord: "r", NewAuditEvent: "a", CreditEntry: "c", RequestBody: "b"}


def by_name(entry: Any) -> dict[str, Any]:
    return {f.name: getattr(entry, f.name) for f in dataclasses.fields(entry)}


def test_a_segment_from_before_the_header_is_read_by_name(tmp_path: Path) -> None:
    lines = [line(TAGS[type(entry)], by_name(entry)) for entry in ENTRIES]
    write_segment(tmp_path, [*lines, line("u", ["key_1", NOW])])
    assert read_back(tmp_path) == expected()


@pytest.mark.parametrize("change", ["reordered", "a field more", "a field fewer"])
def test_a_segment_from_another_version_is_read_by_its_header(tmp_path: Path, change: str) -> None:
    """Its header names the fields its lines give: reordered, one this version does not know (ignored), or
    without one this version added since (its default)."""
    fields: dict[str, list[str]] = {}
    lines = []
    for entry in ENTRIES:
        tag = TAGS[type(entry)]
        values = by_name(entry)
        if isinstance(entry, RequestRecord):
            if change == "a field more":
                values["from_the_future"] = 1
            elif change == "a field fewer":
                del values["tags"]
        names = list(values)[::-1] if change == "reordered" else list(values)
        fields[tag] = names
        lines.append(line(tag, [values[name] for name in names]))
    write_segment(tmp_path, [line("h", fields), *lines, line("u", ["key_1", NOW])])
    entries = expected()
    if change == "a field fewer":
        entries.records = [dataclasses.replace(r, tags=None) for r in entries.records]
    assert read_back(tmp_path) == entries


def test_a_record_line_gives_values_by_position() -> None:
    """Less than half the bytes of the same record with its field names (what every request writes)."""
    positional, named = encode(RECORD), line("r", by_name(RECORD))
    assert orjson.loads(positional)[1][:2] == ["req_1", "2026-12-07T17:00:00.123456+00:00"]
    assert len(positional) < len(named) / 2
    tag, fields = orjson.loads(HEADER)
    assert tag == "h"
    assert fields["r"] == [f.name for f in dataclasses.fields(RequestRecord)]


def test_an_empty_segment_stays_empty(tmp_path: Path) -> None:
    """The header goes with a segment's first lines: a segment nothing was written to has no bytes."""
    journal = Journal(tmp_path)
    journal.open()
    journal.commit()
    assert journal.seal(release=True) is None
    assert [p.stat().st_size for p in tmp_path.glob("*.journal")] == [0]
    journal.close()
