"""Protection tokens: the key a message is secured with, and how the message points at it.

* `SctProtection` — the steady state: an SCT (in the header, or referenced by its
  Identifier) and its secret.
* `EncryptedKeyProtection` — a bootstrap: an ephemeral key wrapped to the service's
  X.509 certificate in an ``xenc:EncryptedKey`` placed in the header.
* `EncryptedKeySha1Protection` — the reply to such a bootstrap: the same key, pointed at
  with a ``KeyIdentifier ValueType="…#EncryptedKeySHA1"``; nothing goes in the header.
* `KerberosProtection` — a bootstrap: a Kerberos AP-REQ in a ``wsse:BinarySecurityToken`` and
  the session key (subkey) it carries; `KerberosSha1Protection` — the reply to it: the same
  key, pointed at with ``KeyIdentifier ValueType="…#Kerberosv5APREQSHA1"``.
* `X509Protection` — an X.509 certificate (a ``wsse:BinarySecurityToken``) and its RSA
  private key: signs with RSA (the suite's asymmetric signature), never derives or encrypts.

`signing_key` tells which key a token signs with; outbound picks HMAC or RSA by its type, as
inbound picks its check by the key type of the token it resolves.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from wssc.security.x509_refs import external_reference
from wssc.tokens.sct import SecurityContextToken
from wssc.tokens.str_ import SecurityTokenReference
from wssc.xml import ns
from wssc.xml.ns import ScVersion


class ProtectionToken(Protocol):
    @property
    def key(self) -> bytes: ...

    def header_element(self, sc: ScVersion) -> etree._Element | None: ...

    def reference(self, sc: ScVersion) -> SecurityTokenReference: ...


@dataclass(frozen=True, slots=True)
class SctProtection:
    sct: SecurityContextToken
    key: bytes = field(repr=False)
    include: bool = True

    def header_element(self, sc: ScVersion) -> etree._Element | None:
        return self.sct.to_xml(sc) if self.include else None

    def reference(self, sc: ScVersion) -> SecurityTokenReference:
        if self.include:
            if self.sct.instance is None:
                return SecurityTokenReference.local(self.sct.wsu_id, sc.sct_token_type)
            # A renewed SCT: Metro picks the key generation from the reference's Instance
            # attribute (without it, it verifies with the first key and fails: WSS1710).
            return SecurityTokenReference(
                uri="#" + self.sct.wsu_id,
                value_type=sc.sct_token_type,
                instance=self.sct.instance,
                instance_ns=sc.ns,
            )
        return SecurityTokenReference.external(
            self.sct.identifier, sc.sct_token_type, self.sct.instance, sc.ns
        )


def encrypted_key_sha1(cipher_value: bytes) -> str:
    """The ``EncryptedKeySHA1`` identifier: base64(SHA-1(raw CipherValue bytes))."""
    return base64.b64encode(hashlib.sha1(cipher_value).digest()).decode("ascii")


@dataclass(frozen=True, slots=True)
class EncryptedKeyProtection:
    element: etree._Element  # the xenc:EncryptedKey, with an Id
    key: bytes = field(repr=False)

    @property
    def wsu_id(self) -> str:
        return self.element.get("Id") or ""

    def header_element(self, sc: ScVersion) -> etree._Element | None:
        return self.element

    def reference(self, sc: ScVersion) -> SecurityTokenReference:
        # BSP R5215: a reference to an EncryptedKey names its token type on the STR.
        return SecurityTokenReference(
            uri="#" + self.wsu_id, value_type=ns.WSS_ENCRYPTED_KEY, token_type=ns.WSS_ENCRYPTED_KEY
        )


@dataclass(frozen=True, slots=True)
class EncryptedKeySha1Protection:
    sha1: str
    key: bytes = field(repr=False)

    def header_element(self, sc: ScVersion) -> etree._Element | None:
        return None

    def reference(self, sc: ScVersion) -> SecurityTokenReference:
        return SecurityTokenReference(
            key_identifier=self.sha1,
            value_type=ns.WSS_ENCRYPTED_KEY_SHA1,
            encoding_type=ns.WSS_BASE64,
            token_type=ns.WSS_ENCRYPTED_KEY,  # BSP R5215, as WCF writes it
        )


@dataclass(frozen=True, slots=True)
class IssuedTokenProtection:
    """An issued SAML assertion's proof key: the assertion in the header (``include``),
    named by a KeyIdentifier of its ID, as WCF references it (SAML 2.0: ``…#SAMLID``, STR
    TokenType ``…#SAMLV2.0``; SAML 1.1: ``…#SAMLAssertionID``, ``…#SAMLV1.1``); a reply names it
    without including it."""

    assertion: etree._Element = field(repr=False)
    key: bytes = field(repr=False)
    include: bool = True

    def header_element(self, sc: ScVersion) -> etree._Element | None:
        return copy.deepcopy(self.assertion) if self.include else None

    def reference(self, sc: ScVersion) -> SecurityTokenReference:
        if self.assertion.tag == f"{{{ns.SAML11}}}Assertion":
            return SecurityTokenReference(
                key_identifier=self.assertion.get("AssertionID") or "",
                value_type=ns.WSS_SAML11_ID,
                token_type=ns.WSS_SAML11_TOKEN_TYPE,
            )
        return SecurityTokenReference(
            key_identifier=self.assertion.get("ID") or "",
            value_type=ns.WSS_SAML2_ID,
            token_type=ns.WSS_SAML2_TOKEN_TYPE,
        )


def kerberos_sha1(ap_req: bytes) -> str:
    """The ``Kerberosv5APREQSHA1`` identifier: base64(SHA-1(the AP-REQ token's octets))."""
    return base64.b64encode(hashlib.sha1(ap_req).digest()).decode("ascii")


@dataclass(frozen=True, slots=True)
class KerberosProtection:
    """A Kerberos AP-REQ sent as a BinarySecurityToken, and its session key::

    <wsse:BinarySecurityToken wsu:Id="uuid-…-krb" ValueType="…#GSS_Kerberosv5_AP_REQ"
        EncodingType="…#Base64Binary">YIIC…</wsse:BinarySecurityToken>
    """

    ap_req: bytes = field(repr=False)
    key: bytes = field(repr=False)
    wsu_id: str = field(default_factory=lambda: f"uuid-{uuid.uuid4()}-krb")

    @property
    def sha1(self) -> str:
        return kerberos_sha1(self.ap_req)

    def header_element(self, sc: ScVersion) -> etree._Element | None:
        el = etree.Element(f"{{{ns.WSSE}}}BinarySecurityToken", nsmap={"o": ns.WSSE, "u": ns.WSU})
        el.set(f"{{{ns.WSU}}}Id", self.wsu_id)
        el.set("ValueType", ns.WSS_KERBEROS_AP_REQ)
        el.set("EncodingType", ns.WSS_BASE64)
        el.text = base64.b64encode(self.ap_req).decode("ascii")
        return el

    def reference(self, sc: ScVersion) -> SecurityTokenReference:
        return SecurityTokenReference.local(self.wsu_id, ns.WSS_KERBEROS_AP_REQ)


@dataclass(frozen=True, slots=True)
class KerberosSha1Protection:
    sha1: str
    key: bytes = field(repr=False)

    def header_element(self, sc: ScVersion) -> etree._Element | None:
        return None

    def reference(self, sc: ScVersion) -> SecurityTokenReference:
        return SecurityTokenReference(
            key_identifier=self.sha1,
            value_type=ns.WSS_KERBEROS_AP_REQ_SHA1,
            encoding_type=ns.WSS_BASE64,
        )


@dataclass(frozen=True, slots=True)
class X509Protection:
    """An X.509 certificate sent as a BinarySecurityToken, and the private key that signs::

    <wsse:BinarySecurityToken wsu:Id="uuid-…-x509" ValueType="…#X509v3"
        EncodingType="…#Base64Binary">MIIC…</wsse:BinarySecurityToken>
    """

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey = field(repr=False)
    wsu_id: str = field(default_factory=lambda: f"uuid-{uuid.uuid4()}-x509")
    #: False: the certificate is not sent (``IncludeToken=Never``, an AsymmetricBinding's
    #: recipient token) and the signature points at it by an external reference
    #: (`wssc.security.x509_refs.external_reference`).
    include: bool = True

    @property
    def key(self) -> bytes:
        """No symmetric key: an X.509 token signs with `private_key` only."""
        return b""

    def header_element(self, sc: ScVersion) -> etree._Element | None:
        if not self.include:
            return None
        el = etree.Element(f"{{{ns.WSSE}}}BinarySecurityToken", nsmap={"o": ns.WSSE, "u": ns.WSU})
        el.set(f"{{{ns.WSU}}}Id", self.wsu_id)
        el.set("ValueType", ns.WSS_X509V3)
        el.set("EncodingType", ns.WSS_BASE64)
        el.text = base64.b64encode(self.certificate.public_bytes(Encoding.DER)).decode("ascii")
        return el

    def reference(self, sc: ScVersion) -> SecurityTokenReference:
        if not self.include:
            return external_reference(self.certificate)
        return SecurityTokenReference.local(self.wsu_id, ns.WSS_X509V3)


#: What a signature is made with: a symmetric key (HMAC) or an RSA private key (RSA).
SigningKey = bytes | rsa.RSAPrivateKey


def signing_key(token: ProtectionToken) -> SigningKey:
    """The key a signature by ``token`` is made with: its RSA private key if it has one,
    else its symmetric key."""
    private = getattr(token, "private_key", None)
    return private if isinstance(private, rsa.RSAPrivateKey) else token.key
