"""End to end over real HTTP on loopback: ``wssc serve`` (uvicorn) in a subprocess, our
clients in the test process."""

from __future__ import annotations

# ruff: noqa: I001

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from servers import BOOTSTRAP_NAMES, NEGOTIATING, client_credentials
from lxml import etree

from wssc.bootstrap.registry import ClientCredentials, parse_bootstrap
from wssc.certs import generate_self_signed
from wssc.client import AsyncClient, Client
from wssc.client.common import endpoint_from_wsdl, make_bootstrap, tls_verify
from wssc.errors import (
    SecurityVerificationFailed,
    BadContextToken,
    CancellationNotAllowed,
    FailedAuthentication,
    RenewNeeded,
    WsscError,
)
from wssc.session.client import ClientSession, Outgoing
from wssc.xml import ns

if TYPE_CHECKING:
    from servers import Server

pytestmark = pytest.mark.e2e

BINDINGS = ["wshttp", "ws2007"]
MODES = ["session", "cookie"]
BOOTSTRAPS = BOOTSTRAP_NAMES


def serve_args(binding: str, mode: str, bootstrap: str, *extra: str) -> tuple[str, ...]:
    args = ["--binding", binding, "--bootstrap", bootstrap]
    if mode == "cookie":
        args.append("--no-require-cancellation")
    return (*args, *extra)


def creds(bootstrap: str, home: Path) -> dict[str, Any]:
    return client_credentials(bootstrap, home)


# --- the full matrix ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("binding", "mode", "bootstrap"), list(itertools.product(BINDINGS, MODES, BOOTSTRAPS))
)
def test_session_lifecycle(server: Callable[..., Server], binding: str, mode: str, bootstrap: str) -> None:
    srv = server(*serve_args(binding, mode, bootstrap))
    events: list[tuple[str, str]] = []
    client = Client.from_wsdl(
        srv.wsdl_url,
        verify=srv.verify,
        on_event=lambda e, d: events.append((e, d)),
        **creds(bootstrap, srv.home),
    )
    # settings come from the WSDL policy
    scs = client.session.scs
    assert scs.require_cancellation is (mode == "session")
    assert scs.message_security_version.name == binding
    assert scs.bootstrap == parse_bootstrap(bootstrap)
    with client:
        assert client.call("Add", a=2, b=3) == 5
        assert client.Echo(text="héllo <&>") == "héllo <&>"
        assert client.call("Add", 40, 2) == 42
        sct = client.session.sct
        assert sct is not None
        assert (sct.cookie is not None) is (mode == "cookie")
    names = [e for e, _ in events]
    if bootstrap in NEGOTIATING:  # the negotiation's legs come first (TLSNEGO: two)
        assert names[:2] == ["negotiate", "negotiate"]
        names = names[2:]
    assert names[0] == "issue"
    assert names.count("issue") == 1  # one session for all three calls
    assert names.count("call") == 3
    if mode == "session":
        assert names[-1] == "cancel"
    else:
        assert "cancel" not in names and names[-1] == "close"


def test_async_client(server: Callable[..., Server]) -> None:
    srv = server(*serve_args("ws2007", "session", "anonymous-for-certificate"))

    async def main() -> list[object]:
        events: list[str] = []
        c = await AsyncClient.from_wsdl(srv.wsdl_url, on_event=lambda e, d: events.append(e))
        async with c:
            results = await asyncio.gather(*(c.call("Add", a=i, b=i) for i in range(5)))
        assert events.count("issue") == 1 and events[-1] == "cancel"
        return list(results)

    assert asyncio.run(main()) == [0, 2, 4, 6, 8]


def test_sync_and_async_clients_have_the_same_surface(server: Callable[..., Server]) -> None:
    """``c.Add(...)`` and ``c.call("Add", ...)`` on both; the async ones are awaited."""
    srv = server(*serve_args("wshttp", "session", "anonymous-for-certificate"))
    with Client.from_wsdl(srv.wsdl_url) as c:
        assert c.Add(a=1, b=2) == 3 and c.call("Add", 3, 4) == 7

    async def main() -> tuple[object, object]:
        async with await AsyncClient.from_wsdl(srv.wsdl_url) as c:
            return await c.Add(a=1, b=2), await c.call("Add", 3, 4)

    assert asyncio.run(main()) == (3, 7)
    public = {n for n in dir(Client) if not n.startswith("_")}
    apublic = {n for n in dir(AsyncClient) if not n.startswith("_")}
    # the same, but for the async spellings: aclose, and from_wsdl_async (an alias)
    assert public - {"close"} == apublic - {"aclose", "from_wsdl_async"}


