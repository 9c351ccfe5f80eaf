"""Security-header processors: one small class per element, found by QName.

Pass 1 of inbound processing (`wssc.security.inbound`) walks the ``wsse:Security``
children once, in document order, and hands each to the processor registered for its QName
in `PROCESSORS`. Processors **never decrypt data**: they resolve tokens (an SCT's secret,
an EncryptedKey's unwrapped key, a DerivedKeyToken's derived key), and they *record* the
ReferenceLists, the Signature and header EncryptedData for the later passes, which run in a
fixed order: authenticate the signature, then decrypt with keys of the signing token, then
check digests, then enforce the policy.

==================================  ===========================  ==========================
element                             processor                    effect
==================================  ===========================  ==========================
``wsu:Timestamp``                   `TimestampProcessor`  checked (skew, window)
``wsc:SecurityContextToken``        `SctProcessor`        secret from the resolver
``xenc:EncryptedKey``               `EncryptedKeyProcessor`  RSA unwrap (no oracle)
``wsc:DerivedKeyToken``             `DktProcessor`        P_SHA1 from its base token
``xenc:ReferenceList``              `ReferenceListProcessor`  recorded, with position
``xenc:EncryptedData``              `EncryptedDataProcessor`  recorded (maybe Signature)
``ds:Signature``                    `SignatureProcessor`  recorded, with position
``wsse:BinarySecurityToken``        `BinarySecurityTokenProcessor`  validated X.509 key
``wsse:UsernameToken``              `UsernameTokenProcessor`  kept for the bootstrap
``wsse11:SignatureConfirmation``    `SignatureConfirmationProcessor`  value kept
``saml:Assertion``                  `SamlAssertionProcessor`  validated proof key
==================================  ===========================  ==========================

An unknown element is refused. Adding a token type means one class and one `register` call.
A processor whose class says ``after_decryption = True`` (SignatureConfirmation,
UsernameToken) may also arrive encrypted in the header (WCF encrypts them along with the
Signature): it then runs on the decrypted element, after authentication and only under the
signer's key (`wssc.security.decrypt`); any other encrypted header element is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from wssc.crypto.primitives import rsa_key_unwrap
from wssc.crypto.psha1 import p_sha1
from wssc.errors import (
    FailedCheck,
    InvalidSecurity,
    SecurityTokenUnavailable,
    UnsupportedAlgorithm,
)
from wssc.security.header_state import HeaderState, Recorded, Token
from wssc.security.tokens import encrypted_key_sha1, kerberos_sha1
from wssc.security.x509_validation import KeyPurpose
from wssc.tokens.dkt import read_derivation
from wssc.tokens.sct import SecurityContextToken
from wssc.tokens.str_ import STR_TAG, SecurityTokenReference
from wssc.tokens.timestamp import Timestamp
from wssc.xml import ns

#: Shortest HMAC key accepted for a signature, whatever the suite (a forgery bound).
MIN_HMAC_KEY = 16

#: BinarySecurityTokens in one header: each costs a chain validation before the signature is
#: checked (WCF's layouts carry one, two with a supporting certificate).
MAX_BINARY_SECURITY_TOKENS = 2


class HeaderProcessor(Protocol):
    """Reads one header element into the `HeaderState`. Never decrypts."""

    @property
    def after_decryption(self) -> bool:
        """May the element arrive encrypted (processed once decrypted, after authentication)?"""
        ...

    def __call__(self, el: etree._Element, state: HeaderState, position: int) -> None: ...


class Processor:
    """Base of the processors here: plaintext header elements only."""

    after_decryption = False


class TimestampProcessor(Processor):
    """``wsu:Timestamp``: Created within skew of now and within the replay window (whether
    or not Expires is present), Expires not past."""

    def __call__(self, el: etree._Element, state: HeaderState, position: int) -> None:
        if state.timestamp is not None:
            raise InvalidSecurity("the security header has more than one Timestamp")
        ts = Timestamp.from_xml(el)
        p = state.policy
        if p.check_expiry:
            ts.check(state.now, p.max_clock_skew, p.replay_window)
        state.timestamp = ts
        state.timestamp_element = el


class SctProcessor(Processor):
    """``wsc:SecurityContextToken``: its secret comes from the resolver."""

    def __call__(self, el: etree._Element, state: HeaderState, position: int) -> None:
        sct, sc = SecurityContextToken.from_xml(el)
        tok = Token("sct", state.resolve_sct(sct, sc), sct=sct, sc=sc)
        if sct.wsu_id:
            state.tokens[sct.wsu_id] = tok
        state.scts.append(tok)
        state.header_scts.append(tok)
        if state.sc is None:
            state.sc = sc


class DktProcessor(Processor):
    """``wsc:DerivedKeyToken``: WCF's read limits, then P_SHA1 from its base token. Without
    an STR the base is the only key in scope, else ``UnknownDerivationSource``."""

    def __call__(self, el: etree._Element, state: HeaderState, position: int) -> None:
        state.dk_count += 1
        p = state.policy
        if state.dk_count > p.max_derived_keys:
            raise InvalidSecurity(f"the message has more than {p.max_derived_keys} DerivedKeyTokens")
        ref, sc, wsu_id, seed, length, start = read_derivation(el, p.suite.max_derived_key_length)
        if state.sc is None:
            state.sc = sc
        if ref is None:
            base = state.context_base(sc)
        else:
            assert isinstance(ref, SecurityTokenReference)
            base = state.token_from_str(ref, sc).base
        if base.kind == "x509":
            raise InvalidSecurity("a key cannot be derived from a public key")
        key = p_sha1(base.key, seed, length, start)
        if wsu_id:
            state.tokens[wsu_id] = Token("dk", key, root=base)


class EncryptedKeyProcessor(Processor):
    """``xenc:EncryptedKey``: unwrapped with the service's private key.

    A failed unwrap does not show: the key becomes random bytes and the signature check fails
    later exactly as a wrong key would (no Bleichenbacher or Manger oracle). The EncryptedKey's
    own ReferenceList is recorded, to be decrypted only after the signature is verified.

    One per message: each costs an RSA private-key operation before the sender is
    authenticated, so a header of many would multiply that work.
    """

    def __call__(self, el: etree._Element, state: HeaderState, position: int) -> None:
        if state.private_key is None:
            raise SecurityTokenUnavailable("no private key to decrypt the EncryptedKey")
        state.encrypted_keys += 1
        if state.encrypted_keys > 1:
            raise InvalidSecurity("the message has more than one EncryptedKey")
        p = state.policy
        if state.private_key_thumbprint is not None:
            ki = el.find(f"{{{ns.DS}}}KeyInfo/{STR_TAG}/{{{ns.WSSE}}}KeyIdentifier")
            if ki is not None and ki.get("ValueType") == ns.WSS_THUMBPRINT:
                if (ki.text or "").strip() != state.private_key_thumbprint:
                    raise SecurityTokenUnavailable("the key was encrypted for a different certificate")
        method = el.find(f"{{{ns.XENC}}}EncryptionMethod")
        alg = method.get("Algorithm") if method is not None else None
        allowed = (p.suite.asymmetric_key_wrap,) if p.strict_algorithms else (ns.RSA_OAEP_MGF1P, ns.RSA_15)
        if alg is None or alg not in allowed:
            raise UnsupportedAlgorithm(f"key transport {str(alg)[:200]!r}")
        cv = el.find(f"{{{ns.XENC}}}CipherData/{{{ns.XENC}}}CipherValue")
        raw = b64decode(cv.text if cv is not None else None, "EncryptedKey CipherValue")
        size = p.suite.symmetric_key_bits // 8
        try:
            key = rsa_key_unwrap(alg, state.private_key, raw)
            lo, hi = (
                (p.suite.min_symmetric_key_bits // 8, p.suite.max_symmetric_key_bits // 8)
                if p.strict_algorithms
                else (MIN_HMAC_KEY, 64)
            )
            if not lo <= len(key) <= hi:
                raise FailedCheck("the encrypted key has an unacceptable length")
        except FailedCheck as exc:
            key = os.urandom(size)
            state.deferred_failure = state.deferred_failure or exc.detail or "EncryptedKey"
        tok = Token("ek", key, sha1=encrypted_key_sha1(raw))
        ident = el.get("Id") or el.get(f"{{{ns.WSU}}}Id")
        if ident:
            state.tokens[ident] = tok
        state.ek_by_sha1[tok.sha1 or ""] = tok
        rl = el.find(f"{{{ns.XENC}}}ReferenceList")
        if rl is not None:
            _record_reference_list(rl, state, position, tok)


def _record_reference_list(
    rl: etree._Element, state: HeaderState, position: int, default: Token | None
) -> None:
    n = sum(1 for c in rl if isinstance(c.tag, str))
    state.data_references += n
    if state.data_references > state.policy.max_encrypted_data:
        raise InvalidSecurity(
            f"the message references more than {state.policy.max_encrypted_data} EncryptedData"
        )
    state.reference_lists.append(Recorded(rl, position, default))


class ReferenceListProcessor(Processor):
    """``xenc:ReferenceList``: recorded with its position (decrypted after the signature)."""

    def __call__(self, el: etree._Element, state: HeaderState, position: int) -> None:
        _record_reference_list(el, state, position, None)


class EncryptedDataProcessor(Processor):
    """A header ``xenc:EncryptedData``: the encrypted Signature, or an encrypted token."""

    def __call__(self, el: etree._Element, state: HeaderState, position: int) -> None:
        if len(state.header_encrypted) >= state.policy.max_encrypted_data:
            raise InvalidSecurity("too many EncryptedData in the security header")
        state.header_encrypted.append(Recorded(el, position))


class SignatureProcessor(Processor):
    """``ds:Signature``: recorded. One message signature, and the endorsing signatures the
    policy expects (`MessagePolicy.required_endorsements`)."""

    def __call__(self, el: etree._Element, state: HeaderState, position: int) -> None:
        if len(state.signatures) >= 1 + len(state.policy.required_endorsements):
            raise InvalidSecurity("only one message signature is supported")
        state.signatures.append(Recorded(el, position))


class BinarySecurityTokenProcessor(Processor):
    """``wsse:BinarySecurityToken`` (X509v3): a public key for an RSA signature."""

    def __call__(self, el: etree._Element, state: HeaderState, position: int) -> None:
        vt = el.get("ValueType") or ""
        if vt == ns.WSS_KERBEROS_AP_REQ:
            self._kerberos(el, state)
            return
        if not vt.endswith("#X509v3"):
            raise SecurityTokenUnavailable("unsupported BinarySecurityToken type")
        state.binary_security_tokens += 1
        if state.binary_security_tokens > MAX_BINARY_SECURITY_TOKENS:
            raise InvalidSecurity(
                f"more than {MAX_BINARY_SECURITY_TOKENS} BinarySecurityTokens in the header"
            )
        der = b64decode(el.text, "BinarySecurityToken")
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            raise InvalidSecurity("the BinarySecurityToken is not an X.509 certificate") from None
        pub = cert.public_key()
        if not isinstance(pub, rsa.RSAPublicKey):
            raise UnsupportedAlgorithm("only RSA certificates are supported")
        # the seam (wssc.security.x509_validation): trust, validity, KeyUsage, or refused
        state.certificate_validator.validate(cert, KeyPurpose.SIGNATURE, now=state.now)
        ident = el.get(f"{{{ns.WSU}}}Id")
        tok = Token("x509", b"", public_key=pub, certificate=cert)
        if ident:
            state.tokens[ident] = tok
        thumbprint = base64.b64encode(hashlib.sha1(der).digest()).decode("ascii")
        state.x509_by_thumbprint[thumbprint] = tok

    @staticmethod
    def _kerberos(el: etree._Element, state: HeaderState) -> None:
        """A Kerberos AP-REQ: its key only if the bootstrap accepted this very token
        (``kerberos_keys``, by its SHA-1); GSS work is the bootstrap's, before this."""
        state.binary_security_tokens += 1
        if state.binary_security_tokens > MAX_BINARY_SECURITY_TOKENS:
            raise InvalidSecurity(
                f"more than {MAX_BINARY_SECURITY_TOKENS} BinarySecurityTokens in the header"
            )
        tok = state.kerberos_token(kerberos_sha1(b64decode(el.text, "BinarySecurityToken")))
        ident = el.get(f"{{{ns.WSU}}}Id")
        if ident:
            state.tokens[ident] = tok


