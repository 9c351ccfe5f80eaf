"""Issue 16: MutualCertificate's client certificate must be trusted, valid and allowed to sign;
its endorsement must cover the primary signature; a Renew must be endorsed by the session's
own client as well as by the session's SCT.

Each attack runs against a real ``wssc serve --bootstrap mutual-certificate`` that trusts four
peer certificates (PeerTrust): a good one, a second client's, an expired one and one whose
KeyUsage does not allow digitalSignature. A real wssc client presents each (or an untrusted
one), or has its bootstrap half swapped for one that breaks the protocol. Each refusal is
asserted on the wire (the generic fault) and in the service log (the check that refused).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from attack_kit import BINDINGS, assert_refused_by, last, log_mark, recording_client, wait_for_log
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from test_certificate_over_transport import _certificate

from servers import Server
from wssc.bootstrap.anonymous_for_certificate import AnonymousForCertificateClient
from wssc.bootstrap.base import ClientContext
from wssc.bootstrap.mutual_certificate import MutualCertificateClient
from wssc.bootstrap.one_shot import bootstrap_policy
from wssc.bootstrap.registry import ClientCredentials
from wssc.certs import Certificate, generate_self_signed, save
from wssc.client import Client
from wssc.errors import WsscError
from wssc.security.outbound import _sign
from wssc.security.policy import MessagePolicy
from wssc.security.tokens import X509Protection
from wssc.tokens import SecurityTokenReference
from wssc.xml import ns
from wssc.xml.ids import element_id
from wssc.xml.soap import Envelope

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Peers:
    good: Certificate
    other: Certificate
    expired: Certificate
    no_signing: Certificate
    untrusted: Certificate


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Peers, list[str]]]:
    home: Path = tmp_path_factory.mktemp("mc-peers")
    p = Peers(
        good=_certificate("mc-good"),
        other=_certificate("mc-other"),
        expired=_certificate("mc-expired", expired=True),
        no_signing=_certificate("mc-no-signing", signing=False),
        untrusted=generate_self_signed("mc-untrusted"),
    )
    trust: list[str] = []
    for name in ("good", "other", "expired", "no_signing"):
        save(getattr(p, name), home / f"{name}.pem", home / f"{name}.key")
        trust += ["--trust-client-cert", str(home / f"{name}.pem")]
    yield p, trust


def mc(binding: str, trust: list[str]) -> tuple[str, ...]:
    return ("--binding", binding, "--bootstrap", "mutual-certificate", *trust)


def call(c: Client) -> bool:
    try:
        return bool(c.Echo(text="in") == "in")
    except WsscError:
        return False


def client_with(srv: Server, cert: Certificate) -> tuple[Client, object]:
    return recording_client(srv, credentials=ClientCredentials(certificate=cert))


@pytest.mark.parametrize("binding", BINDINGS)
def test_the_trusted_certificate_opens_a_session_and_renews(
    server: Callable[..., Server], peers: tuple[Peers, list[str]], binding: str
) -> None:
    """Control for the attacks below: the good certificate is accepted, the session's identity
    is its subject, and its Renew (two endorsements) is accepted."""
    p, trust = peers
    srv = server(*mc(binding, trust))
    mark = log_mark(srv)
    c, _ = client_with(srv, p.good)
    with c:
        assert call(c)
        old = c.session.sct
        c.session.force_renew = True
        assert call(c)
        assert c.session.sct is not None and old is not None
        assert c.session.sct.instance != old.instance
    wait_for_log(srv, "(identity 'CN=mc-good')", since=mark)


@pytest.mark.parametrize(
    ("which", "reason"),
    [
        ("untrusted", "'CN=mc-untrusted' was refused: it is not among the trusted peer certificates"),
        ("expired", "'CN=mc-expired' was refused: it expired at"),
        ("no_signing", "'CN=mc-no-signing' was refused: its KeyUsage does not allow digitalSignature"),
    ],
)
def test_a_bad_client_certificate_is_refused(
    server: Callable[..., Server], peers: tuple[Peers, list[str]], which: str, reason: str
) -> None:
    p, trust = peers
    srv = server(*mc("ws2007", trust))
    c, rec = client_with(srv, getattr(p, which))
    mark = log_mark(srv)
    with c:
        assert not call(c)
    assert_refused_by(srv, last(rec, "/RST/SCT").as_response(), reason, since=mark)  # type: ignore[arg-type]


@dataclass
class TimestampEndorser:
    """AnonymousForCertificate's protection, plus the (trusted) certificate's RSA signature
    over the Timestamp instead of over the primary signature: an endorsement not bound to
    the message's signature could be lifted onto any message with the same Timestamp."""

    real: MutualCertificateClient

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        keyed = AnonymousForCertificateClient(self.real.service_certificate)
        root, ctx = keyed.secure(envelope, policy, now)
        key = self.real.certificate.key
        assert key is not None
        token = X509Protection(self.real.certificate.cert, key)
        sec = Envelope(root).security_headers()[0]
        ts = sec.find(f"{{{ns.WSU}}}Timestamp")
        assert ts is not None
        bst = token.header_element(policy.sc)
        assert bst is not None
        sec.append(bst)
        _sign(sec, [(element_id(ts) or "", ts)], key, token.reference(policy.sc), bootstrap_policy(policy))
        return root, ctx

    def verify_reply(self, *a: object, **kw: object) -> object:
        return self.real.verify_reply(*a, **kw)  # type: ignore[arg-type]


