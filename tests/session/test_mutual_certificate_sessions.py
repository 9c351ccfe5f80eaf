"""MutualCertificate, WS-Security 1.1 shape, in process (a fake clock, no HTTP): the RST
protected under an EncryptedKey to the service certificate and endorsed by the client's
certificate; the reply confirming every request signature; the Renew as WCF sends it, with
two endorsing signatures (the client's certificate and the session's SCT).

Each refusal is the one generic fault on the wire and the check that refused in the log.
"""

from __future__ import annotations

import logging

import pytest
from engine_kit import ADD, CERT, Clock, assert_fault_logged, exchange
from lxml import etree

from wssc.bootstrap.mutual_certificate import MutualCertificateClient
from wssc.bootstrap.registry import ServiceCredentials
from wssc.certs import Certificate, generate_self_signed
from wssc.demo import Calculator
from wssc.errors import InvalidSecurity
from wssc.security.x509_validation import CertificateValidator
from wssc.service.engine import ServiceEngine
from wssc.session.client import ClientSession, Outgoing
from wssc.settings import WS2007, WSHTTP, Bootstrap, EndpointSettings, SecureConversationSettings
from wssc.xml import ns
from wssc.xml.soap import Envelope, read_fault

GENERIC = "An error occurred when verifying security for the message."
ADDRESS = "http://localhost/svc"
ALICE = generate_self_signed("alice.client.test")
MALLORY = generate_self_signed("mallory.client.test")


def settings_for(
    version: object = WSHTTP, *, session: bool = True, encrypt_signature: bool = True
) -> EndpointSettings:
    return EndpointSettings(
        SecureConversationSettings(
            bootstrap=Bootstrap.MUTUAL_CERTIFICATE,
            message_security_version=version,  # type: ignore[arg-type]
            establish_security_context=session,
            encrypt_signature=encrypt_signature,
        )
    )


def engine(settings: EndpointSettings, clock: Clock, *trusted: Certificate) -> ServiceEngine:
    validator = CertificateValidator.peer_trust(*(c.cert for c in trusted or (ALICE,)))
    creds = ServiceCredentials(certificate=CERT, client_certificate_validator=validator)
    return ServiceEngine(Calculator(), settings=settings, address=ADDRESS, credentials=creds, clock=clock)


def client(settings: EndpointSettings, who: Certificate = ALICE) -> ClientSession:
    half = MutualCertificateClient(Certificate(CERT.cert), who, require_signature_confirmation=True)
    return ClientSession(settings, half, ADDRESS)


def post(eng: ServiceEngine, out: Outgoing, body: bytes | None = None) -> bytes:
    return exchange(eng, out.body if body is None else body, out.content_type).body


def open_session(settings: EndpointSettings) -> tuple[Clock, ServiceEngine, ClientSession]:
    clock = Clock()
    eng, cl = engine(settings, clock, ALICE, MALLORY), client(settings)
    out = cl.issue_request(clock.t)
    cl.issue_response(post(eng, out), out, clock.t)
    return clock, eng, cl


def security(data: bytes) -> etree._Element:
    return Envelope(etree.fromstring(data)).security_headers()[0]


def confirmations(data: bytes) -> list[str]:
    return [c.get("Value") or "" for c in security(data) if c.tag == f"{{{ns.WSSE11}}}SignatureConfirmation"]


def confirmation_count(data: bytes, encrypt_signature: bool = True) -> int:
    """How many SignatureConfirmations the reply carries. Under EncryptSignature each travels
    encrypted, as WCF sends them when the request's signature was (CXF refuses them in the
    clear: FINDINGS C15): the header's EncryptedData are the reply's one signature and the
    confirmations, and none is in the clear. Their values are checked by the client."""
    if not encrypt_signature:
        return len(confirmations(data))
    assert confirmations(data) == [], "a SignatureConfirmation in the clear under EncryptSignature"
    encrypted = [c for c in security(data) if c.tag == f"{{{ns.XENC}}}EncryptedData"]
    return len(encrypted) - 1


def assert_generic(data: bytes) -> None:
    fault = read_fault(Envelope(etree.fromstring(data)))
    assert fault is not None and fault.reason == GENERIC, fault


