"""Client errors that point at the fix (issue 15, items 6-9, 17, 18, 22): each test runs the
user's step with the Python API (sync, async, zeep) against a real local server and checks the
message word for word.

The servers: the demo service on a wsgiref thread (plain HTTP), ``wssc serve`` over HTTPS with
its self-signed development certificate (untrusted unless ``verify=`` names it), a web page
that is no WSDL, and a service that answers every POST with HTTP 500 ``text/plain``.
"""

from __future__ import annotations

import asyncio
import http.server
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import zeep
import zeep.exceptions

from servers import Server, Start
from wssc.certs import generate_self_signed
from wssc.client.async_ import AsyncClient
from wssc.client.sync import Client
from wssc.demo import Calculator
from wssc.errors import ConfigurationError, MissingExtra, TransportError
from wssc.integrations.zeep import async_secure_session, secure_session
from wssc.service.engine import ServiceEngine
from wssc.service.wsgi import WsgiApp

CERT = generate_self_signed()
UNTRUSTED = "The service was reached, but its HTTPS certificate is not trusted"
WRONG_SCHEME = "The service does not speak the address's scheme (http:// or https://)"
HTML = (
    "not a WSDL: the document is an HTML page (for a WCF or wssc service, use the address followed by ?wsdl)"
)


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed when the block ends: nobody listens there


def _wsgi(app: Callable[..., Any]) -> Iterator[int]:
    httpd = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_port
    httpd.shutdown()
    httpd.server_close()


class Demo:
    """The demo service at ``url`` on a wsgiref thread. Its WSDL's soap:address is ``url``
    unless a test publishes another (:meth:`publish`: the service moved, its WSDL did not)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = ServiceEngine(Calculator(), address=url, certificate=CERT)
        self.wsdl_engine = self.engine

    def publish(self, address: str) -> None:
        self.wsdl_engine = ServiceEngine(Calculator(), address=address, certificate=CERT)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        engine = self.wsdl_engine if environ["REQUEST_METHOD"] == "GET" else self.engine
        return WsgiApp(engine)(environ, start_response)


@pytest.fixture
def demo() -> Iterator[Demo]:
    holder: list[Demo] = []
    for port in _wsgi(lambda environ, start: holder[0](environ, start)):
        holder.append(Demo(f"http://127.0.0.1:{port}/svc"))
        yield holder[0]


@pytest.fixture
def html_site() -> Iterator[str]:
    """A web server that answers every GET with an HTML page (a wrong URL, a login page)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!DOCTYPE html>\n<html><body>Welcome</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/svc"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def failing() -> Iterator[str]:
    """The demo's WSDL on GET; every POST answered ``500 text/plain`` (a broken proxy or a
    crashed application behind the service's address)."""
    holder: dict[str, ServiceEngine] = {}

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "GET":
            return WsgiApp(holder["engine"])(environ, start_response)
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"Internal Server Error"]

    for port in _wsgi(app):
        url = f"http://127.0.0.1:{port}/svc"
        holder["engine"] = ServiceEngine(Calculator(), address=url, certificate=CERT)
        yield url


@pytest.fixture(scope="module")
def tls(start_server: Start) -> Server:
    """``wssc serve`` over HTTPS (UserNameOverTransport) with its self-signed certificate."""
    return start_server("--bootstrap", "username-over-transport")


def _detail(exc: pytest.ExceptionInfo[Any]) -> str:
    return str(exc.value.detail)


# --- 6. the service address given where its WSDL was meant ------------------------------------
def test_from_wsdl_with_the_service_address_loads_its_wsdl(demo: Demo) -> None:
    with Client.from_wsdl(demo.url) as c:  # no ?wsdl: the GET answers the service's text page
        assert c.Add(a=2, b=3) == 5
        assert c.address == demo.url


def test_async_from_wsdl_with_the_service_address_loads_its_wsdl(demo: Demo) -> None:
    async def run() -> object:
        async with await AsyncClient.from_wsdl(demo.url) as c:
            return await c.call("Add", a=2, b=3)

    assert asyncio.run(run()) == 5


