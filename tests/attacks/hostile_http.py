"""A tiny hostile HTTP server on loopback for the client-side attack tests: it answers GETs
(and POSTs, as a WS-MetadataExchange endpoint is asked, the request body read and kept) from a
table (path and query -> a document, or a function yielding chunks for an endless
one) and counts what it sent. Used where the attacker is the service, not the client."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

Route = bytes | Callable[[], Iterator[bytes]]


class HostileHttp:
    """``with HostileHttp({"/svc?wsdl": data}) as h: h.url("/svc?wsdl")``. A route that is a
    function streams its chunks without a Content-Length until the client hangs up;
    ``headers`` adds (or fakes) response headers for a path."""

    def __init__(self, routes: dict[str, Route], headers: dict[str, dict[str, str]] | None = None) -> None:
        self.routes = routes
        self.headers = headers or {}
        self.sent: dict[str, int] = {}
        self.requests: list[str] = []
        #: the bodies of the POSTs, in order
        self.posted: list[bytes] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                outer.posted.append(self.rfile.read(min(length, 1 << 20)))
                self.do_GET()

            def do_GET(self) -> None:
                outer.requests.append(self.path)
                route = outer.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                extra = outer.headers.get(self.path, {})
                for k, v in extra.items():
                    self.send_header(k, v)
                if isinstance(route, bytes) and "Content-Length" not in extra:
                    self.send_header("Content-Length", str(len(route)))
                self.end_headers()
                chunks = iter([route]) if isinstance(route, bytes) else route()
                try:
                    for chunk in chunks:
                        self.wfile.write(chunk)
                        outer.sent[self.path] = outer.sent.get(self.path, 0) + len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up: what a capped reader must do

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def __enter__(self) -> HostileHttp:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)


def endless(chunk: bytes = b"<!-- " + b"x" * 65_000 + b" -->") -> Callable[[], Iterator[bytes]]:
    """A document that never ends: an XML start, then comments forever."""

    def gen() -> Iterator[bytes]:
        yield b'<?xml version="1.0"?><wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/">'
        while True:
            yield chunk

    return gen