@pytest.mark.parametrize("encrypt_signature", [True, False], ids=["encsig", "SignBeforeEncrypt"])
@pytest.mark.parametrize("version", [WSHTTP, WS2007], ids=["wshttp", "ws2007"])
def test_session_opens_with_the_certificate_as_identity_and_renews_with_two_endorsements(
    version: object, encrypt_signature: bool
) -> None:
    settings = settings_for(version, encrypt_signature=encrypt_signature)
    clock, eng, cl = open_session(settings)
    assert cl.sct is not None
    rec = eng.sessions.store.get(cl.sct.identifier)
    assert rec is not None and rec.identity == ALICE.cert.subject.rfc4514_string()
    out = cl.app_request(ADD, {"a": 2, "b": 3}, clock.t)
    assert cl.app_response(post(eng, out), out, clock.t) == 5

    cl.force_renew = True
    out = cl.renew_request(clock.t)
    sec = security(out.body)
    names = [etree.QName(c).localname for c in sec]
    # the client's certificate and the session's SCT each endorse: three signatures, all
    # encrypted as WCF sends them (all in the clear under SignBeforeEncrypt)
    assert names.count("BinarySecurityToken") == 1 and names.count("SecurityContextToken") == 1
    assert names[-3:] == ["EncryptedData" if encrypt_signature else "Signature"] * 3, names
    reply = post(eng, out)
    # the reply confirms all three request signatures
    assert confirmation_count(reply, encrypt_signature) == 3
    old = cl.sct
    cl.renew_response(reply, out, clock.t)
    assert cl.sct is not None and cl.sct.instance != old.instance
    out = cl.app_request(ADD, {"a": 40, "b": 2}, clock.t)
    assert cl.app_response(post(eng, out), out, clock.t) == 42


def test_the_rst_reply_confirms_the_primary_and_the_endorsing_signature() -> None:
    settings = settings_for()
    clock = Clock()
    eng, cl = engine(settings, clock), client(settings)
    out = cl.issue_request(clock.t)
    reply = post(eng, out)
    assert confirmation_count(reply) == 2
    cl.issue_response(reply, out, clock.t)  # checks both values (require_signature_confirmation)


def test_the_confirmations_travel_in_the_clear_under_sign_before_encrypt() -> None:
    settings = settings_for(encrypt_signature=False)
    clock = Clock()
    eng, cl = engine(settings, clock), client(settings)
    out = cl.issue_request(clock.t)
    reply = post(eng, out)
    values = confirmations(reply)
    assert len(values) == 2 and len(set(values)) == 2
    cl.issue_response(reply, out, clock.t)


def test_the_client_checks_every_confirmation_against_its_request() -> None:
    """The reply must confirm the primary and the endorsing signature the client sent: a
    context that remembers other signature values (or one too few) refuses the same reply."""
    from wssc.bootstrap.base import ClientContext

    settings = settings_for(session=False)
    clock = Clock()
    eng = engine(settings, clock)
    seen: list[ClientContext] = []
    half = MutualCertificateClient(Certificate(CERT.cert), ALICE, require_signature_confirmation=True)

    class Recording:
        def __getattr__(self, name: str) -> object:
            return getattr(half, name)

        def secure(self, envelope: etree._Element, policy: object, now: float | None = None) -> object:
            root, ctx = half.secure(envelope, policy, now)  # type: ignore[arg-type]
            seen.append(ctx)
            return root, ctx

    cl = ClientSession(settings, Recording(), ADDRESS)  # type: ignore[arg-type]
    out = cl.app_request(ADD, {"a": 1, "b": 2}, clock.t)
    reply = post(eng, out)
    (ctx,) = seen
    assert len(ctx.request_signatures) == 2
    good = list(ctx.request_signatures)
    for bad in (good[:1], [good[0], b"x" * len(good[1])]):
        ctx.request_signatures[:] = bad
        with pytest.raises(InvalidSecurity, match="SignatureConfirmation does not match"):
            cl.app_response(reply, out, clock.t)
    ctx.request_signatures[:] = good
    assert cl.app_response(reply, out, clock.t) == 3


def test_without_a_session_each_message_is_endorsed() -> None:
    settings = settings_for(session=False)
    clock = Clock()
    eng, cl = engine(settings, clock), client(settings)
    out = cl.app_request(ADD, {"a": 1, "b": 2}, clock.t)
    reply = post(eng, out)
    assert confirmation_count(reply) == 2
    assert cl.app_response(reply, out, clock.t) == 3


