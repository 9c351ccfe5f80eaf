"""Client-side memory amplification: the attacker is the service (or the STS, or whoever
serves the WSDL), answering with a compressed bomb or a body that never ends.

Every driver asks for ``Accept-Encoding: identity`` and reads the raw body through a
`wssc.http_body.CappedBody`: a gzip body is decoded a bounded output at a time and refused
the moment it passes ``max_received_message_size`` (64 KiB), so a 64 KiB read of compressed
zeros never becomes 64 MiB in memory (an HTTP library's own decoder inflates a whole network
read at once). Each test asserts the typed error (which check refused, by its words) and the
peak of Python's allocations (tracemalloc) against the cap: the sync and async clients, zeep's
sync and async transports, an STS's RSTR (`request_token`), and `wssc call --sts`'s WSDL."""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
from collections.abc import Callable, Iterator
from functools import cache
from typing import TypeVar

import pytest
from hostile_http import HostileHttp, endless

from wssc.bootstrap.registry import ServiceCredentials
from wssc.certs import Certificate, generate_self_signed
from wssc.client import AsyncClient, Client
from wssc.client.sts import StsExchange, request_token
from wssc.demo import Calculator
from wssc.errors import QuotaExceeded, TransportError, WsdlLoadRefused
from wssc.service.engine import ServiceEngine

LIMIT = 64 * 1024
#: what the peak of Python's allocations may reach while refusing: the cap, the chunks in
#: flight, the WSDL and the client's own objects; a decoded network read of the bomb is 64 MiB
PEAK = 8 * 1024 * 1024
CERT = generate_self_signed()
T = TypeVar("T")


@cache
def bomb() -> bytes:
    """48 MiB of zeros in 48 KB of gzip: its Content-Length is under the cap, so only the
    decoding can refuse it."""
    data = gzip.compress(b"\0" * (48 * 1024 * 1024), compresslevel=9)
    assert len(data) < LIMIT
    return data


def wsdl_at(url: str) -> bytes:
    """The demo calculator's WSDL (AnonymousForCertificate, a session) with its address at
    the hostile server."""
    return ServiceEngine(Calculator(), address=url, credentials=ServiceCredentials(certificate=CERT)).wsdl()


def hostile(reply: bytes | Callable[[], Iterator[bytes]], gzipped: bool = True) -> HostileHttp:
    """A "service" at /svc whose every POST is answered with ``reply``."""
    h = HostileHttp({}, headers={"/svc": {"Content-Encoding": "gzip"}} if gzipped else {})
    h.routes["/svc"] = reply
    return h


def peak_of(run: Callable[[], T]) -> tuple[T, int]:
    tracemalloc.start()
    try:
        result = run()
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def refused(action: Callable[[], object]) -> Callable[[], BaseException]:
    def run() -> BaseException:
        with pytest.raises((QuotaExceeded, TransportError, WsdlLoadRefused)) as exc:
            action()
        return exc.value

    return run


def assert_quota(err: BaseException, peak: int, sent: int) -> None:
    assert isinstance(err, QuotaExceeded), repr(err)
    assert err.limit == "max_received_message_size" and err.value == LIMIT, err
    assert peak < PEAK, f"peak {peak} bytes refusing a reply capped at {LIMIT}"
    assert sent > 0  # the bomb was served: the refusal is the reader's, not a missing route


def test_the_client_decodes_a_gzip_bomb_only_to_its_cap() -> None:
    with hostile(bomb()) as h:
        h.routes["/svc?wsdl"] = wsdl_at(h.url("/svc"))
        c = Client.from_wsdl(h.url("/svc?wsdl"), service_certificate=Certificate(CERT.cert))
        err, peak = peak_of(refused(c.open))
    assert_quota(err, peak, h.sent.get("/svc", 0))
    assert "The maximum message size quota for incoming messages (65536) has been exceeded" in str(err)


def test_the_async_client_decodes_a_gzip_bomb_only_to_its_cap() -> None:
    with hostile(bomb()) as h:
        h.routes["/svc?wsdl"] = wsdl_at(h.url("/svc"))

        async def main() -> BaseException:
            c = await AsyncClient.from_wsdl(h.url("/svc?wsdl"), service_certificate=Certificate(CERT.cert))
            with pytest.raises(QuotaExceeded) as exc:
                await c.open()
            return exc.value

        err, peak = peak_of(lambda: asyncio.run(main()))
    assert_quota(err, peak, h.sent.get("/svc", 0))


