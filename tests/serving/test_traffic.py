"""Ordinary traffic is untouched by the front-door protocol: keep-alive reuse, pipelining, a large but
allowed head, streamed responses, large bodies (sized and chunked), and a real HTTP client's pool."""

from __future__ import annotations

import httpx

from byokgate.serving import DEFAULT_LIMITS
from tests.serving.support import ServerProcess, exchange, parse_responses, read_until_closed, request


def test_a_kept_alive_connection_serves_request_after_request(front_door: ServerProcess) -> None:
    with front_door.connect() as sock:
        for index in range(5):
            sock.sendall(request("POST", f"/{index}", body=b"x" * index))
            data = b""
            while not (responses := parse_responses(data)) or not responses[-1].body:
                data += sock.recv(65536)
            [served] = responses
            assert (served.json()["path"], served.json()["body"]) == (f"/{index}", index)


def test_pipelined_requests_are_answered_in_order(front_door: ServerProcess) -> None:
    pipelined = b"".join(
        request("POST", f"/{index}", body=b"b" * index) if index % 2 else request("GET", f"/{index}")
        for index in range(10)
    )
    responses = exchange(front_door, pipelined + request("GET", "/last", close=True))
    assert [r.status for r in responses] == [200] * 11
    assert [r.json()["path"] for r in responses] == [f"/{index}" for index in range(10)] + ["/last"]
    assert [r.json()["body"] for r in responses[:10]] == [index if index % 2 else 0 for index in range(10)]


def test_a_large_head_within_the_limits_is_served_whole(front_door: ServerProcess) -> None:
    count = DEFAULT_LIMITS.max_header_count - 2
    value = "v" * ((DEFAULT_LIMITS.max_header_bytes - 4300) // count - len("x-field-000: \r\n"))
    fields = [(f"x-field-{index:03}", value) for index in range(count)]
    sent = request("GET", "/" + "p" * 4000, headers=fields, close=True)
    assert DEFAULT_LIMITS.max_header_bytes - 1000 < len(sent) <= DEFAULT_LIMITS.max_header_bytes
    [served] = exchange(front_door, sent)
    assert served.status == 200
    assert served.json()["headers"] == count + 2
    assert served.json()["header_bytes"] == sum(len(n) + len(v) for n, v in fields) + len(
        "host127.0.0.1"
    ) + len("connectionclose")


def test_a_streamed_response_arrives_chunk_by_chunk(front_door: ServerProcess) -> None:
    [streamed] = exchange(front_door, request("GET", "/stream?n=20", close=True))
    assert streamed.status == 200
    assert streamed.chunked
    assert streamed.body == b"".join(b"chunk %d\n" % index for index in range(20))
    with httpx.stream("GET", f"http://127.0.0.1:{front_door.port}/stream?n=5") as response:
        assert list(response.iter_lines()) == [f"chunk {index}" for index in range(5)]


def test_large_sized_and_chunked_bodies_arrive_whole(front_door: ServerProcess) -> None:
    body = bytes(range(256)) * 8192  # 2 MiB, fed to the parser in pieces
    [sized] = exchange(front_door, request("POST", "/sized", body=body, close=True))
    assert sized.json()["body"] == len(body)
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 5000]), body[i : i + 5000]) for i in range(0, len(body), 5000)
    )
    head = b"POST /chunked HTTP/1.1\r\nhost: 127.0.0.1\r\ntransfer-encoding: chunked\r\n"
    head += b"connection: close\r\n\r\n"
    [chunked] = exchange(front_door, head + chunks + b"0\r\n\r\n")
    assert chunked.json()["body"] == len(body)


def test_a_client_pool_reuses_its_connections(front_door: ServerProcess) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{front_door.port}") as client:
        for index in range(50):
            response = client.post(f"/{index}", content=b"z" * 1000, headers={"x-request": str(index)})
            assert response.json()["body"] == 1000
            assert response.headers.get("connection") != "close"


def test_a_client_that_half_closes_after_its_request_still_gets_its_answer(front_door: ServerProcess) -> None:
    with front_door.connect() as sock:
        sock.sendall(request("GET", "/half-closed"))
        sock.shutdown(1)  # SHUT_WR
        data, _ = read_until_closed(sock, 3)
    [served] = parse_responses(data)
    assert served.json()["path"] == "/half-closed"
