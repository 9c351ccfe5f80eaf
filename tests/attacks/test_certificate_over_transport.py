"""Issue 16: CertificateOverTransport's client certificate must be trusted, valid, allowed to
sign, and its signature must cover the Timestamp.

Each attack runs against a real ``wssc serve --bootstrap certificate-over-transport`` over
HTTPS that trusts three peer certificates (PeerTrust): a good one, an expired one and one whose
KeyUsage does not allow digitalSignature. A real wssc client presents each (or an untrusted
one), or has its bootstrap half swapped for one that signs the Body instead of the Timestamp.
Each refusal is asserted on the wire (the generic fault) and in the service log (the check
that refused), so deleting any one check fails a test.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from attack_kit import BINDINGS, assert_refused_by, last, log_mark, recording_client
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from servers import Server
from wssc.bootstrap.base import ClientContext
from wssc.bootstrap.certificate_over_transport import CertificateOverTransportClient
from wssc.bootstrap.registry import ClientCredentials
from wssc.certs import Certificate, generate_self_signed, save
from wssc.client import Client
from wssc.errors import WsscError
from wssc.security.outbound import _sign, protect
from wssc.security.policy import MessagePolicy
from wssc.security.tokens import SctProtection, X509Protection, signing_key
from wssc.xml import ns
from wssc.xml.soap import Envelope

pytestmark = pytest.mark.e2e


def _certificate(cn: str, *, expired: bool = False, signing: bool = True) -> Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.UTC)
    start, end = (
        (now - datetime.timedelta(days=30), now - datetime.timedelta(days=1))
        if expired
        else (
            now - datetime.timedelta(minutes=5),
            now + datetime.timedelta(days=30),
        )
    )
    usage = x509.KeyUsage(
        digital_signature=signing,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return Certificate(cert, key)


@dataclass(frozen=True)
class Peers:
    good: Certificate
    expired: Certificate
    no_signing: Certificate
    untrusted: Certificate
    other: Certificate  # trusted too: another client's


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Peers, list[str]]]:
    home: Path = tmp_path_factory.mktemp("cot-peers")
    p = Peers(
        good=_certificate("cot-good"),
        expired=_certificate("cot-expired", expired=True),
        no_signing=_certificate("cot-no-signing", signing=False),
        untrusted=generate_self_signed("cot-untrusted"),
        other=_certificate("cot-other"),
    )
    trust: list[str] = []
    for name in ("good", "expired", "no_signing", "other"):
        save(getattr(p, name), home / f"{name}.pem", home / f"{name}.key")
        trust += ["--trust-client-cert", str(home / f"{name}.pem")]
    yield p, trust


def cot(binding: str, trust: list[str]) -> tuple[str, ...]:
    return ("--binding", binding, "--bootstrap", "certificate-over-transport", *trust)


def open_session(c: Client) -> bool:
    with c:
        try:
            return bool(c.Echo(text="in") == "in")
        except WsscError:
            return False


def client_with(srv: Server, cert: Certificate) -> tuple[Client, object]:
    return recording_client(srv, credentials=ClientCredentials(certificate=cert))


@pytest.mark.parametrize("binding", BINDINGS)
def test_the_trusted_certificate_opens_a_session(
    server: Callable[..., Server], peers: tuple[Peers, list[str]], binding: str
) -> None:
    """Control for the attacks below: the good certificate is accepted, and the session's
    identity is its subject."""
    p, trust = peers
    srv = server(*cot(binding, trust))
    mark = log_mark(srv)
    c, _ = client_with(srv, p.good)
    assert open_session(c)
    from attack_kit import wait_for_log

    wait_for_log(srv, "(identity 'CN=cot-good')", since=mark)


@pytest.mark.parametrize(
    ("which", "reason"),
    [
        ("untrusted", "'CN=cot-untrusted' was refused: it is not among the trusted peer certificates"),
        ("expired", "'CN=cot-expired' was refused: it expired at"),
        ("no_signing", "'CN=cot-no-signing' was refused: its KeyUsage does not allow digitalSignature"),
    ],
)
def test_a_bad_client_certificate_is_refused(
    server: Callable[..., Server], peers: tuple[Peers, list[str]], which: str, reason: str
) -> None:
    p, trust = peers
    srv = server(*cot("ws2007", trust))
    c, rec = client_with(srv, getattr(p, which))
    mark = log_mark(srv)
    assert not open_session(c)
    assert_refused_by(srv, last(rec, "/RST/SCT").as_response(), reason, since=mark)  # type: ignore[arg-type]


@dataclass
class BodyEndorser:
    """Signs the Body with the (trusted) certificate and leaves the Timestamp unsigned: an
    endorsement that does not cover the Timestamp could be replayed with any fresh one."""

    real: CertificateOverTransportClient

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        p = replace(policy, transport=True, derived_keys=False, encrypt_body=False)
        root = protect(envelope, None, p, now=now)  # the Timestamp alone
        key = self.real.certificate.key
        assert key is not None
        token = X509Protection(self.real.certificate.cert, key)
        env = Envelope(root)
        sec = env.security_headers()[0]
        bst = token.header_element(p.sc)
        assert bst is not None
        sec.append(bst)
        env.body.set(f"{{{ns.WSU}}}Id", "_body")
        _sign(sec, [("_body", env.body)], key, token.reference(p.sc), p, None)
        return root, ClientContext()

    def verify_reply(self, *a: object, **kw: object) -> object:
        return self.real.verify_reply(*a, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("binding", BINDINGS)
def test_an_endorsement_not_covering_the_timestamp_is_refused(
    server: Callable[..., Server], peers: tuple[Peers, list[str]], binding: str
) -> None:
    p, trust = peers
    srv = server(*cot(binding, trust))
    c, rec = client_with(srv, p.good)
    real = c.session.bootstrap
    assert isinstance(real, CertificateOverTransportClient)
    c.session.bootstrap = BodyEndorser(real)  # type: ignore[assignment]
    mark = log_mark(srv)
    assert not open_session(c)
    assert_refused_by(srv, last(rec, "/RST/SCT").as_response(), "the Timestamp is not signed", since=mark)  # type: ignore[arg-type]


# --- the Renew: WCF's shape (the certificate and the SCT each endorse the Timestamp) ---------
def _signatures(body: bytes) -> list[etree._Element]:
    root = etree.fromstring(body)
    return root.findall(f".//{{{ns.WSSE}}}Security/{{{ns.DS}}}Signature")


@pytest.mark.parametrize("binding", BINDINGS)
def test_the_renew_carries_both_endorsements_and_is_accepted(
    server: Callable[..., Server], peers: tuple[Peers, list[str]], binding: str
) -> None:
    """Control for the Renew attacks: the client sends WCF's Renew (a BinarySecurityToken and
    the SCT, two signatures over the Timestamp) and the service renews the session."""
    p, trust = peers
    srv = server(*cot(binding, trust))
    c, rec = client_with(srv, p.good)
    mark = log_mark(srv)
    with c:
        assert c.Echo(text="before") == "before"
        c.renew()
        assert c.Echo(text="after") == "after"
    renew = last(rec, "/RST/SCT/Renew")
    assert renew.status == 200
    sigs = _signatures(renew.request)
    assert len(sigs) == 2
    ts_id = etree.fromstring(renew.request).find(f".//{{{ns.WSU}}}Timestamp").get(f"{{{ns.WSU}}}Id")  # type: ignore[union-attr]
    for sig in sigs:  # each covers the Timestamp and nothing else
        assert [r.get("URI") for r in sig.iter(f"{{{ns.DS}}}Reference")] == [f"#{ts_id}"]
    from attack_kit import wait_for_log

    wait_for_log(srv, "renewed SCT", since=mark)


@dataclass
class RenewWith:
    """The real client half, but its Renew is endorsed by ``certificate`` (None: by the
    session's SCT alone, the shape wssc sent before WCF's) or, ``sct=False``, not by the SCT."""

    real: CertificateOverTransportClient
    certificate: Certificate | None
    sct: bool = True
    #: the SCT's signature covers the Body instead of the Timestamp
    sct_over_body: bool = False

    def secure(self, *a: object, **kw: object) -> object:
        return self.real.secure(*a, **kw)  # type: ignore[arg-type]

    def verify_reply(self, *a: object, **kw: object) -> object:
        return self.real.verify_reply(*a, **kw)  # type: ignore[arg-type]

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        p = replace(policy, transport=True, derived_keys=False, encrypt_body=False)
        if self.certificate is None:
            return protect(envelope, session, p, now=now), None
        key = self.certificate.key
        assert key is not None
        token = X509Protection(self.certificate.cert, key)
        if not self.sct_over_body:
            return protect(
                envelope, token, p, now=now, endorsing=session if self.sct else None
            ), ClientContext()
        root = protect(envelope, token, p, now=now)
        env = Envelope(root)
        sec = env.security_headers()[0]
        sct_el = session.header_element(p.sc)
        assert sct_el is not None
        sec.append(sct_el)
        env.body.set(f"{{{ns.WSU}}}Id", "_body")
        _sign(sec, [("_body", env.body)], signing_key(session), session.reference(p.sc), p, None)
        return root, ClientContext()


@pytest.mark.parametrize(
    ("endorser", "sct", "reason"),
    [
        (None, True, "the Renew is not endorsed by the client's X.509 certificate"),
        ("other", True, "the Renew comes from another identity than the session's"),
        ("untrusted", True, "'CN=cot-untrusted' was refused: it is not among the trusted peer certificates"),
        ("good", False, "the message has no endorsing signature"),
        ("good", "body", "the endorsing signature must cover the Timestamp and nothing else"),
    ],
    ids=["sct-alone", "another-certificate", "untrusted-certificate", "certificate-alone", "sct-over-body"],
)
def test_a_renew_without_the_sessions_certificate_is_refused(
    server: Callable[..., Server],
    peers: tuple[Peers, list[str]],
    endorser: str | None,
    sct: bool | str,
    reason: str,
) -> None:
    """WCF's service renews only through the bootstrap: the session's certificate and its SCT
    must both endorse the Renew. Each other shape is refused with the generic fault, the log
    naming the check; the session keeps its key and goes on."""
    p, trust = peers
    srv = server(*cot("ws2007", trust))
    c, rec = client_with(srv, p.good)
    real = c.session.bootstrap
    assert isinstance(real, CertificateOverTransportClient)
    with c:
        assert c.Echo(text="before") == "before"
        endorsing = None if endorser is None else getattr(p, endorser)
        c.session.bootstrap = RenewWith(real, endorsing, bool(sct), sct == "body")  # type: ignore[assignment]
        mark = log_mark(srv)
        with pytest.raises(WsscError):
            c.renew()
        assert_refused_by(srv, last(rec, "/RST/SCT/Renew").as_response(), reason, since=mark)
        assert c.Echo(text="still") == "still"  # the session keeps its key
