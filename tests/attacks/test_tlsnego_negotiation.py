"""TLSNEGO (``wssc serve --bootstrap tlsnego|username-tlsnego|mutual-tlsnego``) attacked over
HTTP: a real wssc client, sometimes through a man in the middle (`Mitm`), and raw legs.

What a refused negotiation looks like on the wire is WCF's (negotiation.md §9): a TLS alert or
a refused client certificate is the trust ``FailedAuthentication`` fault, a quota
``ServerTooBusy``, a malformed or misplaced leg ``InvalidRequest``, an RST/SCT that does not
verify the generic ``InvalidSecurity``. Each test also finds the reason in the service log
(or, for what the client refuses, in the client's log): which check refused.
"""

from __future__ import annotations

import base64
import logging
import ssl
import subprocess
import sys
import uuid
from collections.abc import Callable

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

import wssc.bootstrap.tlsnego as tlsnego
from servers import Server, client_certificate
from wssc.bootstrap.registry import ClientCredentials
from wssc.certs import generate_self_signed, load
from wssc.client import Client
from wssc.client.common import tls_verify
from wssc.errors import CertificateRejected, InvalidSecurity, NegotiationFailed, RemoteFault, ServerTooBusy
from wssc.security.x509_validation import CertificateValidator
from wssc.session.client import ClientSession
from wssc.tokens.sct import SecurityContextToken
from wssc.trust import IssueRequest
from wssc.xml import ns
from wssc.xml.soap import SOAP_12, new_envelope

FAILED_AUTH = f"{{{ns.TRUST_2005}}}FailedAuthentication"
FAILED_AUTH_REASON = "The request for security token could not be satisfied because authentication failed."
TRUST = {"wshttp": ns.TRUST_FEB2005, "ws2007": ns.TRUST_V13}