_SAML11_ASSERTION = f"{{{ns.SAML11}}}Assertion"


class SamlAssertionProcessor(Processor):
    """``saml:Assertion`` (an issued token): its proof key only if the bootstrap validated
    this very assertion (``issued_keys``, by its ID; `wssc.federation.saml_checks` did the
    signature, audience, lifetime and replay checks before this). One per message."""

    def __call__(self, el: etree._Element, state: HeaderState, position: int) -> None:
        saml11 = el.tag == _SAML11_ASSERTION
        ident = el.get("AssertionID" if saml11 else "ID") or ""
        if state.issued_by_id:
            raise InvalidSecurity("more than one issued token in the header")
        state.tokens[ident] = state.issued_token(ident, "saml11" if saml11 else "saml2")


class UsernameTokenProcessor(Processor):
    """``wsse:UsernameToken``: kept for the bootstrap (which checks it). May be encrypted."""

    after_decryption = True

    def __call__(self, el: etree._Element, state: HeaderState, position: int) -> None:
        if state.username_token is not None:
            raise InvalidSecurity("more than one UsernameToken")
        state.username_token = el
        state.supporting.append(el)


class SignatureConfirmationProcessor(Processor):
    """``wsse11:SignatureConfirmation``: its value kept. May be encrypted."""

    after_decryption = True

    def __call__(self, el: etree._Element, state: HeaderState, position: int) -> None:
        value = el.get("Value")
        state.confirmations.append(b64decode(value, "SignatureConfirmation Value") if value else b"")


