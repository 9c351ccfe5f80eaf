"""Errors that point the right way: not-a-WSDL, wrong arity and wrong types refused locally,
svcutil keeps the WSDL's own address."""

from __future__ import annotations

import http.server
import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from wssc.certs import generate_self_signed
from wssc.cli.main import main
from wssc.demo import Calculator
from wssc.errors import InvalidArgument
from wssc.service.engine import ServiceEngine
from wssc.service.wsgi import WsgiApp

CERT = generate_self_signed()


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def service() -> Iterator[tuple[str, ServiceEngine]]:
    """The demo service on a wsgiref thread (loopback, a free port)."""
    holder: dict[str, ServiceEngine] = {}

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        return WsgiApp(holder["engine"])(environ, start_response)

    httpd = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    url = f"http://127.0.0.1:{httpd.server_port}/svc"
    holder["engine"] = ServiceEngine(Calculator(), address=url, certificate=CERT)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield url, holder["engine"]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def html_site() -> Iterator[str]:
    """A web server that answers every GET with an HTML page (a wrong URL, a login page)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!DOCTYPE html>\n<html><head><title>Hi</title></head><body><br></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize(
    "content",
    [
        b"<!DOCTYPE html><html><body>Not here</body></html>",
        b"<html><body><p>hello</p></body></html>",
        b"\x00\x01garbage\xff",
        b"",
        b"<?xml version='1.0'?><root/>",
    ],
)
@pytest.mark.parametrize("command", ["inspect", "svcutil"])
def test_not_a_wsdl_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, command: str
) -> None:
    f = tmp_path / "page.wsdl"
    f.write_bytes(content)
    extra = ["-o", str(tmp_path / "x.py")] if command == "svcutil" else []
    rc, _, err = _run(capsys, command, str(f), *extra)
    assert rc == 2, err
    assert "not a WSDL" in err
    assert "InvalidSecurity" not in err and "FAULT" not in err


@pytest.mark.parametrize("command", ["inspect", "call"])
def test_not_a_wsdl_url(capsys: pytest.CaptureFixture[str], html_site: str, command: str) -> None:
    argv = [command, html_site + "svc?wsdl"] + (["Add", "1", "2"] if command == "call" else [])
    rc, _, err = _run(capsys, *argv)
    assert rc == 2, err
    assert "not a WSDL" in err and "HTML" in err
    assert "InvalidSecurity" not in err


def test_call_with_too_few_arguments_is_refused_locally(
    capsys: pytest.CaptureFixture[str], service: tuple[str, ServiceEngine]
) -> None:
    url, engine = service
    rc, out, err = _run(capsys, "call", url, "Add", "1")
    assert rc == 2, err
    assert "missing b" in err and "Add(a: int, b: int) -> int" in err
    assert "InternalServiceFault" not in err and out == ""
    assert len(engine.sessions.store) == 0  # no session was even opened
    rc, out, err = _run(capsys, "call", url, "Add", "1", "2", "3")
    assert rc == 2 and "takes 2 arguments" in err
    rc, out, err = _run(capsys, "call", url, "Add", "1", "2")  # the right call works
    assert rc == 0 and out.strip() == "3", err


def test_typed_client_refuses_a_wrong_type_locally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], service: tuple[str, ServiceEngine]
) -> None:
    url, _engine = service
    out = tmp_path / "calc_client.py"
    assert main(["svcutil", url + "?wsdl", "-o", str(out)]) == 0
    spec = importlib.util.spec_from_file_location("calc_client_err", out)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with module.CalculatorClient() as calc:
        with pytest.raises(InvalidArgument) as info:
            calc.Add("two", 3)
        assert "expected xs:int, got str" in str(info.value)
        assert "unable to process" not in str(info.value)
        assert isinstance(info.value, TypeError)
        assert calc.client.session.sct is None  # nothing was sent, not even the RST
        with pytest.raises(InvalidArgument):
            calc.Add(2**40, 1)  # out of range for xs:int
        assert calc.Add(2, 3) == 5


def test_svcutil_from_a_file_keeps_the_wsdl_address(tmp_path: Path) -> None:
    address = "http://calc.example.test:8123/services/calc"
    engine = ServiceEngine(Calculator(), address=address, certificate=CERT)
    wsdl = tmp_path / "calc.wsdl"
    wsdl.write_bytes(engine.wsdl())
    out = tmp_path / "calc_client.py"
    assert main(["svcutil", str(wsdl), "-o", str(out)]) == 0
    source = out.read_text()
    assert f"WSDL_URL = {address + '?wsdl'!r}" in source
    assert "127.0.0.1:8000" not in source
