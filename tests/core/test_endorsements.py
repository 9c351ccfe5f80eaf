"""Several endorsing signatures (issue 16: MutualCertificate's Renew carries two): the
MessagePolicy names the token types, one signature each (`MessagePolicy.endorsing_signatures`);
each must come from a token of a named type, none from the primary's token nor from another
endorsement's, and each must cover the primary signature. Both layouts (all signatures
encrypted, and all in the clear)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from wssc.certs import generate_self_signed
from wssc.errors import InvalidSecurity, SecurityTokenUnavailable
from wssc.security import MessagePolicy, SctProtection, protect, verify
from wssc.security.tokens import ProtectionToken, X509Protection
from wssc.security.x509_validation import CertificateValidator
from wssc.tokens import SecurityContextToken
from wssc.tokens.str_ import SecurityTokenReference
from wssc.xml import ns
from wssc.xml.soap import SOAP_12

from .helpers import T0, plain_envelope

A = SecurityContextToken("urn:uuid:aaaaaaaa-0000-4000-8000-000000000001")
B = SecurityContextToken("urn:uuid:bbbbbbbb-0000-4000-8000-000000000002")
KEYS = {A.identifier: bytes(range(1, 33)), B.identifier: bytes(range(101, 133))}
CLIENT = generate_self_signed("endorser.test")
OTHER = generate_self_signed("other.test")
TRUST = CertificateValidator.peer_trust(CLIENT.cert, OTHER.cert)
X509 = X509Protection(CLIENT.cert, CLIENT.key)  # type: ignore[arg-type]
X509_OTHER = X509Protection(OTHER.cert, OTHER.key)  # type: ignore[arg-type]
SCT = ns.SC_FEB2005.sct_token_type
LAYOUTS = pytest.mark.parametrize("encrypt", [True, False], ids=["encrypted", "clear"])


def resolve(tok: SecurityContextToken, sc: ns.ScVersion) -> bytes | None:
    return KEYS.get(tok.identifier)


def sent(encrypt: bool) -> MessagePolicy:
    return MessagePolicy(sc=ns.SC_FEB2005, encrypt_signature=encrypt)


def received(encrypt: bool, *types: str) -> MessagePolicy:
    return replace(sent(encrypt), endorsing_signatures=types, require_encrypted_signature=encrypt)


def message(encrypt: bool, *endorsers: ProtectionToken) -> bytes:
    values: list[bytes] = []
    root = protect(
        plain_envelope(SOAP_12),
        SctProtection(A, KEYS[A.identifier]),
        sent(encrypt),
        now=T0,
        endorsing=list(endorsers),
        endorsing_values=values,
    )
    assert len(values) == len(endorsers)
    return etree.tostring(root)


def check(data: bytes, policy: MessagePolicy) -> object:
    return verify(data, resolver=resolve, policy=policy, now=T0, certificate_validator=TRUST)


@LAYOUTS
def test_two_endorsements_of_the_named_types_in_either_order(encrypt: bool) -> None:
    b = SctProtection(B, KEYS[B.identifier])
    for order in ((X509, b), (b, X509)):
        r = check(message(encrypt, *order), received(encrypt, ns.WSS_X509V3, SCT))
        assert r.endorsing_certificate == CLIENT.cert  # type: ignore[attr-defined]
        assert r.endorsing_sct is not None and r.endorsing_sct.identifier == B.identifier  # type: ignore[attr-defined]
        assert len(r.endorsing_signature_values) == 2  # type: ignore[attr-defined]


@LAYOUTS
def test_one_endorsement_short_is_refused(encrypt: bool) -> None:
    with pytest.raises(InvalidSecurity, match="fewer endorsing signatures than the policy's 2"):
        check(message(encrypt, X509), received(encrypt, ns.WSS_X509V3, SCT))


@LAYOUTS
def test_the_same_type_twice_does_not_stand_for_another(encrypt: bool) -> None:
    """Two certificate endorsements where the policy names a certificate and an SCT; the
    same two where it names two certificates are accepted."""
    with pytest.raises(InvalidSecurity, match="not made with the key of a token the policy names"):
        check(message(encrypt, X509, X509_OTHER), received(encrypt, ns.WSS_X509V3, SCT))
    r = check(message(encrypt, X509, X509_OTHER), received(encrypt, ns.WSS_X509V3, ns.WSS_X509V3))
    assert len(r.endorsing_signature_values) == 2  # type: ignore[attr-defined]


def test_more_signatures_than_the_policy_names_are_refused() -> None:
    b = SctProtection(B, KEYS[B.identifier])
    with pytest.raises(InvalidSecurity, match="only one message signature is supported"):
        check(message(False, X509, b), received(False, ns.WSS_X509V3))


class _ThumbprintReferenced(X509Protection):
    """The client's certificate included as a BinarySecurityToken but referenced from the
    endorsing signature by a ThumbprintSHA1 KeyIdentifier, as CXF does under
    ``sp:RequireThumbprintReference`` (interop/cxf/FINDINGS.md C14)."""

    def reference(self, sc: ns.ScVersion) -> SecurityTokenReference:
        der = self.certificate.public_bytes(Encoding.DER)
        return SecurityTokenReference(
            key_identifier=base64.b64encode(hashlib.sha1(der).digest()).decode("ascii"),
            value_type=ns.WSS_THUMBPRINT,
            encoding_type=ns.WSS_BASE64,
        )


@LAYOUTS
def test_a_thumbprint_reference_resolves_to_the_included_certificate(encrypt: bool) -> None:
    token = _ThumbprintReferenced(CLIENT.cert, CLIENT.key)  # type: ignore[arg-type]
    r = check(message(encrypt, token), received(encrypt, ns.WSS_X509V3))
    assert r.endorsing_certificate == CLIENT.cert  # type: ignore[attr-defined]


@LAYOUTS
def test_a_thumbprint_reference_to_a_certificate_not_included_is_refused(encrypt: bool) -> None:
    """Only a certificate in the header (and validated) may be named by its thumbprint: one
    the header lacks, even a trusted one, resolves to nothing."""

    class Elsewhere(_ThumbprintReferenced):
        def reference(self, sc: ns.ScVersion) -> SecurityTokenReference:
            other = _ThumbprintReferenced(OTHER.cert, OTHER.key)  # type: ignore[arg-type]
            return other.reference(sc)

    token = Elsewhere(CLIENT.cert, CLIENT.key)  # type: ignore[arg-type]
    with pytest.raises(SecurityTokenUnavailable, match="no BinarySecurityToken has this ThumbprintSHA1"):
        check(message(encrypt, token), received(encrypt, ns.WSS_X509V3))
