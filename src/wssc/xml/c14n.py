"""Exclusive XML canonicalization (``http://www.w3.org/2001/10/xml-exc-c14n#``).

Supports the ``ec:InclusiveNamespaces PrefixList`` parameter that WSS4J always writes::

    <ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#">
      <ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#"
                              PrefixList="wsse a s"/>
    </ds:Transform>

``#default`` in the PrefixList stands for the default namespace.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from wssc.errors import InvalidSecurity, UnsupportedAlgorithm
from wssc.xml import ns

SUPPORTED: frozenset[str] = frozenset({ns.EXC_C14N})


def exc_c14n(
    element: etree._Element,
    inclusive_prefixes: Sequence[str] = (),
    algorithm: str = ns.EXC_C14N,
) -> bytes:
    """Canonicalize ``element`` (as a subtree, in its document context) with exclusive c14n."""
    if algorithm not in SUPPORTED:
        raise UnsupportedAlgorithm(f"canonicalization method {algorithm}")
    prefixes = [("" if p == "#default" else p) for p in inclusive_prefixes] or None
    try:
        return etree.tostring(
            element,
            method="c14n",
            exclusive=True,
            with_comments=False,
            inclusive_ns_prefixes=prefixes,
        )
    except etree.C14NError:
        # libxml2 refuses e.g. a relative namespace URI in scope (C14N 1.0 §2.4 leaves them
        # undefined): an unsignable element, not an internal error.
        raise InvalidSecurity("the element cannot be canonicalized (a relative namespace URI?)") from None


def read_inclusive_prefixes(parent: etree._Element) -> list[str]:
    """The PrefixList of an ``ec:InclusiveNamespaces`` child of ``parent``, or ``[]``."""
    for node in parent:  # the first such child, as ``find`` gives it
        if node.tag == _INCLUSIVE:
            return (node.get("PrefixList") or "").split()
    return []


_INCLUSIVE = f"{{{ns.EXC_C14N}}}InclusiveNamespaces"
