"""Step 2 of inbound processing: find the message signature and authenticate it.

The signature is in the header, or, with WCF's EncryptSignature, in the last header
EncryptedData: the only data decrypted before authentication. SignatureValue is checked over
SignedInfo, by a check chosen by the algorithm and the key type (HMAC for a symmetric key,
RSA for a public key). Right after it verifies, the value is charged to the replay cache
(`wssc.security.charge`), before anything else is decrypted.
"""

from __future__ import annotations

import hmac as _hmac
from collections.abc import Callable

from lxml import etree

from wssc.crypto.primitives import hmac_sign, rsa_verify
from wssc.errors import (
    BadContextToken,
    FailedCheck,
    InvalidSecurity,
    SecurityTokenUnavailable,
    UnknownDerivationSource,
    UnsupportedAlgorithm,
)
from wssc.security.context import SIGNATURE, InboundContext, log_value, only
from wssc.security.decrypt import decrypt_signature, encrypted_under_message_key
from wssc.security.header_state import Recorded, Token
from wssc.security.layout import signature_parts, signed_info_parts
from wssc.security.policy import MessagePolicy
from wssc.security.processors import MIN_HMAC_KEY, b64decode
from wssc.xml import ns
from wssc.xml.c14n import exc_c14n, read_inclusive_prefixes


def authenticate(ctx: InboundContext) -> tuple[Token, etree._Element, int] | None:
    """Find the message signature (decrypting it if it is encrypted: the only decryption
    before authentication) and check SignatureValue over SignedInfo. Every failure in
    here is a `FailedCheck` or `InvalidSecurity`: what the signature's
    plaintext said must not choose the fault."""
    primary, ctx.endorsing = _locate_signatures(ctx)
    if primary is None:
        return None
    if primary.element.tag == SIGNATURE:
        sig, via = primary.element, None
    else:
        sig, via = decrypt_signature(ctx, primary)
    try:
        tok = _check_signature_value(ctx, sig)
    except (BadContextToken, UnknownDerivationSource, SecurityTokenUnavailable) as exc:
        if via is None:
            raise
        # Reached only through decrypted, unauthenticated bytes: no distinct fault.
        raise FailedCheck(f"the encrypted signature names an unusable key ({exc.detail})") from None
    if via is not None and not encrypted_under_message_key(ctx, via, tok):
        raise InvalidSecurity("the signature was encrypted with another token's key")
    if via is None and ctx.policy.require_encrypted_signature:
        raise InvalidSecurity(
            "the signature is not encrypted (the policy encrypts it: PrimarySignatureIsRequiredToBeEncrypted)"
        )
    return tok, sig, primary.position


def _locate_signatures(ctx: InboundContext) -> tuple[Recorded | None, list[Recorded]]:
    """(primary, endorsing): where the signatures are, each a recorded ``ds:Signature`` or
    a header EncryptedData that holds one (WCF's EncryptSignature).

    Without endorsing signatures the primary is the plain Signature, else the last header
    EncryptedData. With ``n`` (`MessagePolicy.required_endorsements`) the endorsing
    signatures follow the primary, as WCF and Metro write them: ``n + 1`` plain Signatures;
    an encrypted primary (and encrypted endorsing ones) before plain endorsing ones (Metro);
    or all encrypted, the last ``n + 1`` header EncryptedData (WCF encrypts endorsing
    signatures too). Any other count is refused before any signature is checked."""
    st = ctx.state
    plain, encrypted = st.signatures, st.header_encrypted
    n = len(ctx.policy.required_endorsements)
    if n == 0:
        if plain:
            return plain[0], []
        return (encrypted[-1] if encrypted else None), []
    if len(plain) > n + 1:
        raise InvalidSecurity(f"the message has more signatures than the policy's {n + 1}")
    if len(plain) == n + 1:
        return plain[0], list(plain[1:])
    missing = n + 1 - len(plain)
    before = [r for r in encrypted if not plain or r.position < plain[0].position]
    if len(before) < missing:
        raise InvalidSecurity(
            "the message has no endorsing signature"
            if n == 1
            else f"the message has fewer endorsing signatures than the policy's {n}"
        )
    chosen = before[-missing:] + list(plain)
    return chosen[0], chosen[1:]


