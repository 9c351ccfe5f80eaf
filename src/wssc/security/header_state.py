"""What pass 1 of inbound processing learns from a ``wsse:Security`` header: the keys its
tokens make available (`Token`), the elements recorded for the later passes (`Recorded`) and
the whole `HeaderState`, which resolves SecurityTokenReferences to keys. The processors
(`wssc.security.processors`) fill it; authenticate, decrypt, digests and enforce read it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from wssc.errors import (
    BadContextToken,
    InvalidSecurity,
    SecurityTokenUnavailable,
    UnknownDerivationSource,
)
from wssc.security.layout import key_info_str
from wssc.security.policy import MessagePolicy
from wssc.security.x509_refs import matches
from wssc.security.x509_validation import REFUSE_ALL, CertificateValidator
from wssc.tokens.sct import SecurityContextToken
from wssc.tokens.str_ import STR_TAG, SecurityTokenReference
from wssc.tokens.timestamp import Timestamp
from wssc.xml import ns
from wssc.xml.ns import ScVersion
from wssc.xml.soap import Envelope

#: (sct, sc version) -> secret, or None when unknown. May raise BadContextToken/RenewNeeded.
KeyResolver = Callable[[SecurityContextToken, ScVersion], bytes | None]


@dataclass(slots=True, eq=False)
class Token:
    """A key the header made available. ``root`` is the token a derived key came from."""

    kind: str  # "sct" | "dk" | "ek" | "x509" | "kerberos" | "saml2" | "saml11"
    key: bytes = field(repr=False)
    root: Token | None = None
    sct: SecurityContextToken | None = None
    sc: ScVersion | None = None
    sha1: str | None = None  # EncryptedKeySHA1 for "ek", Kerberosv5APREQSHA1 for "kerberos"
    public_key: rsa.RSAPublicKey | None = field(default=None, repr=False)  # for "x509"
    #: the validated certificate of an "x509" token (its holder is who signed)
    certificate: x509.Certificate | None = field(default=None, repr=False)

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


_TOKEN_TYPES = {
    "ek": ns.WSS_ENCRYPTED_KEY,
    "x509": ns.WSS_X509V3,
    "kerberos": ns.WSS_KERBEROS_AP_REQ,
    "saml2": ns.WSS_SAML2_TOKEN_TYPE,
    "saml11": ns.WSS_SAML11_TOKEN_TYPE,
}
#: The Token kind of an issued assertion, by the KeyIdentifier ValueType that names it.
ISSUED_KINDS = {ns.WSS_SAML2_ID: "saml2", ns.WSS_SAML11_ID: "saml11"}


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
    #: the header's X.509 BinarySecurityTokens by ThumbprintSHA1 (base64), for a KeyIdentifier
    #: that names an included certificate by its thumbprint (CXF's RequireThumbprintReference)
    x509_by_thumbprint: dict[str, Token] = field(default_factory=dict)
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
    #: The session keys of Kerberos AP-REQs a bootstrap has already accepted, by their
    #: Kerberosv5APREQSHA1 (a BinarySecurityToken or KeyIdentifier naming another is refused).
    kerberos_keys: Mapping[str, bytes] = field(default_factory=dict)
    kerberos_by_sha1: dict[str, Token] = field(default_factory=dict)
    #: The proof keys of the issued (SAML) tokens a bootstrap has already validated, by the
    #: assertion's ID (`wssc.federation`); an assertion or a ``…#SAMLID`` reference naming
    #: any other is refused.
    issued_keys: Mapping[str, bytes] = field(default_factory=dict)
    issued_by_id: dict[str, Token] = field(default_factory=dict)
    #: Certificates known out of band that an external reference (Subject Key Identifier,
    #: issuer and serial, thumbprint) may name as the signer: a client's pinned service
    #: certificate under an AsymmetricBinding (`wssc.security.x509_refs`).
    known_certificates: tuple[x509.Certificate, ...] = ()
    known_tokens: dict[int, Token] = field(default_factory=dict)

    def kerberos_token(self, sha1: str) -> Token:
        """The one Token of the accepted AP-REQ ``sha1`` (one per key: "same root" is
        identity)."""
        known = self.kerberos_by_sha1.get(sha1)
        if known is not None:
            return known
        key = self.kerberos_keys.get(sha1)
        if key is None:
            raise SecurityTokenUnavailable("a Kerberos AP-REQ that was not accepted")
        tok = Token("kerberos", key, sha1=sha1)
        self.kerberos_by_sha1[sha1] = tok
        return tok

    def issued_token(self, assertion_id: str, kind: str) -> Token:
        """The one Token of the validated assertion ``assertion_id`` (its proof key);
        ``kind`` its SAML version ("saml2" or "saml11"), which every reference must agree on."""
        known = self.issued_by_id.get(assertion_id)
        if known is not None:
            if known.kind != kind:
                raise SecurityTokenUnavailable("an issued token referenced as another SAML version")
            return known
        key = self.issued_keys.get(assertion_id)
        if key is None:
            raise SecurityTokenUnavailable("an issued token that was not validated")
        tok = Token(kind, key, sha1=assertion_id)
        self.issued_by_id[assertion_id] = tok
        return tok

    # --- token resolution ---------------------------------------------------------------
    def resolve_sct(self, sct: SecurityContextToken, sc: ScVersion) -> bytes:
        key = self.resolver(sct, sc) if self.resolver is not None else None
        if key is None:
            raise BadContextToken("no key is known for this SecurityContextToken", sc_ns=sc.ns)
        return key

    def token_from_str(self, ref: SecurityTokenReference, sc_hint: ScVersion) -> Token:
        if ref.value_type == ns.WSS_THUMBPRINT and ref.key_identifier is not None:
            # A certificate this header carries (and the validator accepted) first: WCF's header
            # token resolver matches the clause against the header's tokens alike (CXF names its
            # own certificate so); else one known out of band (a client's pinned service
            # certificate under an AsymmetricBinding); else nothing.
            x509_token = self.x509_by_thumbprint.get(ref.key_identifier)
            if x509_token is not None:
                return x509_token
            if not self.known_certificates:
                raise SecurityTokenUnavailable("no BinarySecurityToken has this ThumbprintSHA1")
            return self._known_certificate(ref)
        if ref.custom is not None or ref.value_type == ns.WSS_X509_SKI:
            return self._known_certificate(ref)
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
            if ref.value_type == ns.WSS_KERBEROS_AP_REQ_SHA1:
                return self.kerberos_token(ref.key_identifier)
            if ref.value_type in ISSUED_KINDS:
                return self.issued_token(ref.key_identifier, ISSUED_KINDS[ref.value_type])
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
            if (
                t.sct is not None
                and t.sct.identifier == ref.uri
                and (ref.instance is None or ref.instance == t.sct.instance)
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

    def _known_certificate(self, ref: SecurityTokenReference) -> Token:
        """The known certificate ``ref`` names (one Token per certificate), or refused."""
        for i, cert in enumerate(self.known_certificates):
            if matches(ref, cert):
                tok = self.known_tokens.get(i)
                if tok is None:
                    pub = cert.public_key()
                    if not isinstance(pub, rsa.RSAPublicKey):
                        raise SecurityTokenUnavailable("only RSA certificates are supported")
                    tok = self.known_tokens[i] = Token("x509", b"", public_key=pub, certificate=cert)
                return tok
        if ref.custom is not None and not self.known_certificates:
            raise SecurityTokenUnavailable("the reference uses an unsupported custom clause")
        raise SecurityTokenUnavailable("the reference names no certificate known to this party")

    def token_from_keyinfo(
        self, parent: etree._Element, default: Token | None = None, key_info: etree._Element | None = None
    ) -> Token:
        """The token ``parent``'s KeyInfo names; ``key_info`` when the caller has found it
        already (`wssc.security.layout`)."""
        ki = key_info if key_info is not None else parent.find(f"{{{ns.DS}}}KeyInfo")
        if ki is None:
            if default is not None:
                return default
            raise InvalidSecurity("KeyInfo is missing")
        ref = key_info_str(ki)
        if ref is None:
            strs = ki.findall(STR_TAG)
            if len(strs) != 1:
                raise InvalidSecurity("KeyInfo must hold exactly one SecurityTokenReference")
            ref = strs[0]
        # ref was found by its tag, STR_TAG (key_info_str compared it; findall searched by it)
        return self.token_from_str(SecurityTokenReference.from_found(ref), self.sc or self.policy.sc)

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


__all__ = ["HeaderState", "KeyResolver", "Recorded", "Token"]