def test_an_endorsement_not_over_the_primary_signature_is_refused(
    server: Callable[..., Server], peers: tuple[Peers, list[str]]
) -> None:
    p, trust = peers
    srv = server(*mc("wshttp", trust))
    c, rec = client_with(srv, p.good)
    real = c.session.bootstrap
    assert isinstance(real, MutualCertificateClient)
    c.session.bootstrap = TimestampEndorser(real)  # type: ignore[assignment]
    mark = log_mark(srv)
    with c:
        assert not call(c)
    assert_refused_by(
        srv,
        last(rec, "/RST/SCT").as_response(),  # type: ignore[arg-type]
        "the endorsing signature must cover the primary signature and nothing else",
        since=mark,
    )


def test_a_request_without_the_endorsement_is_refused(
    server: Callable[..., Server], peers: tuple[Peers, list[str]]
) -> None:
    """AnonymousForCertificate's protection alone: anyone can make it."""
    p, trust = peers
    srv = server(*mc("ws2007", trust))
    c, rec = client_with(srv, p.good)
    real = c.session.bootstrap
    assert isinstance(real, MutualCertificateClient)
    c.session.bootstrap = AnonymousForCertificateClient(real.service_certificate)
    mark = log_mark(srv)
    with c:
        assert not call(c)
    assert_refused_by(
        srv,
        last(rec, "/RST/SCT").as_response(),  # type: ignore[arg-type]
        "the message has no endorsing signature",
        since=mark,
    )


@pytest.mark.parametrize("binding", BINDINGS)
def test_a_second_clients_endorsement_on_a_renew_is_refused(
    server: Callable[..., Server], peers: tuple[Peers, list[str]], binding: str
) -> None:
    """A second trusted client who learned the session's key endorses its Renew with its own
    certificate: the Renew's identity is not the session's, and the session is not renewed."""
    p, trust = peers
    srv = server(*mc(binding, trust))
    c, rec = client_with(srv, p.good)
    with c:
        assert call(c)
        real = c.session.bootstrap
        assert isinstance(real, MutualCertificateClient)
        c.session.bootstrap = MutualCertificateClient(real.service_certificate, p.other)
        c.session.force_renew = True
        mark = log_mark(srv)
        assert not call(c)
        assert_refused_by(
            srv,
            last(rec, "/RST/SCT/Renew").as_response(),  # type: ignore[arg-type]
            "the Renew comes from another identity than the session's",
            since=mark,
        )


@dataclass(frozen=True)
class _NamedByThumbprint(X509Protection):
    """Sends this certificate as a BinarySecurityToken, but the endorsing signature's KeyInfo
    names ``named`` by its ThumbprintSHA1 KeyIdentifier (CXF's reference style, FINDINGS C14)."""

    named: x509.Certificate | None = None

    def reference(self, sc: ns.ScVersion) -> SecurityTokenReference:
        assert self.named is not None
        der = self.named.public_bytes(Encoding.DER)
        return SecurityTokenReference(
            key_identifier=base64.b64encode(hashlib.sha1(der).digest()).decode("ascii"),
            value_type=ns.WSS_THUMBPRINT,
            encoding_type=ns.WSS_BASE64,
        )


@dataclass(frozen=True)
class ThumbprintEndorser(MutualCertificateClient):
    """Endorses with ``certificate`` (included) but names ``named`` by thumbprint."""

    named: Certificate | None = None

    def _token(self) -> X509Protection:
        assert self.certificate.key is not None and self.named is not None
        return _NamedByThumbprint(self.certificate.cert, self.certificate.key, named=self.named.cert)


@pytest.mark.parametrize("named", ["good", "other"])
def test_a_thumbprint_reference_names_only_the_included_certificate(
    server: Callable[..., Server], peers: tuple[Peers, list[str]], named: str
) -> None:
    """CXF names its included certificate by thumbprint, and wssc accepts that (control:
    ``good``). A thumbprint of another certificate, even a trusted one the header lacks
    (``other``), resolves to nothing: the key that signed is not the certificate named."""
    p, trust = peers
    srv = server(*mc("ws2007", trust))
    c, rec = client_with(srv, p.good)
    real = c.session.bootstrap
    assert isinstance(real, MutualCertificateClient)
    c.session.bootstrap = ThumbprintEndorser(real.service_certificate, p.good, named=getattr(p, named))
    mark = log_mark(srv)
    with c:
        if named == "good":
            assert call(c)
            wait_for_log(srv, "(identity 'CN=mc-good')", since=mark)
            return
        assert not call(c)
    assert_refused_by(
        srv,
        last(rec, "/RST/SCT").as_response(),  # type: ignore[arg-type]
        "no BinarySecurityToken has this ThumbprintSHA1",
        since=mark,
    )
