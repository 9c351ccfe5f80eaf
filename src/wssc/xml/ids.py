"""``wsu:Id`` (and ``Id``) lookup that refuses duplicates.

Signature wrapping attacks rely on two elements sharing one Id, so that the verifier digests
one and the application reads the other. `index_ids` refuses such documents outright.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from wssc.errors import DuplicateId
from wssc.xml import ns

WSU_ID = f"{{{ns.WSU}}}Id"
#: Attributes treated as ids: wsu:Id, and the unqualified Id of ds:/xenc:/sc: elements.
ID_ATTRIBUTES = (WSU_ID, "Id")


def element_id(el: etree._Element) -> str | None:
    for attr in ID_ATTRIBUTES:
        v = el.get(attr)
        if v is not None:
            return v
    return None


#: Every id attribute of the subtree, in document order (an element's wsu:Id before its Id).
#: Selecting the attributes is some 3x cheaper in libxml2 than a predicate on each element
#: (``descendant-or-self::*[@u:Id or @Id]``: 16 against 5 us on a 1 KB envelope).
#: ``regexp=False``: lxml would otherwise register the EXSLT regular-expression functions
#: (which no expression here uses) on every evaluation.
_ID_ATTRIBUTES = etree.XPath(
    "descendant-or-self::*/@u:Id | descendant-or-self::*/@Id", namespaces={"u": ns.WSU}, regexp=False
)


def index_ids(
    root: etree._Element, into: dict[str, etree._Element] | None = None
) -> dict[str, etree._Element]:
    """Map every id in the subtree to its element. Duplicates raise `DuplicateId`.

    With ``into``, the ids of a new subtree are added to an existing index (after a
    decryption), with the same duplicate check against everything already indexed.
    """
    out: dict[str, etree._Element] = {} if into is None else into
    found: list[Any] = _ID_ATTRIBUTES(root)  # type: ignore[assignment]
    for attr in found:  # lxml's attribute results: str values that know their element
        el = attr.getparent()
        v = str(attr)
        other = out.get(v)
        if other is not None and other is not el:
            raise DuplicateId(f"the id {v!r} is used more than once")
        out[v] = el
    return out


def find_by_id(root: etree._Element, ident: str) -> etree._Element | None:
    """Find the one element with the given id, refusing duplicates."""
    return index_ids(root).get(ident)