# --- WSDL -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("binding", "mode"), list(itertools.product(BINDINGS, MODES)))
def test_wsdl_must_not_send_cancel(server: Callable[..., Server], binding: str, mode: str) -> None:
    srv = server(*serve_args(binding, mode, "anonymous-for-certificate"))
    for query in ("?wsdl", "?singleWsdl"):
        doc = etree.fromstring(httpx.get(srv.url + query).content)
        mssp = doc.findall(f".//{{{ns.MSSP}}}MustNotSendCancel")
        sp12 = doc.findall(f".//{{{ns.SP12}}}MustNotSendCancel")
        sp11 = doc.findall(f".//{{{ns.SP11}}}MustNotSendCancel")
        assert not sp11  # never in the SP 1.1 namespace: WCF uses mssp there
        if mode == "session":
            assert not mssp and not sp12
        elif binding == "wshttp":
            assert len(mssp) == 1 and not sp12
        else:
            assert len(sp12) == 1 and not mssp
        sct_tokens = doc.findall(".//{*}SecureConversationToken")
        assert len(sct_tokens) == 1
        # The service certificate is the endpoint identity.
        assert doc.find(f".//{{{ns.DS}}}X509Certificate") is not None


def test_inspect_cookie_wsdl_says_no_cancel(server: Callable[..., Server]) -> None:
    import subprocess
    import sys

    srv = server(*serve_args("wshttp", "cookie", "anonymous-for-certificate"))
    out = subprocess.run(
        [sys.executable, "-m", "wssc", "inspect", srv.url], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "No Cancel will be sent" in out.stdout
    assert "mssp:MustNotSendCancel" in out.stdout


# --- raw access for the negative cases --------------------------------------------------------
class Raw:
    """A ClientSession driven by hand, to send what a well-behaved client would not."""

    def __init__(self, srv: Server, **kw: object) -> None:
        self.srv = srv
        ep = endpoint_from_wsdl(httpx.get(srv.wsdl_url, verify=tls_verify(srv.verify)).content, srv.wsdl_url)
        settings = kw.pop("settings", ep.settings)
        cert = kw.pop("service_certificate", ep.certificate)
        self.contract = ep.contract
        self.session = ClientSession(
            settings,  # type: ignore[arg-type]
            make_bootstrap(
                settings,
                ClientCredentials.of(  # type: ignore[arg-type]
                    service_certificate=cert, username=kw.get("username"), password=kw.get("password")
                ),
            ),
            ep.address,
        )
        self.http = httpx.Client(verify=tls_verify(srv.verify), timeout=30)

    def post(self, out: Outgoing) -> bytes:
        r = self.http.post(self.srv.url, content=out.body, headers={"content-type": out.content_type})
        return r.content

    def issue(self) -> None:
        now = time.time()
        out = self.session.issue_request(now)
        self.session.issue_response(self.post(out), out, now)

    def add_request(self, a: int, b: int) -> Outgoing:
        return self.session.app_request(self.contract.operation("Add"), {"a": a, "b": b}, time.time())

    def add(self, a: int, b: int) -> object:
        out = self.add_request(a, b)
        return self.session.app_response(self.post(out), out, time.time())

    def cancel(self) -> None:
        out = self.session.cancel_request(time.time())
        assert out is not None
        self.session.cancel_response(self.post(out), out, time.time())


def test_message_after_cancel_is_bad_context_token(server: Callable[..., Server]) -> None:
    for binding in BINDINGS:
        srv = server(*serve_args(binding, "session", "anonymous-for-certificate"))
        raw = Raw(srv)
        raw.issue()
        assert raw.add(1, 2) == 3
        late = raw.add_request(5, 5)  # built while the session lives
        raw.cancel()
        with pytest.raises(BadContextToken) as info:
            raw.session.app_response(raw.post(late), late, time.time())
        assert info.value.code.local == "BadContextToken"


def test_cancel_in_cookie_mode_is_refused(server: Callable[..., Server]) -> None:
    srv = server(*serve_args("wshttp", "cookie", "anonymous-for-certificate"))
    ep = endpoint_from_wsdl(httpx.get(srv.wsdl_url).content, srv.wsdl_url)
    # A client that ignores MustNotSendCancel sends a Cancel anyway.
    forced = replace(
        ep.settings, secure_conversation=replace(ep.settings.secure_conversation, require_cancellation=True)
    )
    raw = Raw(srv, settings=forced)
    raw.issue()
    assert raw.add(2, 2) == 4
    with pytest.raises(CancellationNotAllowed) as info:
        raw.cancel()
    assert info.value.code.clark == f"{{{ns.DNSE}}}SecureConversationCancellationNotAllowed"
    # and the cookie still works afterwards: nothing was cancelled
    out = raw.add_request(3, 3)
    assert raw.session.app_response(raw.post(out), out, time.time()) == 6


def test_pending_session_flood_evicts_the_oldest_unused(server: Callable[..., Server]) -> None:
    """At WCF's global quota (here 3) a new RST is served and the oldest unused pending
    session is evicted (wssc's deviation from WCF's ServerTooBusy, so that a flood cannot lock
    newcomers out); the evicted session's first message gets BadContextToken."""
    srv = server(*serve_args("wshttp", "session", "anonymous-for-certificate", "--max-pending-sessions", "3"))
    raws = [Raw(srv) for _ in range(4)]
    for r in raws:
        r.issue()
    deadline = time.monotonic() + 10
    while "evicted the oldest unused pending session" not in srv.log():
        assert time.monotonic() < deadline, srv.log()[-2000:]
        time.sleep(0.05)
    assert "max_pending_sessions (3) are pending" in srv.log()
    with pytest.raises(BadContextToken):
        raws[0].add(1, 1)
    assert [r.add(2, i) for i, r in enumerate(raws[1:])] == [2, 3, 4]


def test_expired_key_gets_renew_needed_then_renew_works(server: Callable[..., Server]) -> None:
    """The one real-time check against a running server (the clock-driven variants, both
    bindings, the client's own renewal and cookie expiry, run in process on a fake clock:
    tests/session/test_clock_driven.py). Generous margins: the key lives 8 s, the first call
    only has to come within them, and the wait is measured from the issue reply rather than
    slept for a fixed time."""
    lifetime = 8.0
    srv = server(
        *serve_args("ws2007", "session", "anonymous-for-certificate", "--key-renewal", str(lifetime))
    )
    raw = Raw(srv)
    raw.issue()
    issued_by = time.time()  # the server set key_expires = (its issue time) + lifetime <= this
    assert raw.add(1, 1) == 2
    # The key expires on the server's clock: poll with calls until one is refused with
    # RenewNeeded (deadline: the lifetime plus 10 s), and not before the key's lifetime.
    deadline = time.monotonic() + lifetime + 10
    while True:
        try:
            raw.add(2, 2)
        except RenewNeeded:
            break
        assert time.monotonic() < deadline, "the key was still accepted long after it expired"
        time.sleep(0.25)
    assert time.time() >= issued_by + lifetime - 1, "RenewNeeded before the key expired"
    assert raw.session.renew_due(time.time())
    first_instance = raw.session.sct.instance if raw.session.sct else None
    now = time.time()
    out = raw.session.renew_request(now)
    new = raw.session.renew_response(raw.post(out), out, now)
    assert new.instance and new.instance != first_instance
    assert raw.add(3, 4) == 7
    raw.cancel()


def test_tampered_cookie_is_rejected(server: Callable[..., Server]) -> None:
    srv = server(*serve_args("wshttp", "cookie", "anonymous-for-certificate"))
    raw = Raw(srv)
    raw.issue()
    sct = raw.session.sct
    assert sct is not None and sct.cookie is not None
    cookie = bytearray(sct.cookie)
    cookie[-5] ^= 0x01
    raw.session.sct = replace(sct, cookie=bytes(cookie))
    with pytest.raises(BadContextToken):
        raw.add(1, 1)


def test_wrong_password_is_rejected(server: Callable[..., Server]) -> None:
    srv = server(*serve_args("wshttp", "session", "username-over-transport"))
    with pytest.raises(FailedAuthentication):
        with Client.from_wsdl(srv.wsdl_url, verify=srv.verify, username="alice", password="wrong") as c:
            c.Add(a=1, b=1)


def test_wrong_certificate_is_rejected(server: Callable[..., Server]) -> None:
    srv = server(*serve_args("wshttp", "session", "anonymous-for-certificate"))
    from wssc.certs import Certificate

    other = generate_self_signed()
    raw = Raw(srv, service_certificate=Certificate(other.cert))
    with pytest.raises(WsscError) as info:
        raw.issue()
    # Every security failure is WCF's one generic fault on the wire.
    assert isinstance(info.value, SecurityVerificationFailed)
    assert info.value.reason == "An error occurred when verifying security for the message."


def test_plain_http_is_refused_for_username_over_transport(
    server: Callable[..., Server],
) -> None:
    # The service is HTTPS-only; a UsernameToken must never travel in clear text.
    srv = server(*serve_args("wshttp", "session", "username-over-transport"))
    with pytest.raises(httpx.HTTPError):
        httpx.post(srv.url.replace("https://", "http://"), content=b"<x/>", timeout=5)


def test_garbage_gets_a_fault_not_a_traceback(server: Callable[..., Server]) -> None:
    srv = server(*serve_args("wshttp", "session", "anonymous-for-certificate"))
    for body in (
        b"not xml",
        b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
        b"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body/></s:Envelope>",
    ):
        r = httpx.post(srv.url, content=body, headers={"content-type": "application/soap+xml"})
        assert r.status_code == 500
        assert b"Fault" in r.content and b"Traceback" not in r.content
