"""Issue 13, item 2: no client sends a password over plain HTTP.

A WSDL whose policy is UserNameOverTransport (a bootstrap the registry marks as relying on
TLS) but whose address is ``http://``: ``Client``, ``AsyncClient``, zeep's ``secure_session``
and ``wssc call`` all used to send the UsernameToken, password included, in clear. Now each
raises a local :class:`~wssc.errors.ConfigurationError` naming the scheme and the fix, and
sends nothing to the endpoint.

The endpoint here is a raw TCP listener that records every byte it receives (it serves the
WSDL to a GET and answers anything else with an empty 500): the proof is that the password's
bytes never reach it, while the WSDL fetch does (so the listener sees what the client sends).
Also: a redirect from the https:// address to an http:// one is never followed with the body,
``wssc inspect`` flags such a WSDL, and the service refuses to publish one.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import zeep

from wssc.certs import dev_certificate
from wssc.client import AsyncClient, Client
from wssc.client.common import endpoint_from_wsdl
from wssc.demo import Calculator
from wssc.errors import ConfigurationError, TransportError
from wssc.integrations.zeep import async_secure_session, secure_session
from wssc.service.engine import ServiceEngine
from wssc.settings import Bootstrap, EndpointSettings, SecureConversationSettings

pytestmark = pytest.mark.e2e

PASSWORD = "pw-Kq7-must-never-leave"
UNOT = EndpointSettings(
    secure_conversation=SecureConversationSettings(bootstrap=Bootstrap.USERNAME_OVER_TRANSPORT)
)


def unot_wsdl(address: str) -> bytes:
    """The WSDL a UserNameOverTransport ``wssc serve`` publishes, at ``address`` (the service
    itself only publishes https://: a hostile or misconfigured peer may say otherwise)."""
    engine = ServiceEngine(
        Calculator(),
        settings=UNOT,
        address="https://placeholder.invalid/svc",
        username_validator=lambda u, p: False,
    )
    return engine.wsdl().replace(b"https://placeholder.invalid/svc", address.encode())


class Listener:
    """A raw TCP (optionally TLS) server on loopback that records every byte received.

    ``answer(first_line) -> (status line, extra headers, body)`` decides the reply."""

    def __init__(
        self, answer: Callable[[bytes], tuple[str, dict[str, str], bytes]], tls: ssl.SSLContext | None = None
    ) -> None:
        self.answer = answer
        self.tls = tls
        self.received = bytearray()
        self.requests: list[bytes] = []
        self._lock = threading.Lock()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _record(self, data: bytes) -> None:
        with self._lock:
            self.received += data

    def _handle(self, raw: socket.socket) -> None:
        conn: socket.socket = raw
        try:
            conn.settimeout(10)
            if self.tls is not None:
                conn = self.tls.wrap_socket(raw, server_side=True)
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                self._record(chunk)
                buf += chunk
            head, _, rest = buf.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            while len(rest) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                self._record(chunk)
                rest += chunk
            first = head.split(b"\r\n", 1)[0]
            with self._lock:
                self.requests.append(first)
            status, headers, body = self.answer(first)
            extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            conn.sendall(
                f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{extra}"
                "Connection: close\r\n\r\n".encode()
                + body
            )
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.sock.close()

    def assert_no_password(self) -> None:
        with self._lock:
            data = bytes(self.received)
        assert PASSWORD.encode() not in data, "the password reached the listener"
        assert b"UsernameToken" not in data, "a UsernameToken reached the listener"


@pytest.fixture
def plain_endpoint() -> Iterator[Listener]:
    """An http:// endpoint publishing a UserNameOverTransport WSDL at its own http address."""
    holder: dict[str, bytes] = {}

    def answer(first: bytes) -> tuple[str, dict[str, str], bytes]:
        if first.startswith(b"GET ") and b"wsdl" in first:
            return "200 OK", {"Content-Type": "text/xml"}, holder["wsdl"]
        return "500 Internal Server Error", {}, b""

    lst = Listener(answer)
    holder["wsdl"] = unot_wsdl(f"{lst.base}/svc")
    yield lst
    lst.close()


def assert_names_scheme_and_fix(exc: ConfigurationError) -> None:
    text = str(exc)
    assert "http://" in text and "https://" in text, text
    assert "UserNameOverTransport" in text and "TLS" in text, text
    assert "nothing was sent" in text, text


def assert_wsdl_fetched_only(lst: Listener) -> None:
    """The client did reach the listener (the WSDL), and sent it nothing else."""
    assert lst.requests and all(r.startswith(b"GET ") for r in lst.requests), lst.requests
    lst.assert_no_password()


def test_client_from_wsdl_refuses_before_sending(plain_endpoint: Listener) -> None:
    with pytest.raises(ConfigurationError) as info:
        Client.from_wsdl(f"{plain_endpoint.base}/svc?wsdl", username="alice", password=PASSWORD)
    assert_names_scheme_and_fix(info.value)
    assert_wsdl_fetched_only(plain_endpoint)


def test_client_constructed_directly_refuses(plain_endpoint: Listener) -> None:
    ep = endpoint_from_wsdl(plain_endpoint.answer(b"GET /svc?wsdl")[2], "x")
    with pytest.raises(ConfigurationError) as info:
        Client(f"{plain_endpoint.base}/svc", ep.contract, settings=UNOT, username="alice", password=PASSWORD)
    assert_names_scheme_and_fix(info.value)
    assert not plain_endpoint.received  # not even a connection
    # The same client to the https:// address is built (the check is the scheme).
    Client(
        f"https://127.0.0.1:{plain_endpoint.port}/svc",
        ep.contract,
        settings=UNOT,
        username="alice",
        password=PASSWORD,
    ).close()  # never opened: nothing to cancel
    assert not plain_endpoint.received


def test_async_client_refuses_before_sending(plain_endpoint: Listener) -> None:
    async def go() -> None:
        await AsyncClient.from_wsdl(f"{plain_endpoint.base}/svc?wsdl", username="alice", password=PASSWORD)

    with pytest.raises(ConfigurationError) as info:
        asyncio.run(go())
    assert_names_scheme_and_fix(info.value)
    assert_wsdl_fetched_only(plain_endpoint)


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_zeep_secure_session_refuses_before_sending(plain_endpoint: Listener, flavour: str) -> None:
    make = secure_session if flavour == "sync" else async_secure_session
    with pytest.raises(ConfigurationError) as info:
        make(f"{plain_endpoint.base}/svc?wsdl", username="alice", password=PASSWORD)
    assert_names_scheme_and_fix(info.value)
    assert_wsdl_fetched_only(plain_endpoint)


def test_wssc_call_refuses_before_sending(plain_endpoint: Listener, tmp_path: Path) -> None:
    env = dict(os.environ, WSSC_USERNAME="alice", WSSC_PASSWORD=PASSWORD, WSSC_HOME=str(tmp_path))
    r = subprocess.run(
        [sys.executable, "-m", "wssc", "call", f"{plain_endpoint.base}/svc", "Echo", "text=hello"],
        capture_output=True,
        env=env,
        timeout=60,
    )
    err = r.stderr.decode()
    assert r.returncode == 2, (r.returncode, err)
    assert err.startswith("error: ") and "Traceback" not in err, err
    assert "http://" in err and "https://" in err and "nothing was sent" in err, err
    assert PASSWORD not in err + r.stdout.decode()
    assert_wsdl_fetched_only(plain_endpoint)


# --- a redirect from https:// to http:// ---------------------------------------------------
@pytest.fixture
def redirecting(tmp_path: Path) -> Iterator[tuple[Listener, Listener, str]]:
    """An https:// endpoint (the development certificate) that publishes a
    UserNameOverTransport WSDL and answers every POST with ``307`` to an http:// listener
    (a 307 keeps the method and the body)."""
    _, cert_path, key_path = dev_certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_path, key_path)
    plain = Listener(lambda first: ("500 Internal Server Error", {}, b""))
    holder: dict[str, bytes] = {}

    def answer(first: bytes) -> tuple[str, dict[str, str], bytes]:
        if first.startswith(b"GET ") and b"wsdl" in first:
            return "200 OK", {"Content-Type": "text/xml"}, holder["wsdl"]
        return "307 Temporary Redirect", {"Location": f"{plain.base}/svc"}, b""

    secure = Listener(answer, tls)
    holder["wsdl"] = unot_wsdl(f"{secure.base}/svc")
    yield secure, plain, str(cert_path)
    secure.close()
    plain.close()


