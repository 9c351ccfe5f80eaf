"""uvicorn's httptools protocol, with the upgrades it cannot serve ignored (RFC 9110 §7.8).

Java 11+'s ``HttpClient`` (CXF 4's default transport) offers HTTP/2 on ``http://`` URLs: its
first request carries ``Connection: Upgrade, HTTP2-Settings`` and ``Upgrade: h2c``. llhttp
(the parser under httptools) stops at the end of such a request's headers, whatever the
body: it reports the message complete with no body and hands the rest of the bytes back as
"another protocol". uvicorn's `HttpToolsProtocol` then warns "Unsupported upgrade request" and
drops those bytes, so the application gets an empty body (uvicorn issue 2722); the connection
is left in the upgraded state, and a further request on it is lost too.

`HttpToolsProtocol` here answers such a request as HTTP/1.1, as RFC 9110 §7.8 allows a server
to ignore ``Upgrade``: it starts no request at the parser's stop, gives a fresh parser the
request's head again without ``Upgrade`` (and ``HTTP2-Settings``), then the bytes that
followed, and goes on as for any request (keep-alive and pipelining included). The head is
parsed twice, once more than usual: the work stays linear in what the client sent. WebSocket
upgrades that uvicorn serves and ``CONNECT`` keep uvicorn's handling. An older llhttp that
reads the body before it stops (`parser_stops_at_upgrade_headers`, probed once at import)
delivers the request as usual; only the bytes after it go to a fresh parser.

``wssc serve`` uses it. Under plain uvicorn select it with
``uvicorn --http wssc.service.uvicorn_http:HttpToolsProtocol APP`` (``--http h11`` gets the
body too, slower); under gunicorn, a `UvicornWorker` subclass whose ``CONFIG_KWARGS`` has
``"http": "wssc.service.uvicorn_http:HttpToolsProtocol"``. An ASGI application cannot repair
the request after the server dropped the body: `AsgiApp` logs what happened and the fix
(`wssc.service.asgi.lost_body_reason`).
"""

from __future__ import annotations

import logging

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _UvicornHttpTools

from wssc.logs import printable

log = logging.getLogger("wssc.service")

#: The hop-by-hop headers of the upgrade offer, dropped from the request that is replayed.
_OFFER = (b"upgrade", b"http2-settings")


class _Probe:
    """Parser callbacks that only note whether a body was seen."""

    body = False

    def on_body(self, body: bytes) -> None:
        self.body = True


def parser_stops_at_upgrade_headers() -> bool:
    """Does this httptools (llhttp) stop at the end of an upgrade request's headers, leaving
    its body unread? llhttp 9 does; older ones read the body first. One tiny request, parsed
    once at import."""
    probe = _Probe()
    parser = httptools.HttpRequestParser(probe)
    try:
        parser.feed_data(
            b"POST / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 1\r\n\r\nx"
        )
    except httptools.HttpParserUpgrade:
        pass
    return not probe.body


_STOPS_AT_HEADERS = parser_stops_at_upgrade_headers()


def _without_offer(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` without ``Upgrade``/``HTTP2-Settings``, and without their tokens in
    ``Connection`` (a ``Connection`` left empty goes)."""
    out: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        if name in _OFFER:
            continue
        if name == b"connection":
            tokens = [t.strip() for t in value.split(b",")]
            kept = [t for t in tokens if t and t.lower() not in _OFFER]
            if not kept:
                continue
            value = b", ".join(kept)
        out.append((name, value))
    return out


class HttpToolsProtocol(_UvicornHttpTools):
    """uvicorn's httptools protocol that ignores an ``Upgrade`` it would not serve (``h2c``,
    or WebSocket without a WebSocket library) and answers the request as HTTP/1.1, body
    included. See the module's documentation."""

    _ignored_upgrade: bytes | None = None  # the value of the Upgrade being ignored

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._ignored_upgrade = None

    def on_headers_complete(self) -> None:
        if (
            self.parser.should_upgrade()
            and not self._should_upgrade()
            and self.parser.get_method() != b"CONNECT"
        ):
            self._ignored_upgrade = self._get_upgrade() or b""
            if _STOPS_AT_HEADERS:
                return  # no request yet: the replay without the offer starts it
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._ignored_upgrade is not None and _STOPS_AT_HEADERS:
            return  # not reached with such a parser: the body comes with the replay
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._ignored_upgrade is not None and _STOPS_AT_HEADERS:
            return  # the parser's stop, not the end of the request: the replay ends it
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        # What is left to feed, in order; slices of ``data`` are views, never copies, so that
        # many offers pipelined in one read cost what as many plain requests do.
        pending: list[memoryview] = [memoryview(data)]
        while pending:
            chunk = pending.pop(0)
            self._unset_keepalive_if_required()
            try:
                self.parser.feed_data(chunk)
            except httptools.HttpParserError:
                msg = "Invalid HTTP request received."
                self.logger.warning(msg)
                self.send_400_response(msg)
                return
            except httptools.HttpParserUpgrade as exc:
                ignored = self._ignored_upgrade
                if ignored is None:  # a WebSocket that uvicorn serves, or CONNECT: uvicorn's
                    if self._should_upgrade():
                        self.handle_websocket_upgrade()
                    else:
                        self._unsupported_upgrade_warning()
                    return
                log.debug(
                    "ignored Upgrade: %s; the request is answered as HTTP/1.1",
                    printable(ignored.decode("latin-1"), 40),
                )
                rest = chunk[int(exc.args[0]) :]
                head = [memoryview(self._head_without_offer())] if _STOPS_AT_HEADERS else []
                self.parser = self._fresh_parser()
                pending[:0] = [*head, *([rest] if rest else [])]

    def _head_without_offer(self) -> bytes:
        version = self.parser.get_http_version().encode("ascii")
        lines = [self.parser.get_method() + b" " + self.url + b" HTTP/" + version]
        lines += [name + b": " + value for name, value in _without_offer(self.headers)]
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def _fresh_parser(self) -> httptools.HttpRequestParser:
        parser = httptools.HttpRequestParser(self)
        try:  # as uvicorn sets up its own
            parser.set_dangerous_leniencies(lenient_data_after_close=True)
        except AttributeError:  # httptools < 0.6.3
            pass
        return parser