def test_zeep_with_the_service_address_loads_its_wsdl(demo: Demo) -> None:
    with zeep.Client(demo.url, **secure_session(demo.url)) as client:
        assert client.service.Add(a=2, b=3) == 5


def test_neither_the_address_nor_its_wsdl_says_both_were_tried(html_site: str) -> None:
    for load in (
        lambda: Client.from_wsdl(html_site),
        lambda: asyncio.run(AsyncClient.from_wsdl(html_site)),
        lambda: secure_session(html_site),
    ):
        with pytest.raises(ConfigurationError) as exc:
            load()
        assert _detail(exc) == (
            f"{html_site} did not answer a WSDL ({HTML}), nor did {html_site}?wsdl ({HTML}): "
            "give the address of the service's WSDL"
        ), _detail(exc)


def test_a_url_with_a_query_is_not_rewritten(html_site: str) -> None:
    with pytest.raises(ConfigurationError) as exc:
        Client.from_wsdl(html_site + "?wsdl")
    assert _detail(exc) == HTML  # one GET: ?wsdl was asked for already


# --- 7. the WSDL's soap:address is the one that cannot be reached -----------------------------
def test_unreachable_address_from_the_wsdl_names_the_wsdl(demo: Demo) -> None:
    gone = f"http://127.0.0.1:{_closed_port()}/svc"
    demo.publish(gone)  # the quick start's address= left at another port
    wsdl = demo.url + "?wsdl"
    with Client.from_wsdl(wsdl, timeout=10) as c, pytest.raises(TransportError) as exc:
        c.Add(a=1, b=2)
    assert exc.value.reason == "The service could not be reached"
    assert _detail(exc).startswith(f"cannot reach {gone}: ")
    assert _detail(exc).endswith(
        f" ({gone} is the soap:address published in the WSDL at {wsdl}; if the service is "
        "elsewhere, pass address='...' to from_wsdl)"
    )


def test_address_overrides_the_wsdls_soap_address(demo: Demo) -> None:
    demo.publish(f"http://127.0.0.1:{_closed_port()}/svc")
    with Client.from_wsdl(demo.url + "?wsdl", address=demo.url) as c:
        assert c.Add(a=2, b=2) == 4
        assert c.wsdl_url is None


def test_async_unreachable_address_from_the_wsdl_names_the_wsdl(demo: Demo) -> None:
    gone = f"http://127.0.0.1:{_closed_port()}/svc"
    demo.publish(gone)
    wsdl = demo.url + "?wsdl"

    async def run() -> None:
        c = await AsyncClient.from_wsdl(wsdl, timeout=10)
        try:
            await c.call("Add", a=1, b=2)
        finally:
            await c.aclose()  # nothing was opened: no Cancel to send

    with pytest.raises(TransportError) as exc:
        asyncio.run(run())
    assert f"{gone} is the soap:address published in the WSDL at {wsdl}" in _detail(exc)


# --- 8 and 18. an untrusted certificate: reached, not trusted; one class everywhere -----------
def _untrusted(url: str) -> str:
    return (
        f"{url} was reached, but its HTTPS certificate is not trusted (self-signed "
        "certificate): trust the service's certificate or its CA with verify='ca.pem' "
        "(wssc call --cafile ca.pem), or use http:// if the service offers it"
    )


def test_untrusted_certificate_is_said(tls: Server) -> None:
    loads: list[Callable[[], object]] = [
        lambda: Client.from_wsdl(tls.wsdl_url),
        lambda: asyncio.run(AsyncClient.from_wsdl(tls.wsdl_url)),
        lambda: secure_session(tls.wsdl_url),  # requests
        lambda: async_secure_session(tls.wsdl_url),  # requests, then httpx for zeep's load
    ]
    for load in loads:
        with pytest.raises(TransportError) as exc:
            load()
        assert exc.value.reason == UNTRUSTED
        assert _detail(exc) == _untrusted(tls.wsdl_url)


def test_trusted_with_verify_works(tls: Server) -> None:
    with Client.from_wsdl(tls.wsdl_url, verify=str(tls.verify), username="alice", password="secret") as c:
        assert c.Add(a=20, b=22) == 42


