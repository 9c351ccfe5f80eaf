"""Issue 13, item 5: the client refuses a reply that does not answer its request.

A man in the middle (a small HTTP forward proxy, here in the test, between a real client and a
real ``wssc serve``) answered ``Add(20, 22)`` with the secured reply to an earlier
``Add(1, 1)``, and the client returned 2. Now every reply must carry a signed ``wsa:RelatesTo``
equal to the request's ``wsa:MessageID``, and the client keeps a replay cache of the replies'
signatures (WCF's ``LocalClientSecuritySettings.DetectReplays``, on by default).

Each refusal is asserted twice: the typed error the caller gets (never the old result), and the
reason logged on ``wssc.client``, which names the check that refused:

* a reply the client has accepted before, replayed: the replay cache ("seen before");
* a reply the client never saw (the MITM withheld it and sends it later): RelatesTo mismatch;
* a reply whose RelatesTo is not covered by the signature, or is missing: a peer that signs
  only Body and Timestamp would let a MITM rewrite RelatesTo. The MITM here holds the session
  key (read from the client under test) and re-secures the reply itself, so that every other
  check passes; a control shows the same forgery with RelatesTo signed is accepted.

The exact same reply to the exact same request twice cannot happen through the clients: each
request gets a fresh MessageID and is sent once (a retry after RenewNeeded is a new request).
The replay cache alone is tested with the sans-IO session in
``tests/session/test_reply_checks.py``; over the wire, the replayed ``Add(1, 1)`` reply meets
the replay cache first (it runs before the RelatesTo comparison).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import requests
import zeep
from attack_kit import serve_args
from lxml import etree

from servers import Server
from wssc.client import AsyncClient, Client
from wssc.contract import encode_response, get_contract
from wssc.demo import Calculator
from wssc.errors import InvalidSecurity, ReplayDetected, WsscError
from wssc.integrations.zeep import async_secure_session, secure_session
from wssc.security.outbound import protect
from wssc.security.tokens import SctProtection
from wssc.session.client import ClientSession
from wssc.tokens.sct import SecurityContextToken
from wssc.xml.parse import parse_xml
from wssc.xml.soap import Envelope, new_envelope

pytestmark = pytest.mark.e2e

CLIENTS = ("sync", "async", "zeep", "zeep-async")
#: What the MITM does to the reply of one exchange: (status, body) -> (status, body).
Hook = Callable[[bytes, int, bytes], tuple[int, bytes]]


@dataclass
class Mitm:
    """An HTTP forward proxy on loopback: every request (absolute-form, as clients send to a
    proxy) goes on to the real service; ``hooks`` (one per POST whose SOAPAction contains
    ``match``, first come first served) may change the reply the client gets."""

    match: str = "/Add"
    hooks: list[Hook] = field(default_factory=list)
    seen: list[tuple[bytes, int, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        mitm = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _forward(self, method: str) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() in ("content-type", "soapaction")
                }
                r = httpx.request(
                    method, self.path, content=body or None, headers=headers, timeout=60, trust_env=False
                )
                status, data = r.status_code, r.content
                action = self.headers.get("soapaction", "")
                if method == "POST" and mitm.match in action:
                    mitm.seen.append((body, status, data))
                    if mitm.hooks:
                        status, data = mitm.hooks.pop(0)(body, status, data)
                self.send_response(status)
                self.send_header("content-type", r.headers.get("content-type", "text/xml"))
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._forward("GET")

            def do_POST(self) -> None:
                self._forward("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def mitm() -> Iterator[Mitm]:
    m = Mitm()
    yield m
    m.close()


# --- the four clients, each through the proxy ----------------------------------------------
class Driver:
    """Calls ``Add`` through one kind of client; ``session`` is its sans-IO session."""

    def __init__(self, kind: str, srv: Server, proxy: str) -> None:
        self.kind = kind
        self.loop = asyncio.new_event_loop()
        if kind == "sync":
            self.c: object = Client.from_wsdl(
                srv.wsdl_url, http=httpx.Client(proxy=proxy, trust_env=False, timeout=60)
            )
            self.session: ClientSession = self.c.session  # type: ignore[attr-defined]
        elif kind == "async":
            ac = self.loop.run_until_complete(
                AsyncClient.from_wsdl(
                    srv.wsdl_url, http=httpx.AsyncClient(proxy=proxy, trust_env=False, timeout=60)
                )
            )
            self.c, self.session = ac, ac.session
        elif kind == "zeep":
            http = requests.Session()
            http.trust_env = False
            http.proxies = {"http": proxy}
            kw = secure_session(srv.wsdl_url, session=http)
            self.c = zeep.Client(srv.wsdl_url, **kw)
            self.session = kw["transport"].secure_session
        else:
            kw = async_secure_session(srv.wsdl_url, proxy=proxy)
            self.c = self.loop.run_until_complete(self._zeep_async(srv, kw))
            self.session = kw["transport"].secure_session

    @staticmethod
    async def _zeep_async(srv: Server, kw: dict[str, object]) -> object:
        return zeep.AsyncClient(srv.wsdl_url, **kw)  # type: ignore[arg-type]

    def add(self, a: int, b: int) -> object:
        c: object = self.c
        if self.kind == "sync":
            return c.Add(a=a, b=b)  # type: ignore[attr-defined]
        if self.kind == "async":
            return self.loop.run_until_complete(c.Add(a=a, b=b))  # type: ignore[attr-defined]
        if self.kind == "zeep":
            return c.service.Add(a=a, b=b)  # type: ignore[attr-defined]
        return self.loop.run_until_complete(c.service.Add(a=a, b=b))  # type: ignore[attr-defined]

    def close(self) -> None:
        c: object = self.c
        try:
            if self.kind == "sync":
                c.close()  # type: ignore[attr-defined]
            elif self.kind == "async":
                self.loop.run_until_complete(c.aclose())  # type: ignore[attr-defined]
            elif self.kind == "zeep":
                c.transport.close()  # type: ignore[attr-defined]
            else:
                self.loop.run_until_complete(c.transport.aclose())  # type: ignore[attr-defined]
        finally:
            self.loop.close()


@pytest.fixture
def drive(server: Callable[..., Server], mitm: Mitm) -> Iterator[Callable[[str], Driver]]:
    made: list[Driver] = []

    def make(kind: str, *args: str) -> Driver:
        d = Driver(kind, server(*serve_args("wshttp", "session", *args)), mitm.url)
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


def refused(caplog: pytest.LogCaptureFixture, reason: str) -> None:
    """The client logged why it refused the reply (logger ``wssc.client``; logged before
    the error is raised, in the caller's thread or loop)."""
    got = [
        r.getMessage()
        for r in caplog.records
        if r.name == "wssc.client" and r.getMessage().startswith("reply refused: ")
    ]
    assert any(reason in m for m in got), f"no 'reply refused: …{reason}…'; got {got}"


def the_error(exc: BaseException) -> BaseException:
    """zeep may wrap the wssc error; the typed error is the exception or its cause."""
    return exc if isinstance(exc, WsscError) or exc.__cause__ is None else exc.__cause__


# --- the attacks ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", CLIENTS)
def test_a_replayed_reply_is_refused(
    drive: Callable[..., Driver], mitm: Mitm, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The reply to ``Add(1, 1)``, delivered and accepted, then sent again as the answer to
    ``Add(20, 22)``: the replay cache refuses it."""
    caplog.set_level(logging.INFO, logger="wssc.client")
    d = drive(kind)
    assert d.add(1, 1) == 2
    captured = mitm.seen[-1][2]
    mitm.hooks.append(lambda req, status, data: (200, captured))
    with pytest.raises(Exception) as info:
        d.add(20, 22)
    assert isinstance(the_error(info.value), ReplayDetected), repr(info.value)
    refused(caplog, "the reply's signature was seen before")
    assert d.add(20, 22) == 42  # the session is unharmed: the next honest reply is taken


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_withheld_reply_delivered_later_is_refused(
    drive: Callable[..., Driver], mitm: Mitm, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The MITM swallows the reply to ``Add(1, 1)`` (the client sees a network error) and
    answers ``Add(20, 22)`` with it: never seen, so its RelatesTo must give it away."""
    caplog.set_level(logging.INFO, logger="wssc.client")
    d = drive(kind)
    assert d.add(5, 5) == 10  # the session is open before the attack
    held: list[bytes] = []

    def withhold(req: bytes, status: int, data: bytes) -> tuple[int, bytes]:
        held.append(data)
        return 502, b""

    mitm.hooks.append(withhold)
    with pytest.raises(Exception):
        d.add(1, 1)
    mitm.hooks.append(lambda req, status, data: (200, held[0]))
    with pytest.raises(Exception) as info:
        d.add(20, 22)
    err = the_error(info.value)
    assert isinstance(err, InvalidSecurity) and not isinstance(err, ReplayDetected), repr(err)
    refused(caplog, "the reply's wsa:RelatesTo does not match the request's MessageID")
    assert d.add(20, 22) == 42


# --- RelatesTo unsigned or removed: a MITM that can re-secure the reply ---------------------
def forge(session: ClientSession, request: bytes, value: int, *, relates: bool, sign_relates: bool) -> bytes:
    """The reply a peer that does not sign its addressing headers would send, answering
    ``request`` with ``value``, secured under the session's key (as the service does)."""
    env = Envelope(parse_xml(request))
    op = get_contract(Calculator()).find(env.action)
    reply = new_envelope(
        env.version,
        action=op.reply_action,
        payload=encode_response(op, value),
        relates_to=env.message_id if relates else None,
        reply_to_anonymous=False,
    )
    sct = session.sct
    assert sct is not None and session.key is not None
    ref = SecurityContextToken(sct.identifier, sct.instance, None, sct.wsu_id)
    policy = replace(session.policy, sign_addressing_headers=sign_relates)
    return etree.tostring(protect(reply, SctProtection(ref, session.key, include=False), policy))


@pytest.mark.parametrize("kind", ["sync", "zeep"])
@pytest.mark.parametrize(
    ("relates", "sign", "reason"),
    [
        (True, True, None),  # control: the forgery itself verifies
        (True, False, "the reply's wsa:RelatesTo is not signed"),
        (False, False, "the reply carries no wsa:RelatesTo"),
    ],
    ids=["control-signed", "unsigned", "removed"],
)
def test_relates_to_must_be_present_and_signed(
    drive: Callable[..., Driver],
    mitm: Mitm,
    kind: str,
    relates: bool,
    sign: bool,
    reason: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="wssc.client")
    d = drive(kind)
    assert d.add(1, 1) == 2
    mitm.hooks.append(
        lambda req, status, data: (200, forge(d.session, req, 2, relates=relates, sign_relates=sign))
    )
    if reason is None:
        assert d.add(20, 22) == 2  # a peer's signed reply is believed: the control
        return
    with pytest.raises(Exception) as info:
        d.add(20, 22)
    err = the_error(info.value)
    assert isinstance(err, InvalidSecurity) and not isinstance(err, ReplayDetected), repr(err)
    refused(caplog, reason)
