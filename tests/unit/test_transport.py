"""The upstream HTTP client against real loopback servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
import datetime
import gc
import ipaddress
import ssl
import subprocess
import sys
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from byokgate.domain.upstream import UpstreamRequest
from byokgate.transport import (
    Transport,
    UpstreamCutoffError,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[bytes] = []
        self.closed_by_peer = asyncio.Event()


async def read_request(reader: asyncio.StreamReader, server: Server) -> bytes | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        server.closed_by_peer.set()
        return None
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    server.requests.append(head + body)
    return head + body


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), extra, body)


@asynccontextmanager
async def serve(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter, Server], Awaitable[None]],
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[tuple[str, Server]]:
    state = Server()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        try:
            await handler(reader, writer, state)
        except (ConnectionError, asyncio.IncompleteReadError):
            state.closed_by_peer.set()
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=ssl_context)
    port = server.sockets[0].getsockname()[1]
    scheme = "https" if ssl_context else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}", state
    finally:
        server.close()


async def keep_alive_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
    while await read_request(reader, state) is not None:
        writer.write(ok(b'{"n": %d}' % len(state.requests)))
        await writer.drain()


def post(url: str, body: bytes = b"{}", headers: dict[str, str] | None = None) -> UpstreamRequest:
    return UpstreamRequest("POST", url, {"content-type": "application/json", **(headers or {})}, body)


async def test_keeps_connections_alive_and_sends_a_well_formed_request() -> None:
    async with serve(keep_alive_echo) as (base, state), Transport(timeout_s=5) as transport:
        for n in (1, 2, 3):
            response = await transport.send(
                post(f"{base}/v1/chat?x=1", b'{"a": 1}', {"authorization": "Bearer k"})
            )
            assert (response.status, response.body) == (200, b'{"n": %d}' % n)
        assert state.connections == 1
        head = state.requests[0]
        assert head.startswith(b"POST /v1/chat?x=1 HTTP/1.1\r\n")
        assert b"\r\nauthorization: Bearer k\r\n" in head
        assert b"\r\ncontent-length: 8\r\n" in head
        assert b"\r\naccept-encoding: identity\r\n" in head
        assert head.endswith(b'\r\n\r\n{"a": 1}')


async def test_a_finished_exchange_is_freed_without_the_cyclic_collector() -> None:
    """The response parser holds the exchange's callbacks; that cycle is broken when the response is over,
    so a request leaves no garbage for the collector (it was ~20 objects a request, ~5% of the CPU)."""
    async with serve(keep_alive_echo) as (base, _), Transport(timeout_s=5) as transport:
        gc.collect()
        gc.disable()
        try:
            refs = []
            for _ in range(3):
                async with transport.open(post(base)) as response:
                    refs.append(weakref.ref(response._exchange))
                    assert await response.read() is not None
                del response
            assert [ref() for ref in refs] == [None, None, None]
        finally:
            gc.enable()


async def test_streams_a_chunked_body_as_it_arrives() -> None:
    release = asyncio.Event()

    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
        await read_request(reader, state)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-request-id: abc\r\n\r\n")
        writer.write(b"6\r\nfirst \r\n")
        await writer.drain()
        await release.wait()
        writer.write(b"6\r\nsecond\r\n0\r\n\r\n")
        await writer.drain()
        await read_request(reader, state)  # the connection stays usable

    async with (
        serve(chunked) as (base, _),
        Transport(timeout_s=5) as transport,
        transport.open(post(base)) as response,
    ):
        assert response.status == 200
        assert response.headers.get("X-Request-Id") == "abc"
        chunks = response.chunks()
        assert await anext(chunks) == b"first "  # before the server sent the rest
        release.set()
        assert b"".join([chunk async for chunk in chunks]) == b"second"


async def test_reads_a_body_that_ends_with_the_connection() -> None:
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
        await read_request(reader, state)
        writer.write(b"HTTP/1.1 200 OK\r\n\r\npart one, ")
        await writer.drain()
        writer.write(b"part two")
        await writer.drain()

    async with serve(until_close) as (base, state), Transport(timeout_s=5) as transport:
        assert (await transport.send(post(base))).body == b"part one, part two"
        assert (await transport.send(post(base))).body == b"part one, part two"
        assert state.connections == 2  # such a connection is never reused


async def test_a_reused_connection_closed_without_an_answer_is_retried_on_a_new_one() -> None:
    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
        await read_request(reader, state)
        writer.write(ok(b"answered"))
        await writer.drain()
        await read_request(reader, state)  # the next request on this connection: close without a byte

    async with serve(answer_once) as (base, state), Transport(timeout_s=5) as transport:
        assert (await transport.send(post(base))).body == b"answered"
        assert (await transport.send(post(base))).body == b"answered"
        assert state.connections == 2
        assert len(state.requests) == 3  # the unanswered one, then its retry


async def test_a_reused_connection_silent_for_a_while_then_closed_is_not_resent() -> None:
    async def answer_then_stall(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server
    ) -> None:
        await read_request(reader, state)
        writer.write(ok(b"answered"))
        await writer.drain()
        await read_request(reader, state)
        await asyncio.sleep(1.3)  # a provider silent on the request, then hanging up: not a stale connection

    async with serve(answer_then_stall) as (base, state), Transport(timeout_s=5) as transport:
        assert (await transport.send(post(base))).body == b"answered"
        with pytest.raises(UpstreamUnreachableError, match="closed the connection without answering"):
            await transport.send(post(base))
        assert len(state.requests) == 2  # not sent again


async def test_a_fresh_connection_closed_without_an_answer_is_an_error_not_a_retry() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
        await read_request(reader, state)

    async with serve(hang_up) as (base, state), Transport(timeout_s=5) as transport:
        with pytest.raises(UpstreamUnreachableError, match="closed the connection without answering"):
            await transport.send(post(base))
        assert state.connections == 1


async def test_a_connection_closed_mid_body_is_an_error() -> None:
    async def truncated(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
        await read_request(reader, state)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this")
        await writer.drain()

    async with serve(truncated) as (base, _), Transport(timeout_s=5) as transport:
        with pytest.raises(UpstreamUnreachableError, match="mid-response"):
            await transport.send(post(base))


async def test_times_out_waiting_for_the_first_byte_and_for_the_next() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
        await read_request(reader, state)
        if len(state.requests) == 2:
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")
            await writer.drain()
        await asyncio.sleep(5)

    async with serve(silent) as (base, _), Transport(timeout_s=0.2) as transport:
        with pytest.raises(UpstreamTimeoutError, match="a response"):
            await transport.send(post(base))
        async with transport.open(post(base)) as response:
            chunks = response.chunks()
            assert await anext(chunks) == b"abc"
            with pytest.raises(UpstreamTimeoutError, match="next byte"):
                await anext(chunks)


async def test_a_cutoff_bounds_the_wait_until_lifted_and_a_deadline_ends_the_exchange() -> None:
    async def slow_start(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
        await read_request(reader, state)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")
        await writer.drain()
        await asyncio.sleep(0.5)
        writer.write(b"3\r\ndef\r\n0\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(5)

    loop = asyncio.get_running_loop()
    async with serve(slow_start) as (base, _), Transport(timeout_s=5) as transport:
        async with transport.open(post(base), cutoff=loop.time() + 0.2) as response:
            chunks = response.chunks()
            assert await anext(chunks) == b"abc"
            with pytest.raises(UpstreamCutoffError):  # still waiting for "the first token" past the cutoff
                await anext(chunks)
        async with transport.open(post(base), cutoff=loop.time() + 0.2) as response:
            response.lift_cutoff()  # it came: the read timeout alone bounds the waits from now on
            assert b"".join([chunk async for chunk in response.chunks()]) == b"abcdef"
        with pytest.raises(UpstreamTimeoutError, match="total time"):
            async with transport.open(post(base), deadline=loop.time() + 0.2) as response:
                await response.read()


async def test_a_total_timeout_bounds_a_trickling_stream() -> None:
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
        await read_request(reader, state)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        while True:  # each byte well within the read timeout, the whole far beyond the total
            writer.write(b"1\r\n.\r\n")
            await writer.drain()
            await asyncio.sleep(0.05)

    async with serve(trickle) as (base, _), Transport(timeout_s=5, total_timeout_s=0.4) as transport:
        started = asyncio.get_running_loop().time()
        with pytest.raises(UpstreamTimeoutError, match="total time"):
            await transport.send(post(base))
        assert asyncio.get_running_loop().time() - started < 3


async def test_connect_failures_name_the_host_only() -> None:
    async with Transport(timeout_s=2) as transport:
        with pytest.raises(UpstreamUnreachableError, match=r"could not reach 127\.0\.0\.1"):
            await transport.send(post("http://127.0.0.1:9/v1"))  # the discard port: refused


async def test_leaving_a_response_unread_closes_its_connection() -> None:
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
        await read_request(reader, state)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        while True:
            writer.write(b"5\r\nchunk\r\n")
            await writer.drain()
            await asyncio.sleep(0.01)

    async with serve(endless) as (base, state), Transport(timeout_s=5) as transport:
        async with transport.open(post(base)) as response:
            assert await anext(response.chunks()) == b"chunk"
        # The upstream sees the connection go away: that is how a cancelled request is cancelled.
        await asyncio.wait_for(state.closed_by_peer.wait(), timeout=5)


async def test_connection_close_responses_are_not_pooled() -> None:
    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
        await read_request(reader, state)
        writer.write(ok(b"bye", b"connection: close\r\n"))
        await writer.drain()
        await read_request(reader, state)

    async with serve(closing) as (base, state), Transport(timeout_s=5) as transport:
        await transport.send(post(base))
        await transport.send(post(base))
        assert state.connections == 2


async def test_a_large_body_arrives_whole_through_flow_control() -> None:
    payload = bytes(range(256)) * 40_000  # ~10 MB, far above the read high-water mark

    async def big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
        await read_request(reader, state)
        writer.write(ok(payload))
        await writer.drain()
        await read_request(reader, state)

    async with serve(big) as (base, _), Transport(timeout_s=5) as transport:
        async with transport.open(post(base)) as response:
            received = bytearray()
            async for chunk in response.chunks():
                received += chunk
                await asyncio.sleep(0)  # a slow reader
        assert bytes(received) == payload


async def test_unparseable_responses_and_unsafe_headers_are_errors() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
        await read_request(reader, state)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()

    async with serve(garbage) as (base, _), Transport(timeout_s=5) as transport:
        with pytest.raises(UpstreamUnreachableError, match="unparseable"):
            await transport.send(post(base))
        with pytest.raises(UpstreamUnreachableError) as raised:
            await transport.send(post(base, headers={"authorization": "Bearer sk-secret\r\nx-evil: 1"}))
        assert "sk-secret" not in str(raised.value)
        with pytest.raises(UpstreamUnreachableError, match="scheme"):
            await transport.send(post("ftp://example.com/x"))


async def test_speaks_tls(tmp_path: Path) -> None:
    cert_file, key_file = _self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    client_context = ssl.create_default_context(cafile=str(cert_file))

    async with (
        serve(keep_alive_echo, ssl_context=server_context) as (base, state),
        Transport(timeout_s=5, ssl_context=client_context) as transport,
    ):
        assert base.startswith("https://")
        assert (await transport.send(post(base))).body == b'{"n": 1}'
        assert (await transport.send(post(base))).body == b'{"n": 2}'
        assert state.connections == 1
    async with (
        serve(keep_alive_echo, ssl_context=server_context) as (base, _),
        Transport(timeout_s=5) as untrusting,  # the system trust store does not know this certificate
    ):
        with pytest.raises(UpstreamUnreachableError, match="could not reach"):
            await untrusting.send(post(base))


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


_KEEP_BODIES = """
import asyncio, sys
import orjson
from byokgate.domain.upstream import UpstreamRequest
from byokgate.transport import Transport

