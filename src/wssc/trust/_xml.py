"""Strict reading helpers for WS-Trust bodies. Every failure is `InvalidRequest`."""

from __future__ import annotations

import base64
import binascii
from typing import Final

from lxml import etree

from wssc.errors import InvalidRequest
from wssc.trust.entropy import MAX_ENTROPY_BYTES
from wssc.xml import ns
from wssc.xml.ns import ScVersion, TrustVersion

_TRUST_VERSIONS: Final = {ns.TRUST_FEB2005.ns: ns.TRUST_FEB2005, ns.TRUST_V13.ns: ns.TRUST_V13}
#: Longest attribute or URI text we accept (Context, TokenType, RequestType…).
MAX_TEXT: Final = 1024
_MAX_INT_TEXT: Final = 9


def tq(trust: TrustVersion, local: str) -> str:
    """``{trust ns}local``."""
    return f"{{{trust.ns}}}{local}"


def trust_prefix(trust: TrustVersion) -> str:
    """WCF's prefix: ``t`` for February 2005, ``trust`` for 1.3."""
    for prefix, uri in ns.PREFIXES.items():
        if uri == trust.ns:
            return prefix
    return "t"


def sc_for(trust: TrustVersion) -> ScVersion:
    """The WS-SecureConversation version that goes with a WS-Trust version."""
    for sc in ns.SC_VERSIONS.values():
        if sc.trust.ns == trust.ns:
            return sc
    raise InvalidRequest(f"no WS-SecureConversation version for WS-Trust {trust.ns}")


def trust_element(trust: TrustVersion, local: str, nsmap: bool = True) -> etree._Element:
    """A new ``{trust}local`` element (declaring WCF's prefix when ``nsmap``)."""
    if nsmap:
        return etree.Element(tq(trust, local), nsmap={trust_prefix(trust): trust.ns})
    return etree.Element(tq(trust, local))


def sub(parent: etree._Element, trust: TrustVersion, local: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, tq(trust, local))
    if text is not None:
        el.text = text
    return el


def children(el: etree._Element) -> list[etree._Element]:
    """Element children only (comments and processing instructions skipped)."""
    return [c for c in el if isinstance(c.tag, str)]


def expect(el: etree._Element, trust: TrustVersion, *locals_: str) -> str:
    """Check ``el`` is one of ``{trust}locals_`` and return its local name.

    An element of the *other* WS-Trust version gets its own message: one endpoint never mixes
    the February 2005 and 1.3 families.
    """
    q = etree.QName(el)
    if q.namespace == trust.ns and q.localname in locals_:
        return q.localname
    other = _TRUST_VERSIONS.get(q.namespace or "")
    if other is not None and other.ns != trust.ns:
        raise InvalidRequest(
            f"a WS-Trust {other.name} {q.localname} was sent to a WS-Trust {trust.name} endpoint"
        )
    raise InvalidRequest(f"expected a WS-Trust {trust.name} {' or '.join(locals_)}, got {el.tag}")


def check_children_version(el: etree._Element, trust: TrustVersion) -> None:
    """Refuse children in the other WS-Trust version's namespace (a mixed message)."""
    for c in children(el):
        q = etree.QName(c)
        if q.namespace in _TRUST_VERSIONS and q.namespace != trust.ns:
            raise InvalidRequest(
                f"the WS-Trust {trust.name} message contains a {q.localname} from WS-Trust "
                f"{_TRUST_VERSIONS[q.namespace].name}"
            )


def index_children(el: etree._Element, trust: TrustVersion) -> dict[str, etree._Element]:
    """Map ``local name → element`` for the ``{trust}`` children; duplicates are refused.

    Children in other namespaces (extensions) are ignored; children of the other WS-Trust
    version are refused.
    """
    check_children_version(el, trust)
    out: dict[str, etree._Element] = {}
    for c in children(el):
        q = etree.QName(c)
        if q.namespace != trust.ns:
            continue
        if q.localname in out:
            raise InvalidRequest(f"the message has more than one {q.localname}")
        out[q.localname] = c
    return out


def only_child(el: etree._Element, what: str) -> etree._Element:
    kids = children(el)
    if len(kids) != 1:
        raise InvalidRequest(f"{what} must contain exactly one element, not {len(kids)}")
    return kids[0]


def text(el: etree._Element, what: str, max_len: int = MAX_TEXT) -> str:
    """Trimmed text content; refuses element children, empty and oversize text."""
    if children(el):
        raise InvalidRequest(f"{what} must contain text only")
    value = (el.text or "").strip()
    if not value:
        raise InvalidRequest(f"{what} is empty")
    if len(value) > max_len:
        raise InvalidRequest(f"{what} is longer than {max_len} characters")
    return value


def attr(el: etree._Element, name: str, what: str) -> str | None:
    value = el.get(name)
    if value is not None and len(value) > MAX_TEXT:
        raise InvalidRequest(f"the {what} attribute is longer than {MAX_TEXT} characters")
    return value


def b64(el: etree._Element, what: str, max_bytes: int = MAX_ENTROPY_BYTES) -> bytes:
    """Strict base64 content (whitespace allowed between groups) of at most ``max_bytes``."""
    if children(el):
        raise InvalidRequest(f"{what} must contain base64 text only")
    raw = el.text or ""
    # Refuse a huge text before decoding it (4 characters per 3 bytes, plus line breaks).
    if len(raw) > 2 * (4 * (max_bytes + 2) // 3) + 64:
        raise InvalidRequest(f"{what} is longer than {max_bytes} bytes")
    compact = "".join(raw.split())
    try:
        value = base64.b64decode(compact.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InvalidRequest(f"{what} is not valid base64") from None
    if not value:
        raise InvalidRequest(f"{what} is empty")
    if len(value) > max_bytes:
        raise InvalidRequest(f"{what} is longer than {max_bytes} bytes")
    return value


def b64_text(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def non_negative_int(el: etree._Element, what: str) -> int:
    value = text(el, what, _MAX_INT_TEXT)
    if not value.isascii() or not value.isdigit():
        raise InvalidRequest(f"{what} must be a non-negative integer")
    return int(value)