class Mitm(httpx.BaseTransport):
    """A man in the middle between a real client and the server: it may rewrite the
    ``at``-th request (``edit_request``) or reply (``edit_reply``), and keeps what it saw."""

    def __init__(
        self,
        edit_request: Callable[[bytes], bytes | None] | None = None,
        edit_reply: Callable[[bytes], bytes | None] | None = None,
        at: int = 0,
    ) -> None:
        self.inner = httpx.HTTPTransport()
        self.edit_request, self.edit_reply, self.at = edit_request, edit_reply, at
        self.seen: list[tuple[bytes, int, bytes]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        n = len(self.seen)
        if self.edit_request is not None and n == self.at:
            body = self.edit_request(body) or body
        headers = [(k, v) for k, v in request.headers.items() if k.lower() != "content-length"]
        response = self.inner.handle_request(
            httpx.Request(request.method, request.url, headers=headers, content=body)
        )
        data = response.read()
        self.seen.append((body, response.status_code, data))
        if self.edit_reply is not None and n == self.at:
            data = self.edit_reply(data) or data
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
        found[0].text = base64.b64encode(fn(base64.b64decode(found[0].text or ""))).decode("ascii")
        return etree.tostring(root)

    return edit


def flip(index: int) -> Callable[[bytes], bytes]:
    def fn(b: bytes) -> bytes:
        i = index if index >= 0 else len(b) + index
        return b[:i] + bytes([b[i] ^ 0x01]) + b[i + 1 :]

    return fn


def client(srv: Server, mitm: Mitm | None = None, **creds: object) -> Client:
    http = httpx.Client(transport=mitm or httpx.HTTPTransport(), timeout=60)
    c = Client.from_wsdl(srv.wsdl_url, http=http, credentials=ClientCredentials(**creds))  # type: ignore[arg-type]
    c._own_http = True
    return c


def assert_failed_authentication(reply: bytes, status: int = 500) -> None:
    fault = read_fault_bytes(reply)
    assert fault is not None and status == 500
    assert (fault.code, fault.reason, fault.has_detail) == (FAILED_AUTH, FAILED_AUTH_REASON, False)


# --- whole sessions through the CLI ------------------------------------------------------
@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
@pytest.mark.parametrize("mode", ["session", "cookie"])
def test_wssc_call_over_tlsnego(server: Callable[..., Server], binding: str, mode: str) -> None:
    srv = server(
        "--bootstrap",
        "tlsnego",
        "--binding",
        binding,
        *(() if mode == "session" else ("--no-require-cancellation",)),
    )
    since = log_mark(srv)
    done = subprocess.run(
        [sys.executable, "-m", "wssc", "call", srv.url, "Add", "2", "3", "--repeat", "2", "-v"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "5"
    assert done.stderr.count("[negotiate]") == 2 and "AnonymousForSslNegotiated" in done.stderr
    wait_for_log(srv, "SCT urn:uuid:", since=since)
    wait_for_log(srv, "(identity 'anonymous')", since=since)


def test_wssc_call_with_a_username_over_tlsnego(server: Callable[..., Server]) -> None:
    srv = server("--bootstrap", "username-tlsnego", "--binding", "ws2007")
    since = log_mark(srv)
    done = subprocess.run(
        [sys.executable, "-m", "wssc", "call", srv.url, "Echo", "hi",
         "--username", "alice", "--password", "secret"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (done.returncode, done.stdout.strip()) == (0, "hi"), done.stderr
    wait_for_log(srv, "(identity 'alice')", since=since)


def test_wssc_call_checks_the_dns_identity_and_sends_its_certificate(server: Callable[..., Server]) -> None:
    """``--dns-identity`` against the service's TLS certificate (a clear error, no traceback,
    nothing sent after the handshake), and ``--client-cert`` for mutual-tlsnego."""
    srv = server("--bootstrap", "mutual-tlsnego")
    cert, key = client_certificate(srv.home)
    base = [sys.executable, "-m", "wssc", "call", srv.url, "Add", "1", "2", "--client-cert", str(cert),
            "--client-key", str(key)]  # fmt: skip
    since = log_mark(srv)
    done = subprocess.run([*base, "--dns-identity", "localhost"], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "3"), done.stderr
    wait_for_log(srv, "(identity 'CN=wssc-test-client')", since=since)
    since = log_mark(srv)
    done = subprocess.run(
        [*base, "--dns-identity", "other.example"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "not the DNS identity 'other.example'" in done.stderr
    assert "SCT urn:uuid:" not in srv.log()[since:]


# --- the server certificate, checked by the client -------------------------------------
@pytest.mark.parametrize(
    ("creds", "reason"),
    [
        ({"service_certificate": generate_self_signed("svc.wssc.test")}, "is not the one its identity names"),
        (
            {
                "service_certificate_validator": CertificateValidator.chain_trust(
                    generate_self_signed("Other CA").cert
                )
            },
            "ChainTrust",
        ),
        ({"service_dns_identity": "other.example"}, "not the DNS identity 'other.example'"),
    ],
    ids=["another-pinned-certificate", "untrusted-chain", "mismatched-dns-identity"],
)
def test_an_untrusted_or_mismatched_server_certificate_is_refused(
    server: Callable[..., Server], caplog: pytest.LogCaptureFixture, creds: dict[str, object], reason: str
) -> None:
    """The client refuses the certificate the handshake presented as soon as the handshake
    completes (TLS 1.3: on the server's first answer): it sends nothing more."""
    srv = server("--bootstrap", "tlsnego")
    since = log_mark(srv)
    mitm = Mitm()
    with caplog.at_level(logging.WARNING, logger="wssc.client"):
        with pytest.raises(CertificateRejected):
            with client(srv, mitm, **creds) as c:
                c.Add(a=1, b=1)
    assert reason in caplog.text
    assert len(mitm.seen) == 1  # ClientHello → ServerHello…Finished, then nothing
    assert "issued SCT" not in srv.log()[since:]


def test_the_dns_identity_of_the_service_certificate_is_accepted(server: Callable[..., Server]) -> None:
    srv = server("--bootstrap", "tlsnego")
    with client(srv, service_dns_identity="localhost") as c:
        assert c.Add(a=1, b=2) == 3


# --- tampering, at the service and at the client ----------------------------------------
@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_a_tampered_client_leg_is_refused(server: Callable[..., Server], binding: str) -> None:
    """One bit of the client's Finished (its record's tag) flipped on the way: the service's
    TLS refuses it (bad record MAC): FailedAuthentication, and the log says why."""
    srv = server("--bootstrap", "tlsnego", "--binding", binding)
    since = log_mark(srv)
    mitm = Mitm(edit_request=edit_b64("BinaryExchange", flip(-1)), at=1)
    with pytest.raises(NegotiationFailed):
        with client(srv, mitm) as c:
            c.Add(a=1, b=1)
    assert len(mitm.seen) == 2
    assert_failed_authentication(mitm.seen[-1][2])
    fault_logged(srv, "the TLS handshake failed", since=since)


@pytest.mark.parametrize(
    ("local", "at", "index", "reason"),
    [
        ("BinaryExchange", 0, -1, "the TLS handshake failed"),
        ("CombinedHash", 1, 0, "the RequestSecurityTokenResponse CombinedHash is incorrect"),
        ("CipherValue", 1, -1, "the final TLSNEGO reply was refused"),
        ("CipherValue", 1, 3, "the wrapped proof key is not one TLS application_data record"),
    ],
    ids=["server-flight", "authenticator", "sealed-proof-key", "record-length"],
)
def test_the_client_refuses_a_tampered_reply(
    server: Callable[..., Server],
    caplog: pytest.LogCaptureFixture,
    local: str,
    at: int,
    index: int,
    reason: str,
) -> None:
    """A man in the middle changes the service's handshake flight, the authenticator or the
    TLS_Wrap record: the client refuses before it sends anything under the key."""
    srv = server("--bootstrap", "tlsnego", "--binding", "ws2007")
    since = log_mark(srv)
    mitm = Mitm(edit_reply=edit_b64(local, flip(index)), at=at)
    with caplog.at_level(logging.WARNING, logger="wssc.client"):
        with pytest.raises(InvalidSecurity):
            with client(srv, mitm) as c:
                c.Add(a=1, b=1)
    assert reason in caplog.text
    assert len(mitm.seen) == at + 1  # nothing after the tampered reply
    assert "issued SCT" not in srv.log()[since:]


def test_an_rst_sct_under_an_sct_no_negotiation_issued_is_refused(server: Callable[..., Server]) -> None:
    srv = server("--bootstrap", "tlsnego")
    since = log_mark(srv)
    forged = tlsnego.TlsnegoNegotiated(SecurityContextToken(f"urn:uuid:{uuid.uuid4()}"), bytes(32))
    with client(srv) as c:
        session: ClientSession = c.session
        sc = session.policy.sc
        rst = IssueRequest.build(sc, session.policy.suite, session.scs.key_entropy_mode)
        env = new_envelope(SOAP_12, action=sc.trust.rst_sct, to=srv.url, payload=rst.to_xml(sc))
        root, _ = forged.secure(env, session.policy)
        r = post(srv, etree.tostring(root))
    assert_refused_by(
        srv, r, "the message's SCT is not one a finished TLSNEGO negotiation issued", since=since
    )


# --- the client's credentials: certificate and username -------------------------------------
def test_mutual_refuses_an_untrusted_client_certificate(server: Callable[..., Server]) -> None:
    srv = server("--bootstrap", "mutual-tlsnego")
    since = log_mark(srv)
    mitm = Mitm()
    with pytest.raises(NegotiationFailed):
        with client(srv, mitm, certificate=generate_self_signed("intruder.example")) as c:
            c.Add(a=1, b=1)
    assert_failed_authentication(mitm.seen[-1][2])
    fault_logged(srv, "the TLS handshake failed", since=since)


def test_mutual_names_the_session_after_the_client_certificate(server: Callable[..., Server]) -> None:
    srv = server("--bootstrap", "mutual-tlsnego", "--binding", "ws2007")
    since = log_mark(srv)
    cert = load(*client_certificate(srv.home))
    with client(srv, certificate=cert) as c:
        assert c.Add(a=2, b=2) == 4
    wait_for_log(srv, f"(identity '{cert.subject}')", since=since)


def test_a_wrong_password_after_the_handshake_is_refused(server: Callable[..., Server]) -> None:
    srv = server("--bootstrap", "username-tlsnego")
    since = log_mark(srv)
    mitm = Mitm()
    with pytest.raises(RemoteFault):
        with client(srv, mitm, username="alice", password="not-the-password") as c:
            c.Add(a=1, b=1)
    assert len(mitm.seen) == 3  # two legs, then the RST/SCT with the UsernameToken
    assert_fault(httpx.Response(mitm.seen[-1][1], content=mitm.seen[-1][2]), "FailedAuthentication")
    fault_logged(srv, "wrong username or password", since=since)


# --- legs out of place, abandoned and flooded negotiations -----------------------------------
def client_hello() -> bytes:
    obj = tlsnego.client_context().wrap_bio(ssl.MemoryBIO(), out := ssl.MemoryBIO(), server_side=False)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


def leg(
    srv: Server,
    binding: str,
    context: str,
    first: bool = True,
    blob: bytes | None = None,
    extra: tuple[tuple[str, str], ...] = (),
) -> bytes:
    trust = TRUST[binding]
    el = etree.Element(
        f"{{{trust.ns}}}{'RequestSecurityToken' if first else 'RequestSecurityTokenResponse'}",
        Context=context,
    )
    be = etree.SubElement(
        el, f"{{{trust.ns}}}BinaryExchange", ValueType=tlsnego.value_type(trust), EncodingType=ns.WSS_BASE64
    )
    be.text = base64.b64encode(blob or client_hello()).decode("ascii")
    for local, text in extra:
        etree.SubElement(el, f"{{{trust.ns}}}{local}").text = text
    action = trust.rst_issue if first else trust.rstr_issue
    return etree.tostring(new_envelope(SOAP_12, action=action, to=srv.url, payload=el))


def test_legs_out_of_place_are_refused(server: Callable[..., Server]) -> None:
    """A first leg under a Context in use, a continuation under an unknown Context, a blob that
    is not TLS, and a ValueType of another mechanism: InvalidRequest, each with its reason."""
    srv = server("--bootstrap", "tlsnego", "--binding", "wshttp")
    with httpx.Client(timeout=30, verify=tls_verify(srv.verify)) as http:
        since = log_mark(srv)
        assert post(srv, leg(srv, "wshttp", "uuid-twice"), http=http).status_code == 200
        r = post(srv, leg(srv, "wshttp", "uuid-twice"), http=http)
        assert_fault(r, "InvalidRequest")
        fault_logged(srv, "a negotiation with this Context is already in progress", since=since)
        since = log_mark(srv)
        r = post(srv, leg(srv, "wshttp", "uuid-unknown", first=False), http=http)
        assert_fault(r, "InvalidRequest")
        fault_logged(srv, "no negotiation is in progress under this Context", since=since)
        since = log_mark(srv)
        r = post(srv, leg(srv, "wshttp", "uuid-garbage", blob=b"GET / HTTP/1.1\r\n\r\n"), http=http)
        assert_failed_authentication(r.content, r.status_code)
        fault_logged(srv, "the TLS handshake failed", since=since)
        since = log_mark(srv)
        body = leg(srv, "wshttp", "uuid-spnego").replace(
            tlsnego.value_type(TRUST["wshttp"]).encode(), ns.SPNEGO_VALUE_TYPE.encode()
        )
        r = post(srv, body, http=http)
        assert_fault(r, "InvalidRequest")
        fault_logged(srv, "is not TLSNEGO's", since=since)


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ((("Entropy", "AAAA"),), "the TLSNEGO RST carries Entropy, which TLSNEGO does not use"),
        (
            (("RequestType", "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Renew"),),
            "RequestType is not Issue",
        ),
        ((("TokenType", "urn:other"),), "asks for a token other than an SCT"),
        ((("KeySize", "64"),), "the key size 64 is not supported by the Basic256 algorithm suite"),
    ],
    ids=["entropy", "request-type", "token-type", "key-size"],
)
def test_a_malformed_first_leg_is_refused(
    server: Callable[..., Server], extra: tuple[tuple[str, str], ...], reason: str
) -> None:
    """The service checks the RST as WCF does before any TLS work: InvalidRequest, reason logged."""
    srv = server("--bootstrap", "tlsnego", "--binding", "ws2007")
    since = log_mark(srv)
    r = post(srv, leg(srv, "ws2007", f"uuid-{uuid.uuid4()}", extra=extra))
    assert_fault(r, "InvalidRequest")
    fault_logged(srv, reason, since=since)


def test_a_continuation_leg_with_more_than_its_blob_is_refused(server: Callable[..., Server]) -> None:
    srv = server("--bootstrap", "tlsnego", "--binding", "ws2007")
    context = f"uuid-{uuid.uuid4()}"
    assert post(srv, leg(srv, "ws2007", context)).status_code == 200
    since = log_mark(srv)
    r = post(
        srv,
        leg(
            srv, "ws2007", context, first=False, blob=b"\x16\x03\x03\x00\x01\x00", extra=(("KeySize", "256"),)
        ),
    )
    assert_fault(r, "InvalidRequest")
    fault_logged(srv, "a TLSNEGO continuation RSTR carries one BinaryExchange and nothing else", since=since)


def test_a_flood_of_abandoned_negotiations_is_bounded(server: Callable[..., Server]) -> None:
    """Abandoned after the first leg (the service keeps a TLS server for the next), negotiations
    hold at most max_stateful_negotiations states; past it every new one is ServerTooBusy, and
    the log names the quota."""
    srv = server(
        "--bootstrap", "tlsnego", "--max-stateful-negotiations", "6", "--max-pending-sessions-per-peer", "0"
    )
    since = log_mark(srv)
    hello = client_hello()
    answered = []
    with httpx.Client(timeout=30) as http:
        for n in range(20):
            r = post(srv, leg(srv, "wshttp", f"uuid-flood-{n}", blob=hello), http=http)
            answered.append(r.status_code)
            if n >= 6:
                fault = assert_fault(r, "ServerTooBusy", f"leg {n}")
                assert fault.code == f"{{{ns.DNSE}}}ServerTooBusy"
    assert answered[:6] == [200] * 6
    fault_logged(srv, "max_stateful_negotiations (6) negotiations are in progress", since=since)


def test_one_address_holds_its_share_of_negotiations(server: Callable[..., Server]) -> None:
    srv = server("--bootstrap", "tlsnego", "--binding", "ws2007", "--max-pending-sessions-per-peer", "3")
    since = log_mark(srv)
    with httpx.Client(timeout=30) as http:
        codes = [post(srv, leg(srv, "ws2007", f"uuid-peer-{n}"), http=http).status_code for n in range(3)]
        assert codes == [200, 200, 200]
        r = post(srv, leg(srv, "ws2007", "uuid-peer-3"), http=http)
    assert_fault(r, "ServerTooBusy")
    fault_logged(srv, "the peer holds 3 negotiations in progress", since=since)
    with pytest.raises(ServerTooBusy):  # a legitimate client from that address waits its turn
        with client(srv) as c:
            c.Add(a=1, b=1)