# --- 9. the wrong scheme ------------------------------------------------------------------------
def test_https_to_a_plain_http_service_says_so(demo: Demo) -> None:
    https = demo.url.replace("http://", "https://") + "?wsdl"
    for load in (
        lambda: Client.from_wsdl(https),
        lambda: asyncio.run(AsyncClient.from_wsdl(https)),
        lambda: secure_session(https),
    ):
        with pytest.raises(TransportError) as exc:
            load()
        assert exc.value.reason == WRONG_SCHEME
        assert _detail(exc) == (
            f"{https}: the service answered in plain HTTP, not TLS; use {demo.url}?wsdl instead"
        ), _detail(exc)


def test_http_to_an_https_service_says_so(tls: Server) -> None:
    http_url = tls.wsdl_url.replace("https://", "http://")
    for load in (
        lambda: Client.from_wsdl(http_url),
        lambda: asyncio.run(AsyncClient.from_wsdl(http_url)),
        lambda: secure_session(http_url),
    ):
        with pytest.raises(TransportError) as exc:
            load()
        assert exc.value.reason == WRONG_SCHEME, _detail(exc)
        assert _detail(exc).startswith(f"{http_url} closed the connection without an HTTP answer ("), _detail(
            exc
        )
        assert _detail(exc).endswith(f"); if the service speaks HTTPS, use {tls.wsdl_url} instead"), _detail(
            exc
        )


# --- 17. zeep reports the real status of a reply that is not SOAP -----------------------------
def test_zeep_reports_the_real_status_of_a_text_reply(failing: str) -> None:
    wsdl = failing + "?wsdl"
    with (
        zeep.Client(wsdl, **secure_session(wsdl)) as client,
        pytest.raises(zeep.exceptions.TransportError) as exc,
    ):
        client.service.Add(a=1, b=2)
    assert exc.value.status_code == 500
    assert exc.value.message.startswith(
        "Server returned HTTP status 500, not a SOAP reply (not well-formed XML"
    )
    assert exc.value.content == b"Internal Server Error"


def test_zeep_async_reports_the_real_status_of_a_text_reply(failing: str) -> None:
    wsdl = failing + "?wsdl"

    async def run() -> None:
        async with zeep.AsyncClient(wsdl, **async_secure_session(wsdl)) as client:
            await client.service.Add(a=1, b=2)

    with pytest.raises(zeep.exceptions.TransportError) as exc:
        asyncio.run(run())
    assert exc.value.status_code == 500
    assert "Server returned HTTP status 500, not a SOAP reply" in exc.value.message


# --- 22. a core-only install names the extra ---------------------------------------------------
@pytest.mark.parametrize(
    "statement, name",
    [
        ("from wssc import Client", "wssc.Client"),
        ("import wssc; wssc.AsyncClient", "wssc.AsyncClient"),
        ("from wssc.client import Client", "wssc.Client"),
    ],
)
def test_core_only_install_names_the_client_extra(statement: str, name: str) -> None:
    code = (
        "import sys\n"
        "sys.modules['httpx'] = None  # as if httpx were not installed\n"
        "try:\n"
        f"    {statement}\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc.name, '|', exc.detail)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (
        f"MissingExtra httpx | {name} needs httpx, which is not installed: pip install 'wssc[client]'"
    ), r.stdout + r.stderr
    assert issubclass(MissingExtra, ModuleNotFoundError)


def test_only_a_document_that_is_no_wsdl_is_retried_at_its_wsdl() -> None:
    """A refused load (too large, say) is not fetched again; a query or a file is kept."""
    from wssc.client.common import wsdl_fallback
    from wssc.errors import WsdlLoadRefused

    not_wsdl = ConfigurationError("not a WSDL: the document is an HTML page")
    assert wsdl_fallback("http://h:1/svc", not_wsdl) == "http://h:1/svc?wsdl"
    assert wsdl_fallback("https://h/a/svc.svc", not_wsdl) == "https://h/a/svc.svc?wsdl"
    assert wsdl_fallback("http://h:1/svc", WsdlLoadRefused("larger than 1 bytes")) is None
    assert wsdl_fallback("http://h:1/svc?singleWsdl", not_wsdl) is None
    assert wsdl_fallback("/tmp/svc.wsdl", not_wsdl) is None
