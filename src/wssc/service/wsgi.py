"""WSGI application over :class:`~wssc.service.engine.ServiceEngine`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from wssc.bootstrap.base import TransportInfo
from wssc.service.engine import Dispatch, HttpRequest, ServiceEngine, run_dispatch_sync

MAX_BODY = 4 * 1024 * 1024
_REASONS = {200: "OK", 405: "Method Not Allowed", 411: "Length Required",
            413: "Payload Too Large", 500: "Internal Server Error"}

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class WsgiApp:
    """The WSGI app. When created it routes ``wssc.*`` logs to gunicorn's handlers (when the
    application configured none) and refuses a per-process session store under several
    workers (:mod:`wssc.service.hosting`)."""

    def __init__(self, engine: ServiceEngine, max_body: int = MAX_BODY) -> None:
        from wssc.service.hosting import startup

        self.engine = engine
        self.max_body = max_body
        startup(engine)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > self.max_body:
            start_response("413 Payload Too Large", [("content-type", "text/plain")])
            return [b"message too large\n"]
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").lower(): str(v)
                   for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        req = HttpRequest(
            str(environ.get("REQUEST_METHOD", "GET")), str(environ.get("PATH_INFO", "/")),
            str(environ.get("QUERY_STRING", "")), headers, body,
            TransportInfo(secure=environ.get("wsgi.url_scheme") == "https",
                          peer=str(environ.get("REMOTE_ADDR", ""))),
        )
        out = self.engine.handle(req)
        if isinstance(out, Dispatch):
            out = run_dispatch_sync(out)
        status = f"{out.status} {_REASONS.get(out.status, 'Unknown')}"
        start_response(status, [*out.headers, ("content-length", str(len(out.body)))])
        return [out.body]