def test_a_redirect_to_http_is_not_followed(redirecting: tuple[Listener, Listener, str]) -> None:
    secure, plain, ca = redirecting
    wsdl = f"{secure.base}/svc?wsdl"
    # httpx (Client, AsyncClient), even with an httpx client of the user's that follows
    # redirects, and requests (zeep's Transport), which re-sends the body on a 307.
    follows = httpx.Client(verify=ssl.create_default_context(cafile=ca), follow_redirects=True)
    with (
        Client.from_wsdl(wsdl, verify=ca, username="alice", password=PASSWORD, http=follows) as c,
        pytest.raises(TransportError, match="307"),
    ):
        c.Echo(text="x")
    follows.close()

    async def via_async() -> None:
        c = await AsyncClient.from_wsdl(wsdl, verify=ca, username="alice", password=PASSWORD)
        try:
            with pytest.raises(TransportError, match="307"):
                await c.Echo(text="x")
        finally:
            await c.aclose()

    asyncio.run(via_async())
    with (
        zeep.Client(wsdl, **secure_session(wsdl, verify=ca, username="alice", password=PASSWORD)) as zc,
        pytest.raises(TransportError, match="307"),
    ):  # one class for it, as Client's
        zc.service.Echo(text="x")
    # The RSTs, password included, went to the https:// endpoint (inside TLS) and no further.
    assert PASSWORD.encode() in bytes(secure.received)
    assert len([r for r in secure.requests if r.startswith(b"POST ")]) >= 3, secure.requests
    assert not plain.received, bytes(plain.received)[:300]


