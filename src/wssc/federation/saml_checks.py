"""What a relying party checks before it trusts an issued SAML assertion.

`IssuedTokenValidator.validate` runs the checks in a fixed order, each raising
`SamlAssertionRejected` with a detail that names it (the service logs the detail and sends
the generic fault):

SAML 1.1 and SAML 2.0 assertions are read into one model (`wssc.federation.assertion`) and
go through the same checks.

1. shape: size, depth, element and attribute counts (`AssertionLimits`), linear;
2. issuer: signed by one of the configured issuer certificates (one RSA public-key op);
   everything after reads only the element the signature covers;
3. audience: one of the ``AudienceRestriction``'s audiences is ours;
4. lifetime: ``NotBefore - skew <= now < NotOnOrAfter + skew``;
5. confirmation: holder-of-key, with exactly one EncryptedKey; or, at a bearer endpoint
   (``bearer``), bearer and nothing else: neither kind is accepted where the other is due;
6. replay: the assertion's ``ID`` (SAML 1.1: ``AssertionID``) not seen before while it is
   valid (optional cache; required for bearer assertions, which are passwords);
7. proof key: the EncryptedKey unwrapped with the relying party's key (one RSA private-key
   op). The issuer signed it, so a sender cannot probe the unwrap (no padding oracle).

With a ``cache`` (`wssc.federation.token_cache`), an assertion validated before, byte for
byte, skips 2, 3, 5 and 7 (no RSA operation); 4 and 6 run on every use. Proof of possession
(the message signed with the proof key) is the message layer's check, on every message.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
from dataclasses import dataclass, replace

from lxml import etree

from wssc.certs import Certificate
from wssc.claims import Claim
from wssc.crypto.primitives import rsa_key_unwrap
from wssc.errors import ConfigurationError, FailedCheck, ReplayDetected, SamlAssertionRejected
from wssc.federation.assertion import read_assertion
from wssc.federation.saml2 import DEFAULT_ASSERTION_LIMITS, AssertionLimits, SamlAssertion, check_shape
from wssc.federation.saml_signature import verify_assertion
from wssc.federation.token_cache import CachedAssertion, ValidatedAssertions
from wssc.security.replay import ReplayCache
from wssc.security.tokens import encrypted_key_sha1
from wssc.tokens.str_ import STR_TAG
from wssc.xml import ns

#: WCF's ``IssuedTokenServiceCredential``/``SamlSecurityTokenAuthenticator`` default skew.
DEFAULT_SKEW = 300.0
#: Proof keys WCF issues: 256 bits (Basic256); 128-512 bits are accepted.
_MIN_KEY, _MAX_KEY = 16, 64
_BEARER = frozenset({ns.SAML2_BEARER, ns.SAML11_BEARER})
_HOLDER_OF_KEY = frozenset({ns.SAML2_HOLDER_OF_KEY, ns.SAML11_HOLDER_OF_KEY})
#: The element of a cached assertion (its own is the message's, dropped with it).
_CACHED = etree.Element("cached-assertion")


@dataclass(frozen=True, slots=True, eq=False)
class ValidatedAssertion:
    """A trusted assertion and its proof key (None for a bearer assertion)."""

    assertion: SamlAssertion
    proof_key: bytes | None
    #: ``EncryptedKeySHA1`` of the proof key's EncryptedKey, as a reply may name it.
    proof_key_sha1: str | None

    @property
    def claim_set(self) -> tuple[Claim, ...]:
        """The caller's claims, as WCF/WIF make them of a SAML token: the subject as the name
        claim, then each attribute value as a claim of the attribute's type; the STS's
        ``Issuer`` the issuer of each."""
        a = self.assertion
        out = [Claim(ns.CLAIM_NAME, a.subject, a.issuer)] if a.subject else []
        out.extend(Claim(attr.claim_type, v, a.issuer) for attr in a.attributes for v in attr.values)
        return tuple(out)

    @property
    def claims(self) -> dict[str, tuple[str, ...]]:
        """The attributes as claims: name -> values (a repeated name's values joined)."""
        out: dict[str, tuple[str, ...]] = {}
        for a in self.assertion.attributes:
            out[a.name] = out.get(a.name, ()) + a.values
        return out


@dataclass(frozen=True, slots=True)
class IssuedTokenValidator:
    """The relying party's checks. ``relying_party`` holds the private key the proof keys
    are encrypted to; ``audiences`` the URIs it answers to (WCF's ``AllowedAudienceUris``,
    which WCF requires when ``AudienceUriMode`` is Always, its default). ``bearer``: the
    endpoint takes bearer assertions (no proof key, no ``relying_party`` needed) and only
    those; it needs a ``replay`` cache, since whoever holds a bearer assertion may use it."""

    issuers: tuple[Certificate, ...]
    audiences: tuple[str, ...]
    relying_party: Certificate | None
    skew: float = DEFAULT_SKEW
    bearer: bool = False
    replay: ReplayCache | None = None
    limits: AssertionLimits = DEFAULT_ASSERTION_LIMITS
    #: Validated assertions, so that a resent one costs no RSA operation (None: no cache).
    cache: ValidatedAssertions | None = None
    #: Also accept issuer signatures with RSA-SHA1 / SHA-1 digests (off: SHA-256 or better).
    allow_sha1_signatures: bool = False

    def __post_init__(self) -> None:
        if not self.issuers:
            raise ConfigurationError("an IssuedToken service needs at least one trusted issuer certificate")
        if not self.audiences:
            raise ConfigurationError("an IssuedToken service needs its audience URI(s)")
        if self.bearer:
            if self.replay is None:
                raise ConfigurationError(
                    "a bearer-token endpoint needs a replay cache (a bearer token is a password)"
                )
        elif self.relying_party is None or self.relying_party.key is None:
            raise ConfigurationError("the relying party's certificate has no private key")

    def validate(self, element: etree._Element, now: float, *, peer: str = "") -> ValidatedAssertion:
        raw = check_shape(element, self.limits)
        digest = hashlib.sha256(raw).digest() if self.cache is not None else b""
        hit = self.cache.get(digest, now) if self.cache is not None else None
        if hit is not None:  # validated before, byte for byte: no RSA operation
            a = replace(hit.assertion, element=element)
            self._check_lifetime(a, now)
            self._check_replay(a, now, peer)
            return ValidatedAssertion(a, hit.proof_key, hit.proof_key_sha1)
        signed = verify_assertion(element, self.issuers, allow_sha1=self.allow_sha1_signatures)
        a = read_assertion(signed, self.limits)
        a = replace(a, element=element)
        if not any(x in self.audiences for x in a.audiences):
            raise SamlAssertionRejected("the assertion is for another audience")
        self._check_lifetime(a, now)
        if self.bearer:
            if a.confirmation_method not in _BEARER:
                raise SamlAssertionRejected(
                    "the assertion is not a bearer assertion (this endpoint takes bearer tokens)"
                )
        elif a.confirmation_method in _BEARER:
            raise SamlAssertionRejected("a bearer assertion where a proof key is required")
        elif a.confirmation_method not in _HOLDER_OF_KEY or a.proof_key is None:
            raise SamlAssertionRejected("the assertion has no holder-of-key proof key")
        self._check_replay(a, now, peer)
        key, sha1 = self._unwrap(a.proof_key) if a.proof_key is not None and not self.bearer else (None, None)
        if self.cache is not None:
            kept = replace(
                a,
                element=_CACHED,
                proof_key=copy.deepcopy(a.proof_key) if a.proof_key is not None else None,
            )
            self.cache.put(digest, CachedAssertion(kept, key, sha1, a.not_on_or_after + self.skew))
        return ValidatedAssertion(a, key, sha1)

    def _check_lifetime(self, a: SamlAssertion, now: float) -> None:
        if now < a.not_before - self.skew:
            raise SamlAssertionRejected("the assertion is not yet valid")
        if now >= a.not_on_or_after + self.skew:
            raise SamlAssertionRejected("the assertion has expired")

    def _check_replay(self, a: SamlAssertion, now: float, peer: str) -> None:
        if self.replay is None:
            return
        try:
            self.replay.check_and_add(
                b"saml2:" + hashlib.sha256(a.assertion_id.encode()).digest(),
                a.not_on_or_after + self.skew,
                now,
                partition="saml",
                peer=peer,
            )
        except ReplayDetected:
            raise SamlAssertionRejected("the assertion was replayed") from None

    def _unwrap(self, ek: etree._Element) -> tuple[bytes, str]:
        ki = ek.find(f"{{{ns.DS}}}KeyInfo/{STR_TAG}/{{{ns.WSSE}}}KeyIdentifier")
        assert self.relying_party is not None  # __post_init__: required unless bearer
        if ki is not None and ki.get("ValueType") == ns.WSS_THUMBPRINT:
            if (ki.text or "").strip() != self.relying_party.thumbprint_b64:
                raise SamlAssertionRejected("the proof key is encrypted to another certificate")
        method = ek.find(f"{{{ns.XENC}}}EncryptionMethod")
        alg = method.get("Algorithm") if method is not None else None
        if alg != ns.RSA_OAEP_MGF1P:
            raise SamlAssertionRejected(f"the proof key's key transport {str(alg)[:100]!r} is not RSA-OAEP")
        cv = ek.find(f"{{{ns.XENC}}}CipherData/{{{ns.XENC}}}CipherValue")
        try:
            raw = base64.b64decode("".join((cv.text or "").split()) if cv is not None else "", validate=True)
        except (binascii.Error, ValueError):
            raise SamlAssertionRejected("the proof key's CipherValue is not base64") from None
        assert self.relying_party is not None and self.relying_party.key is not None
        try:
            key = rsa_key_unwrap(alg, self.relying_party.key, raw)
        except FailedCheck:
            raise SamlAssertionRejected("the proof key does not decrypt") from None
        if not _MIN_KEY <= len(key) <= _MAX_KEY:
            raise SamlAssertionRejected("the proof key has an unacceptable length")
        return key, encrypted_key_sha1(raw)


__all__ = ["DEFAULT_SKEW", "IssuedTokenValidator", "ValidatedAssertion"]
