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
        await asyncio.sleep(0.01)
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
        c = AsyncClient(URL, get_contract(Mixed), http=http,
                        service_certificate=Certificate(CERT.cert),
                        on_event=lambda e, d: events.append(e))
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
    with Client(URL, get_contract(Mixed), http=http,
                service_certificate=Certificate(CERT.cert)) as c:
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