# --- the service side --------------------------------------------------------------------
def test_wssc_inspect_flags_such_a_wsdl(plain_endpoint: Listener, tmp_path: Path) -> None:
    env = dict(os.environ, WSSC_HOME=str(tmp_path))
    bad = tmp_path / "bad.wsdl"
    bad.write_bytes(unot_wsdl("http://example.test/svc"))
    good = tmp_path / "good.wsdl"
    good.write_bytes(unot_wsdl("https://example.test/svc"))
    runs = {
        name: subprocess.run(
            [sys.executable, "-m", "wssc", "inspect", src], capture_output=True, env=env, timeout=60
        )
        for name, src in (("bad", str(bad)), ("good", str(good)), ("url", f"{plain_endpoint.base}/svc?wsdl"))
    }
    assert runs["good"].returncode == 0 and not runs["good"].stderr, runs["good"].stderr
    for name in ("bad", "url"):
        r = runs[name]
        assert r.returncode == 4, (name, r.returncode, r.stderr)
        assert b"Bootstrap:" in r.stdout  # the explanation is still printed
        err = r.stderr.decode()
        assert err.startswith("warning: UserNameOverTransport relies on transport security"), err
        assert "http://" in err and "https://" in err, err
    plain_endpoint.assert_no_password()


def test_the_service_refuses_to_publish_it_on_http(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        ServiceEngine(
            Calculator(),
            settings=UNOT,
            address="http://127.0.0.1:8000/svc",
            username_validator=lambda u, p: True,
        )
    text = str(info.value)
    assert "http://" in text and "https://" in text and "forwarded_allow_ips" in text, text
    # The published address behind a TLS-terminating proxy is the proxy's https:// one.
    ServiceEngine(
        Calculator(), settings=UNOT, address="https://proxy.example/svc", username_validator=lambda u, p: True
    )
    # A bootstrap that does not rely on TLS may be served on http://.
    cert, _, _ = dev_certificate(tmp_path)
    ServiceEngine(Calculator(), address="http://127.0.0.1:8000/svc", certificate=cert)
