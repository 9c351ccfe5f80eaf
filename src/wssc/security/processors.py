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
==================================  ===========================  ==========================

An unknown element is refused. Adding a token type means one class and one `register` call.
A processor whose class says ``after_decryption = True`` (SignatureConfirmation,
UsernameToken) may also arrive encrypted in the header (WCF encrypts them along with the
Signature): it then runs on the decrypted element, after authentication and only under the
signer's key (`wssc.security.decrypt`); any other encrypted header element is refused.
"""

from __future__ import annotations

import binascii
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from wssc.crypto.primitives import rsa_key_unwrap
from wssc.errors import (
    BadContextToken,
    FailedCheck,
    InvalidSecurity,
    SecurityTokenUnavailable,
    UnknownDerivationSource,
    UnsupportedAlgorithm,
)
from wssc.security.policy import MessagePolicy
from wssc.security.tokens import encrypted_key_sha1
from wssc.security.x509_validation import REFUSE_ALL, CertificateValidator, KeyPurpose
from wssc.tokens.dkt import DerivedKeyToken
from wssc.tokens.sct import SecurityContextToken
from wssc.tokens.str_ import STR_TAG, SecurityTokenReference
from wssc.tokens.timestamp import Timestamp
from wssc.xml import ns
from wssc.xml.ns import ScVersion
from wssc.xml.soap import Envelope

#: (sct, sc version) -> secret, or None when unknown. May raise BadContextToken/RenewNeeded.
KeyResolver = Callable[[SecurityContextToken, ScVersion], bytes | None]

#: Shortest HMAC key accepted for a signature, whatever the suite (a forgery bound).
MIN_HMAC_KEY = 16

#: BinarySecurityTokens in one header: each costs a chain validation before the signature is
#: checked (WCF's layouts carry one, two with a supporting certificate).
MAX_BINARY_SECURITY_TOKENS = 2


@dataclass(slots=True, eq=False)
class Token:
    """A key the header made available. ``root`` is the token a derived key came from."""

    kind: str  # "sct" | "dk" | "ek" | "x509"
    key: bytes = field(repr=False)
    root: Token | None = None
    sct: SecurityContextToken | None = None
    sc: ScVersion | None = None
    sha1: str | None = None  # EncryptedKeySHA1, for "ek"
    public_key: rsa.RSAPublicKey | None = field(default=None, repr=False)  # for "x509"

    @property
    def base(self) -> Token:
        return self.root if self.root is not None else self

    @property
    def derived(self) -> bool:
        """A key derived from another token's (a DerivedKeyToken)."""
        return self.root is not None

    @property
    def asymmetric(self) -> bool:
        """A public key (verifies RSA signatures; neither signs HMAC nor decrypts)."""
        return self.public_key is not None

    @property
    def token_type(self) -> str | None:
        """The token type URI this key came from, as a policy names it (an SCT's is its
        WS-SC version's); None for a derived key (ask its ``base``)."""
        if self.sct is not None and self.sc is not None:
            return self.sc.sct_token_type
        return _TOKEN_TYPES.get(self.kind)


_TOKEN_TYPES = {"ek": ns.WSS_ENCRYPTED_KEY, "x509": ns.WSS_X509V3}


@dataclass(slots=True)
class Recorded:
    """An element recorded by pass 1, with its position among the header children."""

    element: etree._Element
    position: int
    default_key: Token | None = None  # an EncryptedKey's own ReferenceList


