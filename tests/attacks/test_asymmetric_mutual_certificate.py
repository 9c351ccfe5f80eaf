"""Issue 16: MutualCertificate under WS-Security 1.0 (an AsymmetricBinding: the client's X.509
certificate signs the request, which is encrypted to the service's certificate). The client's
certificate must be trusted and must be the one whose key made the signature; the message
must be the one that was signed, once; a message that the client's certificate did not sign
(anyone can make an EncryptedKey to the service) is refused; and a Renew must be signed by the
session's own client as well as endorsed by the session's SCT.

Each attack runs against a real ``wssc serve --bootstrap mutual-certificate --binding
…-wss10`` that trusts two client certificates (PeerTrust), one-shot (``--no-secure-context``) or
as the bootstrap of a session. A real wssc client sends each request, with its bootstrap half
swapped for one that breaks the protocol or alters it after signing, or its traffic recorded
and posted again. Each
refusal is asserted on the wire (the generic fault) and in the service log (the check that
refused).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from attack_kit import (
    assert_refused_by,
    header_children,
    last,
    log_mark,
    post,
    recording_client,
    tree,
    wait_for_log,
)
from lxml import etree
from test_certificate_over_transport import _certificate

from servers import Server
from wssc.bootstrap.anonymous_for_certificate import AnonymousForCertificateClient
from wssc.bootstrap.base import ClientContext
from wssc.bootstrap.mutual_certificate import MutualCertificateClient
from wssc.bootstrap.mutual_certificate_wss10 import _encrypted_key, asymmetric_policy
from wssc.bootstrap.registry import ClientCredentials
from wssc.certs import Certificate, generate_self_signed, save
from wssc.client import Client
from wssc.errors import WsscError
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.tokens import X509Protection
from wssc.xml import ns
from wssc.xml.soap import Envelope

pytestmark = pytest.mark.e2e

WSS10_BINDINGS = ("wshttp-wss10", "ws2007-wss10")


@dataclass(frozen=True)
class Peers:
    good: Certificate
    other: Certificate
    untrusted: Certificate


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Peers, list[str]]]:
    home: Path = tmp_path_factory.mktemp("amc-peers")
    p = Peers(
        good=_certificate("amc-good"),
        other=_certificate("amc-other"),
        untrusted=generate_self_signed("amc-untrusted"),
    )
    save(p.good, home / "good.pem", home / "good.key")
    save(p.other, home / "other.pem", home / "other.key")
    yield p, ["--trust-client-cert", str(home / "good.pem"), "--trust-client-cert", str(home / "other.pem")]


def amc(binding: str, trust: list[str], session: bool) -> tuple[str, ...]:
    extra = () if session else ("--no-secure-context",)
    return ("--binding", binding, "--bootstrap", "mutual-certificate", *trust, *extra)


def call(c: Client) -> bool:
    try:
        return bool(c.Echo(text="in") == "in")
    except WsscError:
        return False


def first_request(session: bool) -> str:
    """The action part of the first message a client sends: the RST, or the operation."""
    return "/RST/SCT" if session else "/Echo"


@pytest.mark.parametrize("session", [True, False], ids=["session", "one-shot"])
@pytest.mark.parametrize("binding", WSS10_BINDINGS)
def test_the_trusted_certificate_is_served(
    server: Callable[..., Server], peers: tuple[Peers, list[str]], binding: str, session: bool
) -> None:
    """Control for the attacks below: the published policy is an AsymmetricBinding under
    WS-Security 1.0, the trusted certificate's requests are answered, and a session's
    identity is its subject."""
    p, trust = peers
    srv = server(*amc(binding, trust, session))
    mark = log_mark(srv)
    c, rec = recording_client(srv, credentials=ClientCredentials(certificate=p.good))
    with c:
        assert c.session.scs.message_security_version.wss11 is False
        assert call(c) and call(c)
    request = tree(next(e for e in rec.exchanges if first_request(session) in e.action).request)
    assert [etree.QName(e).localname for e in header_children(request, "BinarySecurityToken")] == [
        "BinarySecurityToken"
    ]
    if session:
        wait_for_log(srv, "(identity 'CN=amc-good')", since=mark)


@pytest.mark.parametrize("session", [True, False], ids=["session", "one-shot"])
def test_an_untrusted_client_certificate_is_refused(
    server: Callable[..., Server], peers: tuple[Peers, list[str]], session: bool
) -> None:
    p, trust = peers
    srv = server(*amc("ws2007-wss10", trust, session))
    c, rec = recording_client(srv, credentials=ClientCredentials(certificate=p.untrusted))
    mark = log_mark(srv)
    with c:
        assert not call(c)
    assert_refused_by(
        srv,
        last(rec, first_request(session)).as_response(),
        "'CN=amc-untrusted' was refused: it is not among the trusted peer certificates",
        since=mark,
    )


@dataclass
class ForeignKeySigner:
    """Presents the trusted certificate in its BinarySecurityToken but signs with another key
    (an attacker who has the certificate, which is public, and not its private key)."""

    real: MutualCertificateClient

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        p = asymmetric_policy(policy)
        other = generate_self_signed("amc-attacker").key
        assert other is not None
        root = protect(
            envelope,
            X509Protection(self.real.certificate.cert, other),
            p,
            now=now,
            encrypt_with=_encrypted_key(self.real.service_certificate, p),
        )
        return root, ClientContext()

    def verify_reply(self, *a: object, **kw: object) -> object:
        return self.real.verify_reply(*a, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("session", [True, False], ids=["session", "one-shot"])
def test_a_signature_by_another_key_than_the_certificate_presented_is_refused(
    server: Callable[..., Server], peers: tuple[Peers, list[str]], session: bool
) -> None:
    p, trust = peers
    srv = server(*amc("wshttp-wss10", trust, session))
    c, rec = recording_client(srv, credentials=ClientCredentials(certificate=p.good))
    real = c.session.bootstrap
    assert isinstance(real, MutualCertificateClient)
    c.session.bootstrap = ForeignKeySigner(real)  # type: ignore[assignment]
    mark = log_mark(srv)
    with c:
        assert not call(c)
    assert_refused_by(
        srv,
        last(rec, first_request(session)).as_response(),
        "the signature value did not verify",
        since=mark,
    )


def test_a_request_not_signed_by_the_client_certificate_is_refused(
    server: Callable[..., Server], peers: tuple[Peers, list[str]]
) -> None:
    """AnonymousForCertificate's protection (an EncryptedKey to the service and an HMAC with
    its key): anyone can make it, so it proves nothing about the client."""
    p, trust = peers
    srv = server(*amc("ws2007-wss10", trust, False))
    c, rec = recording_client(srv, credentials=ClientCredentials(certificate=p.good))
    real = c.session.bootstrap
    assert isinstance(real, MutualCertificateClient)
    c.session.bootstrap = AnonymousForCertificateClient(real.service_certificate)
    mark = log_mark(srv)
    with c:
        assert not call(c)
    assert_refused_by(
        srv,
        last(rec, "/Echo").as_response(),
        "the message is not signed by an X.509 token",
        since=mark,
    )


@dataclass
class Tamperer:
    """The real client's request, altered after it was signed (as a man in the middle would
    alter it in flight): its MessageID, a signed addressing header, is changed."""

    real: MutualCertificateClient

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        root, ctx = self.real.secure(envelope, policy, now)
        header = Envelope(root).header
        assert header is not None
        message_id = header.find(f"{{{ns.WSA10}}}MessageID")
        assert message_id is not None
        message_id.text = "urn:uuid:00000000-0000-0000-0000-000000000000"
        return root, ctx

    def verify_reply(self, *a: object, **kw: object) -> object:
        return self.real.verify_reply(*a, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("session", [True, False], ids=["session", "one-shot"])
def test_a_tampered_signed_header_is_refused(
    server: Callable[..., Server], peers: tuple[Peers, list[str]], session: bool
) -> None:
    """The signature still verifies (it is over SignedInfo), the digest of the changed
    header does not."""
    p, trust = peers
    srv = server(*amc("ws2007-wss10", trust, session))
    c, rec = recording_client(srv, credentials=ClientCredentials(certificate=p.good))
    real = c.session.bootstrap
    assert isinstance(real, MutualCertificateClient)
    c.session.bootstrap = Tamperer(real)  # type: ignore[assignment]
    mark = log_mark(srv)
    with c:
        assert not call(c)
    assert_refused_by(
        srv,
        last(rec, first_request(session)).as_response(),
        "a digest did not match (the content was changed)",
        since=mark,
    )


def test_a_replayed_one_shot_request_is_refused(
    server: Callable[..., Server], peers: tuple[Peers, list[str]]
) -> None:
    """Without a session each request stands alone: a captured one posted again is refused
    by the replay cache (its RSA signature is charged once it verifies)."""
    p, trust = peers
    srv = server(*amc("wshttp-wss10", trust, False))
    c, rec = recording_client(srv, credentials=ClientCredentials(certificate=p.good))
    with c:
        assert call(c)
    captured = last(rec, "/Echo").request
    mark = log_mark(srv)
    r = post(srv, captured)
    assert_refused_by(srv, r, "A replay of a previously received message was detected", since=mark)


@pytest.mark.parametrize("binding", WSS10_BINDINGS)
def test_a_renew_is_endorsed_by_the_session_and_signed_by_its_own_client(
    server: Callable[..., Server], peers: tuple[Peers, list[str]], binding: str
) -> None:
    """The Renew is secured as a request (the client's certificate signs) and endorsed by the
    session's SCT. Control: the session's own client renews. Attack: a second trusted client
    who learned the session's key renews it under its own certificate; the Renew's identity is
    not the session's, and the session is not renewed."""
    p, trust = peers
    srv = server(*amc(binding, trust, True))
    c, rec = recording_client(srv, credentials=ClientCredentials(certificate=p.good))
    with c:
        assert call(c)
        old = c.session.sct
        c.session.force_renew = True
        assert call(c)
        assert c.session.sct is not None and old is not None and c.session.sct.instance != old.instance
        real = c.session.bootstrap
        assert isinstance(real, MutualCertificateClient)
        c.session.bootstrap = MutualCertificateClient(real.service_certificate, p.other)
        c.session.force_renew = True
        mark = log_mark(srv)
        assert not call(c)
        assert_refused_by(
            srv,
            last(rec, "/RST/SCT/Renew").as_response(),
            "the Renew comes from another identity than the session's",
            since=mark,
        )