def test_zeeps_transport_decodes_a_gzip_bomb_only_to_its_cap() -> None:
    from wssc.integrations.zeep import Transport

    with hostile(bomb()) as h:
        h.routes["/svc?wsdl"] = wsdl_at(h.url("/svc"))
        t = Transport.from_wsdl(h.url("/svc?wsdl"), service_certificate=Certificate(CERT.cert))
        err, peak = peak_of(refused(t.open))
    assert_quota(err, peak, h.sent.get("/svc", 0))


def test_zeeps_async_transport_decodes_a_gzip_bomb_only_to_its_cap() -> None:
    from wssc.integrations.zeep import AsyncTransport

    with hostile(bomb()) as h:
        h.routes["/svc?wsdl"] = wsdl_at(h.url("/svc"))
        t = AsyncTransport.from_wsdl(h.url("/svc?wsdl"), service_certificate=Certificate(CERT.cert))

        async def main() -> BaseException:
            with pytest.raises(QuotaExceeded) as exc:
                await t.open()
            await t.aclose()
            return exc.value

        err, peak = peak_of(lambda: asyncio.run(main()))
    assert_quota(err, peak, h.sent.get("/svc", 0))


def test_an_endless_rstr_is_read_no_further_than_the_cap() -> None:
    """``request_token`` (the STS's reply) read to its cap and no further: plain, then gzip."""
    for reply, gzipped in ((endless(), False), (bomb(), True)):
        with hostile(reply, gzipped) as h:
            exchange = StsExchange.new(h.url("/svc"), "urn:rp", "alice", "pw", sts_certificate=CERT)
            err, peak = peak_of(refused(lambda: request_token(exchange, timeout=10)))
        assert_quota(err, peak, h.sent.get("/svc", 0))
        assert "the STS's reply is more than that, over max_received_message_size (65536" in str(err)


def test_an_rstr_declared_over_the_cap_is_not_read() -> None:
    with hostile(b"<x/>" * 20_000, gzipped=False) as h:
        exchange = StsExchange.new(h.url("/svc"), "urn:rp", "alice", "pw", sts_certificate=CERT)
        with pytest.raises(QuotaExceeded) as exc:
            request_token(exchange, timeout=10)
    assert "the STS's reply is 80000 bytes" in str(exc.value)


def test_an_rstr_in_an_encoding_not_asked_for_is_refused() -> None:
    h = HostileHttp({"/svc": b"<x/>"}, headers={"/svc": {"Content-Encoding": "br"}})
    with h:
        exchange = StsExchange.new(h.url("/svc"), "urn:rp", "alice", "pw", sts_certificate=CERT)
        with pytest.raises(TransportError) as exc:
            request_token(exchange, timeout=10)
    assert "Content-Encoding br, which is not decoded" in str(exc.value)


def test_wssc_call_sts_reads_a_huge_wsdl_no_further_than_its_cap(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``wssc call --sts`` reads the service's WSDL for its issuer settings: capped as every
    WSDL load is (before, it was read whole: 64 MiB here)."""
    from wssc.cli.main import main
    from wssc.policy.wsdl_resolve import MAX_DOCUMENT_BYTES

    def huge() -> Iterator[bytes]:
        gen = endless()()
        for _ in range(1000):  # 65 MB, no Content-Length
            yield next(gen)

    with HostileHttp({"/svc?wsdl": huge}) as h:
        argv = [
            "call",
            h.url("/svc"),
            "Add",
            "1",
            "2",
            "--sts",
            h.url("/sts"),
            "--username",
            "a",
            "--password",
            "b",
        ]
        rc, peak = peak_of(lambda: main(argv))
    err = capsys.readouterr().err
    assert rc != 0 and f"is larger than {MAX_DOCUMENT_BYTES} bytes" in err and "not read further" in err, err
    assert peak < 3 * MAX_DOCUMENT_BYTES, f"peak {peak} bytes for a {MAX_DOCUMENT_BYTES}-byte cap"
