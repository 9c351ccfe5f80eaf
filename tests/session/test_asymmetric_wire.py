"""MutualCertificate under WS-Security 1.0 (WCF's AsymmetricBinding), in process (a fake clock,
no HTTP): the request as WCF lays it out (the client's BinarySecurityToken, an EncryptedKey to
the service certificate holding the ReferenceList, the RSA signature encrypted under it, no
derived keys, no SignatureConfirmation); one RSA private-key operation per request before the
sender is authenticated; the reply signed by the service certificate (not sent: an external
reference) and encrypted to the client's; a client refuses a reply any other key signed.
Attacks against a running ``wssc serve``: tests/attacks/test_asymmetric_mutual_certificate.py.
"""

from __future__ import annotations

import datetime
import logging

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from engine_kit import ADD, CERT, Clock, assert_fault_logged, exchange
from lxml import etree

from wssc.bootstrap.mutual_certificate import MutualCertificateClient
from wssc.bootstrap.registry import ServiceCredentials
from wssc.certs import Certificate, generate_self_signed
from wssc.demo import Calculator
from wssc.errors import FailedCheck, RemoteFault
from wssc.security.x509_refs import external_reference, issuer_serial_reference, matches
from wssc.security.x509_validation import CertificateValidator
from wssc.service.engine import ServiceEngine
from wssc.session.client import ClientSession, Outgoing
from wssc.settings import WS2007_WSS10, WSHTTP_WSS10, Bootstrap, EndpointSettings, SecureConversationSettings
from wssc.tokens.str_ import SecurityTokenReference
from wssc.xml import ns
from wssc.xml.soap import Envelope

ADDRESS = "http://localhost/svc"
ALICE = generate_self_signed("alice.asym.test")


def settings_for(version: object = WSHTTP_WSS10, *, session: bool = False) -> EndpointSettings:
    return EndpointSettings(
        SecureConversationSettings(
            bootstrap=Bootstrap.MUTUAL_CERTIFICATE,
            message_security_version=version,  # type: ignore[arg-type]
            establish_security_context=session,
        )
    )


def engine(settings: EndpointSettings, clock: Clock, certificate: Certificate = CERT) -> ServiceEngine:
    creds = ServiceCredentials(
        certificate=certificate, client_certificate_validator=CertificateValidator.peer_trust(ALICE.cert)
    )
    return ServiceEngine(Calculator(), settings=settings, address=ADDRESS, credentials=creds, clock=clock)


def client(settings: EndpointSettings) -> ClientSession:
    return ClientSession(settings, MutualCertificateClient(Certificate(CERT.cert), ALICE), ADDRESS)


def post(eng: ServiceEngine, out: Outgoing) -> bytes:
    return exchange(eng, out.body, out.content_type).body


def security(data: bytes) -> etree._Element:
    return Envelope(etree.fromstring(data)).security_headers()[0]


def names(sec: etree._Element) -> list[str]:
    return [etree.QName(c).localname for c in sec if isinstance(c.tag, str)]


@pytest.mark.parametrize("version", [WSHTTP_WSS10, WS2007_WSS10], ids=lambda v: v.name)
def test_the_request_and_the_reply_are_laid_out_as_wcf_writes_them(version: object) -> None:
    settings = settings_for(version)
    clock = Clock()
    eng, cl = engine(settings, clock), client(settings)
    out = cl.app_request(ADD, {"a": 2, "b": 3}, clock.t)
    sec = security(out.body)
    # Timestamp, the client's certificate, the EncryptedKey (with the ReferenceList), the
    # encrypted signature; no DerivedKeyToken, no SignatureConfirmation, no own ReferenceList
    assert names(sec) == ["Timestamp", "BinarySecurityToken", "EncryptedKey", "EncryptedData"]
    ek = sec.find(f"{{{ns.XENC}}}EncryptedKey")
    assert ek is not None and ek.find(f"{{{ns.XENC}}}ReferenceList") is not None
    ki = ek.find(f"{{{ns.DS}}}KeyInfo/{{{ns.WSSE}}}SecurityTokenReference")
    assert ki is not None and matches(SecurityTokenReference.from_xml(ki), CERT.cert)
    assert sec.find(f"{{{ns.XENC}}}EncryptedData/{{{ns.DS}}}KeyInfo") is None  # the EncryptedKey's
    reply = post(eng, out)
    rsec = security(reply)
    # the reply: the service's certificate is not sent; a new EncryptedKey, to the client's
    assert names(rsec) == ["Timestamp", "EncryptedKey", "EncryptedData"]
    rki = rsec.find(f"{{{ns.XENC}}}EncryptedKey/{{{ns.DS}}}KeyInfo/{{{ns.WSSE}}}SecurityTokenReference")
    assert rki is not None and matches(SecurityTokenReference.from_xml(rki), ALICE.cert)
    assert cl.app_response(reply, out, clock.t) == 5


