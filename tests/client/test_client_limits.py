"""The client's own limits (``max_received_message_size``, ``max_string_content_length``):
what it refuses to send because it would not read it back, what it refuses to read, and the
service's HTTP 413, each a `QuotaExceeded` naming the limit. The service runs in-process
(`ServiceEngine` behind `WsgiApp` and `AsgiApp`, driven through httpx's transports)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import httpx
import pytest

from wssc.certs import Certificate, generate_self_signed
from wssc.client import AsyncClient, Client
from wssc.contract import get_contract, operation, service_contract
from wssc.errors import QuotaExceeded
from wssc.service.asgi import AsgiApp
from wssc.service.engine import ServiceEngine
from wssc.service.wsgi import WsgiApp
from wssc.settings import EndpointSettings

CERT = generate_self_signed()
URL = "http://testserver/svc"


@service_contract(namespace="http://tempuri.org/", name="IRepeat")
class Repeat:
    @operation
    def Repeat(self, text: str, times: int) -> str:
        return text * times


CONTRACT = get_contract(Repeat)
BIG = EndpointSettings(max_received_message_size=4 * 1024 * 1024, max_string_content_length=1024 * 1024)


class Counting(httpx.BaseTransport):
    """The in-process service, counting the requests that reach it."""

    def __init__(self, settings: EndpointSettings = BIG) -> None:
        engine = ServiceEngine(Repeat(), address=URL, certificate=CERT, settings=settings)
        self.inner = httpx.WSGITransport(app=WsgiApp(engine))  # type: ignore[arg-type]
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return self.inner.handle_request(request)


def client(transport: httpx.BaseTransport, **kw: object) -> Client:
    return Client(
        URL,
        CONTRACT,
        http=httpx.Client(transport=transport),
        service_certificate=Certificate(CERT.cert),
        **kw,  # type: ignore[arg-type]
    )


def test_a_string_over_the_clients_quota_is_not_sent() -> None:
    t = Counting()
    with client(t, max_string_content_length=100) as c:
        assert c.Repeat(text="a" * 100, times=1) == "a" * 100
        sent = t.requests
        with pytest.raises(QuotaExceeded) as exc:
            c.Repeat(text="a" * 101, times=1)
        assert t.requests == sent  # nothing was sent
    assert exc.value.limit == "max_string_content_length" and exc.value.value == 100
    assert "max_string_content_length (100 characters)" in str(exc.value)
    assert "nothing was sent" in str(exc.value)


def test_a_request_over_the_clients_message_size_is_not_sent() -> None:
    t = Counting()
    with client(t, max_received_message_size=20_000) as c:
        assert c.Repeat(text="a" * 5_000, times=1) == "a" * 5_000
        sent = t.requests
        with pytest.raises(QuotaExceeded) as exc:
            c.Repeat(text="a" * 20_000, times=1)
        assert t.requests == sent
    assert exc.value.limit == "max_received_message_size" and exc.value.value == 20_000
    assert "more than this client's max_received_message_size (20000 bytes)" in str(exc.value)


def test_a_reply_string_over_the_clients_quota_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    """The request fits; the service's reply carries a longer string: DeserializationFailed
    on the client, naming the quota."""
    from wssc.contract import DeserializationFailed

    with client(Counting(), max_string_content_length=100) as c:
        assert c.Repeat(text="ab", times=50) == "ab" * 50
        with pytest.raises(DeserializationFailed) as exc:
            c.Repeat(text="ab", times=51)
    assert "the maximum string content length quota (100) has been exceeded" in str(exc.value)


def test_a_reply_over_the_clients_message_size_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    with client(Counting(), max_received_message_size=30_000) as c:
        assert c.Repeat(text="a" * 1000, times=10) == "a" * 10_000
        with caplog.at_level(logging.INFO, logger="wssc.client"), pytest.raises(QuotaExceeded) as exc:
            c.Repeat(text="a" * 1000, times=30)
    assert exc.value.limit == "max_received_message_size" and exc.value.value == 30_000
    assert "The maximum message size quota for incoming messages (30000) has been exceeded" in str(exc.value)
    assert "larger than max_received_message_size (30000 bytes)" in caplog.text


class Endless(httpx.BaseTransport):
    """A "service" whose reply never ends (or only claims a huge length), counting what of it
    the client read."""

    def __init__(self, declare: int | None = None) -> None:
        self.read = 0
        self.declare = declare

    def chunks(self) -> Iterator[bytes]:
        for _ in range(100_000):  # 1.6 GB if read to the end
            self.read += 16_384
            yield b" " * 16_384

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/soap+xml"}
        if self.declare is not None:
            headers["content-length"] = str(self.declare)
        return httpx.Response(200, headers=headers, stream=_Stream(self.chunks()))


class _Stream(httpx.SyncByteStream):
    def __init__(self, it: Iterator[bytes]) -> None:
        self.it = it

    def __iter__(self) -> Iterator[bytes]:
        return self.it


def test_an_endless_reply_is_read_no_further_than_the_limit() -> None:
    t = Endless()
    c = client(t)
    with pytest.raises(QuotaExceeded) as exc:
        c.open()
    assert exc.value.limit == "max_received_message_size"
    assert "the reply is more than that" in str(exc.value)
    assert 65_536 < t.read <= 65_536 + 16_384  # stopped at the first chunk past 64 KiB


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    t = Endless(declare=10**9)
    c = client(t)
    with pytest.raises(QuotaExceeded) as exc:
        c.open()
    assert "the reply is 1000000000 bytes" in str(exc.value)
    assert t.read == 0


def test_http_413_from_the_service_names_the_limit() -> None:
    """A client whose own limit is higher than the service's: the service answers 413 (WCF's
    answer to a request over MaxReceivedMessageSize) and the client says which limit."""
    small = Counting(replace(BIG, max_received_message_size=20_000))
    with client(small) as c:
        c.open()
        with pytest.raises(QuotaExceeded) as exc:
            c.Repeat(text="a" * 30_000, times=1)
    assert exc.value.limit == "max_received_message_size"
    assert "refused the request as too large (HTTP 413)" in str(exc.value)


def test_async_client_limits() -> None:
    """The async client: the same refusal before sending, and the same cap on a reply."""
    engine = ServiceEngine(Repeat(), address=URL, certificate=CERT, settings=BIG)
    app = AsgiApp(engine)

    async def main() -> tuple[QuotaExceeded, QuotaExceeded]:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))  # type: ignore[arg-type]
        c = AsyncClient(
            URL,
            CONTRACT,
            http=http,
            service_certificate=Certificate(CERT.cert),
            max_received_message_size=30_000,
        )
        async with c:
            assert await c.call("Repeat", text="a" * 1000, times=10) == "a" * 10_000
            with pytest.raises(QuotaExceeded) as before:
                await c.call("Repeat", text="a" * 40_000, times=1)
            with pytest.raises(QuotaExceeded) as reply:
                await c.call("Repeat", text="a" * 1000, times=30)
        await http.aclose()
        return before.value, reply.value

    before, reply = asyncio.run(main())
    assert "nothing was sent" in str(before) and before.value == 30_000
    assert "incoming messages (30000) has been exceeded" in str(reply)


async def _aendless(counter: list[int]) -> AsyncIterator[bytes]:
    for _ in range(100_000):
        counter[0] += 16_384
        yield b" " * 16_384


def test_async_client_reads_an_endless_reply_no_further_than_the_limit() -> None:
    read = [0]

    class Stream(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for chunk in _aendless(read):
                yield chunk

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/soap+xml"}, stream=Stream())

    async def main() -> QuotaExceeded:
        http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
        c = AsyncClient(URL, CONTRACT, http=http, service_certificate=Certificate(CERT.cert))
        with pytest.raises(QuotaExceeded) as exc:
            await c.open()
        await http.aclose()
        return exc.value

    exc = asyncio.run(main())
    assert exc.limit == "max_received_message_size"
    assert 65_536 < read[0] <= 65_536 + 16_384


def test_limits_must_be_positive() -> None:
    from wssc.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="must be positive"):
        client(Counting(), max_string_content_length=0)


def test_a_reply_already_in_memory_is_held_to_the_same_limit() -> None:
    """A transport of one's own may answer ``httpx.Response(content=…)``, already read and
    decoded: the client takes it as it is (it cannot be read raw again) and still refuses it
    over ``max_received_message_size``."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/soap+xml"}, content=b" " * 70_000)

    c = client(httpx.MockTransport(answer))
    with pytest.raises(QuotaExceeded) as exc:
        c.open()
    assert exc.value.limit == "max_received_message_size" and "the reply is more than that" in str(exc.value)
