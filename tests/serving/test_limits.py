"""Each front-door limit, on a real server in a subprocess over raw sockets: its status, its JSON error, and
the connection closed after it."""

from __future__ import annotations

import socket
import time

import pytest

from byokgate.serving import DEFAULT_LIMITS
from tests.serving.support import (
    MARGIN_S,
    ServerProcess,
    assert_refusal,
    exchange,
    parse_responses,
    read_until_closed,
    request,
)

HEAD_LIMIT = DEFAULT_LIMITS.max_header_bytes
START = b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\nx-pad: "


def head_of(size: int) -> bytes:
    """A whole request head of exactly ``size`` bytes (request line, fields and the blank line)."""
    return START + b"a" * (size - len(START) - 4) + b"\r\n\r\n"


def trickle_until_closed(sock: socket.socket, timeout_s: float) -> tuple[bytes, bool]:
    """Send a header line every 0.2 s, as a slowloris client does, until the server closes or time is up."""
    deadline = time.monotonic() + timeout_s
    data = b""
    while time.monotonic() < deadline:
        try:
            sock.sendall(b"x-slow: 1\r\n")
        except OSError:
            return data + read_until_closed(sock, 1)[0], True
        chunk, closed = read_until_closed(sock, 0.2)
        data += chunk
        if closed:
            return data, True
    return data, False


def test_a_head_of_exactly_the_limit_is_served_and_one_byte_more_is_431(front_door: ServerProcess) -> None:
    [served] = exchange(front_door, head_of(HEAD_LIMIT))
    assert served.status == 200
    assert served.json()["header_bytes"] > HEAD_LIMIT - 200
    [refused] = exchange(front_door, head_of(HEAD_LIMIT + 1))
    assert_refusal(refused, 431, "request_header_fields_too_large")


def test_431_comes_as_soon_as_the_limit_is_crossed_without_waiting_for_the_head_to_end(
    front_door: ServerProcess,
) -> None:
    unfinished = START + b"a" * (HEAD_LIMIT + 1 - len(START))
    [refused] = exchange(front_door, unfinished, timeout_s=MARGIN_S)
    assert_refusal(refused, 431, "request_header_fields_too_large")


def test_more_header_fields_than_allowed_is_431(front_door: ServerProcess) -> None:
    count = DEFAULT_LIMITS.max_header_count
    fields = [(f"x-field-{index}", "v") for index in range(count - 2)]  # host and connection make up the rest
    [served] = exchange(front_door, request("GET", "/", headers=fields, close=True))
    assert served.status == 200
    assert served.json()["headers"] == count
    [refused] = exchange(front_door, request("GET", "/", headers=[*fields, ("x-one-more", "v")], close=True))
    assert_refusal(refused, 431, "request_header_fields_too_large")


def test_a_request_target_longer_than_allowed_is_414(front_door: ServerProcess) -> None:
    longest = "/" + "a" * (DEFAULT_LIMITS.max_url_bytes - 1)
    [served] = exchange(front_door, request("GET", longest, close=True))
    assert served.status == 200
    [refused] = exchange(front_door, request("GET", longest + "a", close=True))
    assert_refusal(refused, 414, "uri_too_long")


def test_414_comes_as_soon_as_the_target_is_too_long_without_waiting_for_the_head_to_end(
    front_door: ServerProcess,
) -> None:
    unfinished = b"GET /" + b"a" * DEFAULT_LIMITS.max_url_bytes
    [refused] = exchange(front_door, unfinished, timeout_s=MARGIN_S)
    assert_refusal(refused, 414, "uri_too_long")


def test_a_slowloris_head_gets_408_and_the_connection_closes_at_the_header_timeout(
    front_door: ServerProcess,
) -> None:
    with front_door.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n")
        data, closed = trickle_until_closed(sock, 1 + MARGIN_S)
    assert closed
    [refused] = parse_responses(data)
    assert_refusal(refused, 408, "request_timeout")
    assert "head" in str(refused.json()["error"])