BODY = b'{"content": "%s"}' % (b"y" * 680)

def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096

async def answer(reader, writer):
    while not reader.at_eof():
        try:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
        except (asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        length = int(head.lower().split(b"content-length: ")[1].split(b"\\r\\n")[0])
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\\r\\ncontent-length: %d\\r\\n\\r\\n%s" % (len(BODY), BODY))
        await writer.drain()

async def main() -> None:
    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    url = "http://127.0.0.1:%d/v1/chat/completions" % server.sockets[0].getsockname()[1]
    request = UpstreamRequest("POST", url, {"content-type": "application/json"}, b"{}")
    kept = []
    async with Transport(timeout_s=5) as transport:
        for n in range(3100):
            if n == 100:
                before = rss()
            async with transport.open(request) as response:
                body = await response.read()
            kept.append(KEEP(body))
    print((rss() - before) // 3000)
    server.close()

KEEP = {"as-read": lambda body: body, "orjson": lambda body: orjson.dumps(body.decode())}[sys.argv[1]]
asyncio.run(main())
"""


def _kept_bytes_per_body(keep: str) -> int:
    """RSS bytes per body kept, in a fresh process: `keep` is "as-read" or "orjson" (re-serialised)."""
    done = subprocess.run(
        [sys.executable, "-c", _KEEP_BODIES, keep], capture_output=True, text=True, check=True, timeout=120
    )
    return int(done.stdout)


def test_a_body_read_is_allocated_at_its_size() -> None:
    """The cache keeps a relayed answer as it was read, without a copy (``MemoryStore.put(exact=True)``):
    that is only sound while a body read here holds nothing beyond its bytes. Measured as the resident
    memory 3,000 kept ~700-byte bodies add, against the same bodies re-serialised by orjson, whose outputs
    strand their ~8 KiB working buffers (what ``exact`` exists to avoid)."""
    as_read = _kept_bytes_per_body("as-read")
    serialised = _kept_bytes_per_body("orjson")
    assert as_read < 1_500, f"a kept body took {as_read} bytes"
    assert serialised > 4_000, f"the control case took {serialised} bytes (the measurement is off)"
