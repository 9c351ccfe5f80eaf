"""References to an X.509 certificate that is *not* in the message (WS-Security 1.0's X.509
Token Profile §3.2), and finding the certificate one names among those known out of band.

WCF's AsymmetricBinding (MutualCertificate under WS-Security 1.0) never includes the service's
certificate (``IncludeToken=Never``) and points at it as ``X509KeyIdentifierClauseType.Any``
does for an external reference: by Subject Key Identifier when the certificate has that
extension, else by issuer and serial number::

    <wsse:SecurityTokenReference>
      <wsse:KeyIdentifier ValueType="…x509-token-profile-1.0#X509SubjectKeyIdentifier"
          EncodingType="…#Base64Binary">(the extension's key identifier)</wsse:KeyIdentifier>
    </wsse:SecurityTokenReference>

    <wsse:SecurityTokenReference>
      <ds:X509Data><ds:X509IssuerSerial>
        <ds:X509IssuerName>CN=…</ds:X509IssuerName>
        <ds:X509SerialNumber>1234…</ds:X509SerialNumber>
      </ds:X509IssuerSerial></ds:X509Data>
    </wsse:SecurityTokenReference>

A receiver resolves such a reference only to a certificate it was given (`matches`): the
client's pinned service certificate, the service's own. A thumbprint (WS-Security 1.1) is
recognised too. Nothing here trusts a certificate: the caller chose the candidates.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from wssc.tokens.str_ import SecurityTokenReference
from wssc.xml import ns

_X509_DATA = f"{{{ns.DS}}}X509Data"
_ISSUER_SERIAL = f"{{{ns.DS}}}X509IssuerSerial"
_ISSUER_NAME = f"{{{ns.DS}}}X509IssuerName"
_SERIAL = f"{{{ns.DS}}}X509SerialNumber"
#: A serial number is at most 20 octets (RFC 5280 §4.1.2.2): 49 decimal digits; some room.
_MAX_SERIAL_DIGITS = 64
_MAX_NAME = 1024


def subject_key_identifier(cert: x509.Certificate) -> bytes | None:
    """The certificate's Subject Key Identifier extension, if it has one."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    except x509.ExtensionNotFound:
        return None
    return ext.value.digest


def issuer_serial_reference(cert: x509.Certificate) -> SecurityTokenReference:
    """An STR naming ``cert`` by issuer and serial number (``ds:X509IssuerSerial``)."""
    data = etree.Element(_X509_DATA, nsmap={"ds": ns.DS})
    pair = etree.SubElement(data, _ISSUER_SERIAL)
    etree.SubElement(pair, _ISSUER_NAME).text = cert.issuer.rfc4514_string()
    etree.SubElement(pair, _SERIAL).text = str(cert.serial_number)
    return SecurityTokenReference.wrapping(data)


def external_reference(cert: x509.Certificate) -> SecurityTokenReference:
    """How WCF points at a certificate that is not in the message (``X509KeyIdentifierClause
    Type.Any``, external): its Subject Key Identifier if it has one, else issuer and serial."""
    ski = subject_key_identifier(cert)
    if ski is None:
        return issuer_serial_reference(cert)
    return SecurityTokenReference(
        key_identifier=base64.b64encode(ski).decode("ascii"),
        value_type=ns.WSS_X509_SKI,
        encoding_type=ns.WSS_BASE64,
    )


def _name_parts(name: str) -> list[str]:
    """A distinguished name as a sorted list of ``type=value`` parts, compared without case
    or spaces around separators (WCF writes ``CN=a, O=b``; RFC 4514 ``CN=a,O=b``)."""
    parts, cur, escaped = [], [], False
    for ch in name:
        if escaped:
            cur.append(ch)
            escaped = False
        elif ch == "\\":
            cur.append(ch)
            escaped = True
        elif ch in ",;+":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    out = []
    for p in parts:
        k, _, v = p.partition("=")
        out.append(k.strip().lower() + "=" + v.strip().lower())
    return sorted(out)


def _matches_issuer_serial(clause: etree._Element, cert: x509.Certificate) -> bool:
    pairs = [c for c in clause if isinstance(c.tag, str)]
    if clause.tag != _X509_DATA or len(pairs) != 1 or pairs[0].tag != _ISSUER_SERIAL:
        return False
    name = pairs[0].find(_ISSUER_NAME)
    serial = pairs[0].find(_SERIAL)
    if name is None or serial is None:
        return False
    text = (serial.text or "").strip()
    issuer = name.text or ""
    if not text.isdigit() or len(text) > _MAX_SERIAL_DIGITS or len(issuer) > _MAX_NAME:
        return False
    return int(text) == cert.serial_number and _name_parts(issuer) == _name_parts(
        cert.issuer.rfc4514_string()
    )


def matches(ref: SecurityTokenReference, cert: x509.Certificate) -> bool:
    """Does ``ref`` (an external reference) name ``cert``? By Subject Key Identifier,
    SHA-1 thumbprint, or issuer and serial number; anything else names no certificate."""
    if ref.custom is not None:
        return _matches_issuer_serial(ref.custom, cert)
    if ref.key_identifier is None:
        return False
    try:
        value = base64.b64decode(ref.key_identifier, validate=True)
    except ValueError:
        return False
    if ref.value_type == ns.WSS_X509_SKI:
        return value == subject_key_identifier(cert)
    if ref.value_type == ns.WSS_THUMBPRINT:
        return value == hashlib.sha1(cert.public_bytes(Encoding.DER)).digest()
    return False


__all__ = ["external_reference", "issuer_serial_reference", "matches", "subject_key_identifier"]