def test_one_rsa_private_key_operation_per_request_before_authentication(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The service unwraps one EncryptedKey per request (its only private-key operation
    before the RSA signature authenticates the client); a request by an untrusted client
    costs no more and is refused at its certificate."""
    import wssc.security.processors as processors

    settings = settings_for(WS2007_WSS10)
    clock = Clock()
    eng, cl = engine(settings, clock), client(settings)
    unwraps: list[str] = []
    real = processors.rsa_key_unwrap
    service_key = CERT.key
    assert service_key is not None

    def counting(alg: str, key: rsa.RSAPrivateKey, data: bytes) -> bytes:
        unwraps.append("service" if key.private_numbers() == service_key.private_numbers() else "client")
        return real(alg, key, data)

    monkeypatch.setattr(processors, "rsa_key_unwrap", counting)
    out = cl.app_request(ADD, {"a": 1, "b": 1}, clock.t)
    reply = post(eng, out)
    assert unwraps == ["service"]
    assert cl.app_response(reply, out, clock.t) == 2
    assert unwraps == ["service", "client"]  # the client unwraps the reply's key
    stranger = ClientSession(
        settings, MutualCertificateClient(Certificate(CERT.cert), generate_self_signed("stranger")), ADDRESS
    )
    out = stranger.app_request(ADD, {"a": 1, "b": 1}, clock.t)
    with caplog.at_level(logging.INFO, logger="wssc.service"):
        post(eng, out)
    assert_fault_logged(caplog.records, "PeerTrust: the certificate 'CN=stranger' was refused")
    assert unwraps == ["service", "client"]  # refused at its certificate, read before the unwrap


def test_the_client_refuses_a_reply_signed_by_another_certificate() -> None:
    """A service with another key pair (a man in the middle who can decrypt nothing the
    client sent, but answers with its own signature): its reference names no certificate the
    client knows."""
    settings = settings_for()
    clock = Clock()
    impostor = engine(settings, clock, generate_self_signed("impostor"))
    cl = client(settings)
    out = cl.app_request(ADD, {"a": 1, "b": 2}, clock.t)
    reply = post(impostor, out)  # it cannot unwrap the request: the generic fault
    with pytest.raises(RemoteFault, match="An error occurred when verifying security"):
        cl.app_response(reply, out, clock.t)
    # and a reply that does verify for the real service is refused under another pinned certificate
    real = engine(settings, clock)
    out = cl.app_request(ADD, {"a": 1, "b": 2}, clock.t)
    good = post(real, out)
    other = ClientSession(
        settings, MutualCertificateClient(Certificate(generate_self_signed("other").cert), ALICE), ADDRESS
    )
    with pytest.raises(FailedCheck, match="names no certificate known to this party"):
        other.app_response(good, out, clock.t)


def _with_ski(cn: str) -> x509.Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "O")]
    )
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def test_external_references_name_exactly_their_certificate() -> None:
    """As WCF's X509KeyIdentifierClauseType.Any: the Subject Key Identifier when the
    certificate has one, else issuer and serial (compared as WCF writes the issuer:
    ``CN=a, O=b``); nothing names another certificate."""
    with_ski, other = _with_ski("ski"), _with_ski("ski")
    ref = external_reference(with_ski)
    assert ref.value_type == ns.WSS_X509_SKI
    assert matches(ref, with_ski) and not matches(ref, other)
    plain = CERT.cert
    ref = external_reference(plain)
    assert ref.custom is not None and matches(ref, plain) and not matches(ref, ALICE.cert)
    # the issuer as WCF writes it (", " between parts, another order) still names it
    wcf = issuer_serial_reference(with_ski)
    assert wcf.custom is not None
    issuer = wcf.custom.find(f".//{{{ns.DS}}}X509IssuerName")
    assert issuer is not None
    issuer.text = "O=O, CN=ski"
    assert matches(wcf, with_ski) and not matches(wcf, other)
    serial = wcf.custom.find(f".//{{{ns.DS}}}X509SerialNumber")
    assert serial is not None
    serial.text = str(with_ski.serial_number + 1)
    assert not matches(wcf, with_ski)
    serial.text = "12ab"
    assert not matches(wcf, with_ski)
