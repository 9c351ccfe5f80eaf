"""Step 6 of inbound processing: enforce the MessagePolicy by element identity.

The Body the application reads is the element that was signed (this defeats signature
wrapping); the Timestamp is signed; derived keys as the policy says; the Body encrypted; each
WS-Addressing header once, and signed where the policy says; nothing signed hides elsewhere.
"""

from __future__ import annotations

from lxml import etree

from wssc.errors import InvalidSecurity
from wssc.security.context import InboundContext
from wssc.xml import ns

_WSA_NAMESPACES = (ns.WSA10, ns.WSA2004)


def enforce(ctx: InboundContext, sig: etree._Element | None) -> None:
    r, p, env = ctx.result, ctx.policy, ctx.env
    ts_el = ctx.state.timestamp_element
    if p.require_timestamp and r.timestamp is None:
        raise InvalidSecurity("the message has no Timestamp")
    if sig is None:
        if p.require_signature:
            raise InvalidSecurity("the message is not signed")
        _supporting(ctx)
        return
    # The identities of the signed elements: r.signed holds each alive, so an id here is that
    # element's alone (the same answer as ``any(e is x for e in r.signed)``, one set for all).
    signed = {id(e) for e in r.signed}
    if r.timestamp is not None and id(ts_el) not in signed:
        raise InvalidSecurity("the Timestamp is not signed")
    if p.require_signed_body and not p.transport and id(env.body) not in signed:
        raise InvalidSecurity("the Body is not signed by the message signature")
    if p.enforce_derived_keys and not p.transport and r.derived_keys_used != p.derived_keys:
        raise InvalidSecurity(
            "the policy requires derived keys"
            if p.derived_keys
            else "the policy requires the token key without derived keys"
        )
    if p.require_encrypted_body and not r.body_encrypted:
        raise InvalidSecurity("the Body is not encrypted")
    _supporting(ctx)
    header = env.header
    seen: set[str] = set()
    if header is not None:
        for h in header:
            tag = h.tag
            # the namespace of "{ns}local" (a local name holds no "}"), as QName gives it
            if not isinstance(tag, str) or tag[:1] != "{" or tag[1 : tag.rfind("}")] not in _WSA_NAMESPACES:
                continue
            if tag in seen:
                raise InvalidSecurity(f"duplicate addressing header {etree.QName(h).localname}")
            seen.add(tag)
            if p.require_signed_addressing and id(h) not in signed:
                raise InvalidSecurity(f"the addressing header {etree.QName(h).localname} is not signed")
    sec, body = ctx.state.security, env.body
    for el in r.signed:
        parent = el.getparent()
        if el is body or el is ts_el:
            continue
        # SOAP headers, and tokens of this security header (UsernameToken,
        # SignatureConfirmation…): nothing signed may hide elsewhere.
        if parent is not header and parent is not sec:
            raise InvalidSecurity("a signed element is not where the application reads it")


def _supporting(ctx: InboundContext) -> None:
    """Each supporting token signed and encrypted where the policy says (WCF's
    SignedEncryptedSupportingTokens: a UsernameToken in a symmetric binding)."""
    r, p = ctx.result, ctx.policy
    for tok in ctx.state.supporting:
        name = etree.QName(tok).localname
        if p.require_signed_supporting and not any(e is tok for e in r.signed):
            raise InvalidSecurity(f"the supporting token {name} is not signed")
        if p.require_encrypted_supporting and not any(e is tok for _, e in r.encrypted):
            raise InvalidSecurity(f"the supporting token {name} is not encrypted")
