"""WCF's Kerberos bootstrap (``wssc serve --bootstrap kerberos``) attacked over HTTP, against a
real MIT KDC (`tests/kdc.py`): the CLI end to end, then RST/SCTs a real client made, replayed
or rewritten. Each refusal asserts WCF's one generic fault on the wire and the reason in the
service log (which check refused)."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from attack_kit import (
    GENERIC_CODE,
    GENERIC_REASON,
    assert_refused_by,
    fault_logged,
    log_mark,
    post,
    read_fault_bytes,
    wait_for_log,
)
from lxml import etree

from kdc import PASSWORD, REALM, SERVICE, Kdc
from servers import Server
from wssc.bootstrap.registry import ClientCredentials
from wssc.client import Client
from wssc.xml import ns

BST = f"{{{ns.WSSE}}}BinarySecurityToken"


@pytest.fixture
def kerberos(kdc: Kdc, server: Callable[..., Server]) -> Callable[..., Server]:
    """``kerberos(binding, *extra, keytab=None)``: a ``wssc serve --bootstrap kerberos`` with the
    KDC's service keytab (shared per argument list)."""

    def get(binding: str = "wshttp", *extra: str, keytab: Path | None = None) -> Server:
        return server(
            "--bootstrap",
            "kerberos",
            "--binding",
            binding,
            "--keytab",
            str(keytab or kdc.service_keytab),
            "--spn",
            SERVICE,
            *extra,
        )

    return get


class Capture(httpx.BaseTransport):
    """Forwards GETs (the WSDL); keeps each POSTed body and answers it with a 500 and no body,
    so the request never reaches the service (a message the attacker holds, still fresh)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.posted: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST":
            return self.inner.handle_request(request)
        self.posted.append(request.read())
        return httpx.Response(500, content=b"")

    def close(self) -> None:
        self.inner.close()


class Mitm(httpx.BaseTransport):
    """Forwards everything and keeps each (request, status, reply)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.seen: list[tuple[bytes, int, bytes]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        data = response.read()
        if request.method == "POST":
            self.seen.append((request.read(), response.status_code, data))
        kept = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=kept, content=data)

    def close(self) -> None:
        self.inner.close()


def client(srv: Server, transport: httpx.BaseTransport, **creds: str) -> Client:
    http = httpx.Client(transport=transport, timeout=60)
    c = Client.from_wsdl(srv.wsdl_url, http=http, credentials=ClientCredentials(spn=SERVICE, **creds))
    c._own_http = True
    return c


def alice() -> dict[str, str]:
    return {"username": f"alice@{REALM}", "password": PASSWORD}


def captured_rst(srv: Server, **creds: str) -> bytes:
    """A fresh RST/SCT a real client made for ``srv`` (never sent to it)."""
    cap = Capture()
    with pytest.raises(Exception):
        with client(srv, cap, **(creds or alice())) as c:
            c.Add(a=1, b=2)
    assert cap.posted, "the client sent nothing"
    return cap.posted[0]


def ap_req_element(root: etree._Element) -> etree._Element:
    found = [e for e in root.iter(BST) if e.get("ValueType") == ns.WSS_KERBEROS_AP_REQ]
    assert len(found) == 1
    return found[0]


