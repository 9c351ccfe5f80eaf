"""Mono's System.ServiceModel (WCF) MutualCertificate messages, captured on the wire by the Mono
peer harness (``../shared/peers/mono/captures/mutualcert``: ``wsHttpBinding``, Message
security, ``clientCredentialType="Certificate"``, no security context), checked by wssc's
MutualCertificate halves: the request by the service half (its X.509 endorsement over the
primary signature, the client certificate trusted as a peer), and Mono's reply by the client
half, whose SignatureConfirmation must confirm both of the request's signatures (the primary
and the endorsing one), as wssc's service writes it. The captures' timestamps have expired:
each is checked at its own Created time.

Mono signs the endorsement with RSA-SHA256 under Basic256 (WCF: RSA-SHA1, the suite's
asymmetric signature), so the strict suite check refuses it; with ``strict_algorithms=False``
(as for captured traffic) everything else verifies.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from peers import mono_dir, mono_missing
from wssc.bootstrap.base import ClientContext, TransportInfo
from wssc.bootstrap.mutual_certificate import MutualCertificateClient, MutualCertificateService
from wssc.certs import load
from wssc.errors import InvalidSecurity, UnsupportedAlgorithm
from wssc.security import MessagePolicy
from wssc.security.x509_validation import CertificateValidator
from wssc.tokens.timestamp import parse_time

MONO = mono_dir()
POLICY = MessagePolicy(
    strict_algorithms=False, check_expiry=False, require_encrypted_body=True, require_signed_addressing=True
)


def _wire() -> Path:
    wire = MONO / "captures" / "mutualcert" / "wire-call"
    if not wire.is_dir():
        mono_missing(f"Mono captures not found at {MONO} (set WSSC_MONO_PEER)")
    return wire


def _body(path: Path) -> bytes:
    return path.read_bytes().split(b"\r\n\r\n", 1)[1].lstrip(b"\xef\xbb\xbf")


def _created(data: bytes) -> float:
    el = etree.fromstring(data).find(".//{*}Timestamp/{*}Created")
    assert el is not None and el.text
    return parse_time(el.text)


@pytest.mark.parametrize("n", ["001", "002", "003"])
def test_monos_request_and_reply_verify_with_the_mutual_certificate_halves(n: str) -> None:
    server = load(MONO / "certs" / "server.crt", MONO / "certs" / "server.key")
    client = load(MONO / "certs" / "client.crt", MONO / "certs" / "client.key")
    request = _body(_wire() / f"{n}-wire-request.http")
    now = _created(request)
    service = MutualCertificateService(server, CertificateValidator.peer_trust(client.cert))
    result = service.verify(request, TransportInfo(), POLICY, now)
    assert result.identity == client.cert.subject.rfc4514_string()
    m = result.message
    assert m.endorsing_certificate == client.cert and m.body_signed and m.body_encrypted
    assert m.signature_value is not None and len(m.endorsing_signature_values) == 1

    reply = _body(_wire() / f"{n}-wire-response.http")
    half = MutualCertificateClient(server, client, require_signature_confirmation=True)
    sent = [m.signature_value, *m.endorsing_signature_values]
    verified = half.verify_reply(reply, ClientContext(dict(result.reply_keys), sent), POLICY, now)
    assert sorted(verified.signature_confirmations) == sorted(sent)  # Mono confirms both
    with pytest.raises(InvalidSecurity, match="SignatureConfirmation does not match"):
        half.verify_reply(reply, ClientContext(dict(result.reply_keys), sent[:1]), POLICY, now)


def test_monos_rsa_sha256_endorsement_is_refused_under_the_strict_suite() -> None:
    server = load(MONO / "certs" / "server.crt", MONO / "certs" / "server.key")
    client = load(MONO / "certs" / "client.crt", MONO / "certs" / "client.key")
    request = _body(_wire() / "001-wire-request.http")
    service = MutualCertificateService(server, CertificateValidator.peer_trust(client.cert))
    strict = MessagePolicy(check_expiry=False, require_encrypted_body=True)
    with pytest.raises(UnsupportedAlgorithm, match="rsa-sha256"):
        service.verify(request, TransportInfo(), strict, _created(request))


def test_an_untrusted_client_certificate_in_monos_request_is_refused() -> None:
    from wssc.certs import generate_self_signed
    from wssc.errors import CertificateRejected

    server = load(MONO / "certs" / "server.crt", MONO / "certs" / "server.key")
    request = _body(_wire() / "001-wire-request.http")
    service = MutualCertificateService(server, CertificateValidator.peer_trust(generate_self_signed().cert))
    with pytest.raises(CertificateRejected, match="not among the trusted peer certificates"):
        service.verify(request, TransportInfo(), POLICY, _created(request))