_SCT = SctProcessor()
_DKT = DktProcessor()
#: QName (Clark notation) -> processor. Both WS-SC versions share the token processors.
PROCESSORS: dict[str, HeaderProcessor] = {
    f"{{{ns.WSU}}}Timestamp": TimestampProcessor(),
    f"{{{ns.XENC}}}EncryptedKey": EncryptedKeyProcessor(),
    f"{{{ns.XENC}}}ReferenceList": ReferenceListProcessor(),
    f"{{{ns.XENC}}}EncryptedData": EncryptedDataProcessor(),
    f"{{{ns.DS}}}Signature": SignatureProcessor(),
    f"{{{ns.WSSE}}}BinarySecurityToken": BinarySecurityTokenProcessor(),
    f"{{{ns.WSSE}}}UsernameToken": UsernameTokenProcessor(),
    f"{{{ns.WSSE11}}}SignatureConfirmation": SignatureConfirmationProcessor(),
    f"{{{ns.SAML2}}}Assertion": SamlAssertionProcessor(),
    f"{{{ns.SAML11}}}Assertion": SamlAssertionProcessor(),
}
for _sc in ns.SC_VERSIONS:
    PROCESSORS[f"{{{_sc}}}SecurityContextToken"] = _SCT
    PROCESSORS[f"{{{_sc}}}DerivedKeyToken"] = _DKT


