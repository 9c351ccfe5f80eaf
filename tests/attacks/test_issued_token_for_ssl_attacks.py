"""Issue 16: attacks on IssuedTokenForSslNegotiated (WCF's federation default: TLSNEGO protects,
the issued token endorses) against a real ``wssc serve --bootstrap issued-token-for-ssl``
that trusts one STS certificate. A real wssc client negotiates TLS and sends its RST/SCT with
a token from an untrusted issuer, endorsed with another key than the token's proof key, or
carrying the token without its endorsement; each is refused with the generic fault on the
wire and the refusing check in the service log. The same client with a valid token opens a
session (the control)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from attack_kit import assert_refused_by, last, log_mark, recording_client, saml_token
from lxml import etree

from servers import Server
from wssc.bootstrap.base import ClientContext, ClientNegotiation
from wssc.bootstrap.issued_token_for_ssl import IssuedTokenForSslClient
from wssc.bootstrap.registry import ClientCredentials
from wssc.bootstrap.tlsnego import TlsnegoNegotiated
from wssc.certs import Certificate, generate_self_signed, save
from wssc.client import Client
from wssc.errors import WsscError
from wssc.federation.token import IssuedToken
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.tokens import SctProtection

pytestmark = pytest.mark.e2e
KEY = bytes(range(32))


@pytest.fixture(scope="module")
def sts() -> Certificate:
    return generate_self_signed("sts.ssl.test")


@pytest.fixture(scope="module")
def srv(server: Callable[..., Server], sts: Certificate, tmp_path_factory: pytest.TempPathFactory) -> Server:
    d: Path = tmp_path_factory.mktemp("ssl-issuer")
    save(sts, d / "sts.pem", d / "sts.key")
    return server(
        "--binding", "ws2007", "--bootstrap", "issued-token-for-ssl", "--issuer-cert", str(d / "sts.pem")
    )


def as_token(srv: Server, signer: Certificate, key: bytes = KEY) -> IssuedToken:
    return saml_token(srv, signer, KEY, key)


def opens(c: Client) -> bool:
    try:
        with c:
            return bool(c.call("Add", a=2, b=3) == 5)
    except WsscError:
        return False


@dataclass(frozen=True)
class _Unendorsed:
    """The negotiated token protects; the assertion rides along, but nothing is signed with
    its proof key."""

    negotiated: TlsnegoNegotiated
    token: IssuedToken

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        n = self.negotiated
        root = protect(envelope, SctProtection(n.sct, n.key, include=True), policy, now=now)
        sec = root.find(".//{*}Security")
        assert sec is not None
        sec.insert(1, self.token.assertion)
        return root, ClientContext({n.sct.identifier: n.key})

    def verify_reply(self, *a: object, **kw: object) -> object:
        return self.negotiated.verify_reply(*a, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _UnendorsingClient:
    real: IssuedTokenForSslClient

    def negotiate(self, policy: MessagePolicy, now: float) -> ClientNegotiation:
        negotiated = yield from self.real.tls.negotiate(policy, now)
        assert isinstance(negotiated, TlsnegoNegotiated)
        return _Unendorsed(negotiated, self.real.token)  # type: ignore[return-value]

    def secure(self, *a: object, **kw: object) -> object:  # (a NegotiatingClient has all four)
        return self.real.secure(*a, **kw)  # type: ignore[arg-type]

    def verify_reply(self, *a: object, **kw: object) -> object:
        return self.real.verify_reply(*a, **kw)  # type: ignore[arg-type]

    def secure_renew(self, *a: object, **kw: object) -> object:
        return self.real.secure_renew(*a, **kw)  # type: ignore[arg-type]


def test_valid_token_opens_a_session(srv: Server, sts: Certificate) -> None:
    c, _ = recording_client(srv, credentials=ClientCredentials(issued_token=as_token(srv, sts)))
    assert opens(c)


def test_untrusted_issuer(srv: Server) -> None:
    forged = as_token(srv, generate_self_signed("stranger.ssl.test"))
    c, rec = recording_client(srv, credentials=ClientCredentials(issued_token=forged))
    mark = log_mark(srv)
    assert not opens(c)
    r = last(rec, "/RST/SCT").as_response()
    assert_refused_by(srv, r, "the assertion is signed by an untrusted issuer", since=mark)


def test_endorsed_by_another_key(srv: Server, sts: Certificate) -> None:
    stolen = as_token(srv, sts, key=bytes(32))
    c, rec = recording_client(srv, credentials=ClientCredentials(issued_token=stolen))
    mark = log_mark(srv)
    assert not opens(c)
    r = last(rec, "/RST/SCT").as_response()
    assert_refused_by(srv, r, "the signature value did not verify", since=mark)


def test_no_endorsement_by_the_proof_key(srv: Server, sts: Certificate) -> None:
    c, rec = recording_client(srv, credentials=ClientCredentials(issued_token=as_token(srv, sts)))
    real = c.session.bootstrap
    assert isinstance(real, IssuedTokenForSslClient)
    c.session.bootstrap = _UnendorsingClient(real)  # type: ignore[assignment]
    mark = log_mark(srv)
    assert not opens(c)
    r = last(rec, "/RST/SCT").as_response()
    assert_refused_by(srv, r, "the message has no endorsing signature", since=mark)