def test_an_untrusted_client_certificate_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for()
    clock = Clock()
    eng, cl = engine(settings, clock, ALICE), client(settings, MALLORY)
    out = cl.issue_request(clock.t)
    with caplog.at_level(logging.INFO, logger="wssc.service"):
        reply = post(eng, out)
    assert_generic(reply)
    assert_fault_logged(caplog.records, "PeerTrust: the certificate 'CN=mallory.client.test' was refused")


def test_a_request_without_the_endorsement_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    """AnonymousForCertificate's protection alone (no client certificate) does not do."""
    from wssc.bootstrap.anonymous_for_certificate import AnonymousForCertificateClient

    settings = settings_for()
    clock = Clock()
    eng = engine(settings, clock)
    cl = ClientSession(settings, AnonymousForCertificateClient(Certificate(CERT.cert)), ADDRESS)
    out = cl.issue_request(clock.t)
    with caplog.at_level(logging.INFO, logger="wssc.service"):
        reply = post(eng, out)
    assert_generic(reply)
    assert_fault_logged(caplog.records, "the message has no endorsing signature")


def test_a_renew_with_another_clients_certificate_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    """Mallory (trusted by the service, and holding the session's key) endorses alice's
    session's Renew with her own certificate: the Renew's identity is not the session's."""
    settings = settings_for()
    clock, eng, cl = open_session(settings)
    cl.bootstrap = MutualCertificateClient(Certificate(CERT.cert), MALLORY)  # type: ignore[misc]
    cl.force_renew = True
    out = cl.renew_request(clock.t)
    with caplog.at_level(logging.INFO, logger="wssc.service"):
        reply = post(eng, out)
    assert_generic(reply)
    assert_fault_logged(caplog.records, "the Renew comes from another identity than the session's")


def test_a_renew_without_the_certificates_endorsement_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    """The SCT alone endorsing a bootstrap-secured Renew (AnonymousForCertificate's shape)
    is one endorsement short."""
    from wssc.bootstrap.anonymous_for_certificate import AnonymousForCertificateClient

    settings = settings_for()
    clock, eng, cl = open_session(settings)
    cl.bootstrap = AnonymousForCertificateClient(Certificate(CERT.cert))  # type: ignore[misc]
    cl.force_renew = True
    out = cl.renew_request(clock.t)
    with caplog.at_level(logging.INFO, logger="wssc.service"):
        reply = post(eng, out)
    assert_generic(reply)
    assert_fault_logged(caplog.records, "the message has fewer endorsing signatures than the policy's 2")


class _SessionKeyRenew:
    """A client half whose Renew is signed by the session's key alone, as a Cancel is (no
    EncryptedKey, no certificate): not how WCF sends one."""

    def __init__(self, real: object) -> None:
        self.real = real

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    def secure_renew(self, envelope: etree._Element, policy: object, session: object, now: float) -> object:
        from wssc.security.outbound import protect

        return protect(envelope, session, policy, now=now), None  # type: ignore[arg-type]


@pytest.mark.parametrize("version", [WSHTTP, WS2007], ids=["wshttp", "ws2007"])
def test_a_renew_signed_by_the_session_key_alone_is_refused(
    caplog: pytest.LogCaptureFixture, version: object
) -> None:
    """WCF renews only through the bootstrap: a Renew without the certificate's endorsement
    (the session's key alone) is refused, so an expired or distrusted certificate cannot
    keep its session alive; the session keeps its key."""
    settings = settings_for(version)
    clock, eng, cl = open_session(settings)
    cl.bootstrap = _SessionKeyRenew(cl.bootstrap)  # type: ignore[assignment]
    cl.force_renew = True
    out = cl.renew_request(clock.t)
    names = [etree.QName(c).localname for c in security(out.body)]
    assert "EncryptedKey" not in names and "BinarySecurityToken" not in names, names
    with caplog.at_level(logging.INFO, logger="wssc.service"):
        reply = post(eng, out)
    assert_generic(reply)
    assert_fault_logged(caplog.records, "the Renew is not endorsed by the client's X.509 certificate")
    cl.renew_failed()
    out = cl.app_request(ADD, {"a": 1, "b": 1}, clock.t)
    assert cl.app_response(post(eng, out), out, clock.t) == 2
