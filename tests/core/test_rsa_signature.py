"""Signature checking is chosen by algorithm and key type: an RSA signature by an X.509
BinarySecurityToken verifies through the same processors as an HMAC by an SCT.

    <wsse:Security>
      <wsu:Timestamp wsu:Id="_0">…</wsu:Timestamp>
      <wsse:BinarySecurityToken ValueType="…#X509v3" wsu:Id="x509">MII…</…>
      <ds:Signature> rsa-sha1 over #_0 and the Body, KeyInfo → #x509 </ds:Signature>
    </wsse:Security>

(MutualCertificate and other certificate bootstraps will sign this way.)
"""

from __future__ import annotations

import base64
import copy

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from wssc.errors import CertificateRejected, FailedCheck, InvalidSecurity, UnsupportedAlgorithm
from wssc.security import MessagePolicy, protect, verify
from wssc.security.processors import MAX_BINARY_SECURITY_TOKENS
from wssc.security.x509_validation import CertificateValidator
from wssc.security.xmlsig import signature_xml, signed_info_xml
from wssc.tokens.str_ import SecurityTokenReference
from wssc.xml import ns
from wssc.xml.soap import SOAP_12, Envelope

from .helpers import T0, plain_envelope
from .pki import issue

CERT = issue("signer", None).certificate
#: The signer's certificate is trusted as a peer (PeerTrust).
TRUSTED = CertificateValidator.peer_trust(CERT)
POLICY = MessagePolicy(
    derived_keys=False,
    encrypt_body=False,
    encrypt_signature=False,
    require_encrypted_body=None,
    enforce_derived_keys=False,
)


def rsa_signed(signature_method: str = ns.RSA_SHA1, tamper: bool = False, extra_tokens: int = 0) -> bytes:
    root = protect(plain_envelope(SOAP_12), None, POLICY, now=T0)  # Timestamp only
    env = Envelope(root)
    sec = env.security_headers()[0]
    ts = sec[0]
    bst = etree.SubElement(sec, f"{{{ns.WSSE}}}BinarySecurityToken")
    bst.set("ValueType", ns.WSS_X509V3)
    bst.set("EncodingType", ns.WSS_BASE64)
    bst.set(f"{{{ns.WSU}}}Id", "x509")
    bst.text = base64.b64encode(CERT.der).decode()
    for i in range(extra_tokens):
        extra = copy.deepcopy(bst)
        extra.set(f"{{{ns.WSU}}}Id", f"x509-{i}")
        sec.append(extra)
    env.body.set(f"{{{ns.WSU}}}Id", "body")
    si = signed_info_xml(
        [(ts.get(f"{{{ns.WSU}}}Id") or "", ts), ("body", env.body)], signature_method, ns.SHA1
    )
    assert CERT.key is not None
    value = CERT.key.sign(si, padding.PKCS1v15(), hashes.SHA1())
    if tamper:
        value = bytes([value[0] ^ 1]) + value[1:]
    ref = SecurityTokenReference.local("x509", ns.WSS_X509V3)
    sec.append(etree.fromstring(signature_xml(si, value, ref)))
    return etree.tostring(root)


def test_an_rsa_signature_by_a_binary_security_token_verifies() -> None:
    result = verify(rsa_signed(), policy=POLICY, now=T0, certificate_validator=TRUSTED)
    assert result.signing_kind == "x509" and result.body_signed
    assert result.signing_key is None  # a public key is no secret to derive from


def test_a_tampered_rsa_signature_fails() -> None:
    with pytest.raises(FailedCheck):
        verify(rsa_signed(tamper=True), policy=POLICY, now=T0, certificate_validator=TRUSTED)


def test_an_hmac_method_with_a_public_key_is_refused() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        verify(
            rsa_signed(signature_method=ns.HMAC_SHA1), policy=POLICY, now=T0, certificate_validator=TRUSTED
        )


def test_a_certificate_no_validator_trusts_is_refused_before_its_signature_counts() -> None:
    """The default validator trusts no certificate (a service names the CAs or peers it
    trusts): a correct RSA signature by an unknown certificate is refused, naming why."""
    with pytest.raises(CertificateRejected, match=r"ChainTrust: .*no trusted certification"):
        verify(rsa_signed(), policy=POLICY, now=T0)
    other = CertificateValidator.peer_trust(issue("someone else", None).certificate)
    with pytest.raises(CertificateRejected, match=r"PeerTrust: .*not among the trusted peer"):
        verify(rsa_signed(), policy=POLICY, now=T0, certificate_validator=other)


def test_binary_security_tokens_are_capped_before_more_validations() -> None:
    """Each BinarySecurityToken costs a chain validation before the signature is checked:
    beyond MAX_BINARY_SECURITY_TOKENS the header is refused, even with trusted certificates."""
    extra = MAX_BINARY_SECURITY_TOKENS - 1
    assert (
        verify(
            rsa_signed(extra_tokens=extra), policy=POLICY, now=T0, certificate_validator=TRUSTED
        ).signing_kind
        == "x509"
    )
    with pytest.raises(InvalidSecurity, match="more than 2 BinarySecurityTokens"):
        verify(rsa_signed(extra_tokens=extra + 1), policy=POLICY, now=T0, certificate_validator=TRUSTED)
