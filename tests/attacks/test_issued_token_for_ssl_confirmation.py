"""Issue 16: the SignatureConfirmation of IssuedTokenForSslNegotiated (WCF's
``CreateIssuedTokenForSslBindingElement`` sets ``RequireSignatureConfirmation``).

A real ``wssc serve --bootstrap issued-token-for-ssl`` answers the RST/SCT (and, without a
session, every message) with a signed ``wsse11:SignatureConfirmation`` of both signatures of
the request: the primary one and the issued token's endorsing one. A real wssc client requires
them. A man in the middle between the two (an HTTP transport in the client's process) holds the
negotiated key (read from the client under test) and re-secures the service's reply itself, so
that every other check passes, with the confirmations removed, altered, partial, or unsigned.
Each is refused with ``InvalidSecurity`` and the reason logged on ``wssc.client``; the control
(the same re-securing with the right confirmations) is accepted, so only the confirmation
check can refuse the others.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from attack_kit import saml_token
from lxml import etree

from servers import Server
from wssc.bootstrap.base import ClientNegotiation
from wssc.bootstrap.issued_token_for_ssl import IssuedTokenForSslClient
from wssc.bootstrap.registry import ClientCredentials
from wssc.bootstrap.tlsnego import TlsnegoNegotiated
from wssc.certs import Certificate, generate_self_signed, save
from wssc.client import Client
from wssc.client.common import tls_verify
from wssc.errors import InvalidSecurity, WsscError
from wssc.security.inbound import verify
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.tokens import SctProtection
from wssc.tokens.sct import SecurityContextToken
from wssc.xml import ns
from wssc.xml.parse import parse_xml
from wssc.xml.soap import Envelope, new_envelope

pytestmark = pytest.mark.e2e
KEY = bytes(range(32))
SC_TAG = f"{{{ns.WSSE11}}}SignatureConfirmation"


@pytest.fixture(scope="module")
def sts() -> Certificate:
    return generate_self_signed("sts.sigconf.test")


def _serve(server: Callable[..., Server], sts: Certificate, d: Path, *extra: str) -> Server:
    save(sts, d / "sts.pem", d / "sts.key")
    return server(
        "--binding",
        "ws2007",
        "--bootstrap",
        "issued-token-for-ssl",
        "--issuer-cert",
        str(d / "sts.pem"),
        *extra,
    )


@pytest.fixture(scope="module")
def srv(server: Callable[..., Server], sts: Certificate, tmp_path_factory: pytest.TempPathFactory) -> Server:
    return _serve(server, sts, tmp_path_factory.mktemp("sigconf-session"))


@pytest.fixture(scope="module")
def srv_no_session(
    server: Callable[..., Server], sts: Certificate, tmp_path_factory: pytest.TempPathFactory
) -> Server:
    return _serve(server, sts, tmp_path_factory.mktemp("sigconf-plain"), "--no-secure-context")


# --- the client under test keeps its negotiated token where the MITM can read it ------------
@dataclass
class _Keeping:
    """The real client half; it remembers what its TLSNEGO negotiation established."""

    real: IssuedTokenForSslClient
    negotiated: list[TlsnegoNegotiated] = field(default_factory=list)

    def negotiate(self, policy: MessagePolicy, now: float) -> ClientNegotiation:
        endorsed = yield from self.real.negotiate(policy, now)
        self.negotiated.append(endorsed.negotiated)  # type: ignore[attr-defined]
        return endorsed

    def secure(self, *a: object, **kw: object) -> object:
        return self.real.secure(*a, **kw)  # type: ignore[arg-type]

    def verify_reply(self, *a: object, **kw: object) -> object:
        return self.real.verify_reply(*a, **kw)  # type: ignore[arg-type]

    def secure_renew(self, *a: object, **kw: object) -> object:
        return self.real.secure_renew(*a, **kw)  # type: ignore[arg-type]


#: What the MITM does: (the request, the service's reply) -> the reply the client gets.
Rewrite = Callable[[bytes, bytes], bytes]


@dataclass
class _Mitm(httpx.BaseTransport):
    """Carries the client's traffic to the service; rewrites the reply to the first request
    whose wsa:Action ends with ``action``."""

    inner: httpx.BaseTransport
    action: str
    rewrite: Rewrite | None = None
    rewritten: int = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        response = self.inner.handle_request(request)
        data = response.read()
        action = Envelope(parse_xml(body)).action if request.method == "POST" and body else None
        if self.rewrite is not None and action is not None and action.endswith(self.action):
            data, self.rewrite = self.rewrite(body, data), None
            self.rewritten += 1
        headers = {k: v for k, v in response.headers.items() if k.lower() == "content-type"}
        return httpx.Response(response.status_code, headers=headers, stream=httpx.ByteStream(data))

    def close(self) -> None:
        self.inner.close()


def _client(srv: Server, sts: Certificate, action: str) -> tuple[Client, _Mitm, _Keeping]:
    mitm = _Mitm(httpx.HTTPTransport(verify=tls_verify(srv.verify)), action)
    creds = ClientCredentials(issued_token=saml_token(srv, sts, KEY))
    c = Client.from_wsdl(
        srv.wsdl_url, verify=srv.verify, http=httpx.Client(transport=mitm, timeout=60), credentials=creds
    )
    c._own_http = True
    real = c.session.bootstrap
    assert isinstance(real, IssuedTokenForSslClient)
    keeping = _Keeping(real)
    c.session.bootstrap = keeping  # type: ignore[assignment]
    return c, mitm, keeping


def _resecure(
    keeping: _Keeping, policy: MessagePolicy, request: bytes, reply: bytes, case: str
) -> tuple[bytes, list[bytes]]:
    """The service's ``reply`` opened with the negotiated key, and secured again under it with
    the confirmations ``case`` says; also returns the confirmations the service sent."""
    n = keeping.negotiated[-1]

    def resolve(got: SecurityContextToken, sc: ns.ScVersion) -> bytes | None:
        return n.key if got.identifier == n.sct.identifier else None

    opened = verify(reply, resolver=resolve, policy=policy)
    sent = list(opened.signature_confirmations)
    env = opened.envelope
    relates = env.root.find(f"{{{env.version.ns}}}Header/{{{ns.WSA10}}}RelatesTo")
    assert relates is not None and env.payload is not None
    fresh = new_envelope(
        env.version,
        action=env.action,
        payload=env.payload,
        relates_to=relates.text,
        reply_to_anonymous=False,
    )
    confirmations = {
        "control": sent,
        "removed": [],
        "altered": [bytes(b ^ 1 for b in v) for v in sent],
        "partial": sent[:1],
        "unsigned": [],
    }[case]
    ref = SecurityContextToken(n.sct.identifier)
    root = protect(
        fresh, SctProtection(ref, n.key, include=False), policy, confirmations=confirmations or None
    )
    if case == "unsigned":  # the right values, but not covered by the signature
        sec = root.find(f"{{{env.version.ns}}}Header/{{{ns.WSSE}}}Security")
        assert sec is not None
        for v in sent:
            el = etree.SubElement(sec, SC_TAG)
            el.set("Value", base64.b64encode(v).decode("ascii"))
    return etree.tostring(root), sent


def refused(caplog: pytest.LogCaptureFixture, reason: str) -> None:
    got = [
        r.getMessage()
        for r in caplog.records
        if r.name == "wssc.client" and r.getMessage().startswith("reply refused: ")
    ]
    assert any(reason in m for m in got), f"no 'reply refused: …{reason}…'; got {got}"


REASONS = {
    "control": None,
    "removed": "the reply carries no SignatureConfirmation",
    "altered": "the reply's SignatureConfirmation does not match the request's signature",
    "partial": "the reply's SignatureConfirmation does not match the request's signature",
    "unsigned": "a SignatureConfirmation in the reply is not signed",
}


def _attack(
    c: Client, mitm: _Mitm, keeping: _Keeping, case: str, caplog: pytest.LogCaptureFixture
) -> list[bytes]:
    caplog.set_level(logging.INFO, logger="wssc.client")
    seen: list[list[bytes]] = []

    def rewrite(request: bytes, reply: bytes) -> bytes:
        data, sent = _resecure(keeping, c.session.policy, request, reply, case)
        seen.append(sent)
        return data

    mitm.rewrite = rewrite
    reason = REASONS[case]
    try:
        if reason is None:
            assert c.call("Add", a=2, b=3) == 5
        else:
            with pytest.raises(InvalidSecurity) as info:
                c.call("Add", a=2, b=3)
            assert info.value.detail == reason
            refused(caplog, reason)
    finally:
        try:
            c.close()
        except WsscError:
            pass
    assert mitm.rewritten == 1
    return seen[0]


CASES = [("session", case) for case in REASONS] + [
    ("no-session", case) for case in ("control", "removed", "unsigned")
]


@pytest.mark.parametrize(("mode", "case"), CASES)
def test_the_reply_must_confirm_both_signatures(
    mode: str, case: str, sts: Certificate, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    """With a session the RSTR to the RST/SCT confirms; without one, every reply (here Add's)."""
    session = mode == "session"
    srv: Server = request.getfixturevalue("srv" if session else "srv_no_session")
    c, mitm, keeping = _client(srv, sts, "/RST/SCT" if session else "/Add")
    sent = _attack(c, mitm, keeping, case, caplog)
    # The service confirmed two signatures: the primary one and the issued token's endorsing one.
    assert len(sent) == 2 and len(set(sent)) == 2
