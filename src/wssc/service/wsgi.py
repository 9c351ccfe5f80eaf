"""WSGI application over `ServiceEngine`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from wssc.logs import printable
from wssc.service.engine import HttpRequest, ServiceEngine
from wssc.service.security_turn import SecurityTurn
from wssc.service.transport import transport_info

log = logging.getLogger("wssc.service.wsgi")

_REASONS = {
    200: "OK",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
}

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class WsgiApp:
    """The WSGI app. When created it routes ``wssc.*`` logs to gunicorn's handlers (when the
    application configured none) and refuses a per-process session store under several
    workers (`wssc.service.hosting`).

    ``forwarded_allow_ips``, ``max_body``: see `wssc.service.asgi.AsgiApp` (a
    request without a Content-Length is read as empty)."""

    def __init__(
        self,
        engine: ServiceEngine,
        max_body: int | None = None,
        forwarded_allow_ips: Sequence[str] = (),
    ) -> None:
        from wssc.service.hosting import startup

        self.engine = engine
        self.max_body = engine.settings.max_received_message_size if max_body is None else max_body
        self.forwarded_allow_ips = tuple(forwarded_allow_ips)
        self.security_turn = SecurityTurn()  # the server's threads take turns (its module docs)
        startup(engine)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > self.max_body:
            big = self.engine.too_large(length if length >= 0 else None)
            start_response(f"413 {_REASONS[413]}", [*big.headers, ("content-length", str(len(big.body)))])
            return [big.body]
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        req = HttpRequest(
            str(environ.get("REQUEST_METHOD", "GET")),
            str(environ.get("PATH_INFO", "/")),
            str(environ.get("QUERY_STRING", "")),
            headers,
            body,
            transport_info(
                secure=environ.get("wsgi.url_scheme") == "https",
                peer=str(environ.get("REMOTE_ADDR", "")),
                headers=headers,
                forwarded_allow_ips=self.forwarded_allow_ips,
            ),
        )
        out = self.security_turn.handle_sync(self.engine, req)
        status = f"{out.status} {_REASONS.get(out.status, 'Unknown')}"
        start_response(status, [*out.headers, ("content-length", str(len(out.body)))])
        return [out.body]


class _Handler(WSGIRequestHandler):
    #: A connection that sends nothing for this long is dropped (slow clients).
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), printable(format % args))


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def make_threaded_server(host: str, port: int, app: WsgiApp) -> WSGIServer:
    """A wsgiref server with a thread per connection and a read timeout, so that one slow
    connection cannot block the others. For development and tests: deploy WSGI apps under a
    production server (gunicorn, uWSGI…)."""
    return make_server(host, port, app, server_class=_ThreadingWSGIServer, handler_class=_Handler)
