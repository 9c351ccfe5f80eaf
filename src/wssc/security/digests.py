"""Step 5 of inbound processing: each ``ds:Reference`` digest over the (decrypted) element.

Runs after the signature value verified and the signer's data was decrypted, so digests are
checked over the plaintext (SignBeforeEncrypt). Returns the live elements covered, which the
policy step then checks by identity.
"""

from __future__ import annotations

import hmac as _hmac

from lxml import etree

from wssc.crypto.primitives import digest
from wssc.errors import FailedCheck, InvalidSecurity, UnsupportedAlgorithm
from wssc.security.context import InboundContext, log_value, only
from wssc.security.layout import signature_parts, signed_info_parts
from wssc.security.processors import b64decode
from wssc.tokens.paths import PATHS
from wssc.xml import ns
from wssc.xml.c14n import exc_c14n, read_inclusive_prefixes

_DIGESTS = frozenset({ns.SHA1, ns.SHA256})
_TRANSFORMS = f"{{{ns.DS}}}Transforms"
_DIGEST_METHOD = f"{{{ns.DS}}}DigestMethod"
_DIGEST_VALUE = f"{{{ns.DS}}}DigestValue"
_TRANSFORM = f"{{{ns.DS}}}Transform"


def reference_parts(ref: etree._Element) -> tuple[etree._Element, etree._Element] | None:
    """(DigestMethod, DigestValue) of a ``ds:Reference`` in WCF's layout, else None.

    WCF (and wssc) write ``Transforms`` holding one exclusive c14n ``Transform`` with no
    child node (so no InclusiveNamespaces), then ``DigestMethod``, then ``DigestValue``, and
    nothing else. For exactly that form the general reading gives the same answer: each
    child once, one exclusive c14n transform, no inclusive prefixes. Any departure (another
    count, order or tag, a comment or processing instruction, a child of the Transform,
    another algorithm) returns None, and the general reading decides and raises."""
    if len(ref) == 3:
        transforms, dm, dv = ref
        if (
            transforms.tag == _TRANSFORMS
            and dm.tag == _DIGEST_METHOD
            and dv.tag == _DIGEST_VALUE
            and len(transforms) == 1
        ):
            t = transforms[0]
            if len(t) == 0 and t.tag == _TRANSFORM and t.get("Algorithm") == ns.EXC_C14N:
                PATHS["reference.fast"] += 1
                return dm, dv
    PATHS["reference.general"] += 1
    return None


def check_references(ctx: InboundContext, sig: etree._Element) -> list[etree._Element]:
    parts = signature_parts(sig)  # WCF's layout by position, checked; else the general path
    si = parts[0] if parts is not None else only(sig, f"{{{ns.DS}}}SignedInfo")
    si_parts = signed_info_parts(si)
    refs = si_parts[2] if si_parts is not None else si.findall(f"{{{ns.DS}}}Reference")
    if not refs or len(refs) > ctx.policy.max_references:
        raise InvalidSecurity("the signature has no or too many references")
    signed: list[etree._Element] = []
    seen: set[etree._Element] = set()  # lxml elements hash and compare by identity
    for ref in refs:
        target = _check_reference(ctx, ref)
        if target in seen:
            raise InvalidSecurity("an element is referenced twice by the signature")
        seen.add(target)
        signed.append(target)
    return signed


def _check_reference(ctx: InboundContext, ref: etree._Element) -> etree._Element:
    uri = ref.get("URI") or ""
    if not uri.startswith("#") or len(uri) < 2:
        raise InvalidSecurity("signature references must be local #id references")
    target = ctx.ids.get(uri[1:])
    if target is None:
        raise InvalidSecurity("a signed element is missing")
    parts = reference_parts(ref)
    if parts is not None:
        return _check_digest(ctx, target, parts[0], parts[1], [])
    transforms = dm = dv_el = None
    for child in ref:
        tag = child.tag
        if tag == _TRANSFORMS and transforms is None:
            transforms = child
        elif tag == _DIGEST_METHOD and dm is None:
            dm = child
        elif tag == _DIGEST_VALUE and dv_el is None:
            dv_el = child
        elif isinstance(tag, str):
            raise InvalidSecurity("unexpected or repeated element in a signature Reference")
    prefixes: list[str] = []
    if transforms is not None:
        ts = list(transforms)
        if len(ts) != 1 or ts[0].get("Algorithm") != ns.EXC_C14N:
            raise UnsupportedAlgorithm(
                "only one exclusive c14n transform is supported" + ("" if ts else " (ds:Transforms is empty)")
            )
        prefixes = read_inclusive_prefixes(ts[0])
    if dm is None or dv_el is None:
        raise InvalidSecurity("a signature Reference needs DigestMethod and DigestValue")
    return _check_digest(ctx, target, dm, dv_el, prefixes)


def _check_digest(
    ctx: InboundContext,
    target: etree._Element,
    dm: etree._Element,
    dv_el: etree._Element,
    prefixes: list[str],
) -> etree._Element:
    dalg = dm.get("Algorithm") or ""
    p = ctx.policy
    if dalg not in _DIGESTS or (p.strict_algorithms and dalg != p.suite.digest):
        raise UnsupportedAlgorithm(f"digest method {log_value(dalg)}")
    dv = b64decode(dv_el.text, "DigestValue")
    if not _hmac.compare_digest(digest(dalg, exc_c14n(target, prefixes)), dv):
        raise FailedCheck("a digest did not match (the content was changed)")
    return target