def _check_signature_value(ctx: InboundContext, sig: etree._Element) -> Token:
    try:
        tok, value = signature_value(ctx, sig)
    except FailedCheck:
        # The signature failed under a key that replaced a failed unwrap: the log names
        # the unwrap (the wire shows neither).
        if ctx.state.deferred_failure is not None:
            raise FailedCheck(ctx.state.deferred_failure) from None
        raise
    if ctx.state.deferred_failure is not None:
        raise FailedCheck(ctx.state.deferred_failure)
    ctx.result.signature_value = value
    if ctx.replay is not None:
        # Recorded now, before anything else is decrypted: a captured signature opens
        # the message's EncryptedData at most once, so altered ciphertext replayed under
        # it can never be decrypted (no padding oracle through a valid signature).
        ctx.replay.record(value, ctx.state.timestamp, tok)
    return tok


def signature_value(ctx: InboundContext, sig: etree._Element) -> tuple[Token, bytes]:
    """Check SignatureValue over SignedInfo; returns the signing token and the value."""
    p = ctx.policy
    parts = signature_parts(sig)  # WCF's layout by position, checked; else the general path
    if parts is not None:
        si, sv, ki = parts
    else:
        si = only(sig, f"{{{ns.DS}}}SignedInfo")
        sv, ki = None, None
    si_parts = signed_info_parts(si)
    if si_parts is not None:
        c14n, sm, _ = si_parts
    else:
        c14n = only(si, f"{{{ns.DS}}}CanonicalizationMethod")
    if c14n.get("Algorithm") != ns.EXC_C14N:
        raise UnsupportedAlgorithm(f"canonicalization {log_value(c14n.get('Algorithm'))}")
    if si_parts is None:
        sm = only(si, f"{{{ns.DS}}}SignatureMethod")
    alg = sm.get("Algorithm") or ""
    if len(sm):
        raise InvalidSecurity("HMACOutputLength is not accepted")
    tok = ctx.state.token_from_keyinfo(sig, key_info=ki)
    checker = SIGNATURE_CHECKS.get(alg)
    if checker is None or (
        p.strict_algorithms and alg not in (p.suite.symmetric_signature, p.suite.asymmetric_signature)
    ):
        raise UnsupportedAlgorithm(f"signature method {log_value(alg)}")
    if sv is None:
        sv = only(sig, f"{{{ns.DS}}}SignatureValue")
    value = b64decode(sv.text, "SignatureValue")
    checker(alg, tok, exc_c14n(si, read_inclusive_prefixes(c14n)), value, p)
    return tok, value


# --- signature checking, chosen by algorithm and key type ---------------------------------
SignatureCheck = Callable[[str, Token, bytes, bytes, MessagePolicy], None]


def _check_hmac(alg: str, tok: Token, signed_info: bytes, value: bytes, p: MessagePolicy) -> None:
    if tok.asymmetric:
        raise UnsupportedAlgorithm("an HMAC signature needs a symmetric key")
    key = tok.key
    if len(key) < MIN_HMAC_KEY:
        raise FailedCheck("the signature key is too short")
    if p.strict_algorithms:
        suite = p.suite
        ok = (
            len(key) >= suite.signature_key_length
            if tok.derived
            else suite.min_symmetric_key_bits <= len(key) * 8 <= suite.max_symmetric_key_bits
        )
        if not ok:
            raise FailedCheck("the signature key length does not fit the suite")
    if not _hmac.compare_digest(hmac_sign(alg, key, signed_info), value):
        raise FailedCheck("the signature value did not verify")


def _check_rsa(alg: str, tok: Token, signed_info: bytes, value: bytes, p: MessagePolicy) -> None:
    if tok.public_key is None:
        raise UnsupportedAlgorithm("an RSA signature needs an X.509 token")
    if not rsa_verify(alg, tok.public_key, signed_info, value):
        raise FailedCheck("the signature value did not verify")


#: SignatureMethod URI -> check. HMAC for symmetric keys, RSA for X.509 tokens.
SIGNATURE_CHECKS: dict[str, SignatureCheck] = {
    ns.HMAC_SHA1: _check_hmac,
    ns.HMAC_SHA256: _check_hmac,
    ns.RSA_SHA1: _check_rsa,
    ns.RSA_SHA256: _check_rsa,
}
