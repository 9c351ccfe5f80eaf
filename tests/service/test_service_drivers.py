"""The ASGI and WSGI apps, driven in-process through httpx transports (no sockets), with an
``async def`` operation on the ASGI side."""

from __future__ import annotations

import asyncio

import httpx

from wssc.certs import Certificate, generate_self_signed
from wssc.client import AsyncClient, Client
from wssc.contract import get_contract, operation, service_contract
from wssc.service.asgi import AsgiApp
from wssc.service.engine import ServiceEngine
from wssc.service.wsgi import WsgiApp

CERT = generate_self_signed()
URL = "http://testserver/svc"


@service_contract(namespace="http://tempuri.org/", name="IMixed")
class Mixed:
    @operation
    def Add(self, a: int, b: int) -> int:
        return a + b

    @operation
    async def Slow(self, text: str) -> str:
        await asyncio.sleep(0.01)  # sleep-ok: the operation's own (async) work, not a wait
        return text.upper()

    @operation
    def Fail(self, text: str) -> str:
        raise RuntimeError("secret detail that must not leak")


def engine() -> ServiceEngine:
    return ServiceEngine(Mixed(), address=URL, certificate=CERT)


def test_asgi_app_sync_and_async_operations() -> None:
    app = AsgiApp(engine())

    async def main() -> tuple[object, object]:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))  # type: ignore[arg-type]
        wsdl = (await http.get(URL + "?wsdl")).content
        assert b"SecureConversationToken" in wsdl
        events: list[str] = []
        c = AsyncClient(
            URL,
            get_contract(Mixed),
            http=http,
            service_certificate=Certificate(CERT.cert),
            on_event=lambda e, d: events.append(e),
        )
        async with c:
            r1 = await c.call("Add", a=1, b=2)
            r2 = await c.call("Slow", text="async op")
        await http.aclose()
        assert events == ["issue", "call", "call", "cancel"]
        return r1, r2

    assert asyncio.run(main()) == (3, "ASYNC OP")


def test_wsgi_app_and_an_operation_that_raises() -> None:
    app = WsgiApp(engine())
    http = httpx.Client(transport=httpx.WSGITransport(app=app))  # type: ignore[arg-type]
    with Client(URL, get_contract(Mixed), http=http, service_certificate=Certificate(CERT.cert)) as c:
        assert c.Add(a=20, b=22) == 42
        try:
            c.Fail(text="x")
        except Exception as exc:  # a typed, secured SOAP fault; WCF's generic reason
            from wssc.errors import SoapFault

            assert isinstance(exc, SoapFault)
            assert "internal error" in exc.reason
            assert "secret detail" not in str(exc)
        else:
            raise AssertionError("the fault was not raised")
        assert c.Add(a=1, b=1) == 2  # the session survives an application fault
    r = http.get(URL + "?wsdl")
    assert r.status_code == 200 and b"wsdl:definitions" in r.content
    r = http.request("PUT", URL)
    assert r.status_code == 405


def test_wsgi_and_engine_refuse_bodies_over_max_received_message_size() -> None:
    """WCF's 64 KiB by default: HTTP 413 before the body is read (WSGI) or parsed (the
    engine, for a driver that buffered it); a raised setting lets it through to the parser."""
    from dataclasses import replace

    from wssc.service.engine import HttpRequest, HttpResponse
    from wssc.settings import EndpointSettings

    eng = engine()
    assert eng.settings.max_received_message_size == 65536
    http = httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(eng)))  # type: ignore[arg-type]
    ctype = {"content-type": "application/soap+xml"}
    r = http.post(URL, content=b"<x/>" + b" " * (65536 - 4), headers=ctype)
    assert r.status_code == 500  # read and parsed (not a SOAP envelope: a fault)
    r = http.post(URL, content=b"<x/>" + b" " * (65536 - 3), headers=ctype)
    assert (r.status_code, r.content) == (413, b"The request is larger than 65536 bytes.\n")
    over = HttpRequest("POST", "/svc", "", ctype, b"<x/>" + b" " * 65533)
    out = eng.handle(over)
    assert isinstance(out, HttpResponse) and out.status == 413
    big = ServiceEngine(
        Mixed(),
        address=URL,
        certificate=CERT,
        settings=replace(EndpointSettings(), max_received_message_size=8 * 1024 * 1024),
    )
    assert big.parser_limits.max_bytes == 8 * 1024 * 1024
    out = big.handle(replace(over, body=b"<x/>" + b" " * (5 * 1024 * 1024)))
    assert isinstance(out, HttpResponse) and out.status == 500  # parsed: not an Envelope


def test_asgi_refuses_a_declared_length_without_reading_the_body() -> None:
    app = AsgiApp(engine())
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        raise AssertionError("the body was read")

    async def send(msg: dict[str, object]) -> None:
        sent.append(msg)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/svc",
        "query_string": b"",
        "headers": [(b"content-length", b"65537"), (b"content-type", b"application/soap+xml")],
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 413
