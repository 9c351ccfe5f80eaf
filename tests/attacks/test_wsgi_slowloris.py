"""Finding 12: ``wssc serve --wsgi`` is not blocked by one slow connection.

Slow clients open sockets and send half a request (half the headers; all the headers and half
the body), then hold them. Meanwhile a legitimate client fetches the WSDL, opens a secure
session and calls: it must finish within a bounded time while the slow sockets are held.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from attack_kit import MODES, serve_args

from servers import Server
from wssc.client import Client

pytestmark = pytest.mark.e2e

BOUND = 5.0  # seconds: a secured call on loopback takes milliseconds


@contextmanager
def slow_sockets(srv: Server) -> Iterator[list[socket.socket]]:
    held = []
    try:
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"POST /svc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/soa")
        held.append(s)
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(
            b"POST /svc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/soap+xml"
            b'\r\nContent-Length: 4000\r\n\r\n<s:Envelope xmlns:s="http://www.w3.org/'
        )
        held.append(s)
        # No wait: the kernel completed both handshakes before create_connection returned,
        # and the server accepts from its backlog in order, so the secured call below queues
        # behind these two whatever the server does with them.
        yield held
    finally:
        for s in held:
            s.close()


@pytest.mark.parametrize("mode", MODES)
def test_slow_connections_do_not_block_a_secured_call(server: Callable[..., Server], mode: str) -> None:
    srv = server(*serve_args("wshttp", mode, "--wsgi"))
    with slow_sockets(srv):
        t0 = time.monotonic()
        try:
            with Client.from_wsdl(srv.wsdl_url, timeout=BOUND) as c:
                assert c.Echo(text="not blocked") == "not blocked"
        except Exception as exc:
            pytest.fail(
                f"with two slow connections held, a secured call did not complete within {BOUND} s: {exc!r}"
            )
        elapsed = time.monotonic() - t0
    print(f"\n[wsgi] secured call with 2 slow sockets held: {elapsed * 1000:.0f} ms")
    assert elapsed < BOUND
