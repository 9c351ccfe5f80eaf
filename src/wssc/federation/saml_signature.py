"""The issuer's signature on an assertion, through signxml (the ``federation`` extra).

An STS signs with RSA-SHA256 and SHA-256 digests under exclusive c14n, enveloped, its
certificate in the ``ds:KeyInfo`` (as WCF and ADFS sign). A relying party verifies against the
issuer certificates it is configured with: the certificate in the signature must be one of
them (byte for byte), or, when the signature carries none, the only one configured. That is
one RSA public-key operation per assertion. RSA-SHA1 signatures and SHA-1 digests (Metro's STS
signs so, whatever algorithm it is asked for: its digest is fixed to SHA-1) are refused unless
the relying party opts in with ``allow_sha1``. The verified element is the one signxml says the
signature covered, and it must be the assertion itself (its ``ID``, SAML 1.1's
``AssertionID``), so that a signature over another element (XML signature wrapping) is refused.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from lxml import etree

from wssc.certs import Certificate
from wssc.errors import ConfigurationError, SamlAssertionRejected, missing_extra
from wssc.federation.assertion import id_attribute
from wssc.xml import ns


def _signxml() -> Any:
    try:
        import signxml
    except ModuleNotFoundError as exc:
        raise missing_extra(exc, "SAML assertions (IssuedToken)") from None
    return signxml


def sign_assertion(assertion: etree._Element, signer: Certificate) -> etree._Element:
    """``assertion`` signed by ``signer`` (which must hold its private key)."""
    if signer.key is None:
        raise ConfigurationError("the STS's signing certificate has no private key")
    sx = _signxml()
    xs = sx.XMLSigner(
        method=sx.SignatureConstructionMethod.enveloped,
        signature_algorithm=sx.SignatureMethod.RSA_SHA256,
        digest_algorithm=sx.DigestAlgorithm.SHA256,
        c14n_algorithm=sx.CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    id_attr = id_attribute(assertion)
    ref = "#" + (assertion.get(id_attr) or "")  # #ID, #AssertionID: the assertion, as WCF signs it
    signed: etree._Element = xs.sign(
        assertion, key=signer.key, cert=[signer.cert], reference_uri=ref, id_attribute=id_attr
    )
    return signed


def _embedded_certificate(assertion: etree._Element) -> bytes | None:
    sigs = assertion.findall(f"{{{ns.DS}}}Signature")
    if len(sigs) != 1:
        raise SamlAssertionRejected(f"the assertion has {len(sigs)} signatures, not one")
    certs = sigs[0].findall(f"{{{ns.DS}}}KeyInfo/{{{ns.DS}}}X509Data/{{{ns.DS}}}X509Certificate")
    if not certs:
        return None
    if len(certs) > 1:
        raise SamlAssertionRejected("the assertion's signature carries more than one certificate")
    try:
        return base64.b64decode("".join((certs[0].text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise SamlAssertionRejected("the assertion's signing certificate is not base64") from None


def select_issuer(assertion: etree._Element, issuers: Sequence[Certificate]) -> Certificate:
    """The configured issuer certificate that signed ``assertion`` (by the certificate the
    signature carries); refuses an assertion from any other issuer."""
    der = _embedded_certificate(assertion)
    if der is None:
        if len(issuers) == 1:
            return issuers[0]
        raise SamlAssertionRejected("the assertion's signature names no certificate")
    for c in issuers:
        if c.der == der:
            return c
    raise SamlAssertionRejected("the assertion is signed by an untrusted issuer")


def verify_assertion(
    assertion: etree._Element, issuers: Sequence[Certificate], *, allow_sha1: bool = False
) -> etree._Element:
    """The element the trusted issuer's signature covers, which is ``assertion`` (its copy as
    signxml verified it); raises `SamlAssertionRejected` naming the failed check.
    ``allow_sha1`` also accepts RSA-SHA1 and SHA-1 digests (an issuer that signs only so)."""
    id_attr = id_attribute(assertion)
    issuer = select_issuer(assertion, issuers)
    sx = _signxml()
    methods = {sx.SignatureMethod.RSA_SHA256, sx.SignatureMethod.RSA_SHA384, sx.SignatureMethod.RSA_SHA512}
    digests = {sx.DigestAlgorithm.SHA256, sx.DigestAlgorithm.SHA384, sx.DigestAlgorithm.SHA512}
    if allow_sha1:
        methods.add(sx.SignatureMethod.RSA_SHA1)
        digests.add(sx.DigestAlgorithm.SHA1)
    config = sx.SignatureConfiguration(
        location="./",
        expect_references=1,
        signature_methods=frozenset(methods),
        digest_algorithms=frozenset(digests),
    )
    try:
        result = sx.XMLVerifier().verify(
            assertion, x509_cert=issuer.cert, id_attribute=id_attr, expect_config=config
        )
    except sx.exceptions.InvalidCertificate as exc:
        raise SamlAssertionRejected(f"the issuer certificate is not valid: {str(exc)[:200]}") from None
    except (sx.exceptions.InvalidSignature, sx.exceptions.InvalidDigest) as exc:
        raise SamlAssertionRejected(f"the issuer's signature does not verify: {str(exc)[:200]}") from None
    except (sx.exceptions.InvalidInput, ValueError, etree.LxmlError) as exc:
        raise SamlAssertionRejected(f"the issuer's signature is malformed: {str(exc)[:200]}") from None
    signed: etree._Element = result.signed_xml
    ident = signed.get(id_attr)
    if signed.tag != assertion.tag or ident != assertion.get(id_attr) or not ident:
        raise SamlAssertionRejected("the issuer's signature does not cover the assertion")
    return signed


__all__ = ["select_issuer", "sign_assertion", "verify_assertion"]
