"""The trace a request belongs to: the client's valid ``traceparent``, else a new random trace id."""

from __future__ import annotations

import os
import re

import pytest

from byokgate.domain.ids import random_hex
from byokgate.telemetry.tracing import incoming, traceparent

HEX32 = re.compile(r"[0-9a-f]{32}")
VALID = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_a_valid_traceparent_is_kept() -> None:
    context = incoming(VALID)
    assert (context.trace_id, context.parent_id, context.flags) == (
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
        "01",
    )


@pytest.mark.parametrize(
    "header",
    [
        None,
        b"",
        b"garbage",
        b"ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # version ff is invalid
        b"00-00000000000000000000000000000000-b7ad6b7169203331-01",  # all-zero trace id
        b"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # all-zero parent
        b"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",  # upper case
    ],
)
def test_otherwise_a_new_trace_is_started(header: bytes | None) -> None:
    ids = {incoming(header).trace_id for _ in range(1000)}
    assert len(ids) == 1000
    assert all(HEX32.fullmatch(i) for i in ids)
    assert incoming(header).parent_id is None


def test_random_ids_are_never_zero_and_differ_in_a_forked_child() -> None:
    assert all(int(random_hex(2), 16) for _ in range(2000))  # 8 bits: zero would come up ~8 times
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what it draws next must not be what the parent draws next
        os.write(write, random_hex(32).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 64).decode() != random_hex(32)
    os.close(read)
    os.close(write)


def test_an_upstream_traceparent_has_a_new_span_id_when_none_is_recorded() -> None:
    first, second = traceparent("0af7651916cd43dd8448eb211c80319c", None), traceparent("0" * 31 + "1", None)
    assert re.fullmatch(r"00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01", first)
    assert first.split("-")[2] != second.split("-")[2]
