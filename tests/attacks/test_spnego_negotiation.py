"""SPNEGO (``wssc serve --bootstrap spnego``) attacked over HTTP, against a real MIT KDC
(`tests/kdc.py`) and pyspnego's NTLM: a real wssc client, sometimes through a man in the middle
(`Mitm`), and raw legs.

What a refused negotiation looks like on the wire is WCF's (negotiation.md §9): a token the
GSS context refuses is the trust ``FailedAuthentication`` fault, a quota ``ServerTooBusy``, an
RST/SCT that does not verify the generic ``InvalidSecurity``. Each test also finds the reason
in the service log: which check refused.
"""

from __future__ import annotations

import base64
import logging
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from attack_kit import (
    assert_fault,
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
from wssc.bootstrap.spnego import SpnegoNegotiated
from wssc.client import Client
from wssc.errors import InvalidSecurity, NegotiationFailed, RemoteFault, ServerTooBusy
from wssc.session.client import ClientSession
from wssc.tokens.sct import SecurityContextToken
from wssc.trust import IssueRequest
from wssc.xml import ns
from wssc.xml.soap import SOAP_12, new_envelope

NTLM_PASSWORD = "Ntlm-Passw0rd!"
FAILED_AUTH = f"{{{ns.TRUST_2005}}}FailedAuthentication"
FAILED_AUTH_REASON = "The request for security token could not be satisfied because authentication failed."
TRUST = {"wshttp": ns.TRUST_FEB2005, "ws2007": ns.TRUST_V13}


@pytest.fixture(scope="module")
def ntlm_users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ntlm") / "users"
    path.write_text(f"WSSC:carol:{NTLM_PASSWORD}\n")
    return path


@pytest.fixture
def spnego(kdc: Kdc, ntlm_users: Path, server: Callable[..., Server]) -> Callable[..., Server]:
    """``spnego(binding, *extra)``: a ``wssc serve --bootstrap spnego`` with the KDC's service
    keytab and the NTLM accounts (shared per argument list)."""

    def get(binding: str = "wshttp", *extra: str, keytab: Path | None = None) -> Server:
        return server(
            "--bootstrap",
            "spnego",
            "--binding",
            binding,
            "--keytab",
            str(keytab or kdc.service_keytab),
            "--ntlm-users",
            str(ntlm_users),
            *extra,
        )

    return get


class Mitm(httpx.BaseTransport):
    """A man in the middle between a real client and the server: it may rewrite one request
    (``edit_request``) or one reply (``edit_reply``), and keeps what it saw."""

    def __init__(
        self,
        edit_request: Callable[[bytes], bytes | None] | None = None,
        edit_reply: Callable[[bytes], bytes | None] | None = None,
    ) -> None:
        self.inner = httpx.HTTPTransport()
        self.edit_request, self.edit_reply = edit_request, edit_reply
        self.seen: list[tuple[bytes, int, bytes]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        if self.edit_request is not None:
            edited = self.edit_request(body)
            if edited is not None:
                body, self.edit_request = edited, None
        headers = [(k, v) for k, v in request.headers.items() if k.lower() != "content-length"]
        response = self.inner.handle_request(
            httpx.Request(request.method, request.url, headers=headers, content=body)
        )
        data = response.read()
        self.seen.append((body, response.status_code, data))
        if self.edit_reply is not None:
            edited = self.edit_reply(data)
            if edited is not None:
                data, self.edit_reply = edited, None
        kept = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=kept, content=data)

    def close(self) -> None:
        self.inner.close()


def edit_b64(local: str, fn: Callable[[bytes], bytes]) -> Callable[[bytes], bytes | None]:
    """Rewrite the base64 text of the first element named ``local`` (None when there is none)."""

    def edit(data: bytes) -> bytes | None:
        root = etree.fromstring(data)
        found = [e for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname == local]
        if not found:
            return None
        el = found[0]
        el.text = base64.b64encode(fn(base64.b64decode(el.text or ""))).decode("ascii")
        return etree.tostring(root)

    return edit


def flip(index: int) -> Callable[[bytes], bytes]:
    def fn(b: bytes) -> bytes:
        i = index if index >= 0 else len(b) + index
        return b[:i] + bytes([b[i] ^ 0x01]) + b[i + 1 :]

    return fn


def client(srv: Server, mitm: Mitm | None = None, **creds: str) -> Client:
    http = httpx.Client(transport=mitm or httpx.HTTPTransport(), timeout=60)
    c = Client.from_wsdl(srv.wsdl_url, http=http, credentials=ClientCredentials(spn=SERVICE, **creds))
    c._own_http = True
    return c


def alice() -> dict[str, str]:
    return {"username": f"alice@{REALM}", "password": PASSWORD}


# --- whole sessions through the CLI ------------------------------------------------------
@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
@pytest.mark.parametrize("mode", ["session", "cookie"])
def test_wssc_call_over_kerberos(spnego: Callable[..., Server], binding: str, mode: str) -> None:
    srv = spnego(binding, *(() if mode == "session" else ("--no-require-cancellation",)))
    since = log_mark(srv)
    done = subprocess.run(
        [sys.executable, "-m", "wssc", "call", srv.url, "Add", "2", "3", "--repeat", "2", "-v",
         "--spn", SERVICE, "--username", f"alice@{REALM}", "--password", PASSWORD],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "5"
    assert "[negotiate]" in done.stderr and "SspiNegotiated" in done.stderr
    wait_for_log(srv, f"(identity 'alice@{REALM}')", since=since)


def test_wssc_call_with_a_ticket_cache_and_ntlm(
    spnego: Callable[..., Server], kdc: Kdc, tmp_path: Path
) -> None:
    """A ccache from the real kinit (``--ccache``); and NTLM with a password."""
    srv = spnego("ws2007")
    ccache = tmp_path / "alice.ccache"
    kdc.kinit(f"alice@{REALM}", PASSWORD, ccache)
    since = log_mark(srv)
    done = subprocess.run(
        [sys.executable, "-m", "wssc", "call", srv.url, "Echo", "hi",
         "--spn", SERVICE, "--ccache", str(ccache)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (done.returncode, done.stdout.strip()) == (0, "hi"), done.stderr
    wait_for_log(srv, f"(identity 'alice@{REALM}')", since=since)
    done = subprocess.run(
        [sys.executable, "-m", "wssc", "call", srv.url, "Echo", "hi", "--spn", SERVICE,
         "--username", "WSSC\\carol", "--password", NTLM_PASSWORD],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (done.returncode, done.stdout.strip()) == (0, "hi"), done.stderr
    wait_for_log(srv, lambda t: "(identity 'wssc\\\\carol')" in t.lower(), since=since)


# --- refusals at the service ---------------------------------------------------------------
def assert_failed_authentication(reply: bytes, status: int = 500) -> None:
    fault = read_fault_bytes(reply)
    assert fault is not None and status == 500
    assert (fault.code, fault.reason, fault.has_detail) == (FAILED_AUTH, FAILED_AUTH_REASON, False)


def test_wrong_kerberos_key_is_refused(spnego: Callable[..., Server], kdc: Kdc) -> None:
    """The service holds only an older key of its principal (kvno 2; tickets are for kvno 3)."""
    srv = spnego("wshttp", keytab=kdc.stale_keytab)
    since = log_mark(srv)
    mitm = Mitm()
    with pytest.raises(NegotiationFailed) as err:
        with client(srv, mitm, **alice()) as c:
            c.Add(a=1, b=1)
    assert isinstance(err.value, RemoteFault)
    assert_failed_authentication(mitm.seen[-1][2])
    assert "the SPNEGO token was refused" in fault_logged(srv, "the SPNEGO token was refused", since=since)


def test_wrong_ntlm_password_is_refused(spnego: Callable[..., Server]) -> None:
    srv = spnego("ws2007")
    since = log_mark(srv)
    mitm = Mitm()
    with pytest.raises(NegotiationFailed):
        with client(srv, mitm, username="WSSC\\carol", password="not-the-password") as c:
            c.Add(a=1, b=1)
    assert len(mitm.seen) == 2  # NEGOTIATE → CHALLENGE, AUTHENTICATE → refused
    assert_failed_authentication(mitm.seen[-1][2])
    fault_logged(srv, "the SPNEGO token was refused", since=since)


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_tampered_binary_exchange_is_refused(spnego: Callable[..., Server], binding: str) -> None:
    """One bit of the client's AP-REQ flipped (inside the ticket's ciphertext)."""
    srv = spnego(binding)
    since = log_mark(srv)
    mitm = Mitm(edit_request=edit_b64("BinaryExchange", flip(-40)))
    with pytest.raises(NegotiationFailed):
        with client(srv, mitm, **alice()) as c:
            c.Add(a=1, b=1)
    assert_failed_authentication(mitm.seen[-1][2])
    fault_logged(srv, "the SPNEGO token was refused", since=since)


def test_a_replayed_negotiation_is_refused(spnego: Callable[..., Server]) -> None:
    """The first leg of a finished Kerberos negotiation, posted again under a new Context
    (and under its own): the acceptor's replay cache refuses the AP-REQ. Even accepted, the
    reply's key is sealed for the victim's context."""
    srv = spnego("wshttp")
    mitm = Mitm()
    with client(srv, mitm, **alice()) as c:
        assert c.Add(a=1, b=2) == 3
    first = mitm.seen[0][0]
    for context in (None, f"uuid-{uuid.uuid4()}-1"):
        body = first
        if context is not None:
            root = etree.fromstring(first)
            rst = next(
                e
                for e in root.iter()
                if isinstance(e.tag, str) and etree.QName(e).localname == "RequestSecurityToken"
            )
            rst.set("Context", context)
            body = etree.tostring(root)
        since = log_mark(srv)
        r = post(srv, body)
        assert_failed_authentication(r.content, r.status_code)
        fault_logged(srv, "the SPNEGO token was refused", since=since)


# --- refusals at the client ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("local", "index", "reason"),
    [
        ("CombinedHash", 0, "the RequestSecurityTokenResponse CombinedHash is incorrect"),
        ("CipherValue", -1, "the final SPNEGO reply was refused"),
        ("BinaryExchange", -5, "the final SPNEGO reply was refused"),
    ],
    ids=["authenticator", "sealed-proof-key", "ap-rep"],
)
def test_the_client_refuses_a_tampered_final_reply(
    spnego: Callable[..., Server], caplog: pytest.LogCaptureFixture, local: str, index: int, reason: str
) -> None:
    """A man in the middle changes the service's final RSTRC: the authenticator, the sealed
    proof key, or the AP-REP. The client refuses before it sends anything under the key."""
    srv = spnego("ws2007")
    since = log_mark(srv)
    mitm = Mitm(edit_reply=edit_b64(local, flip(index)))
    with caplog.at_level(logging.WARNING, logger="wssc.client"):
        with pytest.raises(InvalidSecurity):
            with client(srv, mitm, **alice()) as c:
                c.Add(a=1, b=1)
    assert reason in caplog.text
    assert len(mitm.seen) == 1  # no RST/SCT went out
    assert "issued SCT" not in srv.log()[since:]


def test_an_rst_sct_under_an_sct_no_negotiation_issued_is_refused(spnego: Callable[..., Server]) -> None:
    srv = spnego("wshttp")
    since = log_mark(srv)
    forged = SpnegoNegotiated(SecurityContextToken(f"urn:uuid:{uuid.uuid4()}"), bytes(32))
    with client(srv, **alice()) as c:
        session: ClientSession = c.session
        sc = session.policy.sc
        rst = IssueRequest.build(sc, session.policy.suite, session.scs.key_entropy_mode)
        env = new_envelope(SOAP_12, action=sc.trust.rst_sct, to=srv.url, payload=rst.to_xml(sc))
        root, _ = forged.secure(env, session.policy)
        r = post(srv, etree.tostring(root))
    assert_refused_by(
        srv, r, "the message's SCT is not one a finished SPNEGO negotiation issued", since=since
    )


# --- abandoned and flooded negotiations ---------------------------------------------------
def ntlm_first_leg(srv: Server, binding: str, context: str) -> bytes:
    """An NTLM NEGOTIATE in a first leg: the service answers with a CHALLENGE and keeps the
    negotiation's state (NTLM takes two legs)."""
    import spnego as pyspnego

    token = pyspnego.client("WSSC\\carol", "x", protocol="ntlm").step()
    trust = TRUST[binding]
    rst = etree.Element(f"{{{trust.ns}}}RequestSecurityToken", Context=context)
    be = etree.SubElement(
        rst, f"{{{trust.ns}}}BinaryExchange", ValueType=ns.SPNEGO_VALUE_TYPE, EncodingType=ns.WSS_BASE64
    )
    be.text = base64.b64encode(token or b"").decode("ascii")
    return etree.tostring(new_envelope(SOAP_12, action=trust.rst_issue, to=srv.url, payload=rst))


def test_a_flood_of_abandoned_negotiations_is_bounded(spnego: Callable[..., Server]) -> None:
    """Abandoned after the first leg, negotiations hold at most max_stateful_negotiations
    states; past it every new one is ServerTooBusy, and the log names the quota."""
    srv = spnego("wshttp", "--max-stateful-negotiations", "6", "--max-pending-sessions-per-peer", "0")
    since = log_mark(srv)
    answered = []
    with httpx.Client(timeout=30) as http:
        for n in range(20):
            r = post(srv, ntlm_first_leg(srv, "wshttp", f"uuid-flood-{n}"), http=http)
            answered.append(r.status_code)
            if n >= 6:
                fault = assert_fault(r, "ServerTooBusy", f"leg {n}")
                assert fault.code == f"{{{ns.DNSE}}}ServerTooBusy"
    assert answered[:6] == [200] * 6
    fault_logged(srv, "max_stateful_negotiations (6) negotiations are in progress", since=since)


def test_one_address_holds_its_share_of_negotiations(spnego: Callable[..., Server]) -> None:
    srv = spnego("ws2007", "--max-pending-sessions-per-peer", "3")
    since = log_mark(srv)
    with httpx.Client(timeout=30) as http:
        codes = [
            post(srv, ntlm_first_leg(srv, "ws2007", f"uuid-peer-{n}"), http=http).status_code
            for n in range(3)
        ]
        assert codes == [200, 200, 200]
        r = post(srv, ntlm_first_leg(srv, "ws2007", "uuid-peer-3"), http=http)
    assert_fault(r, "ServerTooBusy")
    fault_logged(srv, "the peer holds 3 negotiations in progress", since=since)
    with pytest.raises(ServerTooBusy):  # a legitimate client from that address waits its turn
        with client(srv, username="WSSC\\carol", password=NTLM_PASSWORD) as c:
            c.Add(a=1, b=1)


def test_the_wsdl_publishes_the_spn_and_the_client_targets_it(spnego: Callable[..., Server]) -> None:
    """``wssc serve --spn`` publishes ``wsid:Identity/wsid:Spn``; a client built from the WSDL
    targets that principal (WCF's default, ``host/<address host>``, would name 127.0.0.1 here
    and fail), and ``wssc inspect`` shows it."""
    srv = spnego("ws2007", "--spn", SERVICE)
    wsdl = httpx.get(srv.wsdl_url, timeout=30).content
    assert f"<Spn>{SERVICE}</Spn>".encode() in wsdl
    assert b"X509Certificate" not in wsdl  # the identity is the principal, not a certificate
    with Client.from_wsdl(srv.wsdl_url, credentials=ClientCredentials(**alice())) as c:
        assert c.Add(a=20, b=22) == 42
    done = subprocess.run(
        [sys.executable, "-m", "wssc", "inspect", srv.wsdl_url], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Service SPN:" in done.stdout and SERVICE in done.stdout
    # without the published SPN, the default principal (host/127.0.0.1) is not the service's
    plain = spnego("ws2007")
    from wssc.errors import RemoteFault

    # (no Kerberos ticket for that principal: pyspnego falls back to NTLM, which the service refuses)
    with pytest.raises(RemoteFault) as info:
        with Client.from_wsdl(plain.wsdl_url, credentials=ClientCredentials(**alice())) as c:
            c.Add(a=1, b=1)
    assert info.value.code.local == "FailedAuthentication"