def test_the_header_timeout_runs_from_the_previous_response_on_a_kept_alive_connection(
    front_door: ServerProcess,
) -> None:
    with front_door.connect() as sock:
        sock.sendall(request("GET", "/first"))
        time.sleep(0.5)
        sock.sendall(b"GET /second HTTP/1.1\r\nhost: 127.0.0.1\r\n")
        data, closed = read_until_closed(sock, 1 + MARGIN_S)
    assert closed
    first, refused = parse_responses(data)
    assert first.status == 200
    assert_refusal(refused, 408, "request_timeout")


def test_a_connection_that_sends_nothing_is_closed_quietly_at_the_header_timeout(
    front_door: ServerProcess,
) -> None:
    with front_door.connect() as sock:
        assert read_until_closed(sock, 1 + MARGIN_S) == (b"", True)


def test_an_idle_kept_alive_connection_is_closed_at_the_keep_alive_timeout(front_door: ServerProcess) -> None:
    with front_door.connect() as sock:
        sock.sendall(request("GET", "/"))
        data, closed = read_until_closed(sock, 1 + MARGIN_S)
    assert closed
    [served] = parse_responses(data)
    assert served.status == 200
    assert "connection" not in served.headers


def test_a_slow_body_gets_408_and_the_connection_closes_at_the_body_timeout(
    front_door: ServerProcess,
) -> None:
    with front_door.connect() as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 100\r\n\r\n0123456789")
        data, closed = read_until_closed(sock, 1 + MARGIN_S)
    assert closed
    [refused] = parse_responses(data)
    assert_refusal(refused, 408, "request_timeout")
    assert "body" in str(refused.json()["error"])


FIELD_LIMIT = DEFAULT_LIMITS.max_header_count
TOO_MANY_FIELDS = request("GET", "/", headers=[(f"x-{i}", "v") for i in range(FIELD_LIMIT)])  # + host


@pytest.mark.parametrize("refused_head", [head_of(HEAD_LIMIT + 1), TOO_MANY_FIELDS], ids=["bytes", "fields"])
def test_a_pipelined_refused_head_is_answered_after_the_responses_owed_before_it(
    front_door: ServerProcess, refused_head: bytes
) -> None:
    pipelined = (
        request("GET", "/slow?s=0.3")  # still in progress when the head is refused
        + request("POST", "/sized", body=b"abc")
        + refused_head
        + request("GET", "/never", close=True)
    )
    slow, sized, refused = exchange(front_door, pipelined)
    assert (slow.status, slow.json()["path"]) == (200, "/slow")
    assert (sized.status, sized.json()["body"]) == (200, 3)
    assert_refusal(refused, 431, "request_header_fields_too_large")


def test_a_pipelined_oversized_head_after_a_chunked_body_is_refused(front_door: ServerProcess) -> None:
    chunked = b"POST /chunked HTTP/1.1\r\nhost: 127.0.0.1\r\ntransfer-encoding: chunked\r\n\r\n"
    chunked += b"3\r\nabc\r\n0\r\n\r\n"
    served, refused = exchange(front_door, chunked + head_of(HEAD_LIMIT + 5000))
    assert (served.status, served.json()["body"]) == (200, 3)
    assert_refusal(refused, 431, "request_header_fields_too_large")


def test_a_malformed_request_is_400_in_the_same_shape(front_door: ServerProcess) -> None:
    [refused] = exchange(front_door, b"NOT HTTP AT ALL\r\n\r\n")
    assert_refusal(refused, 400, "invalid_http_request")


def test_a_pipelined_head_begun_in_a_read_fed_at_once_is_still_held_to_a_bounded_limit(
    front_door: ServerProcess,
) -> None:
    """A small read holding a whole request and the start of the next one is fed to the parser in one call;
    the next head, which began there, is counted from its next read: refused before two limits' worth."""
    served = request("POST", "/echo", body=b"{}")
    begun = START + b"a" * 100
    with front_door.connect() as sock:
        sock.sendall(served + begun)
        time.sleep(0.2)  # the next bytes come in a read of their own
        try:
            for _ in range(2 * HEAD_LIMIT // 4096 + 2):
                sock.sendall(b"a" * 4096)
        except OSError:
            pass  # refused and closed while sending: what this test expects
        data, closed = read_until_closed(sock, 10)
    assert closed
    first, refused = parse_responses(data)
    assert first.status == 200
    assert_refusal(refused, 431, "request_header_fields_too_large")