# --- whole sessions through the CLI ------------------------------------------------------
@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
@pytest.mark.parametrize("mode", ["session", "cookie"])
def test_wssc_call_over_kerberos(
    kerberos: Callable[..., Server], kdc: Kdc, tmp_path: Path, binding: str, mode: str
) -> None:
    srv = kerberos(binding, *(() if mode == "session" else ("--no-require-cancellation",)))
    ccache = tmp_path / "alice.ccache"
    kdc.kinit(f"alice@{REALM}", PASSWORD, ccache)
    since = log_mark(srv)
    done = subprocess.run(
        [sys.executable, "-m", "wssc", "call", srv.url, "Add", "2", "3", "--repeat", "2", "-v",
         "--spn", SERVICE, "--ccache", str(ccache)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "5"
    assert "[negotiate]" not in done.stderr and "Kerberos" in done.stderr
    wait_for_log(srv, f"(identity 'alice@{REALM}')", since=since)


def test_wssc_call_with_a_client_keytab(kerberos: Callable[..., Server], kdc: Kdc) -> None:
    """A client keytab, and the SPN from the WSDL's identity (no ``--spn``); ``wssc inspect``
    explains the endpoint in WCF's words."""
    srv = kerberos("ws2007")
    shown = subprocess.run(
        [sys.executable, "-m", "wssc", "inspect", srv.url], capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stderr
    for words in ("Kerberos", "AP-REQ", "sp:KerberosToken", "WssGssKerberosV5ApReqToken11", SERVICE):
        assert words in shown.stdout, shown.stdout
    since = log_mark(srv)
    done = subprocess.run(
        [sys.executable, "-m", "wssc", "call", srv.url, "Echo", "hi", "--keytab", str(kdc.client_keytab)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (done.returncode, done.stdout.strip()) == (0, "hi"), done.stderr
    wait_for_log(srv, f"(identity 'bob@{REALM}')", since=since)


# --- refusals at the service ---------------------------------------------------------------
def test_wrong_service_key_is_refused(kerberos: Callable[..., Server], kdc: Kdc) -> None:
    """The service holds only an older key of its principal (kvno 2; tickets are for kvno 3)."""
    srv = kerberos("wshttp", keytab=kdc.stale_keytab)
    since = log_mark(srv)
    mitm = Mitm()
    with pytest.raises(Exception):
        with client(srv, mitm, **alice()) as c:
            c.Add(a=1, b=1)
    body, status, reply = mitm.seen[-1]
    fault = read_fault_bytes(reply)
    assert fault is not None and (status, fault.code, fault.reason, fault.has_detail) == (
        500,
        GENERIC_CODE,
        GENERIC_REASON,
        False,
    )
    assert b"GSS_Kerberosv5_AP_REQ" in body
    fault_logged(srv, "the Kerberos acceptor refused the AP-REQ", since=since)


def test_replayed_ap_req_is_refused(kerberos: Callable[..., Server]) -> None:
    """A captured RST/SCT posted twice: the first opens a session, the second (its AP-REQ
    accepted already) is refused by the service's own AP-REQ replay check, before any GSS
    work (MIT's replay cache would be the second line)."""
    srv = kerberos("ws2007")
    rst = captured_rst(srv)
    first = post(srv, rst)
    assert first.status_code == 200, first.text[:500]
    since = log_mark(srv)
    again = post(srv, rst)
    assert_refused_by(srv, again, "a replayed AP-REQ", since=since)


def test_replayed_ap_req_in_a_new_message_is_refused(kerberos: Callable[..., Server]) -> None:
    """The AP-REQ of an accepted RST/SCT moved into another fresh message (its own signature
    and timestamp fresh): still the same AP-REQ, still refused."""
    srv = kerberos("wshttp")
    first_rst, second_rst = captured_rst(srv), captured_rst(srv)
    assert post(srv, first_rst).status_code == 200
    used = ap_req_element(etree.fromstring(first_rst)).text
    root = etree.fromstring(second_rst)
    ap_req_element(root).text = used
    since = log_mark(srv)
    assert_refused_by(srv, post(srv, etree.tostring(root)), "a replayed AP-REQ", since=since)


@pytest.mark.parametrize("where", [-8, 60], ids=["authenticator", "ticket"])
def test_tampered_ap_req_is_refused(kerberos: Callable[..., Server], where: int) -> None:
    srv = kerberos("ws2007")
    root = etree.fromstring(captured_rst(srv))
    el = ap_req_element(root)
    raw = bytearray(base64.b64decode(el.text or ""))
    raw[where] ^= 0x01
    el.text = base64.b64encode(bytes(raw)).decode("ascii")
    since = log_mark(srv)
    assert_refused_by(
        srv, post(srv, etree.tostring(root)), "the Kerberos acceptor refused the AP-REQ", since=since
    )


def test_message_keyed_by_another_ap_req_is_refused(kerberos: Callable[..., Server], kdc: Kdc) -> None:
    """Alice's RST/SCT (signed and encrypted with keys derived from her AP-REQ's session key)
    carrying, in its place, another valid and fresh AP-REQ (bob's): the acceptor accepts bob's
    ticket, and the message's signature, made with another key, is refused."""
    srv = kerberos("wshttp")
    alices = etree.fromstring(captured_rst(srv))
    bobs = etree.fromstring(
        captured_rst(srv, username=f"bob@{REALM}", kerberos_keytab=str(kdc.client_keytab))
    )
    ap_req_element(alices).text = ap_req_element(bobs).text
    since = log_mark(srv)
    r = post(srv, etree.tostring(alices))
    # the signature (encrypted, EncryptSignature) does not even decrypt under bob's key
    assert_refused_by(srv, r, "(wrong key?)", since=since)
    wait_for_log(srv, f"Kerberos request from bob@{REALM} refused", since=since)


def test_request_without_ap_req_is_refused(kerberos: Callable[..., Server]) -> None:
    srv = kerberos("ws2007")
    root = etree.fromstring(captured_rst(srv))
    el = ap_req_element(root)
    parent = el.getparent()
    assert parent is not None
    parent.remove(el)
    since = log_mark(srv)
    assert_refused_by(
        srv, post(srv, etree.tostring(root)), "the request carries no Kerberos AP-REQ", since=since
    )


def test_ap_req_asking_for_mutual_authentication_is_refused(
    kerberos: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """WCF's Kerberos token has one leg: its initiator asks for no mutual authentication. An
    AP-REQ that does (here a real client made to ask) is refused before its key is used."""
    import os

    import spnego

    from wssc.bootstrap.kerberos import KerberosClient

    req = spnego.ContextReq
    flags = req.mutual_auth | req.confidentiality | req.integrity | req.replay_detect | req.sequence_detect

    def mutual_ap_req(self: KerberosClient) -> tuple[bytes, bytes]:
        gss = self.credentials.context(flags)
        token = gss.step()
        assert token and not gss.complete  # it waits for an AP-REP that never comes
        return token, os.urandom(32)  # the key is never reached: the AP-REQ is refused first

    monkeypatch.setattr(KerberosClient, "ap_req", mutual_ap_req)
    srv = kerberos("ws2007")
    since = log_mark(srv)
    mitm = Mitm()
    with pytest.raises(Exception):  # the generic fault, as the client reads it
        with client(srv, mitm, **alice()) as c:
            c.Add(a=1, b=1)
    _, status, reply = mitm.seen[-1]
    fault = read_fault_bytes(reply)
    assert fault is not None and (status, fault.code, fault.reason) == (500, GENERIC_CODE, GENERIC_REASON)
    fault_logged(srv, "the AP-REQ asks for mutual authentication", since=since)


class _SessionKeyRenew:
    """A client half whose Renew is signed by the session's key alone, as a Cancel is (no
    fresh AP-REQ): not how WCF sends one."""

    def __init__(self, real: object) -> None:
        self.real = real

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    def secure_renew(self, envelope: etree._Element, policy: object, session: object, now: float) -> object:
        from wssc.security.outbound import protect

        return protect(envelope, session, policy, now=now), None  # type: ignore[arg-type]


def test_a_renew_under_the_session_key_alone_is_refused(kerberos: Callable[..., Server]) -> None:
    """WCF renews a Kerberos-bootstrapped session with a fresh AP-REQ: a Renew signed by the
    session's key alone is refused, so an expired ticket cannot keep its session alive; the
    session itself goes on."""
    srv = kerberos("ws2007")
    mitm = Mitm()
    with client(srv, mitm, **alice()) as c:
        assert c.Add(a=1, b=2) == 3
        c.session.bootstrap = _SessionKeyRenew(c.session.bootstrap)  # type: ignore[assignment]
        since = log_mark(srv)
        with pytest.raises(Exception):
            c.renew()
        body, status, reply = mitm.seen[-1]
        assert b"/SCT/Renew" in body and b"GSS_Kerberosv5_AP_REQ" not in body
        fault = read_fault_bytes(reply)
        assert fault is not None and (status, fault.code, fault.reason) == (500, GENERIC_CODE, GENERIC_REASON)
        fault_logged(srv, "the Renew carries no Kerberos AP-REQ", since=since)
