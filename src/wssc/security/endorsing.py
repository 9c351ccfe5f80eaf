"""Step 5b of inbound processing: the endorsing signature.

WCF's endorsing supporting token (the session's SCT on a Renew secured by the bootstrap),
checked after the primary signature is authentic and its data decrypted.
"""

from __future__ import annotations

from lxml import etree

from wssc.errors import FailedCheck, InvalidSecurity, UnsupportedAlgorithm
from wssc.security.authenticate import signature_value
from wssc.security.context import SIGNATURE, InboundContext
from wssc.security.decrypt import decrypt_signature
from wssc.security.digests import check_references
from wssc.security.header_state import Token


def check_endorsing(ctx: InboundContext, primary: etree._Element, signer: Token) -> None:
    """The endorsing signature (WCF's endorsing supporting token: the session's SCT on a
    Renew secured by the bootstrap). Checked after the primary signature is authentic::

        <ds:Signature Id="_99"><ds:SignedInfo>…
            <ds:Reference URI="#_1">  <!-- the primary ds:Signature, decrypted -->
              <ds:Transforms><ds:Transform Algorithm="…xml-exc-c14n#"/></ds:Transforms>
              …<ds:DigestValue>…</ds:DigestValue></ds:Reference></ds:SignedInfo>
          <ds:SignatureValue>…</ds:SignatureValue>
          <ds:KeyInfo><wsse:SecurityTokenReference>
            <wsse:Reference URI="#_100"/>  <!-- a DerivedKeyToken on the SCT -->
          </wsse:SecurityTokenReference></ds:KeyInfo></ds:Signature>

    Its only Reference must be the primary signature, so the endorsement is bound to this
    message (the primary covers the Timestamp, the Body and the addressing headers) and
    cannot be lifted onto another one. Its key must come from a token of the type the
    policy names (`MessagePolicy.endorsing_token_types`: the session's SCT for WCF's Renew),
    not from the primary's token. Where the policy encrypts the signature it must be encrypted too
    (WCF's ``AllSignaturesEncrypted``), with the primary's key; that is checked last, so
    the log names a broken endorsement first."""
    rec, p = ctx.endorsing, ctx.policy
    if rec is None:
        raise InvalidSecurity("the message has no endorsing signature")
    if rec.element.tag == SIGNATURE:
        el = rec.element
    else:
        el, via = decrypt_signature(ctx, rec)
        if via.base is not signer.base:
            raise InvalidSecurity(
                "the endorsing signature was encrypted with another token's key than the primary signature's"
            )
    tok, _ = signature_value(ctx, el)
    if ctx.state.deferred_failure is not None:
        raise FailedCheck(ctx.state.deferred_failure)
    base = tok.base
    if base.token_type not in p.endorsing_token_types or base is signer.base:
        raise InvalidSecurity("the endorsing signature is not made with the key of a token the policy names")
    if p.enforce_derived_keys and not p.transport and not tok.asymmetric and tok.derived != p.derived_keys:
        raise InvalidSecurity("the endorsing signature does not use derived keys as the policy says")
    try:
        covered = check_references(ctx, el)
    except (FailedCheck, UnsupportedAlgorithm, InvalidSecurity) as exc:
        raise FailedCheck(
            f"the endorsing signature does not verify over the primary signature ({exc.detail})"
        ) from None
    if len(covered) != 1 or covered[0] is not primary:
        raise InvalidSecurity("the endorsing signature must cover the primary signature and nothing else")
    if rec.element.tag == SIGNATURE and p.require_encrypted_signature:
        raise InvalidSecurity(
            "the endorsing signature is not encrypted (the policy "
            "encrypts signatures; WCF requires all of them encrypted)"
        )
    ctx.result.endorsing_sct = base.sct
    ctx.result.endorsing_certificate = base.certificate
