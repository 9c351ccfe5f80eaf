"""Step 5b of inbound processing: the endorsing signatures.

WCF's endorsing supporting tokens (the session's SCT on a Renew secured by the bootstrap, the
client's X.509 certificate under MutualCertificate), checked after the primary signature is
authentic and its data decrypted.
"""

from __future__ import annotations

from lxml import etree

from wssc.errors import FailedCheck, InvalidSecurity, UnsupportedAlgorithm
from wssc.security.authenticate import signature_value
from wssc.security.context import SIGNATURE, InboundContext
from wssc.security.decrypt import decrypt_signature, encrypted_under_message_key
from wssc.security.digests import check_references
from wssc.security.header_state import Recorded, Token


def check_endorsing(ctx: InboundContext, primary: etree._Element, signer: Token) -> None:
    """The endorsing signatures (WCF's endorsing supporting tokens: the session's SCT on a
    Renew secured by the bootstrap; the client's certificate under MutualCertificate; both on
    MutualCertificate's Renew). Checked after the primary signature is authentic::

        <ds:Signature Id="_99"><ds:SignedInfo>…
            <ds:Reference URI="#_1">  <!-- the primary ds:Signature, decrypted -->
              <ds:Transforms><ds:Transform Algorithm="…xml-exc-c14n#"/></ds:Transforms>
              …<ds:DigestValue>…</ds:DigestValue></ds:Reference></ds:SignedInfo>
          <ds:SignatureValue>…</ds:SignatureValue>
          <ds:KeyInfo><wsse:SecurityTokenReference>
            <wsse:Reference URI="#_100"/>  <!-- a DerivedKeyToken on the SCT -->
          </wsse:SecurityTokenReference></ds:KeyInfo></ds:Signature>

    Under ``transport`` (TLS: WCF's TransportSecurityProtocol, CertificateOverTransport's
    Renew) there is no message signature: the first signature and each endorsing one cover
    the Timestamp alone.

    There must be exactly one per `MessagePolicy.required_endorsements` entry, in any order.
    Each one's only Reference must be the primary signature, so the endorsement is bound to
    this message (the primary covers the Timestamp, the Body and the addressing headers) and
    cannot be lifted onto another one. Each one's key must come from a token of a type its
    entry names, not from the primary's token nor from the token of another endorsement.
    Where the policy encrypts the signature it must be encrypted too (WCF's
    ``AllSignaturesEncrypted``), with the primary's key; that is checked last, so the log
    names a broken endorsement first."""
    wanted = list(ctx.policy.required_endorsements)
    if len(ctx.endorsing) != len(wanted):
        raise InvalidSecurity("the message has no endorsing signature")
    used = [signer.base]
    for rec in ctx.endorsing:
        base = _check_one(ctx, rec, primary, signer, wanted, used)
        used.append(base)
        if base.sct is not None:
            ctx.result.endorsing_sct = base.sct
        if base.certificate is not None:
            ctx.result.endorsing_certificate = base.certificate


def _check_one(
    ctx: InboundContext,
    rec: Recorded,
    primary: etree._Element,
    signer: Token,
    wanted: list[frozenset[str]],
    used: list[Token],
) -> Token:
    """Check one endorsing signature; takes the entry of ``wanted`` it satisfies and returns
    its token."""
    p = ctx.policy
    if rec.element.tag == SIGNATURE:
        el = rec.element
    else:
        el, via = decrypt_signature(ctx, rec)
        if not encrypted_under_message_key(ctx, via, signer):
            raise InvalidSecurity(
                "the endorsing signature was encrypted with another token's key than the primary signature's"
            )
    tok, value = signature_value(ctx, el)
    if ctx.state.deferred_failure is not None:
        raise FailedCheck(ctx.state.deferred_failure)
    base = tok.base
    entry = next((w for w in wanted if base.token_type in w), None)
    if entry is None or any(base is u for u in used):
        raise InvalidSecurity("the endorsing signature is not made with the key of a token the policy names")
    wanted.remove(entry)
    if p.enforce_derived_keys and not p.transport and not tok.asymmetric and tok.derived != p.derived_keys:
        raise InvalidSecurity("the endorsing signature does not use derived keys as the policy says")
    try:
        covered = check_references(ctx, el)
    except (FailedCheck, UnsupportedAlgorithm, InvalidSecurity) as exc:
        raise FailedCheck(
            f"the endorsing signature does not verify over the primary signature ({exc.detail})"
        ) from None
    if p.transport:
        # Over TLS there is no message signature to endorse: each endorsing token signs the
        # Timestamp (WCF's TransportSecurityProtocol), as the primary one did.
        ts = ctx.state.timestamp_element
        if len(covered) != 1 or ts is None or covered[0] is not ts:
            raise InvalidSecurity("the endorsing signature must cover the Timestamp and nothing else")
    elif len(covered) != 1 or covered[0] is not primary:
        raise InvalidSecurity("the endorsing signature must cover the primary signature and nothing else")
    if rec.element.tag == SIGNATURE and p.require_encrypted_signature:
        raise InvalidSecurity(
            "the endorsing signature is not encrypted (the policy "
            "encrypts signatures; WCF requires all of them encrypted)"
        )
    ctx.result.endorsing_signature_values.append(value)
    return base