@dataclass(slots=True)
class HeaderState:
    """What pass 1 learned; the later passes read it."""

    envelope: Envelope
    security: etree._Element
    policy: MessagePolicy
    resolver: KeyResolver | None
    now: float
    private_key: rsa.RSAPrivateKey | None
    private_key_thumbprint: str | None
    ek_keys: Mapping[str, bytes]
    context_sct: SecurityContextToken | None
    tokens: dict[str, Token] = field(default_factory=dict)  # by wsu:Id / Id
    ek_by_sha1: dict[str, Token] = field(default_factory=dict)  # by EncryptedKeySHA1
    scts: list[Token] = field(default_factory=list)
    header_scts: list[Token] = field(default_factory=list)
    sc: ScVersion | None = None
    dk_count: int = 0
    encrypted_keys: int = 0
    timestamp: Timestamp | None = None
    timestamp_element: etree._Element | None = None
    signatures: list[Recorded] = field(default_factory=list)
    reference_lists: list[Recorded] = field(default_factory=list)
    header_encrypted: list[Recorded] = field(default_factory=list)
    data_references: int = 0
    username_token: etree._Element | None = None
    #: supporting tokens read (the policy may demand each signed and encrypted)
    supporting: list[etree._Element] = field(default_factory=list)
    confirmations: list[bytes] = field(default_factory=list)
    #: A failure found in pass 1 that must not show before the signature check (an RSA
    #: unwrap that failed): the signature check then fails with this detail in the log.
    deferred_failure: str | None = None
    #: Decides whether a certificate from a BinarySecurityToken may sign (the default refuses
    #: every certificate: a service trusts the CAs or peers it is configured with).
    certificate_validator: CertificateValidator = REFUSE_ALL
    binary_security_tokens: int = 0

    # --- token resolution ---------------------------------------------------------------
    def resolve_sct(self, sct: SecurityContextToken, sc: ScVersion) -> bytes:
        key = self.resolver(sct, sc) if self.resolver is not None else None
        if key is None:
            raise BadContextToken("no key is known for this SecurityContextToken", sc_ns=sc.ns)
        return key

    def token_from_str(self, ref: SecurityTokenReference, sc_hint: ScVersion) -> Token:
        if ref.custom is not None:
            raise SecurityTokenUnavailable("the reference uses an unsupported custom clause")
        if ref.key_identifier is not None:
            if ref.value_type == ns.WSS_ENCRYPTED_KEY_SHA1:
                known = self.ek_by_sha1.get(ref.key_identifier)
                if known is not None:  # one Token per key, so "same root" is identity
                    return known
                key = self.ek_keys.get(ref.key_identifier)
                if key is None:
                    raise SecurityTokenUnavailable("unknown EncryptedKeySHA1")
                tok = Token("ek", key, sha1=ref.key_identifier)
                self.ek_by_sha1[ref.key_identifier] = tok
                return tok
            raise SecurityTokenUnavailable("unsupported KeyIdentifier type")
        assert ref.uri is not None
        if ref.is_local:
            local = self.tokens.get(ref.local_id)
            if local is not None:
                return local
            raise SecurityTokenUnavailable("a referenced token was not found before its use")
        # An external reference: an SCT Identifier, of an SCT in this header or known to the
        # resolver.
        for t in self.scts:
            if t.sct is not None and t.sct.identifier == ref.uri and (
                ref.instance is None or ref.instance == t.sct.instance
            ):
                return t
        if ref.value_type not in (None, ns.SC_FEB2005.sct_token_type, ns.SC_V13.sct_token_type):
            raise SecurityTokenUnavailable("unsupported external reference type")
        sc = sc_hint
        if ref.value_type == ns.SC_V13.sct_token_type:
            sc = ns.SC_V13
        elif ref.value_type == ns.SC_FEB2005.sct_token_type:
            sc = ns.SC_FEB2005
        sct = SecurityContextToken(ref.uri, ref.instance, None, "")
        tok = Token("sct", self.resolve_sct(sct, sc), sct=sct, sc=sc)
        self.scts.append(tok)
        return tok

    def token_from_keyinfo(self, parent: etree._Element, default: Token | None = None) -> Token:
        ki = parent.find(f"{{{ns.DS}}}KeyInfo")
        if ki is None:
            if default is not None:
                return default
            raise InvalidSecurity("KeyInfo is missing")
        strs = ki.findall(STR_TAG)
        if len(strs) != 1:
            raise InvalidSecurity("KeyInfo must hold exactly one SecurityTokenReference")
        return self.token_from_str(SecurityTokenReference.from_xml(strs[0]),
                                   self.sc or self.policy.sc)

    def context_base(self, sc: ScVersion) -> Token:
        """The key of a DerivedKeyToken without an STR: the only key in scope."""
        if len(self.header_scts) == 1:
            return self.header_scts[0]
        if not self.header_scts and self.context_sct is not None:
            sct = self.context_sct
            for t in self.scts:  # one Token per key, so "same root" is identity
                if t.sct is sct:
                    return t
            tok = Token("sct", self.resolve_sct(sct, sc), sct=sct, sc=sc)
            self.scts.append(tok)
            return tok
        raise UnknownDerivationSource(
            "the DerivedKeyToken has no SecurityTokenReference and "
            + ("several keys are in scope" if self.header_scts else "no key is in scope"),
            sc_ns=sc.ns,
        )


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
        dkt, sc = DerivedKeyToken.from_xml(el, p.suite.max_derived_key_length)
        if state.sc is None:
            state.sc = sc
        if dkt.base is None:
            base = state.context_base(sc)
        else:
            assert isinstance(dkt.base, SecurityTokenReference)
            base = state.token_from_str(dkt.base, sc).base
        if base.kind == "x509":
            raise InvalidSecurity("a key cannot be derived from a public key")
        key = dkt.derive(base.key)
        if dkt.wsu_id:
            state.tokens[dkt.wsu_id] = Token("dk", key, root=base)


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
                    raise SecurityTokenUnavailable(
                        "the key was encrypted for a different certificate"
                    )
        method = el.find(f"{{{ns.XENC}}}EncryptionMethod")
        alg = method.get("Algorithm") if method is not None else None
        allowed = (p.suite.asymmetric_key_wrap,) if p.strict_algorithms else (
            ns.RSA_OAEP_MGF1P, ns.RSA_15)
        if alg is None or alg not in allowed:
            raise UnsupportedAlgorithm(f"key transport {str(alg)[:200]!r}")
        cv = el.find(f"{{{ns.XENC}}}CipherData/{{{ns.XENC}}}CipherValue")
        raw = b64decode(cv.text if cv is not None else None, "EncryptedKey CipherValue")
        size = p.suite.symmetric_key_bits // 8
        try:
            key = rsa_key_unwrap(alg, state.private_key, raw)
            lo, hi = (p.suite.min_symmetric_key_bits // 8, p.suite.max_symmetric_key_bits // 8) \
                if p.strict_algorithms else (MIN_HMAC_KEY, 64)
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
    """``ds:Signature``: recorded. One message signature, and one endorsing signature where
    the policy expects it (``require_endorsing_signature``)."""

    def __call__(self, el: etree._Element, state: HeaderState, position: int) -> None:
        if len(state.signatures) >= (2 if state.policy.require_endorsing_signature else 1):
            raise InvalidSecurity("only one message signature is supported")
        state.signatures.append(Recorded(el, position))


class BinarySecurityTokenProcessor(Processor):
    """``wsse:BinarySecurityToken`` (X509v3): a public key for an RSA signature."""

    def __call__(self, el: etree._Element, state: HeaderState, position: int) -> None:
        vt = el.get("ValueType") or ""
        if not vt.endswith("#X509v3"):
            raise SecurityTokenUnavailable("unsupported BinarySecurityToken type")
        state.binary_security_tokens += 1
        if state.binary_security_tokens > MAX_BINARY_SECURITY_TOKENS:
            raise InvalidSecurity(
                f"more than {MAX_BINARY_SECURITY_TOKENS} BinarySecurityTokens in the header")
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
        tok = Token("x509", b"", public_key=pub)
        if ident:
            state.tokens[ident] = tok


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
    "MIN_HMAC_KEY", "PROCESSORS", "HeaderProcessor", "HeaderState", "KeyResolver", "Processor",
    "Recorded", "Token", "b64decode", "register", "unregister",
]