def register(qname: str, processor: HeaderProcessor) -> HeaderProcessor | None:
    """Add or replace the processor of the header element ``qname`` (Clark notation,
    ``{namespace}local``), as WSS4J's ``WSSConfig.setProcessor`` does; returns the processor
    it replaced, if any. Process-wide: register at import time, not per message."""
    if not qname.startswith("{") or "}" not in qname or qname.endswith("}"):
        raise ValueError(f"a processor is registered under a {{namespace}}local name, not {qname!r}")
    previous = PROCESSORS.get(qname)
    PROCESSORS[qname] = processor
    return previous


def unregister(qname: str) -> HeaderProcessor | None:
    """Remove the processor of ``qname`` (the element is then refused); returns it."""
    return PROCESSORS.pop(qname, None)


def b64decode(text: str | None, what: str) -> bytes:
    if not text:
        raise InvalidSecurity(f"{what} is empty")
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        pass
    try:  # base64 with line breaks or spaces, as some peers write it
        return binascii.a2b_base64("".join(text.split()), strict_mode=True)
    except (binascii.Error, ValueError):
        raise InvalidSecurity(f"{what} is not valid base64") from None


__all__ = [
    "MAX_BINARY_SECURITY_TOKENS",
    "MIN_HMAC_KEY",
    "PROCESSORS",
    "HeaderProcessor",
    "Processor",
    "b64decode",
    "register",
    "unregister",
]
