"""Messages written by Mono's System.ServiceModel (WCF), captured on the wire by the Mono peer
harness (``../shared/peers/mono/captures``), verified and decrypted by wssc.

Mono cannot hold a secure session (see its FINDINGS.md), but its WS-Security 1.1 symmetric
bootstrap layer works: AnonymousForCertificate, UserNameForCertificate and WSHttpBinding message
security without a security context. These are exactly wssc's AnonymousForCertificate bootstrap
messages: an EncryptedKey wrapped to the service certificate, DerivedKeyTokens, HMAC signature,
encrypted Body and Signature; replies keyed by EncryptedKeySHA1 with SignatureConfirmation.
The captures are stored (Mono is not installed in CI); their timestamps have expired.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from core.helpers import p_sha1_reference
from peers import mono_dir, mono_missing
from wssc.bootstrap import AnonymousForCertificateClient
from wssc.bootstrap.base import ClientContext
from wssc.certs import load
from wssc.errors import InvalidSecurity
from wssc.security import MessagePolicy, verify

MONO = mono_dir()
VARIANTS = ["anoncert", "wshttp-msg-none-nosc", "userforcert"]
POLICY = MessagePolicy(check_expiry=False, require_encrypted_body=True, require_signed_addressing=True)


def _captures() -> Path:
    if not (MONO / "captures").is_dir():
        mono_missing(f"Mono captures not found at {MONO} (set WSSC_MONO_PEER)")
    return MONO / "captures"


def _body(path: Path) -> bytes:
    return path.read_bytes().split(b"\r\n\r\n", 1)[1].lstrip(b"\xef\xbb\xbf")


def _pairs() -> list[tuple[str, str]]:
    return [(v, f"{i:03d}") for v in VARIANTS for i in (1, 2, 3)]


@pytest.mark.parametrize(("variant", "n"), _pairs())
def test_mono_request_and_reply_verify(variant: str, n: str) -> None:
    wire = _captures() / variant / "wire-call"
    cert = load(MONO / "certs" / "server.crt", MONO / "certs" / "server.key")
    request = verify(
        _body(wire / f"{n}-wire-request.http"),
        policy=POLICY,
        private_key=cert.key,
        private_key_thumbprint=cert.thumbprint_b64,
    )
    assert request.signing_kind == "ek" and request.derived_keys_used
    assert request.body_signed and request.body_encrypted
    payload = request.envelope.payload
    assert payload is not None and etree.QName(payload).namespace == "urn:pywcf-interop:echo"
    assert request.envelope.action == f"urn:pywcf-interop:echo/IEcho/{etree.QName(payload).localname}"
    if variant == "userforcert":
        assert request.username_token is not None
        assert any(e is request.username_token for e in request.signed)
    # The reply is keyed by the request's EncryptedKey (EncryptedKeySHA1).
    assert request.encrypted_key_sha1 and request.signing_key
    reply = verify(
        _body(wire / f"{n}-wire-response.http"),
        policy=POLICY,
        encrypted_key_sha1_keys={request.encrypted_key_sha1: request.signing_key},
    )
    assert reply.encrypted_key_sha1 == request.encrypted_key_sha1
    result = reply.envelope.payload
    assert result is not None and etree.QName(result).localname.endswith("Response")
    if variant != "userforcert":  # WCF's AnonymousForCertificate confirms the signature
        assert reply.signature_confirmations == [request.signature_value]
        # ... and wssc's client half checks that confirmation against the request it sent.
        assert request.signature_value is not None
        reply_bytes = _body(wire / f"{n}-wire-response.http")
        client = AnonymousForCertificateClient(cert, require_signature_confirmation=True)
        keys = {request.encrypted_key_sha1: request.signing_key}
        client.verify_reply(reply_bytes, ClientContext(dict(keys), [request.signature_value]), POLICY)
        with pytest.raises(InvalidSecurity, match="SignatureConfirmation"):
            client.verify_reply(reply_bytes, ClientContext(dict(keys), [bytes(20)]), POLICY)


def test_mono_reply_under_a_wrong_key_fails() -> None:
    from wssc.errors import FailedCheck

    wire = _captures() / "anoncert" / "wire-call"
    cert = load(MONO / "certs" / "server.crt", MONO / "certs" / "server.key")
    request = verify(_body(wire / "001-wire-request.http"), policy=POLICY, private_key=cert.key)
    assert request.encrypted_key_sha1
    with pytest.raises(FailedCheck):
        verify(
            _body(wire / "001-wire-response.http"),
            policy=POLICY,
            encrypted_key_sha1_keys={request.encrypted_key_sha1: b"\x5a" * 32},
        )


RST_VARIANTS = [
    "sc-anoncert-cancel",
    "sc-anoncert-cancel-sc13",
    "sc-anoncert-nocancel",
    "sc-anoncert-nocancel-sc13",
    "wshttp-msg-none-sc",
]


@pytest.mark.parametrize("variant", RST_VARIANTS)
def test_wssc_service_issues_an_sct_for_monos_rst(variant: str) -> None:
    """Mono's RST/SCT Issue (secured by its AnonymousForCertificate bootstrap) gets an RSTR from
    wssc's service engine; Mono's side of the key (its entropy, its ephemeral key) then yields
    the same session key the service stored.

    What is and is not independent here: Mono *wrote* the request (its entropy, its EncryptedKey)
    but Mono never computed the session key (it cannot hold a secure session, see FINDINGS.md).
    Mono's side is therefore computed twice on this side: with wssc's client code
    (``client_key_from_rstr``), and with the independent P_SHA1 written from RFC 2246 in
    ``tests/core/helpers.py`` over the raw entropies (WS-Trust: P_SHA1(requestor entropy,
    issuer entropy)). Both must equal the key the service stored."""
    from wssc.bootstrap import TransportInfo
    from wssc.demo import Calculator
    from wssc.service.engine import HttpRequest, HttpResponse, ServiceEngine
    from wssc.settings import (
        WS2007,
        WSHTTP,
        EndpointSettings,
        KeyEntropyMode,
        SecureConversationSettings,
    )
    from wssc.store.cookie import KeyRing
    from wssc.tokens.timestamp import parse_time
    from wssc.trust import IssueRequest, TokenResponse, client_key_from_rstr, parse_rst, parse_rstr

    body = _body(_captures() / variant / "wire-rst" / "001-wire-request.http")
    cert = load(MONO / "certs" / "server.crt", MONO / "certs" / "server.key")
    created_el = etree.fromstring(body).find(".//{*}Timestamp/{*}Created")
    assert created_el is not None and created_el.text
    created = parse_time(created_el.text)
    version = WS2007 if variant.endswith("sc13") else WSHTTP
    cookie = "nocancel" in variant
    settings = EndpointSettings(
        SecureConversationSettings(message_security_version=version, require_cancellation=not cookie)
    )
    # The endpoint Mono addressed (its signed wsa:To must name the endpoint).
    to_el = etree.fromstring(body).find("{*}Header/{*}To")
    assert to_el is not None and to_el.text
    engine = ServiceEngine(
        Calculator(),
        settings=settings,
        address=to_el.text,
        certificate=cert,
        clock=lambda: created + 1,
        keyring=KeyRing.generate() if cookie else None,
    )
    reply = engine.handle(
        HttpRequest("POST", "/svc", "", {"content-type": "application/soap+xml"}, body, TransportInfo())
    )
    assert isinstance(reply, HttpResponse) and reply.status == 200, reply
    # Mono's side: its request (entropy, ephemeral key) and our reply.
    request = verify(body, policy=MessagePolicy(check_expiry=False), private_key=cert.key)
    assert request.envelope.action == version.trust.rst_sct
    rst = parse_rst(request.envelope.payload, version.trust)  # type: ignore[arg-type]
    assert isinstance(rst, IssueRequest) and rst.entropy
    assert request.encrypted_key_sha1 and request.signing_key
    answer = verify(
        reply.body,
        policy=MessagePolicy(check_expiry=False),
        encrypted_key_sha1_keys={request.encrypted_key_sha1: request.signing_key},
        now=created + 2,
    )
    assert answer.envelope.action == version.trust.rstr_sct
    rstr = parse_rstr(answer.envelope.payload, version.trust)  # type: ignore[arg-type]
    assert isinstance(rstr, TokenResponse)
    key = client_key_from_rstr(rstr, rst.entropy, KeyEntropyMode.COMBINED, 256)
    assert rstr.entropy is not None
    bits = rstr.key_size or 256
    assert key == p_sha1_reference(rst.entropy, rstr.entropy, bits // 8)
    if cookie:
        assert rstr.token.cookie is not None and len(engine.sessions.store) == 0
        record = engine.sessions.lookup(rstr.token, created + 2)
    else:
        found = engine.sessions.store.get(rstr.token.identifier)
        assert found is not None
        record = found
    assert record.key == key
